/**
 * When connections are opened (the connect policy of backoff.ts applied to the idle store's creates) and how the
 * pool ends (end()).
 */
import type { Backoff } from './backoff.js';
import type { Clock } from './clock.js';
import type { Connector } from './connection-factory.js';
import { poolClosedError } from './errors.js';
import type { IdleStore } from './idle-store.js';
import { log } from './log.js';
import type { PoolCore } from './pool-core.js';
import { CreateFailure } from './pooled-connection.js';
import type { PoolEntry, Resource } from './pooled-connection.js';
import type { Waiter, Waiters } from './waiters.js';

/** Rounds of waiting (for an attempt in flight, or a backoff) one create may go through before it gives up. */
const MAX_CREATE_ROUNDS = 64;

/** What the lifecycle needs of the pool. */
export interface LifecycleHost extends PoolCore {
  readonly backoff: Backoff;
  readonly connector: Connector;
  readonly waiters: Waiters;
  readonly store: IdleStore;
  readonly dialer: Dialer;
  readonly entries: Set<PoolEntry>;
  readonly closingSockets: Set<Promise<void>>;
  readonly health: { closing: boolean };
  _closed: boolean;
  readonly loans: PoolCore['loans'] & { fail(waiter: Waiter, err: Error): void };
  snapshot(): object;
}

export class Dialer {
  /** Pending backoff waits, woken by end(). */
  readonly wakeups = new Set<() => void>();

  constructor(private readonly pool: LifecycleHost) {}

  /**
   * Opens a connection, as the connect policy allows (backoff.ts): in parallel when connections are open and
   * nothing is failing; otherwise one attempt at a time, callers joining it, and the fresh error handed over when
   * the pool has nothing open or opening to wait for. Resolves a CreateFailure rather than reject (see
   * pooled-connection.ts).
   */
  async create(): Promise<Resource> {
    const pool = this.pool;
    for (let round = 0; ; round++) {
      const now = pool.clock.now();
      if (pool.closing) return new CreateFailure(poolClosedError(), now);
      const step = pool.backoff.next(now, hasOpenConnection(pool.entries));
      if (step.do === 'connect') break;
      if (step.do === 'fail') return new CreateFailure(step.error, now);
      if (round >= MAX_CREATE_ROUNDS) {
        const error = pool.backoff.lastError(now, Infinity) ?? new Error('connect attempts kept failing');
        return new CreateFailure(error, now);
      }
      if (step.do === 'join') await this.wakeable(step.settled);
      else await this.sleep(step.ms);
    }
    pool.backoff.started();
    try {
      const entry = await pool.connector.open();
      pool.backoff.succeeded();
      return entry;
    } catch (err) {
      const error = err as Error;
      const delay = pool.backoff.failed(error, pool.clock.now());
      pool.stats_.connectFailed();
      log.pool('connect failed (%s: %s); backoff %d ms', (error as { code?: unknown }).code, error.message, delay);
      return new CreateFailure(error, pool.clock.now());
    }
  }

  /** Waits for `done` (the connect attempt in flight); end() cuts it short. No timer: the attempt's socket keeps the process alive meanwhile. */
  private wakeable(done: Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.wakeups.delete(wake);
        resolve();
      };
      this.wakeups.add(wake);
      void done.then(wake);
    });
  }

  /**
   * A backoff wait that end() cuts short. It keeps the process alive when a caller is waiting for the connection
   * it will open; a refill for minConnections alone does not.
   */
  private sleep(ms: number): Promise<void> {
    const clock = this.pool.clock;
    return new Promise<void>((resolve) => {
      const wake = () => {
        clock.clearTimeout(timer);
        this.wakeups.delete(wake);
        resolve();
      };
      const timer = this.pool.waiters.waiting > 0 ? clock.setTimeout(wake, ms) : clock.setBackgroundTimeout(wake, ms);
      this.wakeups.add(wake);
    });
  }

  /** end(): every backoff wait ends now. */
  wakeAll(): void {
    for (const wake of [...this.wakeups]) wake();
  }
}

/** A connection open (handshake done), not known dead. */
function hasOpenConnection(entries: Set<PoolEntry>): boolean {
  for (const e of entries) if (!e.dead && e.state !== 'connecting') return true;
  return false;
}

/**
 * end(): waiting callers get `Pool is closed.`, idle connections are closed at once, checked-out ones when
 * released (or destroyed after `endTimeout`), then every socket is gone.
 */
export async function shutdown(pool: LifecycleHost): Promise<void> {
  pool.health.closing = true;
  log.pool('ending: %o', pool.snapshot());
  pool.waiters.stopTimer();
  for (let w = pool.waiters.next(); w; w = pool.waiters.next()) pool.loans.fail(w, poolClosedError());
  pool.dialer.wakeAll();
  // Only checked-out connections are waited for; the rest close now.
  const checkedOut = (e: PoolEntry) => e.state === 'busy' || e.state === 'releasing';
  for (const e of [...pool.entries]) if (!checkedOut(e)) pool.loans.close(e, 'pool-end');
  const busy = () => [...pool.entries].filter(checkedOut);
  if (busy().length > 0 && pool.opts.endTimeout > 0) {
    await waitAtMost(pool.clock, pool.opts.endTimeout, Promise.all(busy().map((e) => e.closed)));
  }
  // Still checked out at the deadline: close them (their loans end), or generic-pool's drain below would wait for
  // them forever.
  for (const e of [...pool.entries]) pool.loans.close(e, 'pool-end');
  pool._closed = true;
  await waitAtMost(pool.clock, pool.opts.pingTimeout + 1_000, Promise.all(pool.closingSockets));
  // Let generic-pool settle its own requests; eviction stops.
  await waitAtMost(pool.clock, 1_000, pool.store.drain());
  log.pool('ended: %o', pool.snapshot());
}

/**
 * Resolves when `done` settles (either way) or `ms` pass, whichever first. The timer keeps the process alive:
 * end()'s caller waits on it, and the wait is bounded.
 */
function waitAtMost(clock: Clock, ms: number, done: Promise<unknown>): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = clock.setTimeout(resolve, ms);
    const finish = () => {
      clock.clearTimeout(timer);
      resolve();
    };
    done.then(finish, finish);
  });
}
