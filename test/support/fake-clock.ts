/**
 * A hand-driven Clock for unit tests: time moves only on `advance()`, and every pending timer remembers whether it
 * would keep a real process alive (setTimeout, or ref()) or not (setBackgroundTimeout, or unref()), so a test can
 * assert the process-lifetime rule without spawning a process.
 */
import type { Clock, TimerHandle } from '../../src/clock.js';

export class FakeTimer implements TimerHandle {
  cleared = false;
  fired = false;

  constructor(
    readonly fn: () => void,
    readonly at: number,
    private refed: boolean,
    readonly seq: number,
  ) {}

  ref(): void {
    this.refed = true;
  }

  unref(): void {
    this.refed = false;
  }

  hasRef(): boolean {
    return this.refed;
  }

  get pending(): boolean {
    return !this.cleared && !this.fired;
  }
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers: FakeTimer[] = [];

  constructor(start = 1_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): FakeTimer {
    return this.add(fn, ms, true);
  }

  setBackgroundTimeout(fn: () => void, ms: number): FakeTimer {
    return this.add(fn, ms, false);
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as FakeTimer).cleared = true;
  }

  /** Timers that have neither fired nor been cleared. */
  pending(): FakeTimer[] {
    return this.timers.filter((t) => t.pending);
  }

  /** Pending timers that would keep a real process alive. */
  holding(): FakeTimer[] {
    return this.pending().filter((t) => t.hasRef());
  }

  /**
   * Moves time forward by `ms`, firing due timers in order of due time (then creation), each at its own time;
   * timers they set that fall due within the window fire too. Bounded: at most 10,000 firings.
   */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let n = 0; n < 10_000; n++) {
      const due = this.pending()
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) {
        this.t = end;
        return;
      }
      this.t = Math.max(this.t, due.at);
      due.fired = true;
      due.fn();
    }
    throw new Error('FakeClock.advance: more than 10,000 timers fired; a timer re-arms itself at 0 ms?');
  }

  private add(fn: () => void, ms: number, refed: boolean): FakeTimer {
    const timer = new FakeTimer(fn, this.t + Math.max(0, ms), refed, this.seq++);
    this.timers.push(timer);
    return timer;
  }
}
