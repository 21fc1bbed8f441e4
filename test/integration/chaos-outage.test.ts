/**
 * Chaos: the server goes away and comes back. The pool must not stay down longer than the server, and must not
 * storm it meanwhile. Each scenario runs against mysql2's own pool (the reference: it dials on every call, so it
 * recovers at once but storms the server while it is down) and against the resilient pool with default options.
 *
 * Figures are printed (`# outage ...` lines); assertions are generous bounds a loaded 2-core CI box cannot flake on.
 * OUTAGE_POOLS, OUTAGE_MS and OUTAGE_INTERVAL_MS change the many-pools scenario's scale (README figures: 40, 5000, 25);
 * DEBUG_OUTAGE=1 prints its calls and dials per 250 ms.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type mysql from 'mysql2';
import { IMPLS, attempt, type Impl } from '../support/chaos-server.js';
import { describeError } from '../support/chaos.js';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { FaultProxy } from '../support/proxy.js';
import { requireControl } from '../support/server.js';
import { endPool, endPools } from '../support/pools.js';
import { bounded } from '../support/wait.js';

const T = { timeout: 90_000 };
const DEBUG = !!process.env.DEBUG_OUTAGE;
/** The connect policy's error freshness (src/backoff.ts FRESH_ERROR), plus margin. */
const PAST_FRESH_ERROR_MS = 150;

// 40 pools of mysql2's open a connection per concurrent call: room for all of them.
const server = usePrivateServer({ args: ['--max-connections=500'] });

function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
}

