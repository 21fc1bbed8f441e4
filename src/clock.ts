/**
 * Time source for everything in the pool that depends on time: ages, deadlines
 * and timers. Injected (the `clock` option, undocumented for users, used by
 * tests) so unit tests drive time by hand instead of sleeping.
 *
 * Two kinds of timer, by who depends on them (the process-lifetime rule):
 * - `setTimeout`: a caller is waiting on it (retry backoff, a checkout's ping,
 *   end()'s bounded waits). It keeps the process alive, as the socket of
 *   mysql2's pool would: a script whose query is waiting for a retry must get
 *   its answer, not exit silently with code 0.
 * - `setBackgroundTimeout`: housekeeping nobody waits on (leak watch, the
 *   COM_QUIT fallback). It never keeps the process alive.
 * A timer shared by callers who come and go (the acquire deadline) is
 * switched with `ref()`/`unref()` as the first caller starts and the last
 * one stops waiting.
 */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences are used. */
  now(): number;
  /** A timer a caller is waiting on: keeps the process alive until it fires or is cleared. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** A housekeeping timer no caller waits on: never keeps the process alive. */
  setBackgroundTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** A pending timer; the subset of Node's `Timeout` the pool uses. */
export interface TimerHandle {
  /** From now on the timer keeps the process alive while pending. */
  ref(): void;
  /** From now on the timer never keeps the process alive. */
  unref(): void;
  /** Whether it keeps the process alive. */
  hasRef(): boolean;
}

/** The real clock: `performance.now()` (immune to wall-clock jumps) and Node's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    return setTimeout(fn, ms);
  },
  setBackgroundTimeout(fn, ms) {
    return setTimeout(fn, ms).unref();
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
