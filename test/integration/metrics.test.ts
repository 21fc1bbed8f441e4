/**
 * instrumentPool(): the pool's state through OpenTelemetry's real metrics SDK (a MeterProvider with a reader that
 * collects on demand), during a real workload on a private MariaDB with connections KILLed, held and timed out.
 * Every value is asserted: counts by state, limits, pending requests, timeouts, closes by reason, and the three
 * duration histograms against stats() and against what the test itself timed.
 *
 * The Prometheus recipe (prom-client) is checked by readme.test.ts; the span-per-query check with
 * @opentelemetry/instrumentation-mysql2 is in otel-tracing.test.ts. The last tests run dist/ (npm run build first).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import type { PoolConnection } from 'mysql2';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type HistogramMetricData,
  type MetricData,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import { createResilientPool, instrumentPool, type MeterProviderLike, type ResilientPool } from '../../src/index.js';
import { createResilientPool as createPromisePool, instrumentPool as instrumentPromisePool } from '../../src/promise.js';
import { DURATION_BUCKETS } from '../../src/metrics.js';
import { endPool, run, type AppError } from '../support/chaos.js';
import { bounded } from '../support/wait.js';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';

const T = { timeout: 60_000 };
const POOL = 'db.client.connection.pool.name';
const STATE = 'db.client.connection.state';

const server = usePrivateServer();

// Last, with the server closed (usePrivateServer's after() runs first): no socket or timer is left.
after(() => assertNoHandlesLeft());

/** A reader the test drives: collect() runs every observable callback and returns what the SDK would export. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    assert.deepEqual(errors, []);
    const out = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) {
      assert.equal(scope.scope.name, 'resilient-mysql-pool');
      for (const m of scope.metrics) out.set(m.descriptor.name, m);
    }
    return out;
  }
}

function sdk(): { provider: MeterProvider; reader: TestReader } {
  const reader = new TestReader();
  return { provider: new MeterProvider({ readers: [reader] }), reader };
}

/** The value of the one point of `name` whose attributes include `attrs`; undefined when there is none. */
function point(all: Map<string, MetricData>, name: string, attrs: Record<string, string>): number | undefined {
  const m = all.get(name);
  if (!m) return undefined;
  const points = m.dataPoints.filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
  assert.ok(points.length <= 1, `${name}: ${points.length} points for ${JSON.stringify(attrs)}`);
  return points[0]?.value as number | undefined;
}

function histogram(all: Map<string, MetricData>, name: string, pool: string) {
  const m = all.get(name) as HistogramMetricData | undefined;
  assert.ok(m, `${name} not exported`);
  assert.equal(m.dataPointType, DataPointType.HISTOGRAM);
  assert.equal(m.descriptor.unit, 's');
  const p = m.dataPoints.find((d) => d.attributes[POOL] === pool);
  assert.ok(p, `${name}: no point for pool ${pool}`);
  assert.deepEqual(p.value.buckets.boundaries, DURATION_BUCKETS, `${name}: bucket bounds from the instrument's advice`);
  return p.value;
}

function getConn(pool: ResilientPool): Promise<PoolConnection> {
  return new Promise((resolve, reject) => pool.getConnection((err, c) => (err ? reject(err) : resolve(c))));
}

function failedCheckout(pool: ResilientPool): Promise<AppError> {
  return new Promise((resolve, reject) =>
    pool.getConnection((err, c) => {
      if (err) return resolve(err as AppError);
      c.release();
      reject(new Error('getConnection succeeded; expected a timeout'));
    }),
  );
}

