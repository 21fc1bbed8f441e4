/**
 * Whether a connection may be used: the pool's watermarks (what an error on one connection says about the others)
 * and ONE close-reason function, asked on checkout, on release and by eviction.
 */
import { isBroken, hasPendingCommand } from './mysql2-internals.js';
import type { CloseReason, PoolEntry } from './pooled-connection.js';

/** When the question is asked: what else is checked. */
export type Moment = 'checkout' | 'release' | 'evict';

export class Health {
  /** end() has been called: nothing is reused. */
  closing = false;
  /** Idle connections last used at or before this are pinged on checkout, whatever the skip window. */
  suspectBefore = -Infinity;
  /** Connections created at or before this are closed instead of reused (failover, restart). */
  retireBefore = -Infinity;
  /** Idle connections last used at or before this are presumed dead (a ping on one as old timed out). */
  deadIdleBefore = -Infinity;
  /** With several hosts: the connection is to a host the pool has moved away from (host-rotation.ts). */
  offHost: ((entry: PoolEntry) => boolean) | undefined;

  /**
   * Why `entry` must be closed now rather than used (or kept), without any I/O; undefined if it may be.
   * `idleLimit`: beyond this idle time the server or network has closed it (checkout and eviction only).
   * `finishing` (release): the command whose callback is releasing it, which does not count as still running.
   * Checked in this order, everywhere: the pool is ending; the connection is dead; (on release: its holder's use
   * left it unusable: an error said so, a command still runs, a transaction is open); it is older than a failover
   * or restart; it is past its lifetime; (idle: a sibling idle as long was found dead; it idled too long).
   */
  closeReason(entry: PoolEntry, now: number, moment: Moment, idleLimit: number, finishing?: object): CloseReason | undefined {
    if (this.closing) return 'pool-end';
    if (entry.dead || isBroken(entry.conn)) return 'broken';
    if (moment === 'release') {
      if (entry.discard) return 'error';
      if (hasPendingCommand(entry.conn, finishing)) return 'busy-on-release';
      if (entry.inTransaction || entry.autocommitOff) return 'in-transaction';
    }
    if (entry.createdAt <= this.retireBefore || this.offHost?.(entry)) return 'retired';
    if (now >= entry.expiresAt) return 'lifetime';
    if (moment === 'release') return undefined;
    if (entry.lastUsedAt <= this.deadIdleBefore) return 'presumed-dead';
    if (now - entry.lastUsedAt >= idleLimit) return 'idle';
    return undefined;
  }

  /**
   * Eviction: closeReason, then idle longer than `idleTimeout`, then beyond the `maxIdle` most recently released
   * (both Infinity while the pool is at minConnections).
   */
  evictReason(
    entry: PoolEntry,
    now: number,
    idleLimit: number,
    idle: { idleTimeout: number; maxIdle: number; available: number; entries: Iterable<PoolEntry> },
  ): CloseReason | undefined {
    const reason = this.closeReason(entry, now, 'evict', idleLimit);
    if (reason) return reason;
    if (now - entry.lastUsedAt >= idle.idleTimeout) return 'idle';
    if (idle.available > idle.maxIdle && hotterIdle(idle.entries, entry) >= idle.maxIdle) return 'max-idle';
    return undefined;
  }

  /** A connection used within the skip window, and since no sibling failed, goes out without a ping. */
  maySkipPing(entry: PoolEntry, now: number, pingSkipWindow: number): boolean {
    return now - entry.lastUsedAt < pingSkipWindow && entry.lastUsedAt > this.suspectBefore;
  }

  /** Idle connections last used until `now` get pinged on their next checkout. */
  suspect(now: number): void {
    this.suspectBefore = Math.max(this.suspectBefore, now);
  }

  /** Every connection created at or before `now` is closed instead of reused: the server behind them changed. */
  retire(now: number): void {
    this.suspect(now);
    this.retireBefore = Math.max(this.retireBefore, now);
  }

  presumeDeadSince(lastUsedAt: number): void {
    this.deadIdleBefore = Math.max(this.deadIdleBefore, lastUsedAt);
  }
}

/**
 * Above maxIdle, the coldest go and the maxIdle most recently released stay, as in mysql2. The idle store walks
 * its idle list hottest first, so "is this one of the hottest maxIdle" is asked of each, not "are there too many".
 * Counts the idle connections released more recently than `entry` (ties broken by age, so exactly one order holds).
 */
export function hotterIdle(entries: Iterable<PoolEntry>, entry: PoolEntry): number {
  let n = 0;
  for (const e of entries) {
    if (e === entry || e.state !== 'idle') continue;
    if (e.lastUsedAt > entry.lastUsedAt || (e.lastUsedAt === entry.lastUsedAt && e.id > entry.id)) n++;
  }
  return n;
}
