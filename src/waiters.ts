/**
 * The callers waiting for a connection: a FIFO queue, its counts, and ONE deadline timer for all of them.
 *
 * A waiter is settled once (`done`): handed a connection, failed, or timed out. The queue is an array with a
 * moving head (no shift() per checkout); settled waiters left behind are skipped and the array compacted now and
 * then. The timer is armed for the earliest deadline; a checkout that finds a connection at once arms nothing (the
 * timer is usually armed already, re-armed only when it fires). It keeps the process alive exactly while some
 * caller waits: the first waiter refs it, the last one to leave unrefs it.
 */
import type { Clock, TimerHandle } from './clock.js';
import { ErrorCodes, PoolError } from './errors.js';
import { rethrowLater } from './isolate.js';
import type { PoolEntry } from './pooled-connection.js';

/**
 * A checkout (tarn's PendingOperation): its callback, its deadline, and what it waited for. The caller's own record:
 * a pool-level call is its own waiter (query-runner.ts), so a checkout allocates no closure and no second object.
 * `deadline` is the caller's; acquire sets the rest each time the record starts waiting.
 */
export interface Waiter {
  /** Called once per checkout (always asynchronously): a connection, or the error. */
  cb(err: Error | null, entry?: PoolEntry): void;
  deadline: number;
  /** When it started waiting (for the acquire-time stats). */
  startedAt: number;
  /** It had to queue (every connection in use): counts against queueLimit. */
  queued: boolean;
  done: boolean;
  /**
   * Why a connect attempt made for it failed (it was requeued to wait for another connection): its timeout says so.
   * Set only then (a record that never needs it does not carry the field).
   */
  cause?: Error;
}

export class Waiters {
  private list: Waiter[] = [];
  private head = 0;
  /** Callers waiting (not yet settled). */
  waiting = 0;
  /** Waiting callers that had to queue (mysql2's queue length, for queueLimit). */
  queued = 0;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly clock: Clock,
    /** Called for each waiter whose deadline has passed; it must settle it. */
    private readonly onTimeout: (waiter: Waiter) => void,
  ) {}

  add(waiter: Waiter, now: number): void {
    this.list.push(waiter);
    if (++this.waiting === 1) this.timer?.ref();
    if (waiter.queued) this.queued++;
    if (waiter.deadline < this.timerAt) this.arm(waiter.deadline, now);
  }

  /** Marks `waiter` settled (the caller then answers it); false if it already was. */
  settle(waiter: Waiter): boolean {
    if (waiter.done) return false;
    waiter.done = true;
    // The last one lets go of the process: the timer stays armed but no longer keeps a script alive.
    if (--this.waiting === 0) this.timer?.unref();
    if (waiter.queued) this.queued--;
    return true;
  }

  /** The longest-waiting caller not yet settled, taken off the queue. */
  next(): Waiter | undefined {
    const list = this.list;
    while (this.head < list.length) {
      const w = list[this.head]!;
      list[this.head++] = undefined as never;
      if (!w.done) {
        if (this.head > 1024 && this.head * 2 > list.length) {
          this.list = list.slice(this.head);
          this.head = 0;
        }
        return w;
      }
    }
    this.list = [];
    this.head = 0;
    return undefined;
  }

  /** Puts a waiter taken by next() back at the front (the connection meant for it did not come). */
  requeueFront(waiter: Waiter): void {
    if (this.head > 0) this.list[--this.head] = waiter;
    else this.list.unshift(waiter);
  }

  /** Stops the deadline timer for good (end(): every waiter is then failed). */
  stopTimer(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private arm(deadline: number, now: number): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerAt = deadline;
    const ms = Math.max(0, deadline - now);
    this.timer = this.waiting > 0 ? this.clock.setTimeout(this.onTimer, ms) : this.clock.setBackgroundTimeout(this.onTimer, ms);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (let i = this.head; i < this.list.length; i++) {
      const w = this.list[i]!;
      if (w.done) continue;
      if (w.deadline <= now) this.onTimeout(w);
      else if (w.deadline < next) next = w.deadline;
    }
    if (next < Infinity) this.arm(next, now);
  };
}

/**
 * Calls a waiter back. The callback leads to user code (getConnection's callback, a query's); an exception from
 * it must not unwind the pool's bookkeeping (a timer's loop over waiters, a promise continuation that would turn it
 * into an unhandled rejection).
 */
/** A waiter record around a callback, for the callers that have no record of their own. */
export function waiterFor(deadline: number, cb: (err: Error | null, entry?: PoolEntry) => void): Waiter {
  return { cb, deadline, startedAt: 0, queued: false, done: false };
}

export function answer(waiter: Waiter, err: Error | null, entry?: PoolEntry): void {
  try {
    waiter.cb(err, entry);
  } catch (thrown) {
    rethrowLater(thrown);
  }
}

/** ACQUIRE_TIMEOUT: the pool's counts, and the connect error (as `cause`) when one happened meanwhile. */
export function acquireTimeoutError(
  ms: number,
  s: { total: number; idle: number; busy: number; waiting: number },
  connectionLimit: number,
  last: Error | undefined,
): PoolError {
  const cause = last ? `; last connect error: ${(last as { code?: unknown }).code ?? ''} ${last.message}` : '';
  return new PoolError(
    ErrorCodes.ACQUIRE_TIMEOUT,
    `Timed out after ${ms} ms waiting for a connection ` +
      `(pool: ${s.total} open, ${s.idle} idle, ${s.busy} in use, ${s.waiting} waiting, limit ${connectionLimit || 'none'}${cause})`,
    last ? { cause: last } : undefined,
  );
}