describe('instrumentPool with the OpenTelemetry metrics SDK', () => {
  test('counts by state, limits, pending, closes and histograms through holds, KILLs and a workload', T, async () => {
    const { provider, reader } = sdk();
    const pool = createResilientPool({
      ...server.connectionOptions(),
      connectionLimit: 4,
      maxIdle: 3,
      minConnections: 1,
    });
    // The SDK's MeterProvider is accepted as it is (MeterProviderLike is structural).
    const provided: MeterProviderLike = provider;
    const handle = instrumentPool(pool, { meterProvider: provided });
    const name = `${server.host}:${server.port}/${server.database}`;
    assert.equal(handle.poolName, name, 'default pool name: host:port/database');
    const at = { [POOL]: name };
    try {
      // 1. Four connections held by callers: all "used", none idle.
      const started = performance.now();
      const held = await bounded(Promise.all([0, 1, 2, 3].map(() => getConn(pool))), 10_000, 'four checkouts');
      const gotAll = performance.now();
      let m = await reader.metrics();
      assert.equal(point(m, 'db.client.connection.count', { ...at, [STATE]: 'used' }), 4);
      assert.equal(point(m, 'db.client.connection.count', { ...at, [STATE]: 'idle' }), 0);
      assert.equal(point(m, 'db.client.connection.max', at), 4);
      assert.equal(point(m, 'db.client.connection.idle.max', at), 3);
      assert.equal(point(m, 'db.client.connection.idle.min', at), 1);
      assert.equal(point(m, 'db.client.connection.pending_requests', at), 0);
      assert.equal(point(m, 'db.client.connection.timeouts', at), 0);
      // Kind as exported: an UpDownCounter is a non-monotonic sum, a Counter a monotonic one; and the unit.
      const kinds: Record<string, ['updown' | 'counter' | 'histogram', string]> = {
        'db.client.connection.count': ['updown', '{connection}'],
        'db.client.connection.max': ['updown', '{connection}'],
        'db.client.connection.idle.max': ['updown', '{connection}'],
        'db.client.connection.idle.min': ['updown', '{connection}'],
        'db.client.connection.pending_requests': ['updown', '{request}'],
        'db.client.connection.timeouts': ['counter', '{timeout}'],
        'db.client.connection.create_time': ['histogram', 's'],
        'db.client.connection.wait_time': ['histogram', 's'],
      };
      for (const [n, [kind, unit]] of Object.entries(kinds)) {
        const d = m.get(n);
        assert.ok(d, `${n} not exported`);
        assert.equal(d.descriptor.unit, unit, n);
        if (kind === 'histogram') assert.equal(d.dataPointType, DataPointType.HISTOGRAM, n);
        else {
          assert.equal(d.dataPointType, DataPointType.SUM, n);
          assert.equal((d as SumMetricData).isMonotonic, kind === 'counter', n);
        }
      }
      let create = histogram(m, 'db.client.connection.create_time', name);
      assert.equal(create.count, 4);
      assert.ok(create.min! > 0 && create.max! < 5, `create_time ${create.min}..${create.max} s`);
      let wait = histogram(m, 'db.client.connection.wait_time', name);
      assert.equal(wait.count, 4);
      // Each waited for its connection to open: at least the fastest create, at most the whole batch.
      assert.ok(wait.min! >= create.min! * 0.9 && wait.max! <= (performance.now() - started) / 1000, `wait ${wait.min}..${wait.max}`);

      // 2. Two more callers wait: pending requests.
      const enqueued = once(pool, 'enqueue');
      const waitStarted = performance.now();
      const waiters = [getConn(pool), getConn(pool)];
      await enqueued;
      m = await reader.metrics();
      assert.equal(point(m, 'db.client.connection.pending_requests', at), 2);

      // 3. KILL two held connections on the server: they die in their holders' hands and leave the pool; the two
      //    waiting callers get new connections in their place.
      const evicted = new Promise<string[]>((resolve) => {
        const reasons: string[] = [];
        pool.on('evict', (_c: unknown, reason: string) => {
          reasons.push(reason);
          if (reasons.length === 2) resolve(reasons);
        });
      });
      await server.admin(`KILL ${held[0]!.threadId}`);
      await server.admin(`KILL ${held[1]!.threadId}`);
      const killedAfter = (performance.now() - waitStarted) / 1000;
      assert.deepEqual(await bounded(evicted, 10_000, 'two evictions after KILL'), ['broken', 'broken']);
      const served = await bounded(Promise.all(waiters), 10_000, 'the waiting callers');
      m = await reader.metrics();
      assert.equal(point(m, 'db.client.connection.count', { ...at, [STATE]: 'used' }), 4);
      assert.equal(point(m, 'db.client.connection.pending_requests', at), 0);
      assert.equal(point(m, 'resilient_mysql_pool.connection.closed', { ...at, reason: 'broken' }), 2);
      let use = histogram(m, 'db.client.connection.use_time', name);
      assert.equal(use.count, 2, 'the two killed checkouts ended');
      wait = histogram(m, 'db.client.connection.wait_time', name);
      assert.equal(wait.count, 6);
      // The two waiters waited at least until the first KILL was sent and a connection opened.
      assert.ok(wait.max! >= killedAfter * 0.5 && wait.max! < 10, `wait_time max ${wait.max} s; KILLs done after ${killedAfter} s`);
      assert.equal(histogram(m, 'db.client.connection.create_time', name).count, 6);

      // 4. All four are released: idle from the next tick (see README: counts right after release()).
      const heldFrom = performance.now();
      for (const c of [held[2]!, held[3]!, ...served]) c.release();
      await new Promise((resolve) => setImmediate(resolve));
      const heldOriginals = (heldFrom - gotAll) / 1000;
      m = await reader.metrics();
      const idleNow = pool.stats().idle;
      assert.equal(point(m, 'db.client.connection.count', { ...at, [STATE]: 'used' }), 0);
      assert.equal(point(m, 'db.client.connection.count', { ...at, [STATE]: 'idle' }), idleNow);
      assert.ok(idleNow === 3 || idleNow === 4, `idle ${idleNow} (maxIdle 3: one may already be closed)`);
      use = histogram(m, 'db.client.connection.use_time', name);
      assert.equal(use.count, 6);
      // The two original survivors were held from step 1 until now.
      assert.ok(use.max! >= heldOriginals && use.max! < 30, `use_time max ${use.max} s, held ${heldOriginals} s`);

      // 5. A workload with the idle connections KILLed under it: every query answers (pre-ping or retry), and the
      //    histograms count every checkout.
      const idleThreads = (await server.admin<Array<{ ID: number }>>(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'root' AND COMMAND = 'Sleep' AND DB = 'test'",
      )).map((r) => r.ID);
      const work: Array<ReturnType<typeof run>> = [];
      for (let i = 0; i < 40; i++) {
        work.push(run(pool, i % 5 === 0 ? 'SELECT SLEEP(0.02) AS s' : `SELECT ${i} AS n`));
        if (i === 10) for (const id of idleThreads) void server.admin(`KILL ${id}`).catch(() => undefined);
      }
      const outcomes = await Promise.all(work);
      for (const o of outcomes) assert.ok(o.ok, `query failed: ${o.err?.code} ${o.err?.message}`);
      await new Promise((resolve) => setImmediate(resolve));
      const s = pool.stats();
      m = await reader.metrics();
      assert.equal(point(m, 'db.client.connection.count', { ...at, [STATE]: 'used' }), 0);
      assert.equal(point(m, 'db.client.connection.count', { ...at, [STATE]: 'idle' }), s.idle);
      assert.equal(point(m, 'db.client.connection.pending_requests', at), 0);
      wait = histogram(m, 'db.client.connection.wait_time', name);
      use = histogram(m, 'db.client.connection.use_time', name);
      create = histogram(m, 'db.client.connection.create_time', name);
      assert.equal(wait.count, s.acquires, 'one wait_time per checkout');
      assert.equal(use.count, s.acquires, 'one use_time per checkout, all returned');
      assert.equal(create.count, s.created, 'one create_time per connection opened');
      assert.ok(Math.abs(wait.sum! - s.acquireWait.sum / 1000) < 1e-6, `wait_time sum ${wait.sum} vs stats ${s.acquireWait.sum} ms`);
      assert.ok(use.min! >= 0 && use.max! < 30, `use_time ${use.min}..${use.max}`);
      for (const [reason, n] of Object.entries(s.destroyed)) {
        assert.equal(point(m, 'resilient_mysql_pool.connection.closed', { ...at, reason }), n, reason);
      }
      assert.equal(point(m, 'db.client.connection.timeouts', at), 0);

      // 6. stop(): nothing more is observed or recorded.
      handle.stop();
      handle.stop();
      await run(pool, 'SELECT 1');
      const after = await getConn(pool);
      m = await reader.metrics();
      after.release();
      // The SDK keeps exporting the last cumulative value of a series nobody observes any more: still 0 used.
      assert.equal(point(m, 'db.client.connection.count', { ...at, [STATE]: 'used' }), 0, 'no observation after stop()');
      assert.equal(histogram(m, 'db.client.connection.wait_time', name).count, s.acquires, 'no recording after stop()');
      assert.equal(pool.stats_.observer, undefined, 'the hot path is back to one property read');
    } finally {
      handle.stop();
      await endPool(pool, 15_000);
      await provider.shutdown();
    }
  });

  test('timeouts: callers that gave up waiting (acquireTimeout)', T, async () => {
    const { provider, reader } = sdk();
    const pool = createResilientPool({ ...server.connectionOptions(), connectionLimit: 1, acquireTimeout: 200 });
    const h = instrumentPool(pool, { meterProvider: provider, poolName: 't' });
    const at = { [POOL]: 't' };
    try {
      const held = await getConn(pool);
      const enqueued = once(pool, 'enqueue');
      const waiting = [failedCheckout(pool), failedCheckout(pool)];
      await enqueued;
      let m = await reader.metrics();
      assert.equal(point(m, 'db.client.connection.pending_requests', at), 2);
      assert.equal(point(m, 'db.client.connection.timeouts', at), 0);
      const errors = await bounded(Promise.all(waiting), 5_000, 'acquire timeouts');
      for (const e of errors) assert.equal(e.code, 'POOL_ACQUIRE_TIMEOUT');
      m = await reader.metrics();
      assert.equal(point(m, 'db.client.connection.pending_requests', at), 0);
      assert.equal(point(m, 'db.client.connection.timeouts', at), 2);
      const s = pool.stats();
      assert.equal(s.acquireTimeouts, 2);
      assert.equal(s.acquireFailures, 2);
      // A timed-out wait is not a checkout: wait_time counts the one that got a connection.
      assert.equal(histogram(m, 'db.client.connection.wait_time', 't').count, 1);
      held.release();
    } finally {
      h.stop();
      await endPool(pool, 15_000);
      await provider.shutdown();
    }
  });

  test('two pools on one provider are told apart by pool name; the promise pool is accepted', T, async () => {
    const { provider, reader } = sdk();
    const a = createResilientPool({ ...server.connectionOptions(), connectionLimit: 2 });
    const b = createPromisePool({ ...server.connectionOptions(), connectionLimit: 3 });
    const ha = instrumentPool(a, { meterProvider: provider, poolName: 'a' });
    const hb = instrumentPromisePool(b, { meterProvider: provider, poolName: 'b' });
    try {
      // Back to back: the second checkout takes the connection just released (the pool's fast path).
      await run(a, 'SELECT 1');
      await run(a, 'SELECT 2');
      const conn = await b.getConnection();
      const m = await reader.metrics();
      assert.equal(point(m, 'db.client.connection.max', { [POOL]: 'a' }), 2);
      assert.equal(point(m, 'db.client.connection.max', { [POOL]: 'b' }), 3);
      assert.equal(point(m, 'db.client.connection.count', { [POOL]: 'a', [STATE]: 'used' }), 0);
      assert.equal(point(m, 'db.client.connection.count', { [POOL]: 'b', [STATE]: 'used' }), 1);
      assert.equal(histogram(m, 'db.client.connection.wait_time', 'a').count, 2);
      assert.equal(histogram(m, 'db.client.connection.use_time', 'a').count, 2, 'both checkouts measured, the fast one too');
      assert.equal(histogram(m, 'db.client.connection.wait_time', 'b').count, 1);
      conn.release();
    } finally {
      ha.stop();
      hb.stop();
      await endPool(a, 15_000);
      await b.end();
      await provider.shutdown();
    }
  });

  test('without a meterProvider: the global one from @opentelemetry/api', T, async () => {
    const api = await import('@opentelemetry/api');
    const { provider, reader } = sdk();
    assert.ok(api.metrics.setGlobalMeterProvider(provider));
    const pool = createResilientPool({ ...server.connectionOptions(), connectionLimit: 1 });
    const h = instrumentPool(pool, { poolName: 'global' });
    try {
      await run(pool, 'SELECT 1');
      const m = await reader.metrics();
      assert.equal(point(m, 'db.client.connection.max', { [POOL]: 'global' }), 1);
      assert.equal(histogram(m, 'db.client.connection.wait_time', 'global').count, 1);
    } finally {
      h.stop();
      api.metrics.disable();
      await endPool(pool, 15_000);
      await provider.shutdown();
    }
  });

  test('a value that is not one of our pools is refused', () => {
    assert.throws(() => instrumentPool({} as never), TypeError);
  });
});

