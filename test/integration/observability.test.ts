/**
 * Observability: `stats()`, the events (connection, acquire, release, enqueue, evict, retry, warn, error) and the
 * `debug` namespaces, checked after REAL faults on a private server (KILL, a blackholed flow, a lowered wait_timeout,
 * lifetimes and idle limits running out), with exact counts. Each test uses a fresh pool, so every counter starts at
 * zero and is asserted as an absolute value. Where a count is inherently racy, a bound is asserted and the comment
 * says why.
 *
 * Leak detection itself is covered by leaks.test.ts; here only its forwarding by the promise pool is checked.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import type { PoolConnection } from 'mysql2';
import { createResilientPool, type OptionClampedWarning, type PoolStats, type ResilientPool } from '../../src/index.js';
import { createResilientPool as createPromisePool } from '../../src/promise.js';
import { run, warm, type AppError, type RawConnection } from '../support/chaos.js';
import {
  DEBUG_TABLE,
  OBS_PASSWORD,
  OBS_USER,
  WRONG_PASSWORD,
  adminQuery,
  nextEvents,
  record,
  socketsClosing,
  threadRunning,
  tick,
  type DebugChildReport,
} from '../support/observability.js';
import { FaultProxy } from '../support/proxy.js';
import { requireControl } from '../support/server.js';
import { endPool } from '../support/pools.js';
import { bounded, delay, until } from '../support/wait.js';
import createDebug from 'debug';
import { format } from 'node:util';
import { log } from '../../src/log.js';

const T = { timeout: 30_000 };
const WRITES = 'obs_writes';

const server = usePrivateServer({
  setup: async () => {
    await server.admin(`CREATE TABLE IF NOT EXISTS test.${WRITES} (id INT AUTO_INCREMENT PRIMARY KEY, v INT NULL)`);
  },
});

after(async () => {
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

type Options = Parameters<typeof createResilientPool>[0] & object;

/** A callback pool on the test server, always ended (bounded) after `body`, whatever happened. */
/** Turns one `debug` namespace on in this process and collects its lines (formatted, no colours); returns the undo. */
function captureDebug(logger: createDebug.Debugger, into: string[]): () => void {
  const before = createDebug.disable();
  createDebug.enable(before ? `${before},${logger.namespace}` : logger.namespace);
  const colours = logger as unknown as { useColors: boolean };
  const { log: previousLog } = logger;
  const { useColors } = colours;
  colours.useColors = false;
  logger.log = (...args: unknown[]) => void into.push(format(...args));
  return () => {
    logger.log = previousLog;
    colours.useColors = useColors;
    createDebug.enable(before);
  };
}

async function withPool(options: Partial<Options>, body: (pool: ResilientPool) => Promise<void>): Promise<void> {
  const pool = createResilientPool({ ...server.connectionOptions(), ...options });
  try {
    await body(pool);
  } finally {
    await endPool(pool, 15_000);
  }
}

function getConn(pool: ResilientPool): Promise<PoolConnection> {
  return bounded(
    new Promise<PoolConnection>((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn)))),
    10_000,
    'getConnection',
  );
}

/** The gauges of a stats() snapshot. */
function gauges(s: PoolStats): { total: number; idle: number; inUse: number; waiting: number } {
  return { total: s.total, idle: s.idle, inUse: s.inUse, waiting: s.waiting };
}

function sumHistogram(s: PoolStats): number {
  return s.acquireWait.histogram.reduce((n, b) => n + b.count, 0);
}

/** The error-table reason mysql2's report of a connection killed under a command maps to. */
function killReason(err: AppError): string {
  return err.errno === 1927 || err.errno === 3169 ? 'killed' : 'connection-lost';
}

/** Starts `sql` through the pool and KILLs the server thread running it once it has run for 100 ms. */
async function runAndKill(pool: { query: ResilientPool['query'] }, sql: string) {
  const pending = run(pool, sql);
  const victim = await threadRunning(adminQuery(server), server.flavor, sql);
  await server.admin(`KILL ${victim}`);
  return { ...(await pending), victim };
}

// ---------------------------------------------------------------------------------------------------------------

