/**
 * OpenTelemetry metrics for a pool, under the semantic conventions for
 * database client connection pools (`db.client.connection.*`, experimental in
 * semconv 1.3x): counts and limits are observed at each collection from the
 * pool's own bookkeeping (nothing on the hot path), the three durations are
 * histograms recorded as they happen, in seconds.
 *
 * `@opentelemetry/api` is an optional peer dependency: nothing here imports it
 * at load. instrumentPool() asks it for the global meter only when no
 * `meterProvider` is given, so an application that never calls instrumentPool()
 * (or passes its own provider) does not need it installed. The types below are
 * the few members used, which OpenTelemetry's `MeterProvider` satisfies, so the
 * declarations do not reference the package either.
 */
import type { ResilientPool } from './pool.js';
import type { ResilientPromisePool } from './promise-pool.js';
import type { StatsObserver } from './stats.js';

/** Attribute values as OpenTelemetry takes them. */
export type MetricAttributes = Record<string, string | number | boolean>;

/** The options this module passes when it creates an instrument (OpenTelemetry's `MetricOptions`, in part). */
export interface MetricInstrumentOptions {
  description?: string;
  unit?: string;
  /** OpenTelemetry's `ValueType`: 0 integer, 1 double. */
  valueType?: number;
  advice?: { explicitBucketBoundaries?: number[] };
}

/** An asynchronous instrument, opaque here. */
export type ObservableLike = object;

/** The part of OpenTelemetry's `Meter` this module uses. */
export interface MeterLike {
  createHistogram(name: string, options?: MetricInstrumentOptions): { record(value: number, attributes?: MetricAttributes): void };
  createObservableUpDownCounter(name: string, options?: MetricInstrumentOptions): ObservableLike;
  createObservableCounter(name: string, options?: MetricInstrumentOptions): ObservableLike;
  addBatchObservableCallback(
    callback: (result: { observe(observable: ObservableLike, value: number, attributes?: MetricAttributes): void }) => void,
    observables: ObservableLike[],
  ): void;
  removeBatchObservableCallback(
    callback: (result: { observe(observable: ObservableLike, value: number, attributes?: MetricAttributes): void }) => void,
    observables: ObservableLike[],
  ): void;
}

/** The part of OpenTelemetry's `MeterProvider` this module uses. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): MeterLike;
}

export interface InstrumentPoolOptions {
  /**
   * Where the metrics go. Default: the global MeterProvider of `@opentelemetry/api` (which must then be
   * installed), as it is when instrumentPool() is called: with the OpenTelemetry SDK, call it after the SDK has
   * started, or pass the provider.
   */
  meterProvider?: MeterProviderLike;
  /**
   * `db.client.connection.pool.name`, unique within the application. Default, as the semantic conventions
   * suggest: `host:port/database` from the pool's config (`socketPath/database` for a socket).
   */
  poolName?: string;
}

/** What instrumentPool() returns. */
export interface PoolInstrumentation {
  /** The `db.client.connection.pool.name` in use. */
  readonly poolName: string;
  /** Stops recording and observing; idempotent. The instruments stay registered with the meter, silent. */
  stop(): void;
}

/** The meter's instrumentation scope. */
export const METER_NAME = 'resilient-mysql-pool';

/**
 * Histogram bucket bounds in seconds, the same as stats()' acquire-wait histogram (ms there): from 50 µs, since a
 * checkout that needs no ping takes a few µs and a connect on a LAN about a millisecond, to 10 s.
 */
export const DURATION_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const POOL_NAME = 'db.client.connection.pool.name';
const STATE = 'db.client.connection.state';
const INT = 0;

/** Observers per pool (two exporters, say an OpenTelemetry SDK and a Prometheus bridge, may watch one pool). */
const observers = new WeakMap<ResilientPool, Set<StatsObserver>>();

