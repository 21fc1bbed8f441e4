/**
 * Pool-wide backoff between connect attempts after failures: 100 ms doubling
 * to 2 s, each delay shortened by up to half at random (so many processes
 * restarting together do not reconnect in lockstep). generic-pool alone would
 * retry a failed create at once, tens of thousands of times a second.
 */
const BASE = 100;
const CAP = 2_000;

export class Backoff {
  private failures = 0;
  private nextAttemptAt = 0;
  private error: Error | undefined;
  private errorAt = -Infinity;

  /** Records a failed connect; returns the delay before the next attempt. */
  failed(error: Error, now: number, random: () => number = Math.random): number {
    this.failures++;
    const ceiling = Math.min(CAP, BASE * 2 ** Math.min(this.failures - 1, 10));
    const delay = Math.round(ceiling * (0.5 + 0.5 * random()));
    this.nextAttemptAt = now + delay;
    this.error = error;
    this.errorAt = now;
    return delay;
  }

  succeeded(): void {
    this.failures = 0;
    this.nextAttemptAt = 0;
    this.error = undefined;
  }

  /** How long a new connect attempt must wait (0: go now). */
  waitFor(now: number): number {
    return this.failures > 0 ? Math.max(0, this.nextAttemptAt - now) : 0;
  }

  /** The last connect error, while the pool is backing off from it. */
  blocking(now: number): Error | undefined {
    return this.failures > 0 && now < this.nextAttemptAt ? this.error : undefined;
  }

  /** The last connect error if it happened within `ms`, for timeout messages. */
  lastError(now: number, ms: number): Error | undefined {
    return this.error && now - this.errorAt <= ms ? this.error : undefined;
  }
}
