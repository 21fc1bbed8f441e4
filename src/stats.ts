import type { CloseReason } from './pooled-connection.js';
import type { RetryKind } from './retry.js';

/**
 * What `pool.stats()` returns: plain data, cheap to read, and JSON-safe (`JSON.stringify` keeps every value).
 * Counts are connections or callers; every duration is in milliseconds.
 *
 * The gauges are read at the call. A released connection is `idle` at once, unless it must be closed or reset
 * first (settled on the next tick; `inUse` until then). `total` also counts connections being opened, so
 * `total >= idle + inUse`.
 */
export interface PoolStats {
  /** Open connections: idle, in use, being checked, and being opened. */
  total: number;
  /** Connections waiting in the pool for a caller. */
  idle: number;
  /** Connections checked out (by a caller or a pool-level query), being checked on their way out, or released and being closed or reset. */
  inUse: number;
  /** Callers waiting for a connection. */
  waiting: number;
  /** Counters since the pool was created. Connections opened. */
  created: number;
  /** Connections closed, by reason (the `evict` reasons). */
  destroyed: Partial<Record<CloseReason, number>>;
  /** Connection attempts that failed. */
  connectFailures: number;
  /** Checkout pings sent, and those that failed or timed out. */
  pings: number;
  pingFailures: number;
  /** Pool-level calls retried, by kind. */
  retries: Partial<Record<RetryKind, number>>;
  /** Errors passed on to callers by pool-level query/execute after any retries. */
  errorsSurfaced: number;
  /** Checkouts that got a connection. */
  acquires: number;
  /** Checkouts that failed, whatever the reason (timeouts included). */
  acquireFailures: number;
  /** Checkouts that failed because `acquireTimeout` ran out (ACQUIRE_TIMEOUT); also counted in acquireFailures. */
  acquireTimeouts: number;
  /** Checkouts held longer than leakDetectionThreshold (each reported once). */
  leaks: number;
  /**
   * Time from asking for a connection to getting one, in ms: `p50`, `p99` (the upper bound of the bucket holding
   * the quantile, at most `max`), `max`, `sum`. `histogram` counts per bucket (not cumulative): bucket i holds waits
   * in (le[i-1], le[i]] ms; the last bucket's `le` is the string `'+Inf'` (as in Prometheus; `Infinity` would
   * become `null` in JSON).
   */
  acquireWait: { p50: number; p99: number; max: number; sum: number; histogram: { le: number | '+Inf'; count: number }[] };
}

/** Upper bounds (ms) of the acquire-wait histogram buckets; the last is +Infinity. */
const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, Infinity];

/**
 * Per-event durations in ms, for metrics exporters (metrics.ts). Installed only
 * while a pool is instrumented; without one the pool pays one property read.
 */
export interface StatsObserver {
  /** A connection opened: connect + handshake + (first connection) server probe. */
  created(ms: number): void;
  /** A caller got a connection after waiting this long. */
  acquired(ms: number): void;
  /** A checkout ended (release, destroy, or the connection died) after this long. */
  returned(ms: number): void;
}

/** Counters behind stats(). Each update is an increment; nothing allocates on the hot path. */
export class Stats {
  /** @internal Set by instrumentPool(); see StatsObserver. */
  observer: StatsObserver | undefined;
  private created_ = 0;
  private destroyed_: Partial<Record<CloseReason, number>> = {};
  private connectFailures = 0;
  private pings = 0;
  private pingFailures = 0;
  private retries: Partial<Record<RetryKind, number>> = {};
  private surfaced_ = 0;
  private acquires = 0;
  private acquireFailures = 0;
  private acquireTimeouts = 0;
  private leaks = 0;
  private readonly waits = new Array<number>(BUCKETS.length).fill(0);
  private maxWait = 0;
  private sumWait = 0;

  /** `ms`: how long opening it took. */
  created(ms: number): void {
    this.created_++;
    this.observer?.created(ms);
  }
  /**
   * A checkout ended (released, destroyed, or died). Idempotent per checkout: it clears `checkedOutAt`, which is
   * unset for the pool's own loans (not handed out by acquire), so those are not measured.
   */
  returned(entry: { checkedOutAt: number | undefined }, now: number): void {
    const at = entry.checkedOutAt;
    if (at === undefined) return;
    entry.checkedOutAt = undefined;
    this.observer?.returned(now - at);
  }
  destroyed(reason: CloseReason): void {
    this.destroyed_[reason] = (this.destroyed_[reason] ?? 0) + 1;
  }
  connectFailed(): void {
    this.connectFailures++;
  }
  pinged(): void {
    this.pings++;
  }
  pingFailed(): void {
    this.pingFailures++;
  }
  retried(kind: RetryKind): void {
    this.retries[kind] = (this.retries[kind] ?? 0) + 1;
  }
  surfaced(): void {
    this.surfaced_++;
  }
  leaked(): void {
    this.leaks++;
  }
  acquireFailed(): void {
    this.acquireFailures++;
  }
  acquireTimedOut(): void {
    this.acquireTimeouts++;
  }
  acquired(waitMs: number): void {
    this.acquires++;
    let i = 0;
    while (waitMs > BUCKETS[i]!) i++;
    this.waits[i]!++;
    if (waitMs > this.maxWait) this.maxWait = waitMs;
    this.sumWait += waitMs;
    this.observer?.acquired(waitMs);
  }

  read(now: { total: number; idle: number; busy: number; waiting: number }): PoolStats {
    return {
      total: now.total,
      idle: now.idle,
      inUse: now.busy,
      waiting: now.waiting,
      created: this.created_,
      destroyed: { ...this.destroyed_ },
      connectFailures: this.connectFailures,
      pings: this.pings,
      pingFailures: this.pingFailures,
      retries: { ...this.retries },
      errorsSurfaced: this.surfaced_,
      acquires: this.acquires,
      acquireFailures: this.acquireFailures,
      acquireTimeouts: this.acquireTimeouts,
      leaks: this.leaks,
      acquireWait: {
        p50: this.quantile(0.5),
        p99: this.quantile(0.99),
        max: this.maxWait,
        sum: this.sumWait,
        histogram: BUCKETS.map((le, i) => ({ le: le === Infinity ? ('+Inf' as const) : le, count: this.waits[i]! })),
      },
    };
  }

  /** Upper bound of the bucket holding quantile q (0 when nothing was acquired). */
  private quantile(q: number): number {
    if (this.acquires === 0) return 0;
    const target = Math.ceil(this.acquires * q);
    let seen = 0;
    for (let i = 0; i < BUCKETS.length; i++) {
      seen += this.waits[i]!;
      if (seen >= target) return Math.min(BUCKETS[i]!, this.maxWait);
    }
    return this.maxWait;
  }
}
