/**
 * Chaos tests: the ways a pooled connection dies in production, each run against plain `mysql2.createPool` (to show
 * the failure is real: the application sees the error or the hang) and against `createResilientPool` with default
 * resilience options (the application sees no error and correct results).
 *
 * Each pool connects as its own server user, so the server's processlist tells exactly which connections belong to
 * which implementation; after every resilient pool's end() none of its connections may be left on the server.
 */
import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { setTimeout as delay } from 'node:timers/promises';
import mysql from 'mysql2';
import { createResilientPool, type ResilientPool } from '../../src/index.js';
import {
  afterWrites,
  assertNoneLeft,
  closePlainPool,
  describeError,
  holdIncoming,
  pauseConfirmed,
  isConnectionFailure,
  run,
  summarize,
  threadsOf,
  trackConnections,
  waitThreadsGone,
  warm,
  type AppError,
  type Outcome,
  type RawConnection,
} from '../support/chaos.js';
import { FaultProxy } from '../support/proxy.js';
import { requireControl } from '../support/server.js';
import { endPool } from '../support/pools.js';
import { bounded, settleWithin, until } from '../support/wait.js';

const RESILIENT_USER = 'rmp_chaos_resilient';
const PLAIN_USER = 'rmp_chaos_plain';
const T = { timeout: 45_000 };
/**
 * Past the default ping skip window (500 ms): connections used less than 500 ms ago are handed out without a ping.
 * The window is measured on the pool's clock, and the default options use the real one, so these tests wait it out.
 */
const PAST_SKIP_WINDOW_MS = 600;

const server = usePrivateServer({
  users: [RESILIENT_USER, PLAIN_USER],
  setup: async () => {
    await server.admin(
      'CREATE TABLE IF NOT EXISTS test.chaos_writes (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(64) NOT NULL, KEY (tag))',
    );
  },
});

