/**
 * After a read-only refusal (1290, 1792, 1836): is the server read-only, i.e. a failover, or was the error the
 * application's (a write in its own read-only transaction, `secure_file_priv`)? One question to the server at a
 * time; every other caller joins it.
 */
import type { TimerHandle } from './clock.js';
import { log } from './log.js';
import { connectionQuery } from './mysql2-internals.js';
import type { PoolCore } from './pool-core.js';
import type { PoolEntry } from './pooled-connection.js';

export interface ReadOnlyHost extends PoolCore {
  /** An idle or new connection for the check (idle-store.ts); undefined when none could be had. */
  readonly store: { borrow(): Promise<PoolEntry | undefined> };
  readonly loans: PoolCore['loans'] & {
    /** A borrowed connection that is no longer wanted: back to the pool (or its waiters). */
    giveBack(entry: PoolEntry): void;
    /** Checks a borrowed connection out as a caller's would be (held, so its release() balances the count). */
    lend(entry: PoolEntry): void;
  };
  /** retireOlder(now): every connection created at or before `now` is closed instead of reused. */
  readonly failures: PoolCore['failures'] & { retireOlder(now: number): void };
}

export class ReadOnlyCheck {
  /** The running check, if any: connections as old as `since` that are released meanwhile wait for `verdict`. */
  running: { since: number; verdict: Promise<boolean | undefined>; timer: TimerHandle } | undefined;

  constructor(private readonly pool: ReadOnlyHost) {}

  /**
   * Asks the server once: on `on` when given (a connection the pool itself holds, e.g. a pool-level query's, never
   * one a caller holds), else on an idle or new connection. On "read-only", every connection created until now is
   * retired. Resolves within `pingTimeout`: true (read-only), false (not), undefined (no answer: nothing is
   * retired, the safe side for the pool; callers treat it as "not confirmed").
   */
  verify(on: PoolEntry | undefined): Promise<boolean | undefined> {
    const pool = this.pool;
    if (this.running) {
      // A call waiting for the answer keeps the process alive until it comes.
      if (on) this.running.timer.ref();
      return this.running.verdict;
    }
    if (pool.closing) return Promise.resolve(undefined);
    const clock = pool.clock;
    const since = clock.now();
    let timer!: TimerHandle;
    const verdict = new Promise<boolean | undefined>((resolve) => {
      let done = false;
      const finish = (readOnly: boolean | undefined) => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        this.running = undefined;
        log.pool('read-only check: %s', readOnly === undefined ? 'no answer' : readOnly ? 'read-only' : 'writable');
        if (readOnly === true) pool.failures.retireOlder(clock.now());
        resolve(readOnly);
      };
      // A pool-level call waits for the answer (`on`); after a held connection's error nobody does yet.
      timer = on
        ? clock.setTimeout(() => finish(undefined), pool.opts.pingTimeout)
        : clock.setBackgroundTimeout(() => finish(undefined), pool.opts.pingTimeout);
      if (on) {
        askReadOnly(on, finish);
        return;
      }
      pool.store.borrow().then(
        (entry) => {
          if (!entry) return finish(undefined);
          if (done || pool.closing) return pool.loans.giveBack(entry);
          pool.loans.lend(entry);
          askReadOnly(entry, (readOnly) => {
            finish(readOnly);
            // After finish: the retire (if any) is in force when this connection settles.
            pool.releaseConnection(entry.conn);
          });
        },
        () => finish(undefined),
      );
    });
    this.running = { since, verdict, timer };
    return verdict;
  }
}

/**
 * Asks the server behind `entry` whether it is read-only: `read_only` (both flavours; MariaDB 11 makes it an enum
 * whose every value but OFF refuses writes), and on MySQL `super_read_only` and `innodb_read_only` (Aurora
 * readers). Calls `done` once with true, false, or undefined when the question failed. Rows come as arrays
 * whatever the pool's `rowsAsArray`/`nestTables`; the check's own bounded wait covers a hang.
 */
function askReadOnly(entry: PoolEntry, done: (readOnly: boolean | undefined) => void): void {
  const sql =
    entry.flavor === 'mariadb'
      ? 'SELECT @@global.read_only'
      : 'SELECT @@global.read_only, @@global.super_read_only, @@global.innodb_read_only';
  try {
    connectionQuery.call(entry.conn, { sql, rowsAsArray: true, nestTables: false, typeCast: true }, (err: unknown, rows: unknown) => {
      if (err || !Array.isArray(rows) || !Array.isArray(rows[0])) return done(undefined);
      done((rows[0] as unknown[]).some(isOn));
    });
  } catch {
    done(undefined);
  }
}

/** A server variable's value means "on": 1, '1', 'ON', MariaDB 11's 'NO_LOCK'...; not 0, '0', 'OFF', NULL. */
function isOn(value: unknown): boolean {
  if (value === null || value === undefined || value === 0 || value === false) return false;
  const text = Buffer.isBuffer(value) ? value.toString() : String(value);
  return text !== '0' && text.toUpperCase() !== 'OFF' && text !== '';
}