/**
 * Publishes `pool`'s state as OpenTelemetry metrics (semantic conventions for database connection pools):
 *
 * | instrument | kind | unit | value |
 * |---|---|---|---|
 * | `db.client.connection.count` | ObservableUpDownCounter | `{connection}` | by `db.client.connection.state`: `idle`, `used` (checked out, being checked, or being released) |
 * | `db.client.connection.idle.max` | ObservableUpDownCounter | `{connection}` | `maxIdle` |
 * | `db.client.connection.idle.min` | ObservableUpDownCounter | `{connection}` | `minConnections` |
 * | `db.client.connection.max` | ObservableUpDownCounter | `{connection}` | `connectionLimit` (not reported when 0, no limit) |
 * | `db.client.connection.pending_requests` | ObservableUpDownCounter | `{request}` | callers waiting for a connection |
 * | `db.client.connection.timeouts` | ObservableCounter | `{timeout}` | checkouts that failed with ACQUIRE_TIMEOUT |
 * | `db.client.connection.create_time` | Histogram | `s` | connect + handshake of each new connection |
 * | `db.client.connection.wait_time` | Histogram | `s` | from asking for a connection to getting one |
 * | `db.client.connection.use_time` | Histogram | `s` | from getting a connection to release (or destroy) |
 * | `resilient_mysql_pool.connection.closed` | ObservableCounter | `{connection}` | by `reason` (the `evict` reasons) |
 * | `resilient_mysql_pool.retries` | ObservableCounter | `{retry}` | by `kind` (the `retry` kinds) |
 *
 * Every point carries `db.client.connection.pool.name`. Accepts the callback pool or the promise pool.
 */
