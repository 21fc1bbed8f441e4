/**
 * What an error says beyond the call that got it (the error table's `others`): the pool's other connections may
 * be dead (suspect: pinged on checkout), or behind a server that changed (retire: closed instead of reused); a
 * read-only refusal is checked with the server first (read-only-check.ts).
 */
import type { Backoff } from './backoff.js';
import { classifyWith } from './error-table.js';
import type { ErrorAction } from './error-table.js';
import type { Health } from './health.js';
import type { ServerInfo } from './limits.js';
import { annotate } from './errors.js';
import { log } from './log.js';
import { destroySocket, isOnTheWire } from './mysql2-internals.js';
import type { PoolCore } from './pool-core.js';
import type { PoolEntry } from './pooled-connection.js';
import { didNotRun } from './retry.js';

export interface FailureHost extends PoolCore {
  readonly health: Health;
  readonly backoff: Backoff;
  /** The server behind the connections, forgotten on a retire (read again by the next connection). */
  readonly connector: { server: ServerInfo | undefined };
}

export class Failures {
  constructor(private readonly pool: FailureHost) {}

  /** A connection's 'error' (prepended to mysql2's own listeners): it is dead; the pool's 'error' reports it. */
  onConnectionError(entry: PoolEntry, err: Error): void {
    if (entry.dead && entry.state === 'closed') return;
    const pool = this.pool;
    const action = classifyWith(err, entry.flavor, pool.opts.classifyError);
    log.connection('%s error (%s): %s', entry, (err as { code?: unknown }).code, err.message);
    entry.dead = true;
    destroySocket(entry.conn);
    this.note(action);
    if (pool.listenerCount('error') > 0) pool.emit('error', err);
  }

  /**
   * An error in reply to a command on a held connection: decide its fate now, act on release. The holder is told
   * what a pool-level caller is told, `outcomeUnknown` (by the one "did not run" rule; a plain SQL error: false),
   * though nothing is retried: the statement was sent (mysql2 had it on the wire) and the connection died before
   * the reply, so it may have run.
   */
  onHeldCommandError(entry: PoolEntry, err: unknown, cmd?: unknown): void {
    const action = classifyWith(err, entry.flavor, this.pool.opts.classifyError);
    if (typeof err === 'object' && err !== null) {
      const sql = (cmd as { sql?: unknown } | undefined)?.sql;
      const finalSql = () => (typeof sql === 'string' ? sql : undefined);
      const unknown = action !== null && !didNotRun(action, isOnTheWire(entry.conn, cmd as object | undefined), finalSql, this.pool.opts.retryReadsAfterSend);
      annotate(err, { outcomeUnknown: unknown });
    }
    if (!action) return;
    if (action.destroy) entry.discard = true;
    this.note(action);
  }

  /**
   * What an error on one connection says about the others (see ErrorAction.others). A read-only refusal retires
   * nothing by itself: the server is asked first (verifyReadOnly), unless the caller already did (`checked`).
   */
  note(action: ErrorAction | null, checked = false): void {
    if (!action) return;
    const pool = this.pool;
    if (action.others === 'retire-if-read-only') {
      if (!checked) void pool.verifyReadOnly(undefined);
      return;
    }
    const now = pool.clock.now();
    if (action.others === 'suspect' || action.others === 'retire') {
      pool.health.suspect(now);
      // Until a dial succeeds, the server may be gone: dial one at a time.
      pool.backoff.doubt();
    }
    if (action.others === 'retire') this.retireOlder(now);
  }

  /** Every connection created at or before `now` is closed instead of reused: the server behind them changed. */
  retireOlder(now: number): void {
    this.pool.health.retire(now);
    // The server behind the connections may have changed: read its limits again.
    this.pool.connector.server = undefined;
  }
}
