/**
 * Time source for everything in the pool that depends on time: ages, deadlines
 * and background timers. Injected (the `clock` option, undocumented for users,
 * used by tests) so unit tests drive time by hand instead of sleeping.
 */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences are used. */
  now(): number;
  /** Like `setTimeout`, but the returned timer never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  /** Opaque; only ever passed back to `clearTimeout`. */
  readonly __timer?: never;
}

/** The real clock: `performance.now()` (immune to wall-clock jumps) and unref'd timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};
