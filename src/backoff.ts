/**
 * When the pool may dial the server after connect failures, and what a caller
 * gets meanwhile. generic-pool alone would retry a failed create at once, tens
 * of thousands of times a second; a plain backoff (the first version of this
 * file) keeps the pool failing for up to its cap after the server is back.
 *
 * The policy:
 * - **One attempt in flight while connects fail, or while the pool has no
 *   connection open** (at start, or when the server has just died: the first
 *   dial tells whether it is there). A create that finds an attempt running
 *   waits for it (joins) and then decides again: its outcome is as fresh as it
 *   gets. A pool with connections open and no failure grows in parallel.
 * - **Outage (the pool has no connection open or opening):** a caller gets the
 *   last connect error only while it is at most {@link FRESH_ERROR} ms old
 *   (fail fast with the real error, e.g. ECONNREFUSED); a caller that comes
 *   later starts a new attempt and waits for it. So the pool dials at most
 *   about 1000 / FRESH_ERROR times a second per pool while the server is down,
 *   and only when callers ask; the first caller after the server is back waits
 *   one connect, not a backoff.
 * - **Degraded (connections open or opening, e.g. `ER_CON_COUNT_ERROR` while
 *   they are busy):** callers wait for those connections; more are tried only
 *   after the exponential backoff below, so a full server is not hammered.
 *
 * The exponential backoff (100 ms doubling to 2 s, each delay shortened by up
 * to half at random so processes restarting together do not reconnect in
 * lockstep) also tells the query runner how long the server has been failing:
 * retry.ts stops retrying a failed checkout once it passes MAX_RETRY_BACKOFF.
 */
const BASE = 100;
const CAP = 2_000;

/**
 * How old a connect error may be when it is handed to a caller (ms). Also the
 * least time between two attempts while the server is down: at most ~10 a
 * second per pool, against one per call for mysql2's pool.
 */
export const FRESH_ERROR = 100;

/** What a create should do now; see {@link Backoff.next}. */
export type ConnectStep =
  /** Dial now: call started(), then failed() or succeeded(). */
  | { readonly do: 'connect' }
  /** Give up with this connect error (at most FRESH_ERROR ms old). */
  | { readonly do: 'fail'; readonly error: Error }
  /** Wait for the attempt in flight to finish, then ask again. */
  | { readonly do: 'join'; readonly settled: Promise<void> }
  /** The pool has connections to wait for: wait this long, then ask again. */
  | { readonly do: 'wait'; readonly ms: number };

export class Backoff {
  private failures = 0;
  private nextAttemptAt = 0;
  private error: Error | undefined;
  private errorAt = -Infinity;
  /** Connect attempts started and not yet finished. */
  private inFlight = 0;
  /**
   * A connection was lost since the last successful dial: the server may be
   * gone, so dials go one at a time (as after a failure) until one succeeds.
   * Without it, callers whose connections had just died would all dial at
   * once at the start of an outage, before the first dial failed.
   */
  private doubtful = false;
  /** Resolved when the next attempt in flight finishes (either way). */
  private settled: Promise<void> | undefined;
  private settle: (() => void) | undefined;

  /**
   * What a create should do now. `hasOpen`: the pool has a connection open
   * (handshake done, not known dead), so callers can wait for it instead of
   * getting the error.
   */
  next(now: number, hasOpen: boolean): ConnectStep {
    if (this.inFlight > 0 && (this.failures > 0 || this.doubtful || !hasOpen)) return { do: 'join', settled: this.whenSettled() };
    if (this.failures === 0) return CONNECT;
    if (!hasOpen) {
      return now - this.errorAt < FRESH_ERROR ? { do: 'fail', error: this.error! } : CONNECT;
    }
    const wait = this.nextAttemptAt - now;
    return wait > 0 ? { do: 'wait', ms: wait } : CONNECT;
  }

  /** Whether failFast can return an error at all (a connect failed and none is in flight): a cheap check first. */
  mayFailFast(): boolean {
    return this.failures > 0 && this.inFlight === 0;
  }

  /** The last connect error if a caller arriving now should get it at once (outage, fresh, nothing in flight). */
  failFast(now: number, hasConnections: boolean): Error | undefined {
    if (this.failures === 0 || this.inFlight > 0 || hasConnections) return undefined;
    return now - this.errorAt < FRESH_ERROR ? this.error : undefined;
  }

  /** A connection was lost (the server may be gone): one dial at a time until a dial succeeds. */
  doubt(): void {
    this.doubtful = true;
  }

  /** An attempt starts (the create was told 'connect'). */
  started(): void {
    this.inFlight++;
  }

  /** Records a failed connect; returns the exponential backoff delay (see retry.ts). */
  failed(error: Error, now: number, random: () => number = Math.random): number {
    this.failures++;
    const ceiling = Math.min(CAP, BASE * 2 ** Math.min(this.failures - 1, 10));
    const delay = Math.round(ceiling * (0.5 + 0.5 * random()));
    this.nextAttemptAt = now + delay;
    this.error = error;
    this.errorAt = now;
    this.finished();
    return delay;
  }

  succeeded(): void {
    this.failures = 0;
    this.doubtful = false;
    this.nextAttemptAt = 0;
    this.error = undefined;
    this.finished();
  }

  /**
   * How long a retry of a failed checkout should wait (0: go now): the
   * exponential backoff, and at least until the last error is stale, so the
   * retry dials instead of getting the same error back.
   */
  waitFor(now: number): number {
    if (this.failures === 0) return 0;
    return Math.max(0, this.nextAttemptAt - now, this.errorAt + FRESH_ERROR - now);
  }

  /** The last connect error if it happened within `ms`, for timeout messages. */
  lastError(now: number, ms: number): Error | undefined {
    return this.error && now - this.errorAt <= ms ? this.error : undefined;
  }

  private whenSettled(): Promise<void> {
    this.settled ??= new Promise<void>((resolve) => (this.settle = resolve));
    return this.settled;
  }

  private finished(): void {
    if (this.inFlight > 0) this.inFlight--;
    const settle = this.settle;
    this.settled = undefined;
    this.settle = undefined;
    settle?.();
  }
}

const CONNECT: ConnectStep = Object.freeze({ do: 'connect' });
