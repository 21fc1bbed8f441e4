/**
 * Leak detection (`leakDetectionThreshold`): a connection checked out through getConnection() and not released
 * within the threshold is reported once, with the stack of the checkout, as a `leak` event and in stats().
 * Off (threshold 0), it costs one comparison per checkout.
 */
import type { PoolConnection } from 'mysql2';
import type { Clock } from './clock.js';
import { log } from './log.js';
import type { PoolEntry } from './pooled-connection.js';
import type { Stats } from './stats.js';

export interface LeakReport {
  connection: PoolConnection;
  heldFor: number;
  stack: string;
}

export class LeakDetector {
  constructor(
    private readonly clock: Clock,
    private readonly stats: Stats,
    private readonly report: (leak: LeakReport) => void,
  ) {}

  /** Reports `entry` once if it is still held `threshold` ms from now; `origin` was captured at the checkout. */
  watch(entry: PoolEntry, origin: Error, threshold: number): void {
    const since = this.clock.now();
    // Background: nobody waits on a leak report; it must not keep a finished script alive.
    entry.leakTimer = this.clock.setBackgroundTimeout(() => {
      entry.leakTimer = undefined;
      if (entry.state !== 'busy') return;
      const heldFor = Math.round(this.clock.now() - since);
      this.stats.leaked();
      log.pool('%s held for %d ms (leakDetectionThreshold %d ms); %s', entry, heldFor, threshold, origin.stack);
      this.report({ connection: entry.conn, heldFor, stack: origin.stack ?? '' });
    }, threshold);
  }

  /** The checkout ended (release, destroy, close): no report. */
  stop(entry: PoolEntry): void {
    if (entry.leakTimer === undefined) return;
    this.clock.clearTimeout(entry.leakTimer);
    entry.leakTimer = undefined;
  }
}
