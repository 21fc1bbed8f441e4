/**
 * Diagnostics channels, in the parity style: the same operations on `mysql2.createPool()` and on
 * `createResilientPool()`, with every mysql2 `TracingChannel` subscribed; both must publish the same events, in the
 * same order, with the same payloads (values where they are plain data, the kind of object where they are not).
 * APM tools (OpenTelemetry, Datadog, Sentry) build their checkout and query spans from these.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import dc from 'node:diagnostics_channel';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import mysql2 from 'mysql2';
import type { Pool, PoolConnection, PoolOptions } from 'mysql2';
import mysql2Promise from 'mysql2/promise';
import type { Pool as PromisePool } from 'mysql2/promise';
import { createResilientPool } from '../../src/index.js';
import { createResilientPool as createResilientPromisePool } from '../../src/promise.js';
import { execute, getConnection, query, rejection } from '../support/parity.js';
import { freePort, } from '../support/server.js';
import { endPool } from '../support/pools.js';
import { bounded } from '../support/wait.js';

interface Impl {
  name: 'mysql2' | 'resilient';
  create(options: PoolOptions): Pool;
  createPromise(options: PoolOptions): PromisePool;
}

const IMPLS: Impl[] = [
  { name: 'mysql2', create: (o) => mysql2.createPool(o), createPromise: (o) => mysql2Promise.createPool(o) },
  {
    name: 'resilient',
    create: (o) => createResilientPool(o) as unknown as Pool,
    createPromise: (o) => createResilientPromisePool(o) as unknown as PromisePool,
  },
];

/** Every TracingChannel mysql2 3.24 publishes (lib/tracing.js). */
const CHANNELS = ['mysql2:pool:connect', 'mysql2:connect', 'mysql2:query', 'mysql2:execute'];
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;
const T = { timeout: 20_000 };

const server = usePrivateServer();