/** Every call is answered within 15 s (the bound's timer also keeps the process alive while a call waits). */
function within<T>(call: Promise<T>): Promise<T> {
  return bounded(call, 15_000, 'a query');
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

// ---------------------------------------------------------------------------------------------------------------
// 1. restart the server and query at once

describe('restart the server and query at once', () => {
  for (const impl of IMPLS) {
    test(`${impl.name}: after failing calls while down, 4 queries the moment the server is back all succeed`, T, async (t) => {
      if (!requireControl(t, server)) return;
      const pool = impl.create({ ...server.connectionOptions(), connectionLimit: 4 });
      try {
        const warm = await Promise.all([1, 2].map(() => within(attempt(pool, 'SELECT 1 AS v'))));
        for (const w of warm) assert.equal(w.err, null, describeError(w.err ?? undefined));
        let lastFailureAt = 0;
        const down: string[] = [];
        try {
          await server.kill();
          // Steady calls while down, long enough for an exponential backoff to reach its cap (2 s): bounded in count
          // and time.
          const until = performance.now() + 1_500;
          for (let i = 0; i < 200 && performance.now() < until; i++) {
            const r = await within(attempt(pool, 'SELECT 1 AS v'));
            if (r.err) lastFailureAt = performance.now();
            down.push(r.err ? String(r.err.code) : 'ok');
            await delay(20);
          }
        } finally {
          await server.start();
        }
        // The contract: an error handed out is at most ~100 ms old. A restart takes longer than that here, but if it
        // did not, a caller would rightly get the last error: wait that out so the test measures recovery only.
        const sinceFailure = performance.now() - lastFailureAt;
        if (sinceFailure < PAST_FRESH_ERROR_MS) await delay(PAST_FRESH_ERROR_MS - sinceFailure);
        const outcomes = await Promise.all([0, 1, 2, 3].map((i) => within(attempt<Array<{ v: number }>>(pool, `SELECT ${i} AS v`))));
        const ok = outcomes.filter((o) => !o.err).length;
        console.log(
          `# outage restart: ${impl.name}: ${ok}/4 ok the moment the server was back ` +
            `(${Math.round(sinceFailure)} ms after the last failed call; ${down.length} calls while down: ` +
            `${[...new Set(down)].join(', ')}); ${outcomes.map((o) => (o.err ? describeError(o.err) : `${o.ms} ms`)).join('; ')}`,
        );
        assert.ok(down.length > 0 && down.every((c) => c === 'ECONNREFUSED'), `calls while down: ${down.join(', ')}`);
        outcomes.forEach((o, i) => {
          assert.equal(o.err, null, `query ${i}: ${describeError(o.err ?? undefined)}`);
          assert.equal(Number(o.rows![0]!.v), i);
        });
      } finally {
        await endPools([pool]);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 2. many pools through an outage behind a load balancer

type Mode = 'refuse' | 'accept-then-fail';

interface PoolRecord {
  pool: mysql.Pool;
  /** performance.now() of every dial (TCP connect started). */
  dials: number[];
  /** Dials started and not yet answered (no byte from the server) nor closed. */
  dialing: number;
  /** A dial of this pool failed while the server was down, and the pool has had time to hear of it. */
  dialFailed: boolean;
  /** Most dials in flight at once while down, counted once a dial has failed (see countingStream). */
  maxDialingWhileDown: number;
  /** Start and completion time and outcome of every call. */
  calls: Array<{ start: number; at: number; ok: boolean; code?: string }>;
  outstanding: number;
  /** DEBUG_OUTAGE only: what happened when. */
  events: Array<[number, string]>;
}

interface Figures {
  impl: string;
  mode: Mode;
  pools: number;
  /** Connect attempts per second per pool while down: median and max over pools. */
  dialsPerSec: { p50: number; max: number };
  /** Most dials in flight at once in one pool while down, once one of its dials had failed. */
  maxInFlight: number;
  /** ms from the server accepting again to each pool's first successful call: p50 and max over pools. */
  firstSuccess: { p50: number; max: number };
  /** Failed calls made after the server was back, per pool: mean and max. */
  errorsAfterBack: { mean: number; max: number };
  callsWhileDown: number;
  issuedWhileDown: number;
  unrecovered: number;
  /** This process's event-loop delay during the run (ms, p50/max): how starved the test itself was. */
  loopDelay: { p50: number; max: number };
}

/**
 * A socket factory for mysql2's `stream` option that counts this pool's dials (same path for both pools). Dials in
 * flight at once are counted while the pool's last finished dial failed: until one has, a pool that still holds a
 * connection it has not yet seen die may grow in parallel, as it would with the server up.
 */
function countingStream(rec: PoolRecord, proxy: FaultProxy, isDown: () => boolean): () => net.Socket {
  return () => {
    rec.dials.push(performance.now());
    if (DEBUG) rec.events.push([performance.now(), 'dial']);
    rec.dialing++;
    if (isDown() && rec.dialFailed) rec.maxDialingWhileDown = Math.max(rec.maxDialingWhileDown, rec.dialing);
    const socket = net.connect(proxy.port, proxy.host);
    socket.setNoDelay(true);
    let answered = false;
    socket.once('data', () => {
      if (DEBUG) rec.events.push([performance.now(), 'dial answered']);
      if (answered) return;
      answered = true;
      rec.dialing--;
      // A dial the proxy accepted just before it stopped listening reaches the server: the pool has a working
      // connection again and may grow in parallel until its next failed dial.
      if (isDown()) rec.dialFailed = false;
    });
    // 'error' comes with the failure the client sees (its 'close' a tick later). This listener is added before
    // mysql2's own, so a dial counts as finished before the pool hears of it.
    const failed = () => {
      if (DEBUG && !answered) rec.events.push([performance.now(), 'dial failed']);
      if (answered) return;
      answered = true;
      rec.dialing--;
      // After the pool's own handlers (and their promise jobs) have run: it knows of the failure by then.
      if (isDown()) setImmediate(() => (rec.dialFailed = true));
    };
    socket.once('error', failed);
    socket.once('close', failed);
    return socket;
  };
}

async function outageRun(impl: Impl, mode: Mode): Promise<Figures> {
  const POOLS = envInt('OUTAGE_POOLS', 10);
  const OUTAGE_MS = envInt('OUTAGE_MS', 3_000);
  const INTERVAL_MS = envInt('OUTAGE_INTERVAL_MS', 50);
  const AFTER_MS = 1_500;
  const proxy = await FaultProxy.start(server.connectionOptions());
  let down = false;
  let downAt = Infinity;
  let backAt = Infinity;
  let issuedWhileDown = 0;
  const recs: PoolRecord[] = [];
  const tickers: NodeJS.Timeout[] = [];
  const trafficEnd = performance.now() + 1_000 + OUTAGE_MS + AFTER_MS + 5_000;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  try {
    for (let i = 0; i < POOLS; i++) {
      const rec: PoolRecord = {
        pool: undefined as never,
        dials: [],
        dialing: 0,
        dialFailed: false,
        maxDialingWhileDown: 0,
        calls: [],
        outstanding: 0,
        events: [],
      };
      rec.pool = impl.create({
        ...server.connectionOptions(),
        host: proxy.host,
        port: proxy.port,
        stream: countingStream(rec, proxy, () => down),
      } as mysql.PoolOptions);
      rec.pool.on('connection', (c) => c.on('error', () => undefined));
      recs.push(rec);
    }
    const call = (rec: PoolRecord) => {
      if (down) issuedWhileDown++;
      rec.outstanding++;
      const start = performance.now();
      rec.pool.query('SELECT 1 AS v', (err: (Error & { code?: string }) | null) => {
        rec.outstanding--;
        rec.calls.push({ start, at: performance.now(), ok: !err, code: err ? String(err.code) : undefined });
        if (DEBUG) rec.events.push([performance.now(), `call ${err ? String(err.code) : 'ok'}`]);
      });
    };
    // Steady open-loop traffic: each pool calls every INTERVAL_MS whatever the previous call is doing, like an app
    // instance serving requests. Staggered so the pools do not call in lockstep.
    recs.forEach((rec, i) => {
      setTimeout(() => {
        if (down || backAt < Infinity || tickers.length >= POOLS) return;
        const ticker = setInterval(() => {
          // Traffic stops by itself at the latest at trafficEnd, whatever happens to the run.
          if (performance.now() > trafficEnd) clearInterval(ticker);
          else call(rec);
        }, INTERVAL_MS);
        tickers.push(ticker);
      }, (i * INTERVAL_MS) / POOLS);
    });
    await delay(1_000 + INTERVAL_MS); // warm-up window (measurement, not synchronisation)
    const warmFailures = recs.reduce((n, r) => n + r.calls.filter((c) => !c.ok).length, 0);
    assert.equal(warmFailures, 0, 'calls failed before the outage');

    down = true;
    downAt = performance.now();
    if (mode === 'refuse') await proxy.refuseNew(true);
    else proxy.failNew(true);
    proxy.resetExisting();
    await delay(OUTAGE_MS);
    if (mode === 'refuse') await proxy.refuseNew(false);
    else proxy.failNew(false);
    backAt = performance.now();
    down = false;
    if (DEBUG) {
      for (const r of recs) {
        const p = r.pool as unknown as { backoff?: unknown; entries?: Set<{ state: string; dead: boolean }>; waiting?: number };
        if (p.backoff) {
          const entries = [...p.entries!].map((e) => `${e.state}${e.dead ? '/dead' : ''}`).join(',');
          r.events.push([backAt, `at back: ${JSON.stringify(p.backoff)} entries [${entries}] waiting ${p.waiting}`]);
        }
      }
    }
    await delay(AFTER_MS);
    for (const tk of tickers) clearInterval(tk);
    // Every call gets its answer (bounded by acquireTimeout / connectTimeout, 10 s each).
    const deadline = performance.now() + 25_000;
    for (let i = 0; i < 1_000 && recs.some((r) => r.outstanding > 0) && performance.now() < deadline; i++) await delay(25);
    assert.ok(recs.every((r) => r.outstanding === 0), 'calls still unanswered 25 s after the traffic stopped');
  } finally {
    loop.disable();
    for (const tk of tickers) clearInterval(tk);
    await Promise.all(recs.map((r) => endPool(r.pool, 15_000).catch(() => undefined)));
    await proxy.close();
  }

  const span = (backAt - downAt) / 1000;
  const dialRates = recs.map((r) => r.dials.filter((t) => t >= downAt && t < backAt).length / span).sort((a, b) => a - b);
  const firsts: number[] = [];
  let unrecovered = 0;
  for (const r of recs) {
    const first = r.calls.find((c) => c.ok && c.at >= backAt);
    if (first) firsts.push(first.at - backAt);
    else unrecovered++;
  }
  firsts.sort((a, b) => a - b);
  // Errors of calls made after the server was back (a call made during the outage may be answered after it).
  const errsAfter = recs.map((r) => r.calls.filter((c) => !c.ok && c.start >= backAt).length);
  const round = (x: number) => Math.round(x * 10) / 10;
  if (process.env.DEBUG_OUTAGE) {
    const b = (t: number) => Math.floor((t - downAt) / 250);
    const rows: Record<number, [number, number, number]> = {};
    for (const r of recs) {
      for (const c of r.calls) (rows[b(c.at)] ??= [0, 0, 0])[c.ok ? 0 : 1]++;
      for (const d of r.dials) (rows[b(d)] ??= [0, 0, 0])[2]++;
    }
    const perPool = recs.map((r) => {
      const d = r.dials.find((t) => t >= backAt);
      const ok = r.calls.find((c) => c.ok && c.at >= backAt);
      return `${d === undefined ? '-' : Math.round(d - backAt)}/${ok ? Math.round(ok.at - backAt) : '-'}`;
    });
    console.log('# debug per pool, first dial/first ok after back (ms):', perPool.join(' '));
    const firstOk = (r: PoolRecord) => r.calls.find((c) => c.ok && c.at >= backAt)?.at ?? Infinity;
    const slowest = [...recs].sort((x, y) => firstOk(y) - firstOk(x))[0]!;
    const seen = slowest.events.filter(([t]) => t >= backAt - 300 && t <= firstOk(slowest));
    console.log('# debug slowest pool:', seen.map(([t, e]) => `${Math.round(t - backAt)} ${e}`).join('; '));
    console.log('# debug back at', Math.round(backAt - downAt), 'ok/err/dials per 250 ms:', JSON.stringify(Object.entries(rows).sort((x, y) => +x[0] - +y[0])));
  }
  return {
    impl: impl.name,
    mode,
    pools: POOLS,
    dialsPerSec: { p50: round(quantile(dialRates, 0.5)), max: round(dialRates.at(-1) ?? NaN) },
    maxInFlight: Math.max(...recs.map((r) => r.maxDialingWhileDown)),
    firstSuccess: { p50: Math.round(quantile(firsts, 0.5)), max: Math.round(firsts.at(-1) ?? NaN) },
    errorsAfterBack: { mean: round(errsAfter.reduce((a, b) => a + b, 0) / recs.length), max: Math.max(...errsAfter) },
    issuedWhileDown,
    callsWhileDown: recs.reduce((n, r) => n + r.calls.filter((c) => c.at >= downAt && c.at < backAt).length, 0),
    unrecovered,
    loopDelay: { p50: Math.round(loop.percentile(50) / 1e6), max: Math.round(loop.max / 1e6) },
  };
}

describe('many pools through an outage behind a load balancer', () => {
  for (const mode of ['refuse', 'accept-then-fail'] as const) {
    const lb = mode === 'refuse' ? 'refusing' : 'accepting then failing';
    test(`mysql2 then resilient, load balancer ${lb} while the server is down`, { timeout: 180_000 }, async (t) => {
      if (!requireControl(t, server)) return;
      const [plain, ours] = [IMPLS[0]!, IMPLS[1]!];
      const m = await bounded(outageRun(plain, mode), 80_000, 'mysql2 outage run');
      console.log(`# outage ${JSON.stringify(m)}`);
      const r = await bounded(outageRun(ours, mode), 80_000, 'resilient outage run');
      console.log(`# outage ${JSON.stringify(r)}`);
      assert.equal(m.unrecovered, 0, `${m.unrecovered} mysql2 pools never served a call after the server was back`);
      assert.equal(r.unrecovered, 0, `${r.unrecovered} pools never served a call after the server was back`);
      // Targets (README): <= ~10 dials/s per pool while down, one in flight, first success p50 <= 150 ms and
      // max <= 300 ms after the server is back, about one error per pool after it is back. Asserted with room for a
      // loaded 2-core box, where the server itself can take one to two seconds to greet new connections after the
      // outage: the recovery bound only says "not stuck", relative to mysql2's. A pool that waits out a backoff after
      // the server is back fails the errors bound (one error per call meanwhile).
      assert.ok(r.dialsPerSec.max <= 12, `dials per second per pool while down: ${JSON.stringify(r.dialsPerSec)}`);
      assert.ok(r.maxInFlight <= 1, `dials in flight at once in one pool while down: ${r.maxInFlight}`);
      const bound = Math.max(3_000, m.firstSuccess.max + 2_000);
      assert.ok(r.firstSuccess.max < bound, `first success after the server was back: ${JSON.stringify(r.firstSuccess)} ms (bound ${bound})`);
      assert.ok(r.errorsAfterBack.mean <= 3, `errors after the server was back, per pool: ${JSON.stringify(r.errorsAfterBack)}`);
    });
  }
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