after(async () => {
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

// ---------------------------------------------------------------------------------------------------------------
// Pools

type Options = mysql.PoolOptions & Record<string, unknown>;

function direct(user: string): Options {
  return { ...server.connectionOptions(), user, password: '' };
}

function viaProxy(proxy: FaultProxy, user: string): Options {
  return { ...direct(user), host: proxy.host, port: proxy.port };
}

/** A plain mysql2 pool, closed (whatever its state) and gone from the server afterwards. */
async function withPlain(options: Options, body: (pool: mysql.Pool, conns: RawConnection[]) => Promise<void>): Promise<void> {
  const pool = mysql.createPool(options);
  const conns = trackConnections(pool);
  try {
    await body(pool, conns);
  } finally {
    await closePlainPool(pool, conns);
    // Not an assertion about mysql2; just keeps its leftovers out of the next test.
    await until(async () => (await threadsOf(server, PLAIN_USER)).length === 0, 5_000, 'mysql2 connections to go').catch(() => undefined);
  }
}

/**
 * A resilient pool with default resilience options unless given. After end(), none of its connections may remain on
 * the server; that is checked whether or not the body passed (both failures are reported if both happen).
 */
async function withResilient(
  options: Options,
  body: (pool: ResilientPool, conns: RawConnection[]) => Promise<void>,
): Promise<void> {
  const pool = createResilientPool(options);
  const conns = trackConnections(pool);
  let bodyError: unknown;
  try {
    await body(pool, conns);
  } catch (err) {
    bodyError = err;
  }
  let cleanupError: unknown;
  try {
    await endPool(pool, 15_000);
    await assertNoneLeft(server, RESILIENT_USER, 5_000);
  } catch (err) {
    cleanupError = err;
  }
  if (bodyError && cleanupError) throw new AggregateError([bodyError, cleanupError], 'test and pool cleanup both failed');
  if (bodyError) throw bodyError;
  if (cleanupError) throw cleanupError;
}

async function withProxy(body: (proxy: FaultProxy) => Promise<void>): Promise<void> {
  const proxy = await FaultProxy.start(server.connectionOptions());
  try {
    await body(proxy);
  } finally {
    await proxy.close();
  }
}

/** Starts `n` queries in the same tick; each selects its own index, so results can be checked. */
function startQueries(pool: mysql.Pool | ResilientPool, n: number): Promise<Outcome>[] {
  return Array.from({ length: n }, (_, i) => run(pool, `SELECT ${i} AS v`));
}

function assertAllCorrect(outcomes: Outcome[]): void {
  outcomes.forEach((o, i) => {
    assert.ok(o.ok, `query ${i} failed: ${describeError(o.err)}`);
    assert.equal(Number(o.rows[0].v), i, `query ${i} returned the wrong row`);
  });
}

function assertSomeConnectionFailure(outcomes: Outcome[]): void {
  const failures = outcomes.filter((o) => !o.ok);
  assert.ok(failures.length >= 1, 'expected mysql2 to hand at least one dead connection to the application');
  for (const f of failures) assert.ok(isConnectionFailure(f.err), `unexpected error kind: ${describeError(f.err)}`);
}

function report(t: TestContext, what: string, data: unknown): void {
  t.diagnostic(`${what}: ${JSON.stringify(data)}`);
}

function resilientStats(pool: ResilientPool) {
  const s = pool.stats();
  return {
    created: s.created,
    destroyed: s.destroyed,
    pings: s.pings,
    pingFailures: s.pingFailures,
    retries: s.retries,
    errorsSurfaced: s.errorsSurfaced,
    connectFailures: s.connectFailures,
  };
}

function newTag(): string {
  return `chaos-${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
}

async function rowsTagged(tag: string): Promise<number> {
  const rows = await server.admin<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM test.chaos_writes WHERE tag = ?', [tag]);
  return Number(rows[0]!.n);
}

function getConnection(pool: mysql.Pool | ResilientPool): Promise<{ conn?: mysql.PoolConnection; err?: AppError; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    pool.getConnection((err, conn) => {
      const ms = Math.round(performance.now() - started);
      resolve(err ? { err: err as AppError, ms } : { conn, ms });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// 1. wait_timeout

describe('1. idle connections past the server wait_timeout', () => {
  async function withWaitTimeout(seconds: number, body: () => Promise<void>): Promise<void> {
    const [row] = await server.admin<Array<{ v: number }>>('SELECT @@GLOBAL.wait_timeout AS v');
    const previous = Number(row!.v);
    await server.admin(`SET GLOBAL wait_timeout = ${seconds}`);
    try {
      await body();
    } finally {
      await server.admin(`SET GLOBAL wait_timeout = ${previous}`);
    }
  }

  /**
   * Warms 3 connections, waits until the server has closed them, then sends 6 queries. The server's FIN is held
   * back (holdIncoming) until the queries are on the wire: on loopback mysql2 would otherwise see the FIN while idle
   * and drop the connection itself; in production the close and the next query cross on the network.
   */
  async function idleOutThenQuery(pool: mysql.Pool | ResilientPool, conns: RawConnection[]) {
    await warm(pool, 3);
    const ids = conns.map((c) => c.threadId!);
    assert.equal(ids.length, 3);
    const release = holdIncoming(conns);
    try {
      const started = performance.now();
      await waitThreadsGone(server, ids, 6_000);
      const waited = Math.round(performance.now() - started);
      const pending = startQueries(pool, 6);
      await afterWrites();
      release();
      return { outcomes: await Promise.all(pending), waited };
    } finally {
      release();
    }
  }

  test('mysql2: queries meet the closed connections', T, async (t) => {
    await withWaitTimeout(2, () =>
      withPlain({ ...direct(PLAIN_USER), connectionLimit: 3 }, async (pool, conns) => {
        const { outcomes, waited } = await idleOutThenQuery(pool, conns);
        report(t, 'mysql2', { waitedForServerClose: waited, ...summarize(outcomes) });
        assertSomeConnectionFailure(outcomes);
      }),
    );
  });

  test('resilient: reads wait_timeout, clamps idleTimeout, and no query fails', T, async (t) => {
    await withWaitTimeout(2, () =>
      // idleTimeout set (to mysql2's default, 60000): only a value the user set is warned about when clamped.
      withResilient({ ...direct(RESILIENT_USER), connectionLimit: 3, idleTimeout: 60_000 }, async (pool, conns) => {
        const warns: Array<Error & { code?: string; option?: string; applied?: number }> = [];
        pool.on('warn', (w) => warns.push(w));
        const { outcomes, waited } = await idleOutThenQuery(pool, conns);
        const limits = pool.effectiveLimits();
        report(t, 'resilient', { waited, limits, warns: warns.map((w) => w.message), ...summarize(outcomes), stats: resilientStats(pool) });
        assertAllCorrect(outcomes);
        assert.equal(limits.server?.waitTimeout, 2_000);
        assert.ok(limits.idleLimit < 2_000, `idleLimit ${limits.idleLimit} should be below wait_timeout`);
        assert.ok(
          warns.some((w) => w.code === 'OPTION_CLAMPED' && w.option === 'idleTimeout' && (w.applied ?? Infinity) < 2_000),
          'expected a warn event clamping idleTimeout (60000) below wait_timeout',
        );
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 2. KILL

describe('2. idle connections KILLed by an administrator', () => {
  async function killAllThenQuery(pool: mysql.Pool | ResilientPool, conns: RawConnection[], user: string, idleFirst: boolean) {
    await warm(pool, 3);
    if (idleFirst) await delay(PAST_SKIP_WINDOW_MS);
    // Held so that the kill's ERR/FIN is still in flight when the queries go out (see holdIncoming).
    const release = holdIncoming(conns);
    try {
      const ids = await threadsOf(server, user);
      assert.equal(ids.length, 3);
      for (const id of ids) await server.admin(`KILL ${id}`);
      await waitThreadsGone(server, ids, 5_000);
      const pending = startQueries(pool, 6);
      await afterWrites();
      release();
      return await Promise.all(pending);
    } finally {
      release();
    }
  }

  test('mysql2: queries meet the killed connections', T, async (t) => {
    if (!requireControl(t, server)) return;
    await withPlain({ ...direct(PLAIN_USER), connectionLimit: 3 }, async (pool, conns) => {
      const outcomes = await killAllThenQuery(pool, conns, PLAIN_USER, false);
      report(t, 'mysql2', summarize(outcomes));
      assertSomeConnectionFailure(outcomes);
    });
  });

  for (const idleFirst of [false, true]) {
    const when = idleFirst ? 'idle past the ping skip window' : 'used a moment ago';
    test(`resilient (${when}): no query fails`, T, async (t) => {
      await withResilient({ ...direct(RESILIENT_USER), connectionLimit: 3 }, async (pool, conns) => {
        const outcomes = await killAllThenQuery(pool, conns, RESILIENT_USER, idleFirst);
        report(t, 'resilient', { ...summarize(outcomes), stats: resilientStats(pool) });
        assertAllCorrect(outcomes);
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 3. close on next write

describe('3. the peer closes just as the client writes (close-on-next-write)', () => {
  test('mysql2: SELECTs and an INSERT meet the closing connections', T, async (t) => {
    await withProxy(async (proxy) => {
      await withPlain({ ...viaProxy(proxy, PLAIN_USER), connectionLimit: 3 }, async (pool) => {
        await warm(pool, 3);
        proxy.closeExistingOnNextWrite();
        const outcomes = await Promise.all(startQueries(pool, 6));
        report(t, 'mysql2 SELECTs', summarize(outcomes));
        assertSomeConnectionFailure(outcomes);
      });
      await withPlain({ ...viaProxy(proxy, PLAIN_USER), connectionLimit: 1 }, async (pool) => {
        await warm(pool, 1);
        proxy.closeExistingOnNextWrite();
        const tag = newTag();
        const insert = await run(pool, { sql: 'INSERT INTO chaos_writes (tag) VALUES (?)', values: [tag] });
        report(t, 'mysql2 INSERT', { error: describeError(insert.err), ms: insert.ms });
        assert.ok(!insert.ok && isConnectionFailure(insert.err), `expected a lost connection, got ${describeError(insert.err)}`);
        assert.equal(await rowsTagged(tag), 0, 'the proxy never forwarded the INSERT');
      });
    });
  });

  test('resilient, idle past the ping skip window: the pre-ping absorbs it', T, async (t) => {
    await withProxy(async (proxy) => {
      await withResilient({ ...viaProxy(proxy, RESILIENT_USER), connectionLimit: 3 }, async (pool) => {
        await warm(pool, 3);
        await delay(PAST_SKIP_WINDOW_MS);
        proxy.closeExistingOnNextWrite();
        const outcomes = await Promise.all(startQueries(pool, 6));
        const stats = resilientStats(pool);
        report(t, 'resilient', { ...summarize(outcomes), stats });
        assertAllCorrect(outcomes);
        assert.ok(stats.pingFailures >= 1, 'the stale connections should have been caught by the pre-ping');
      });
    });
  });

  test('resilient, used a moment ago (no pre-ping): SELECTs are retried', T, async (t) => {
    await withProxy(async (proxy) => {
      await withResilient({ ...viaProxy(proxy, RESILIENT_USER), connectionLimit: 3 }, async (pool) => {
        await warm(pool, 3);
        proxy.closeExistingOnNextWrite();
        const outcomes = await Promise.all(startQueries(pool, 6));
        const stats = resilientStats(pool);
        report(t, 'resilient', { ...summarize(outcomes), stats });
        assertAllCorrect(outcomes);
        assert.ok((stats.retries['read-after-send'] ?? 0) >= 1, 'a SELECT sent on a closing connection should have been retried');
      });
    });
  });

  test('resilient, used a moment ago: an INSERT whose write was swallowed is not retried (outcome unknown)', T, async (t) => {
    // The proxy closes on the client's write without forwarding it, so the INSERT certainly did not run; but to the
    // client this is indistinguishable from "the server ran it and then the connection died". The documented rule
    // (retry.ts: a write whose outcome is unknown is never retried) therefore surfaces it, flagged outcomeUnknown.
    await withProxy(async (proxy) => {
      await withResilient({ ...viaProxy(proxy, RESILIENT_USER), connectionLimit: 1 }, async (pool) => {
        await warm(pool, 1);
        proxy.closeExistingOnNextWrite();
        const tag = newTag();
        const insert = await run(pool, { sql: 'INSERT INTO chaos_writes (tag) VALUES (?)', values: [tag] });
        report(t, 'resilient INSERT', {
          error: describeError(insert.err),
          attempts: insert.err?.attempts,
          outcomeUnknown: insert.err?.outcomeUnknown,
          ms: insert.ms,
          stats: resilientStats(pool),
        });
        assert.equal(insert.ok, false, 'the documented rule does not retry a write whose outcome is unknown');
        assert.ok(isConnectionFailure(insert.err), `unexpected error: ${describeError(insert.err)}`);
        assert.equal(insert.err!.attempts, 1);
        assert.equal(insert.err!.outcomeUnknown, true);
        assert.equal(insert.err!.retryable, true);
        assert.equal(await rowsTagged(tag), 0, 'not executed: nothing ran twice, nothing ran at all');
        // The pool itself is fine afterwards.
        const after = await run(pool, 'SELECT 0 AS v');
        assertAllCorrect([after]);
      });
    });
  });

  test('resilient, idle past the ping skip window: an INSERT runs exactly once', T, async (t) => {
    await withProxy(async (proxy) => {
      await withResilient({ ...viaProxy(proxy, RESILIENT_USER), connectionLimit: 1 }, async (pool) => {
        await warm(pool, 1);
        await delay(PAST_SKIP_WINDOW_MS);
        proxy.closeExistingOnNextWrite();
        const tag = newTag();
        const insert = await run(pool, { sql: 'INSERT INTO chaos_writes (tag) VALUES (?)', values: [tag] });
        report(t, 'resilient INSERT', { error: describeError(insert.err), ms: insert.ms, stats: resilientStats(pool) });
        assert.ok(insert.ok, `INSERT failed: ${describeError(insert.err)}`);
        assert.equal(await rowsTagged(tag), 1);
      });
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 4. blackhole

describe('4. existing flows go silent (NAT/LB idle drop)', () => {
  test('mysql2: the query hangs until its own timeout', T, async (t) => {
    await withProxy(async (proxy) => {
      await withPlain({ ...viaProxy(proxy, PLAIN_USER), connectionLimit: 3 }, async (pool) => {
        await warm(pool, 3);
        await delay(PAST_SKIP_WINDOW_MS); // same timeline as the resilient test
        proxy.blackholeExisting();
        const o = await run(pool, { sql: 'SELECT 1 AS v', timeout: 1_000 });
        report(t, 'mysql2', { error: describeError(o.err), ms: o.ms });
        assert.equal(o.ok, false);
        assert.equal(o.err!.code, 'PROTOCOL_SEQUENCE_TIMEOUT');
        assert.ok(o.ms >= 950, `timed out after ${o.ms} ms`);
      });
    });
  });

  test('resilient: the pre-ping times out, a new connection answers within pingTimeout + connect', T, async (t) => {
    await withProxy(async (proxy) => {
      await withResilient({ ...viaProxy(proxy, RESILIENT_USER), connectionLimit: 3 }, async (pool) => {
        await warm(pool, 3);
        // A real wait: the skip window is measured on the pool's clock, which the default options leave real, and a
        // connection used within it is handed out unpinged (a blackholed one would then hang the query).
        await delay(PAST_SKIP_WINDOW_MS);
        proxy.blackholeExisting();
        const first = await run(pool, 'SELECT 0 AS v');
        const rest = await Promise.all(startQueries(pool, 3));
        const stats = resilientStats(pool);
        report(t, 'resilient', { firstMs: first.ms, rest: summarize(rest), stats });
        assertAllCorrect([first]);
        assertAllCorrect(rest);
        assert.ok(first.ms < 3_000, `first query took ${first.ms} ms`);
        for (const o of rest) assert.ok(o.ms < 3_000, `query took ${o.ms} ms`);
        assert.ok(stats.pingFailures >= 1);
      });
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 5. reset

describe('5. existing flows are reset', () => {
  test('mysql2: the next use fails', T, async (t) => {
    await withProxy(async (proxy) => {
      await withPlain({ ...viaProxy(proxy, PLAIN_USER), connectionLimit: 3 }, async (pool) => {
        await warm(pool, 3);
        proxy.resetExisting();
        // Same tick: the RST is in flight when the queries are written.
        const outcomes = await Promise.all(startQueries(pool, 6));
        report(t, 'mysql2', summarize(outcomes));
        assertSomeConnectionFailure(outcomes);
      });
    });
  });

  for (const idleFirst of [false, true]) {
    const when = idleFirst ? 'idle past the ping skip window' : 'used a moment ago';
    test(`resilient (${when}): no query fails`, T, async (t) => {
      await withProxy(async (proxy) => {
        await withResilient({ ...viaProxy(proxy, RESILIENT_USER), connectionLimit: 3 }, async (pool) => {
          await warm(pool, 3);
          if (idleFirst) await delay(PAST_SKIP_WINDOW_MS);
          proxy.resetExisting();
          const outcomes = await Promise.all(startQueries(pool, 6));
          report(t, 'resilient', { ...summarize(outcomes), stats: resilientStats(pool) });
          assertAllCorrect(outcomes);
        });
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 6. crash and restart

describe('6. server SIGKILLed and restarted', () => {
  test('mysql2: queries after the restart meet the stale connections', T, async (t) => {
    if (!requireControl(t, server)) return;
    await withPlain({ ...direct(PLAIN_USER), connectionLimit: 3 }, async (pool, conns) => {
      await warm(pool, 3);
      // Held: the dead server's FIN reaches the client only after its next query went out (see holdIncoming).
      const release = holdIncoming(conns);
      try {
        await server.restart();
        const pending = startQueries(pool, 6);
        await afterWrites();
        release();
        const outcomes = await Promise.all(pending);
        report(t, 'mysql2', summarize(outcomes));
        assertSomeConnectionFailure(outcomes);
      } finally {
        release();
      }
    });
  });

  /**
   * Restarts the server under a warmed pool, then runs 6 `SELECT CONNECTION_ID()`. `held`: the dead server's FIN is
   * still in flight when the queries go out. `pastSkipWindow`: the queries start at least 600 ms after the
   * connections were last used (a restart usually takes longer; here it takes 150-700 ms, so it is waited out).
   */
  async function restartThenQuery(t: TestContext, pool: ResilientPool, conns: RawConnection[], held: boolean, pastSkipWindow: boolean) {
    await warm(pool, 3);
    const warmedAt = performance.now();
    const before = new Set(conns);
    const release = held ? holdIncoming(conns) : () => undefined;
    const acquired: RawConnection[] = [];
    try {
      const restartStarted = performance.now();
      await server.restart();
      const restartMs = Math.round(performance.now() - restartStarted);
      if (pastSkipWindow) await delay(Math.max(0, PAST_SKIP_WINDOW_MS - (performance.now() - warmedAt)));
      const sinceLastUse = Math.round(performance.now() - warmedAt);
      pool.on('acquire', (c) => acquired.push(c as unknown as RawConnection));
      const pending = Array.from({ length: 6 }, () => run(pool, 'SELECT CONNECTION_ID() AS id'));
      await afterWrites();
      release();
      const outcomes = await Promise.all(pending);
      const oldHandedOut = acquired.filter((c) => before.has(c)).length;
      report(t, 'resilient', { restartMs, sinceLastUse, ...summarize(outcomes), acquired: acquired.length, oldHandedOut, stats: resilientStats(pool) });
      for (const o of outcomes) assert.ok(o.ok, `query failed: ${describeError(o.err)}`);
      // Every result came from a connection opened after the restart.
      const newIds = new Set(conns.filter((c) => !before.has(c)).map((c) => c.threadId));
      for (const o of outcomes) {
        const id = Number(o.rows[0].id);
        assert.ok(newIds.has(id), `query ran on server thread ${id}, not on a connection opened after the restart`);
      }
      return { oldHandedOut, acquired: acquired.length };
    } finally {
      release();
    }
  }

  for (const [held, pastSkipWindow] of [
    [false, false],
    [true, true],
  ] as const) {
    const how = held ? 'close still in flight, queries past the ping skip window' : 'close already seen';
    test(`resilient (${how}): no error, and no connection from before the restart is handed out`, T, async (t) => {
      if (!requireControl(t, server)) return;
      await withResilient({ ...direct(RESILIENT_USER), connectionLimit: 3 }, async (pool, conns) => {
        const { oldHandedOut, acquired } = await restartThenQuery(t, pool, conns, held, pastSkipWindow);
        assert.ok(acquired >= 6);
        assert.equal(oldHandedOut, 0, 'a connection from before the restart was handed out');
      });
    });
  }

  test('resilient (close still in flight, queries at once): no error; SELECTs on pre-restart sockets are retried', T, async (t) => {
    // If the restart completes within the ping skip window (500 ms after the last use), a pre-restart connection is
    // handed out unpinged, by design (options.ts pingSkipWindow): its SELECT fails on the wire and is retried on a new
    // connection. What the application sees must still be correct; how many old sockets were handed out is reported.
    if (!requireControl(t, server)) return;
    await withResilient({ ...direct(RESILIENT_USER), connectionLimit: 3 }, async (pool, conns) => {
      const { oldHandedOut } = await restartThenQuery(t, pool, conns, true, false);
      const retried = pool.stats().retries['read-after-send'] ?? 0;
      assert.ok(retried >= oldHandedOut, `${oldHandedOut} stale sockets handed out but only ${retried} retries`);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 7. server down

describe('7. server down', () => {
  test('mysql2: queries fail while the server is down', T, async (t) => {
    if (!requireControl(t, server)) return;
    await withPlain({ ...direct(PLAIN_USER), connectionLimit: 2 }, async (pool) => {
      await warm(pool, 2);
      try {
        await server.kill();
        const o = await run(pool, 'SELECT 0 AS v');
        report(t, 'mysql2 while down', { error: describeError(o.err), ms: o.ms });
        assert.ok(!o.ok && isConnectionFailure(o.err), `expected a connection error, got ${describeError(o.err)}`);
      } finally {
        await server.start();
      }
    });
  });

  // Eight queries in a row: by then the pool's connect backoff has reached its cap, so a query that waits it out
  // shows. 90 s: up to ~4 s per query if it does.
  test('resilient: fails fast with ECONNREFUSED, does not spin, recovers without a new pool', { timeout: 90_000 }, async (t) => {
    if (!requireControl(t, server)) return;
    await withResilient({ ...direct(RESILIENT_USER), connectionLimit: 3 }, async (pool) => {
      await warm(pool, 2);
      // Everything is measured first and asserted at the end, so one slow query does not hide the other results.
      const sequential: Outcome[] = [];
      let burstOutcomes: Outcome[] | undefined;
      let attempts: number | undefined;
      try {
        await server.kill();
        for (let i = 0; i < 8; i++) sequential.push(await run(pool, `SELECT ${i} AS v`));
        report(t, 'sequential while down', sequential.map((o) => ({ ms: o.ms, error: describeError(o.err), attempts: o.err?.attempts })));

        // Connect attempts over one second of steady demand (a measurement window, not a synchronisation wait).
        const before = pool.stats().connectFailures;
        const burst = Array.from({ length: 10 }, (_, i) => run(pool, `SELECT ${i} AS v`));
        await delay(1_000);
        attempts = pool.stats().connectFailures - before;
        burstOutcomes = await Promise.all(burst);
        report(t, 'burst while down', { connectAttemptsIn1s: attempts, ...summarize(burstOutcomes) });
      } finally {
        await server.start();
      }
      const recovered = await run(pool, 'SELECT 0 AS v', 12_000);
      report(t, 'first query after start', { ms: recovered.ms, error: describeError(recovered.err), stats: resilientStats(pool) });

      for (const o of [...sequential, ...(burstOutcomes ?? [])]) {
        assert.equal(o.ok, false);
        assert.equal(o.err!.code, 'ECONNREFUSED', describeError(o.err));
        assert.ok((o.err!.attempts ?? 0) >= 1, 'err.attempts');
      }
      assert.ok(attempts !== undefined && attempts < 30, `${attempts} connect attempts in 1 s: the pool is spinning`);
      assertAllCorrect([recovered]);
      const slow = sequential.filter((o) => o.ms >= 2_000).map((o) => o.ms);
      assert.deepEqual(slow, [], `queries took ${slow.join(', ')} ms to fail while the server was down (expected < 2000 each)`);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 8. hung server

describe('8. server hung (SIGSTOP)', () => {
  test('mysql2: the query hangs until its own timeout; getConnection hangs', T, async (t) => {
    if (!requireControl(t, server)) return;
    await withPlain({ ...direct(PLAIN_USER), connectionLimit: 1 }, async (pool) => {
      await warm(pool, 1);
      let checkout: ReturnType<typeof getConnection> | undefined;
      try {
        await pauseConfirmed(server);
        const o = await run(pool, { sql: 'SELECT 1 AS v', timeout: 500 });
        assert.equal(o.err?.code, 'PROTOCOL_SEQUENCE_TIMEOUT', describeError(o.err));
        checkout = getConnection(pool);
        const got = await settleWithin(checkout, 1_500, 'still waiting' as const);
        report(t, 'mysql2', { queryMs: o.ms, getConnection: got === 'still waiting' ? got : { ms: got.ms, error: describeError(got.err) } });
        assert.equal(got, 'still waiting', 'mysql2 has no acquire timeout: getConnection waits for the hung connection');
      } finally {
        server.resume();
      }
      const late = await bounded(checkout!, 10_000, 'mysql2 getConnection after resume');
      late.conn?.release();
    });
  });

  test('resilient (queryTimeout 500, acquireTimeout 1000): errors within bounds, recovers after resume', T, async (t) => {
    if (!requireControl(t, server)) return;
    await withResilient(
      { ...direct(RESILIENT_USER), connectionLimit: 2, queryTimeout: 500, acquireTimeout: 1_000 },
      async (pool) => {
        await warm(pool, 1);
        try {
          await pauseConfirmed(server);
          const q1 = await run(pool, 'SELECT 1 AS v', 5_000);
          const checkout = await bounded(getConnection(pool), 5_000, 'getConnection while hung');
          checkout.conn?.release();
          const q2 = await run(pool, 'SELECT 2 AS v', 5_000);
          report(t, 'while hung', {
            query: { ms: q1.ms, error: describeError(q1.err) },
            getConnection: { ms: checkout.ms, error: describeError(checkout.err) },
            queryAfter: { ms: q2.ms, error: describeError(q2.err) },
          });
          assert.equal(q1.ok, false);
          assert.equal(q1.err!.code, 'PROTOCOL_SEQUENCE_TIMEOUT', describeError(q1.err));
          assert.ok(q1.ms >= 450 && q1.ms < 1_500, `query failed after ${q1.ms} ms`);
          assert.ok(checkout.err, 'getConnection handed out a connection to a hung server');
          assert.ok(['POOL_ACQUIRE_TIMEOUT', 'ETIMEDOUT'].includes(String(checkout.err.code)), describeError(checkout.err));
          assert.ok(checkout.ms < 2_000, `getConnection failed after ${checkout.ms} ms`);
          assert.equal(q2.ok, false);
          assert.ok(['PROTOCOL_SEQUENCE_TIMEOUT', 'POOL_ACQUIRE_TIMEOUT'].includes(String(q2.err!.code)), describeError(q2.err));
          assert.ok(q2.ms < 2_000, `second query failed after ${q2.ms} ms`);
        } finally {
          server.resume();
        }
        const afterResume: Outcome[] = [];
        for (let i = 0; i < 3; i++) afterResume.push(await run(pool, `SELECT ${i} AS v`, 5_000));
        report(t, 'after resume', { ...summarize(afterResume), stats: resilientStats(pool) });
        assertAllCorrect(afterResume);
      },
    );
  });
});