describe('@opentelemetry/api is optional', () => {
  /** Runs `code` in a plain node child against dist/ (built by `npm run build`); resolves with its stdout JSON. */
  function child(code: string): Promise<unknown> {
    const dist = join(__dirname, '..', '..', 'dist', 'index.js');
    return new Promise((resolve, reject) => {
      execFile(process.execPath, ['-e', `const lib = require(${JSON.stringify(dist)});\n${code}`], { timeout: 20_000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout));
      });
    });
  }
  const LOADED = "Object.keys(require.cache).filter((k) => k.includes('@opentelemetry'))";
  const FAKE_PROVIDER = `const noop = () => {};
const meter = { createHistogram: () => ({ record: noop }), createObservableUpDownCounter: () => ({}), createObservableCounter: () => ({}),
  addBatchObservableCallback: noop, removeBatchObservableCallback: noop };
const provider = { getMeter: () => meter };`;

  test('importing the library, and instrumenting with a given meterProvider, load nothing of OpenTelemetry', T, async () => {
    const out = await child(`${FAKE_PROVIDER}
const atImport = ${LOADED};
const pool = lib.createResilientPool({ host: '127.0.0.1', port: 9, connectionLimit: 1 });
const h = lib.instrumentPool(pool, { meterProvider: provider, poolName: 'p' });
h.stop();
pool.end(() => console.log(JSON.stringify({ atImport, afterInstrument: ${LOADED} })));`);
    assert.deepEqual(out, { atImport: [], afterInstrument: [] });
  });

  test('without @opentelemetry/api installed and no meterProvider: a clear error, nothing else breaks', T, async () => {
    const out = await child(`const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request.startsWith('@opentelemetry/')) throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
const pool = lib.createResilientPool({ host: '127.0.0.1', port: 9, connectionLimit: 1 });
let error;
try { lib.instrumentPool(pool); } catch (e) { error = { code: e.code, message: e.message }; }
pool.end(() => console.log(JSON.stringify({ error, observer: pool.stats_.observer === undefined })));`);
    assert.deepEqual(out, {
      error: { code: 'MODULE_NOT_FOUND', message: 'instrumentPool: @opentelemetry/api is not installed; install it, or pass { meterProvider }' },
      observer: true,
    });
  });
});