describe('stats() and events after real faults', T, () => {
  test('KILL of N idle connections, then a burst: N evicted as broken, replaced, nothing surfaced', async () => {
    const N = 3;
    const BURST = 6;
    await withPool({ connectionLimit: 10 }, async (pool) => {
      const rec = record(pool, { listenForErrors: true });
      await warm(pool, N);
      await tick();
      const warmed = pool.stats();
      assert.deepEqual(gauges(warmed), { total: N, idle: N, inUse: 0, waiting: 0 });
      assert.equal(warmed.created, N);
      assert.equal(warmed.acquires, N);
      assert.equal(rec.connections.length, N);

      const victims = rec.connections.map((c) => c.threadId!);
      // Wait until the client has seen every close, so no statement of the burst can meet a half-dead connection: the
      // counts below are then exact (a statement sent just as the FIN arrives would be retried and counted as such).
      const closed = socketsClosing(rec.connections, 5_000);
      for (const id of victims) await server.admin(`KILL ${id}`);
      await closed;
      // The pool emits 'error' for a connection that fails while idle, once each, only because someone listens.
      assert.equal(rec.errors.length, N, `errors: ${rec.errors.map((e) => e.message).join('; ')}`);

      const outcomes = await Promise.all(Array.from({ length: BURST }, (_, i) => run(pool, `SELECT ${i} AS v`)));
      outcomes.forEach((o, i) => {
        assert.ok(o.ok, `query ${i}: ${o.err?.message}`);
        assert.equal(Number(o.rows[0].v), i);
      });
      // Every statement of the burst asked for a connection at once and all N old ones were dead, so BURST connects
      // start together; one may still be finishing when the last statement is done (it was served by a connection
      // released meanwhile), so wait for the count to arrive before asserting it is exact.
      await until(() => pool.stats().created >= N + BURST, 5_000, `${N + BURST} connections created`, 5);
      await tick();

      const s = pool.stats();
      // The dead connections are dropped as 'broken' (found dead without I/O), by the checkout that meets them or by
      // the 1 s eviction run, whichever comes first: the reason is the same either way.
      assert.deepEqual(s.destroyed, { broken: N });
      assert.deepEqual(rec.evictReasons(), { broken: N });
      assert.deepEqual(rec.evicts.map((e) => e.threadId).sort(), [...victims].sort());
      assert.equal(s.created, N + BURST);
      assert.equal(rec.connections.length, N + BURST);
      assert.equal(s.errorsSurfaced, 0);
      assert.deepEqual(s.retries, {});
      assert.equal(rec.retries.length, 0);
      // Dead connections are never pinged (their socket is closed); brand-new ones are not pinged either.
      assert.equal(s.pings, 0);
      assert.equal(s.acquires, N + BURST);
      assert.equal(rec.acquires, N + BURST);
      assert.equal(sumHistogram(s), s.acquires);
      assert.deepEqual(gauges(s), { total: BURST, idle: BURST, inUse: 0, waiting: 0 });
    });
  });

  test('pings: one per checkout of a connection idle past pingSkipWindow, none inside it', async () => {
    // pingSkipWindow 100 rather than 50: the "inside the window" half must re-check connections out within the window,
    // and 50 ms leaves too little margin on a loaded machine.
    const WINDOW = 100;
    await withPool({ connectionLimit: 5, pingSkipWindow: WINDOW }, async (pool) => {
      const rec = record(pool);
      const checkout3 = () => Promise.all([getConn(pool), getConn(pool), getConn(pool)]);
      const releaseAll = (conns: PoolConnection[]) => conns.forEach((c) => c.release());

      let held = await checkout3();
      assert.equal(pool.stats().pings, 0, 'brand-new connections are never pinged');
      releaseAll(held);
      await tick();

      await delay(WINDOW + 100); // the input of this test is idle time
      held = await checkout3();
      let s = pool.stats();
      assert.equal(s.pings, 3, 'each connection idle past the window is pinged once on checkout');
      assert.equal(s.pingFailures, 0);
      releaseAll(held);
      await tick();

      // Checked out again at once: inside the window, no pings.
      held = await checkout3();
      s = pool.stats();
      assert.equal(s.pings, 3);
      releaseAll(held);
      await tick();

      assert.equal(s.created, 3);
      assert.equal(s.acquires, 9);
      assert.equal(rec.acquires, 9);
      assert.deepEqual(s.destroyed, {});
    });
  });

  test('after a lost connection the other idle ones are pinged inside the skip window (suspected)', async () => {
    await withPool({ connectionLimit: 5, pingSkipWindow: 60_000 }, async (pool) => {
      const rec = record(pool);
      await warm(pool, 3);
      await tick();
      const [victim] = rec.connections;
      const closed = socketsClosing([victim!], 5_000);
      await server.admin(`KILL ${victim!.threadId}`);
      await closed;
      const held = await Promise.all([getConn(pool), getConn(pool), getConn(pool)]);
      held.forEach((c) => c.release());
      await tick();
      const s = pool.stats();
      // The two survivors were used well inside the 60 s window, yet are pinged: the kill made them suspect.
      assert.equal(s.pings, 2);
      assert.equal(s.pingFailures, 0);
      assert.deepEqual(s.destroyed, { broken: 1 });
      assert.equal(s.created, 4);
    });
  });

  test('a blackholed flow: one ping times out (ping-timeout), the others idle as long are presumed dead', async () => {
    const proxy = await FaultProxy.start(server.connectionOptions());
    try {
      await withPool(
        { host: proxy.host, port: proxy.port, connectionLimit: 5, pingSkipWindow: 50, pingTimeout: 200 },
        async (pool) => {
          const rec = record(pool);
          const held = await Promise.all([getConn(pool), getConn(pool), getConn(pool)]);
          held.forEach((c) => c.release());
          await tick();
          await delay(150); // idle past the 50 ms skip window, so the next checkout pings
          proxy.blackholeExisting();

          const evicted = nextEvents(pool, 'evict', 3, 5_000);
          const started = performance.now();
          const r = await run(pool, 'SELECT 7 AS v');
          const ms = performance.now() - started;
          assert.ok(r.ok, r.err?.message);
          assert.equal(Number(r.rows[0].v), 7);
          const reasons = (await evicted).map((args) => args[1]);
          // LIFO: the most recently released connection is tried (and pinged) first; once its ping times out every
          // connection idle at least as long is presumed dead without a ping of its own.
          assert.deepEqual(reasons, ['ping-timeout', 'presumed-dead', 'presumed-dead']);
          // One ping timeout paid, not three.
          assert.ok(ms >= 190 && ms < 600, `checkout took ${Math.round(ms)} ms`);

          const s = pool.stats();
          assert.equal(s.pings, 1);
          assert.equal(s.pingFailures, 1);
          assert.deepEqual(s.destroyed, { 'ping-timeout': 1, 'presumed-dead': 2 });
          assert.equal(s.created, 4);
          assert.equal(s.errorsSurfaced, 0);
          assert.deepEqual(s.retries, {}, 'a failed checkout ping is invisible to the caller, not a retry');
          assert.equal(rec.evicts.length, 3);
        },
      );
    } finally {
      await proxy.close();
    }
  });

  test('retries by kind: a read killed mid-flight is retried once (read-after-send)', async () => {
    await withPool({ connectionLimit: 2 }, async (pool) => {
      const rec = record(pool);
      const sql = 'SELECT SLEEP(1) AS s';
      const r = await runAndKill(pool, sql);
      assert.ok(r.ok, r.err?.message);
      assert.deepEqual(r.rows, [{ s: 0 }]);
      await tick();
      const s = pool.stats();
      assert.deepEqual(s.retries, { 'read-after-send': 1 });
      assert.equal(rec.retries.length, 1);
      const [retry] = rec.retries;
      assert.equal(retry!.kind, 'read-after-send');
      assert.equal(retry!.attempt, 1);
      assert.equal(retry!.sql, sql);
      assert.equal(retry!.reason, killReason(retry!.error));
      // On MariaDB the killed connection just closes: mysql2 reports PROTOCOL_CONNECTION_LOST ('connection-lost').
      if (server.flavor === 'mariadb') assert.equal(retry!.reason, 'connection-lost');
      assert.equal(s.errorsSurfaced, 0);
      // mysql2 sees the server's FIN before the command's error: the pool drops the connection as 'broken'.
      assert.deepEqual(s.destroyed, { broken: 1 });
      assert.deepEqual(rec.evicts, [{ threadId: r.victim, reason: 'broken' }]);
      assert.equal(s.created, 2);
      assert.equal(s.acquires, 2);
    });
  });

  test('retries by kind: a write killed mid-flight is not retried; outcomeUnknown, errorsSurfaced 1', async () => {
    await withPool({ connectionLimit: 2 }, async (pool) => {
      const rec = record(pool);
      const sql = `INSERT INTO ${WRITES} (v) SELECT SLEEP(1)`;
      const r = await runAndKill(pool, sql);
      assert.equal(r.ok, false);
      const err = r.err!;
      assert.equal(err.outcomeUnknown, true);
      assert.equal(err.attempts, 1);
      assert.equal(err.retryable, true);
      if (server.flavor === 'mariadb') assert.equal(err.code, 'PROTOCOL_CONNECTION_LOST');
      await tick();
      const s = pool.stats();
      assert.equal(s.errorsSurfaced, 1);
      assert.deepEqual(s.retries, {});
      assert.equal(rec.retries.length, 0);
      assert.deepEqual(s.destroyed, { broken: 1 });
      assert.equal(s.acquires, 1);
    });
  });

  test('retries by kind: a write declared idempotent is retried (idempotent-after-send)', async () => {
    await withPool({ connectionLimit: 2 }, async (pool) => {
      const rec = record(pool);
      const { insertId } = await server.admin<{ insertId: number }>(`INSERT INTO ${WRITES} (v) VALUES (0)`);
      // A primary-key match evaluates SLEEP() for that one row only.
      const sql = `UPDATE ${WRITES} SET v = 1 WHERE id = ${insertId} AND SLEEP(1) = 0`;
      const pending = run(pool, { sql, idempotent: true });
      const victim = await threadRunning(adminQuery(server), server.flavor, sql);
      await server.admin(`KILL ${victim}`);
      const r = await pending;
      assert.ok(r.ok, r.err?.message);
      const s = pool.stats();
      assert.deepEqual(s.retries, { 'idempotent-after-send': 1 });
      assert.deepEqual(
        rec.retries.map((x) => [x.kind, x.reason, x.attempt]),
        [['idempotent-after-send', killReason(rec.retries[0]!.error), 1]],
      );
      assert.equal(s.errorsSurfaced, 0);
    });
  });

  test('acquire wait: a caller queued ~200 ms behind the only connection', async () => {
    const HOLD = 200;
    await withPool({ connectionLimit: 1 }, async (pool) => {
      const rec = record(pool);
      const a = await getConn(pool);
      let inside: PoolStats | undefined;
      pool.once('enqueue', () => (inside = pool.stats()));
      const started = performance.now();
      const pendingB = getConn(pool);
      // Sampled inside the 'enqueue' listener (synchronously, as the caller queues) and again a tick later.
      assert.ok(inside, "'enqueue' is emitted synchronously by getConnection when it must wait");
      assert.deepEqual(gauges(inside!), { total: 1, idle: 0, inUse: 1, waiting: 1 });
      await tick();
      assert.deepEqual(gauges(pool.stats()), { total: 1, idle: 0, inUse: 1, waiting: 1 });

      await delay(HOLD); // the input of this test: how long the connection is held
      a.release();
      const b = await pendingB;
      const waited = performance.now() - started;
      assert.equal(b, a, 'the one connection is handed straight over');
      b.release();
      await tick();

      let s = pool.stats();
      assert.equal(s.waiting, 0);
      assert.equal(s.acquires, 2);
      assert.equal(rec.enqueues, 1);
      assert.ok(s.acquireWait.max >= HOLD - 50, `max ${s.acquireWait.max}`);
      assert.ok(s.acquireWait.max <= waited + 1, `max ${s.acquireWait.max} > measured ${waited}`);
      // p99 is the upper bound of the bucket holding the 99th percentile, capped at max: with two checkouts that is
      // the long wait's bucket, so exactly max.
      assert.equal(s.acquireWait.p99, s.acquireWait.max);
      // p50 is the first checkout (a connect, no queue).
      assert.ok(s.acquireWait.p50 < HOLD - 50, `p50 ${s.acquireWait.p50}`);
      // Per-bucket counts (not cumulative): exactly one wait above 100 ms, and it sits in the bucket holding max.
      const hist = s.acquireWait.histogram;
      const upper = (h: { le: number | '+Inf' }) => (h.le === '+Inf' ? Infinity : h.le);
      assert.equal(hist.filter((h) => upper(h) > 100).reduce((n, h) => n + h.count, 0), 1);
      const bucketOfMax = hist.find((h) => s.acquireWait.max <= upper(h))!;
      assert.equal(bucketOfMax.count, 1);
      assert.equal(hist.at(-1)!.le, '+Inf');
      assert.equal(sumHistogram(s), 2);

      // Pool-level queries check out too: every checkout is counted.
      const r = await run(pool, 'SELECT 1 AS one');
      assert.ok(r.ok);
      await tick();
      s = pool.stats();
      assert.equal(s.acquires, 3);
      assert.equal(rec.acquires, 3);
      assert.equal(rec.releases, 3);
      assert.equal(sumHistogram(s), 3);
      assert.equal(s.created, 1);
      assert.deepEqual(gauges(s), { total: 1, idle: 1, inUse: 0, waiting: 0 });
    });
  });

  test('total/idle/inUse at key moments, through user-destroy and end()', async () => {
    const pool = createResilientPool({ ...server.connectionOptions(), connectionLimit: 5 });
    const rec = record(pool);
    try {
      await warm(pool, 3);
      await tick();
      assert.deepEqual(gauges(pool.stats()), { total: 3, idle: 3, inUse: 0, waiting: 0 });

      const [c1, c2] = await Promise.all([getConn(pool), getConn(pool)]);
      assert.deepEqual(gauges(pool.stats()), { total: 3, idle: 1, inUse: 2, waiting: 0 });

      const q = run(pool, 'SELECT SLEEP(0.3) AS s');
      // The third connection counts as in use from the moment its checkout starts validating it, while its caller
      // still counts as waiting until it is handed over: wait for both.
      await until(() => pool.stats().inUse === 3 && pool.stats().waiting === 0, 2_000, 'the query to check out the third connection', 5);
      assert.deepEqual(gauges(pool.stats()), { total: 3, idle: 0, inUse: 3, waiting: 0 });

      c1!.release();
      c2!.release();
      assert.ok((await q).ok);
      await tick();
      assert.deepEqual(gauges(pool.stats()), { total: 3, idle: 3, inUse: 0, waiting: 0 });

      const c3 = await getConn(pool);
      c3.destroy();
      await tick();
      assert.deepEqual(gauges(pool.stats()), { total: 2, idle: 2, inUse: 0, waiting: 0 });
      assert.deepEqual(pool.stats().destroyed, { 'user-destroy': 1 });
    } finally {
      await endPool(pool, 15_000);
    }
    const s = pool.stats();
    assert.deepEqual(gauges(s), { total: 0, idle: 0, inUse: 0, waiting: 0 });
    assert.deepEqual(s.destroyed, { 'user-destroy': 1, 'pool-end': 2 });
    assert.deepEqual(rec.evictReasons(), { 'user-destroy': 1, 'pool-end': 2 });
    assert.equal(s.created, 3);
    assert.equal(rec.connections.length, 3);
    assert.equal(s.acquires, 3 + 2 + 1 + 1);
  });

  test("maxLifetime: closed on release once expired, and by the evictor while idle ('lifetime')", async () => {
    const LIFETIME = 300;
    await withPool({ connectionLimit: 2, maxLifetime: LIFETIME }, async (pool) => {
      const rec = record(pool);
      // Held past its lifetime: closed as it comes back, not returned to service.
      const held = await getConn(pool);
      await delay(LIFETIME + 50); // the input: age
      const onRelease = nextEvents(pool, 'evict', 1, 1_000);
      held.release();
      assert.deepEqual((await onRelease)[0], [held, 'lifetime']);
      assert.equal(rec.releases, 0, "an expired connection is not 'released' back to service");
      assert.deepEqual(gauges(pool.stats()), { total: 0, idle: 0, inUse: 0, waiting: 0 });

      // Idle past its lifetime: the evictor (every 1 s) closes it.
      const openedAt = performance.now();
      const evicted = nextEvents(pool, 'evict', 1, 3_000);
      assert.ok((await run(pool, 'SELECT 1')).ok);
      const [[, reason]] = (await evicted) as [[unknown, string]];
      assert.equal(reason, 'lifetime');
      // The lifetime is jittered by up to 2.5 % (shorter only).
      assert.ok(performance.now() - openedAt >= LIFETIME * 0.975 - 5, 'not closed before its (jittered) lifetime');
      const s = pool.stats();
      assert.deepEqual(s.destroyed, { lifetime: 2 });
      assert.equal(s.created, 2);
      assert.deepEqual(gauges(s), { total: 0, idle: 0, inUse: 0, waiting: 0 });
    });
  });

  test("idleTimeout: idle connections above minConnections are evicted ('idle'), the minimum is kept", async () => {
    await withPool({ connectionLimit: 5, idleTimeout: 300, minConnections: 1 }, async (pool) => {
      const rec = record(pool);
      // generic-pool opens the minimum at start.
      await until(() => pool.stats().total === 1 && pool.stats().idle === 1, 5_000, 'the minimum connection', 5);
      // Bounded at 4 s: idle 300 ms, then the next eviction run (every 1 s), or the one after if a run falls between
      // the warm-up's releases (then one goes in each run).
      const evicted = nextEvents(pool, 'evict', 2, 4_000);
      await warm(pool, 3);
      await tick();
      assert.equal(pool.stats().total, 3);
      // The third was judged in the run that closed the second: kept, because closing it would go below
      // minConnections.
      assert.deepEqual((await evicted).map((args) => args[1]), ['idle', 'idle']);
      let s = pool.stats();
      assert.deepEqual(s.destroyed, { idle: 2 });
      assert.deepEqual(gauges(s), { total: 1, idle: 1, inUse: 0, waiting: 0 });
      // Proving a connection is NOT closed needs waiting: one more eviction run (1 s interval) keeps it too.
      await delay(1_200);
      s = pool.stats();
      assert.deepEqual(s.destroyed, { idle: 2 });
      assert.equal(s.total, 1);
      assert.equal(s.created, 3);
      assert.equal(rec.evicts.length, 2);
    });
  });

  test("wait_timeout=5: idleTimeout 60000 (set) is clamped with a 'warn' (OPTION_CLAMPED), the default maxLifetime silently; effectiveLimits() shows both", async (t) => {
    if (!requireControl(t, server)) return;
    const [row] = await server.admin<Array<{ v: number }>>('SELECT @@GLOBAL.wait_timeout AS v');
    const previous = Number(row!.v);
    await server.admin('SET GLOBAL wait_timeout = 5');
    try {
      for (const api of ['callback', 'promise'] as const) {
        const options = { ...server.connectionOptions(), idleTimeout: 60_000, connectionLimit: 3 };
        const debugLines: string[] = [];
        const restoreDebug = captureDebug(log.pool, debugLines);
        const pool = api === 'callback' ? createResilientPool(options) : createPromisePool(options);
        const warns: OptionClampedWarning[] = [];
        const onWarn = (w: OptionClampedWarning) => warns.push(w);
        if (api === 'callback') (pool as ResilientPool).on('warn', onWarn);
        else (pool as ReturnType<typeof createPromisePool>).on('warn', onWarn);
        try {
          if (api === 'callback') await warm(pool as ResilientPool, 3);
          else await Promise.all([1, 2, 3].map(() => (pool as ReturnType<typeof createPromisePool>).query('SELECT SLEEP(0.05)')));
          // The server is read once (first connection), so each clamp is reported once however many connections open.
          const idle = warns.filter((w) => w.option === 'idleTimeout');
          assert.equal(idle.length, 1, `${api}: ${warns.map((w) => w.message).join('; ')}`);
          const w = idle[0]!;
          assert.equal(w.code, 'OPTION_CLAMPED');
          assert.equal(w.requested, 60_000);
          assert.ok(typeof w.applied === 'number' && w.applied < 5_000, `applied ${w.applied}`);
          assert.equal(w.applied, 4_500); // 10 % margin below 5 s
          // One unit in the message: ms, as the options.
          assert.equal(w.message, `idleTimeout 60000 ms is above the server's wait_timeout (5000 ms); using 4500 ms (connections idle longer would be closed by the server or network)`);
          // The default maxLifetime (30 min) is clamped too, without a warning: a debug line only.
          assert.deepEqual(
            warns.map((x) => [x.option, x.applied]),
            [['idleTimeout', 4_500]],
          );
          assert.equal(debugLines.filter((l) => /resilient-mysql-pool:pool maxLifetime 1800000 ms is above .*using 4500 ms.*\[the default: no warning\]/.test(l)).length, 1, debugLines.join('\n'));
          assert.equal(debugLines.filter((l) => /resilient-mysql-pool:pool warning: idleTimeout 60000 ms/.test(l)).length, 1, debugLines.join('\n'));
          // The version as the server names itself (MariaDB's handshake says 5.5.5-10.x).
          assert.match(pool.effectiveLimits().server?.version ?? '', /^\d+\.\d+\.\d+/);
          assert.ok(!pool.effectiveLimits().server?.version.startsWith('5.5.5-'), pool.effectiveLimits().server?.version);
          const limits = pool.effectiveLimits();
          assert.equal(limits.idleTimeout, 4_500);
          assert.equal(limits.maxLifetime, 4_500);
          assert.equal(limits.idleLimit, 4_500);
          assert.equal(limits.server?.waitTimeout, 5_000);
          assert.equal(limits.server?.flavor, server.flavor);
        } finally {
          restoreDebug();
          if (api === 'callback') await endPool(pool as ResilientPool, 15_000);
          else await bounded((pool as ReturnType<typeof createPromisePool>).end(), 15_000, 'promise pool end()');
        }
      }
    } finally {
      await server.admin(`SET GLOBAL wait_timeout = ${previous}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('the promise pool forwards the events and has stats()', T, () => {
  test('createResilientPool from /promise: retry, evict and leak are forwarded; stats() is the pool’s', async () => {
    const pool = createPromisePool({ ...server.connectionOptions(), connectionLimit: 3, leakDetectionThreshold: 150 });
    const rec = record(pool);
    try {
      const sql = 'SELECT SLEEP(1) AS s';
      const pending = pool.query(sql);
      const victim = await threadRunning(adminQuery(server), server.flavor, sql);
      await server.admin(`KILL ${victim}`);
      const [rows] = await bounded(pending, 10_000, 'the retried read');
      assert.deepEqual(rows, [{ s: 0 }]);
      assert.deepEqual(
        rec.retries.map((r) => [r.kind, r.attempt]),
        [['read-after-send', 1]],
      );
      assert.deepEqual(rec.evicts, [{ threadId: victim, reason: 'broken' }]);

      const leaked = nextEvents(pool, 'leak', 1, 2_000);
      const conn = await pool.getConnection();
      const [[leak]] = (await leaked) as [[{ connection: unknown; heldFor: number; stack: string }]];
      assert.equal(leak.connection, conn.connection, 'the callback PoolConnection under the promise one');
      conn.release();
      await tick();

      const s = pool.stats();
      assert.deepEqual(s, pool.pool.stats());
      assert.deepEqual(s.retries, { 'read-after-send': 1 });
      assert.deepEqual(s.destroyed, { broken: 1 });
      assert.equal(s.leaks, 1);
      assert.equal(s.errorsSurfaced, 0);
      assert.equal(s.acquires, 3);
    } finally {
      await bounded(pool.end(), 15_000, 'promise pool end()');
    }
  });

  test('pool.promise(): evict is forwarded, and unsubscribed from the callback pool when nobody listens', async () => {
    await withPool({ connectionLimit: 3 }, async (cbPool) => {
      const pool = cbPool.promise();
      const evicts: Array<[unknown, string]> = [];
      const onEvict = (conn: unknown, reason: string) => evicts.push([conn, reason]);
      const before = cbPool.listenerCount('evict');
      pool.on('evict', onEvict);
      assert.equal(cbPool.listenerCount('evict'), before + 1);

      const conns: RawConnection[] = [];
      cbPool.on('connection', (c) => conns.push(c as unknown as RawConnection));
      await Promise.all([1, 2].map(() => pool.query('SELECT SLEEP(0.05)')));
      await tick();
      const [victim] = conns;
      const closed = socketsClosing([victim!], 5_000);
      await server.admin(`KILL ${victim!.threadId}`);
      await closed;
      await Promise.all([1, 2].map(() => pool.query('SELECT 1')));
      assert.deepEqual(evicts, [[victim, 'broken']]);
      assert.deepEqual(pool.stats(), cbPool.stats());
      assert.deepEqual(pool.stats().destroyed, { broken: 1 });

      pool.removeListener('evict', onEvict);
      assert.equal(cbPool.listenerCount('evict'), before);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('debug namespaces', T, () => {
  test('DEBUG=resilient-mysql-pool:* tells the story of a KILL and a retry, and never logs the password', async (t) => {
    if (!requireControl(t, server)) return;
    await server.admin(`CREATE USER IF NOT EXISTS '${OBS_USER}'@'%' IDENTIFIED BY '${OBS_PASSWORD}'`);
    await server.admin(`GRANT ALL ON test.* TO '${OBS_USER}'@'%'`);
    await server.admin(`CREATE TABLE IF NOT EXISTS test.${DEBUG_TABLE} (id INT AUTO_INCREMENT PRIMARY KEY, v INT NULL)`);

    const support = path.resolve(__dirname, '../support/observability.ts');
    const { host, port, database } = server.connectionOptions();
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', `require(${JSON.stringify(support)}).debugChildMain()`], {
      env: {
        ...process.env,
        DEBUG: 'resilient-mysql-pool:*',
        DEBUG_COLORS: '0',
        OBS_TARGET: JSON.stringify({ host, port, database, flavor: server.flavor }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await bounded(
      new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c))),
      20_000,
      'the debug child process',
    ).catch((err: Error) => {
      child.kill('SIGKILL');
      throw err;
    });
    assert.equal(code, 0, `child failed:\n${stderr.slice(-4000)}`);
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as DebugChildReport;
    t.diagnostic(`child report: ${JSON.stringify(report)}`);
    assert.deepEqual(report.readRows, [{ s: 0 }]);
    assert.equal(report.writeError.outcomeUnknown, true);
    assert.equal(report.wrongPasswordError.code, 'ER_ACCESS_DENIED_ERROR');

    const lines = stderr.split('\n');
    const has = (namespace: string, re: RegExp) =>
      assert.ok(
        lines.some((l) => l.includes(`resilient-mysql-pool:${namespace} `) && re.test(l)),
        `no :${namespace} line matching ${re} in:\n${stderr.slice(-6000)}`,
      );
    // :pool: creation (config, password masked), what the server said, a failed connect, the end.
    has('pool', /created \{.*user: 'obs'.*password: '\*\*\*'/);
    has('pool', /uri: 'mysql:\/\/obs:\*\*\*@/);
    has('pool', /server .* wait_timeout \d+ ms/);
    has('pool', /connect failed \(ER_ACCESS_DENIED_ERROR: Access denied/);
    has('pool', /ending:/);
    has('pool', /ended:/);
    // :connection: the killed connections, by server thread id, from opening to why they were closed.
    for (const thread of [report.readThread, report.writeThread]) {
      has('connection', new RegExp(`#\\d+\\(thread ${thread}\\) opened`));
      has('connection', new RegExp(`#\\d+\\(thread ${thread}\\) closed: broken`));
    }
    has('connection', /closed: pool-end/);
    // A successful checkout ping, with its round trip and how long the connection had been idle.
    has('connection', /#\d+\(thread \d+\) ping ok in \d+ ms \(idle \d+ ms\)/);
    // :retry: what was retried and why, and what was not and why.
    has('retry', /query attempt 1 failed \(\S+: .*\), retrying \(a plain read\)/);
    has('retry', /query attempt 1 failed \(.*\), not retried: a write whose outcome is unknown is never retried/);

    for (const secret of [OBS_PASSWORD, WRONG_PASSWORD]) {
      assert.ok(!stderr.includes(secret), `the password ${secret} appears in the debug log`);
      assert.ok(!stdout.includes(secret), `the password ${secret} appears on stdout`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('event-style queries (no callback) count in stats and events', T, () => {
  test(
    'a failed checkout retried for a query without a callback counts in stats().retries and emits retry',
    async () => {
      const proxy = await FaultProxy.start(server.connectionOptions());
      try {
        await withPool({ host: proxy.host, port: proxy.port, connectionLimit: 2 }, async (pool) => {
          const rec = record(pool);
          await proxy.refuseNew(true);
          setTimeout(() => void proxy.refuseNew(false), 20);
          const rows: unknown[] = [];
          await bounded(
            new Promise<void>((resolve, reject) => {
              const q = pool.query('SELECT 1 AS one');
              q.on('result', (row: unknown) => rows.push(row));
              q.on('error', reject);
              q.on('end', () => resolve());
            }),
            10_000,
            'event-style query',
          );
          assert.equal(rows.length, 1);
          assert.equal(pool.stats().connectFailures, 1);
          assert.ok((pool.stats().retries['not-sent'] ?? 0) >= 1, `retries ${JSON.stringify(pool.stats().retries)}`);
          assert.ok(rec.retries.length >= 1);
        });
      } finally {
        await proxy.close();
      }
    },
  );

  test(
    'an error passed to a query without a callback counts in errorsSurfaced',
    async () => {
      await withPool({ connectionLimit: 1 }, async (pool) => {
        await bounded(
          new Promise<void>((resolve) => {
            const q = pool.query('SELEC 1');
            q.on('error', () => undefined);
            q.on('end', () => resolve());
          }),
          10_000,
          'event-style query',
        );
        assert.equal(pool.stats().errorsSurfaced, 1);
      });
    },
  );
});