export function instrumentPool(pool: ResilientPool | ResilientPromisePool, options: InstrumentPoolOptions = {}): PoolInstrumentation {
  const p = callbackPool(pool);
  const meter = (options.meterProvider ?? globalMeterProvider()).getMeter(METER_NAME, version());
  const poolName = options.poolName ?? defaultPoolName(p);
  const attrs: MetricAttributes = { [POOL_NAME]: poolName };
  const idleAttrs: MetricAttributes = { ...attrs, [STATE]: 'idle' };
  const usedAttrs: MetricAttributes = { ...attrs, [STATE]: 'used' };

  const upDown = (name: string, description: string, unit = '{connection}') =>
    meter.createObservableUpDownCounter(name, { unit, valueType: INT, description });
  const counter = (name: string, description: string, unit: string) =>
    meter.createObservableCounter(name, { unit, valueType: INT, description });
  const count = upDown('db.client.connection.count', 'The number of connections that are currently in state described by the state attribute');
  const idleMax = upDown('db.client.connection.idle.max', 'The maximum number of idle open connections allowed');
  const idleMin = upDown('db.client.connection.idle.min', 'The minimum number of idle open connections allowed');
  const max = upDown('db.client.connection.max', 'The maximum number of open connections allowed');
  const pending = upDown('db.client.connection.pending_requests', 'The number of current pending requests for an open connection', '{request}');
  const timeouts = counter(
    'db.client.connection.timeouts',
    'The number of connection timeouts that have occurred trying to obtain a connection from the pool',
    '{timeout}',
  );
  const closed = counter('resilient_mysql_pool.connection.closed', 'Connections the pool closed, by reason', '{connection}');
  const retries = counter('resilient_mysql_pool.retries', 'Pool-level calls retried, by kind', '{retry}');
  const seconds = (description: string): MetricInstrumentOptions => ({
    unit: 's',
    description,
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const createTime = meter.createHistogram('db.client.connection.create_time', seconds('The time it took to create a new connection'));
  const waitTime = meter.createHistogram('db.client.connection.wait_time', seconds('The time it took to obtain an open connection from the pool'));
  const useTime = meter.createHistogram(
    'db.client.connection.use_time',
    seconds('The time between borrowing a connection and returning it to the pool'),
  );

  const observables = [count, idleMax, idleMin, max, pending, timeouts, closed, retries];
  const observe: Parameters<MeterLike['addBatchObservableCallback']>[0] = (r) => {
    const s = p.stats();
    r.observe(count, s.idle, idleAttrs);
    r.observe(count, s.inUse, usedAttrs);
    r.observe(pending, s.waiting, attrs);
    r.observe(idleMax, p.config.maxIdle, attrs);
    r.observe(idleMin, p.config.resilience.minConnections, attrs);
    if (p.config.connectionLimit > 0) r.observe(max, p.config.connectionLimit, attrs);
    r.observe(timeouts, s.acquireTimeouts, attrs);
    for (const [reason, n] of Object.entries(s.destroyed)) r.observe(closed, n ?? 0, { ...attrs, reason });
    for (const [kind, n] of Object.entries(s.retries)) r.observe(retries, n ?? 0, { ...attrs, kind });
  };
  meter.addBatchObservableCallback(observe, observables);

  const observer: StatsObserver = {
    created: (ms) => createTime.record(ms / 1000, attrs),
    acquired: (ms) => waitTime.record(ms / 1000, attrs),
    returned: (ms) => useTime.record(ms / 1000, attrs),
  };
  addObserver(p, observer);

  let stopped = false;
  return {
    poolName,
    stop() {
      if (stopped) return;
      stopped = true;
      meter.removeBatchObservableCallback(observe, observables);
      removeObserver(p, observer);
    },
  };
}

function callbackPool(pool: ResilientPool | ResilientPromisePool): ResilientPool {
  const p = (pool as { pool?: unknown }).pool ?? pool;
  if (!p || typeof (p as ResilientPool).stats !== 'function' || !(p as ResilientPool).stats_) {
    throw new TypeError('instrumentPool: expected a pool made by resilient-mysql-pool (callback or promise API)');
  }
  return p as ResilientPool;
}

/** `@opentelemetry/api`'s global provider, loaded now (not at import): it is an optional peer dependency. */
function globalMeterProvider(): MeterProviderLike {
  let api: { metrics: { getMeter(name: string, version?: string): MeterLike } };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    api = require('@opentelemetry/api') as typeof api;
  } catch (err) {
    throw Object.assign(
      new Error('instrumentPool: @opentelemetry/api is not installed; install it, or pass { meterProvider }', { cause: err }),
      { code: 'MODULE_NOT_FOUND' },
    );
  }
  return { getMeter: (name, v) => api.metrics.getMeter(name, v) };
}

function version(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** `host:port/database` (or `socketPath/database`), the semantic conventions' suggestion. */
function defaultPoolName(pool: ResilientPool): string {
  const c = pool.config.connectionConfig as { host?: string; port?: number; socketPath?: string; database?: string };
  const server = c.socketPath ? c.socketPath : `${c.host || 'localhost'}:${c.port || 3306}`;
  return `${server}/${c.database ?? ''}`;
}

function addObserver(pool: ResilientPool, observer: StatsObserver): void {
  let set = observers.get(pool);
  if (!set) observers.set(pool, (set = new Set()));
  set.add(observer);
  pool.stats_.observer = fanOut(set);
}

function removeObserver(pool: ResilientPool, observer: StatsObserver): void {
  const set = observers.get(pool);
  if (!set) return;
  set.delete(observer);
  pool.stats_.observer = fanOut(set);
}

/** One observer for the set: itself when alone, none when empty (the pool then does nothing per event). */
function fanOut(set: Set<StatsObserver>): StatsObserver | undefined {
  if (set.size === 0) return undefined;
  if (set.size === 1) return [...set][0];
  const all = [...set];
  return {
    created: (ms) => all.forEach((o) => o.created(ms)),
    acquired: (ms) => all.forEach((o) => o.acquired(ms)),
    returned: (ms) => all.forEach((o) => o.returned(ms)),
  };
}