after(async () => {
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

/** A payload as comparable data: plain values as they are, objects by kind, errors by code. */
function shape(context: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(context).sort()) {
    const v = context[key];
    if (key === 'error') out[key] = `error ${(v as { code?: unknown }).code}`;
    else if (v === null || typeof v !== 'object') out[key] = v;
    else if (Array.isArray(v)) out[key] = `array of ${v.length}`;
    else out[key] = `object ${(v as object).constructor?.name}`;
  }
  return out;
}

/** Records every event of every mysql2 channel, in order, while `body` runs; unsubscribes after. */
async function recordDuring(body: () => Promise<void>): Promise<Array<{ channel: string; event: string; payload: Record<string, unknown> }>> {
  const seen: Array<{ channel: string; event: string; payload: Record<string, unknown> }> = [];
  const subscriptions = CHANNELS.map((channel) => {
    const handlers = Object.fromEntries(
      EVENTS.map((event) => [event, (context: unknown) => seen.push({ channel, event, payload: shape(context as Record<string, unknown>) })]),
    ) as unknown as Parameters<ReturnType<typeof dc.tracingChannel>['subscribe']>[0];
    const tc = dc.tracingChannel(channel);
    tc.subscribe(handlers);
    return () => tc.unsubscribe(handlers);
  });
  try {
    await body();
  } finally {
    for (const unsubscribe of subscriptions) unsubscribe();
  }
  return seen;
}

/**
 * Runs `body` on a fresh pool of each implementation, warmed with one query first (this pool reads the server's
 * wait_timeout on its first connection, a query mysql2's pool does not make), and returns what each published.
 */
async function onBoth(
  extra: PoolOptions,
  body: (pool: Pool) => Promise<void>,
  { warm = true } = {},
): Promise<Record<Impl['name'], Awaited<ReturnType<typeof recordDuring>>>> {
  const out = {} as Record<Impl['name'], Awaited<ReturnType<typeof recordDuring>>>;
  for (const impl of IMPLS) {
    const pool = impl.create({ ...server.connectionOptions(), ...extra });
    try {
      if (warm) await query(pool, 'SELECT 1');
      out[impl.name] = await recordDuring(() => body(pool));
    } finally {
      await bounded(endPool(pool), 5_000, `${impl.name} pool.end()`);
    }
  }
  return out;
}

const names = (events: Array<{ channel: string; event: string }>) => events.map((e) => `${e.channel} ${e.event}`);

describe('diagnostics channels: the same events and payloads as mysql2', () => {
  test('getConnection: mysql2:pool:connect start, end, asyncStart and asyncEnd with the connection', T, async () => {
    const seen = await onBoth({}, async (pool) => {
      const conn = await getConnection(pool);
      conn.release();
    });
    assert.deepEqual(names(seen.resilient), [
      'mysql2:pool:connect start',
      'mysql2:pool:connect end',
      'mysql2:pool:connect asyncStart',
      'mysql2:pool:connect asyncEnd',
    ]);
    const { host, port, database } = server.connectionOptions();
    assert.deepEqual(seen.resilient[0]!.payload, { database, serverAddress: host, serverPort: port });
    assert.deepEqual(seen.resilient[2]!.payload, {
      database,
      serverAddress: host,
      serverPort: port,
      result: 'object PoolConnection',
    });
    assert.deepEqual(seen.resilient, seen.mysql2);
  });

  test('pool.query: a checkout span with the query span inside it', T, async () => {
    const seen = await onBoth({}, async (pool) => {
      await query(pool, 'SELECT ? AS n', [7]);
    });
    assert.deepEqual(names(seen.resilient), [
      'mysql2:pool:connect start',
      'mysql2:pool:connect end',
      'mysql2:pool:connect asyncStart',
      'mysql2:query start',
      'mysql2:query end',
      'mysql2:pool:connect asyncEnd',
      'mysql2:query asyncStart',
      'mysql2:query asyncEnd',
    ]);
    assert.equal(seen.resilient[3]!.payload.query, 'SELECT 7 AS n');
    assert.deepEqual(seen.resilient, seen.mysql2);
  });

  test('pool.execute: the same with mysql2:execute', T, async () => {
    const seen = await onBoth({}, async (pool) => {
      await execute(pool, 'SELECT ? AS n', [7]);
    });
    assert.ok(names(seen.resilient).includes('mysql2:execute start'), names(seen.resilient).join('\n'));
    assert.deepEqual(seen.resilient, seen.mysql2);
  });

  test('a query error: the query span reports it, the checkout span does not', T, async () => {
    const seen = await onBoth({}, async (pool) => {
      await rejection(query(pool, 'SELECT * FROM no_such_table'));
    });
    assert.ok(names(seen.resilient).includes('mysql2:query error'));
    assert.ok(!names(seen.resilient).includes('mysql2:pool:connect error'));
    assert.deepEqual(seen.resilient, seen.mysql2);
  });

  test('a first checkout on a fresh pool: the connect span inside the checkout span', T, async () => {
    const seen = await onBoth(
      {},
      async (pool) => {
        const conn = await getConnection(pool);
        conn.release();
      },
      { warm: false },
    );
    // Per channel, the same events and payloads. Across channels the order differs after the handshake: mysql2
    // hands the connection out from the handshake's own callback, before its connect span's promise settles; this
    // pool first reads the server's wait_timeout (a query, published on mysql2:query as any query is; mysql2's pool
    // makes none), so its connect span ends before the checkout's asyncStart. Both nest the connect span in the
    // checkout span.
    for (const channel of ['mysql2:pool:connect', 'mysql2:connect']) {
      const only = (events: typeof seen.mysql2) => events.filter((e) => e.channel === channel);
      assert.equal(only(seen.resilient).length, 4, `${channel}: ${names(seen.resilient).join('\n')}`);
      assert.deepEqual(only(seen.resilient), only(seen.mysql2), channel);
    }
    for (const impl of IMPLS) {
      const order = names(seen[impl.name]);
      const at = (n: string) => order.indexOf(n);
      assert.ok(at('mysql2:pool:connect start') < at('mysql2:connect start'), `${impl.name}: ${order.join('\n')}`);
      assert.ok(at('mysql2:connect start') < at('mysql2:pool:connect asyncStart'), `${impl.name}: ${order.join('\n')}`);
    }
  });

  test('a checkout that fails (server down): the error on the checkout span', T, async () => {
    const port = await freePort();
    const seen = {} as Record<Impl['name'], Awaited<ReturnType<typeof recordDuring>>>;
    for (const impl of IMPLS) {
      const pool = impl.create({ host: '127.0.0.1', port, user: 'nobody' });
      try {
        seen[impl.name] = await recordDuring(async () => {
          const err = await rejection(getConnection(pool));
          assert.equal(err.code, 'ECONNREFUSED');
        });
      } finally {
        await bounded(endPool(pool), 5_000, `${impl.name} pool.end()`);
      }
    }
    const checkout = (events: typeof seen.mysql2) => events.filter((e) => e.channel === 'mysql2:pool:connect');
    assert.deepEqual(names(checkout(seen.resilient)), [
      'mysql2:pool:connect start',
      'mysql2:pool:connect end',
      'mysql2:pool:connect error',
      'mysql2:pool:connect asyncStart',
      'mysql2:pool:connect asyncEnd',
    ]);
    assert.equal(checkout(seen.resilient)[2]!.payload.error, 'error ECONNREFUSED');
    assert.deepEqual(checkout(seen.resilient), checkout(seen.mysql2));
  });

  test('the promise API: getConnection and query publish the same', T, async () => {
    const seen = {} as Record<Impl['name'], Awaited<ReturnType<typeof recordDuring>>>;
    for (const impl of IMPLS) {
      const pool = impl.createPromise(server.connectionOptions());
      try {
        await pool.query('SELECT 1');
        seen[impl.name] = await recordDuring(async () => {
          const conn = await pool.getConnection();
          await conn.query('SELECT 2');
          conn.release();
          await pool.query('SELECT 3');
        });
      } finally {
        await bounded(pool.end(), 5_000, `${impl.name} pool.end()`);
      }
    }
    assert.equal(names(seen.resilient).filter((n) => n === 'mysql2:pool:connect start').length, 2);
    assert.deepEqual(seen.resilient, seen.mysql2);
  });

  test('a store bound to the checkout span is the context of the getConnection and query callbacks', T, async () => {
    // How APM tools propagate a span: AsyncLocalStorage bound to the channel's start event.
    const als = new AsyncLocalStorage<string>();
    const start = dc.tracingChannel('mysql2:pool:connect').start;
    start.bindStore(als, () => 'checkout span');
    const stores = {} as Record<Impl['name'], unknown[]>;
    try {
      for (const impl of IMPLS) {
        const pool = impl.create(server.connectionOptions());
        try {
          await query(pool, 'SELECT 1');
          const conn = await new Promise<PoolConnection>((resolve, reject) =>
            als.run('caller', () =>
              pool.getConnection((err, c) => {
                stores[impl.name] = [als.getStore()];
                return err ? reject(err) : resolve(c);
              }),
            ),
          );
          conn.release();
          await new Promise<void>((resolve, reject) =>
            als.run('caller', () =>
              pool.query('SELECT 2', (err) => {
                stores[impl.name]!.push(als.getStore());
                return err ? reject(err) : resolve();
              }),
            ),
          );
        } finally {
          await bounded(endPool(pool), 5_000, `${impl.name} pool.end()`);
        }
      }
    } finally {
      start.unbindStore(als);
    }
    assert.deepEqual(stores.mysql2, ['checkout span', 'checkout span']);
    assert.deepEqual(stores.resilient, stores.mysql2);
  });

  test('nobody subscribed: nothing is published, and checkouts still work', T, async () => {
    // Zero cost is by construction (one hasSubscribers read per checkout); here: no subscriber, no trace state.
    for (const impl of IMPLS) {
      const pool = impl.create(server.connectionOptions());
      try {
        assert.equal(dc.tracingChannel('mysql2:pool:connect').start.hasSubscribers, false);
        const conn: PoolConnection = await getConnection(pool);
        conn.release();
        const [rows] = await query<Array<{ n: number }>>(pool, 'SELECT 1 AS n');
        assert.equal(rows[0]!.n, 1);
      } finally {
        await bounded(endPool(pool), 5_000, `${impl.name} pool.end()`);
      }
    }
  });
});

describe('diagnostics channels: deliberate differences', () => {
  test('a pool-level query that retries publishes one checkout span per attempt (mysql2: one, it never retries)', T, async () => {
    const port = await freePort();
    const spans = {} as Record<Impl['name'], number>;
    for (const impl of IMPLS) {
      const pool = impl.create({ host: '127.0.0.1', port, user: 'nobody' });
      try {
        const seen = await recordDuring(async () => {
          const err = await rejection(query(pool, 'SELECT 1'));
          assert.equal(err.code, 'ECONNREFUSED');
        });
        spans[impl.name] = names(seen).filter((n) => n === 'mysql2:pool:connect error').length;
      } finally {
        await bounded(endPool(pool), 5_000, `${impl.name} pool.end()`);
      }
    }
    // Three attempts by default (maxAttempts), each a checkout that failed to connect.
    assert.deepEqual(spans, { mysql2: 1, resilient: 3 });
  });
});
