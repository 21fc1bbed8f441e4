/**
 * The pool on fake time with fake connections (test/support/fake-connection.ts): the timer-driven behaviours, in
 * milliseconds of real time and no sleeps. Between steps the event loop is let run (ticks, not time): connects,
 * pings and queries of the fakes answer on the next tick, generic-pool settles in promise continuations.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PoolConnection } from 'mysql2';
import { CONNECTION_FACTORY } from '../../src/connection-factory.js';
import { ResilientPool } from '../../src/pool.js';
import type { ResilientPoolOptions } from '../../src/options.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeConnections } from '../support/fake-connection.js';

/** Lets every pending tick, promise continuation and immediate run (a few rounds: chains of them). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

function makePool(options: ResilientPoolOptions = {}) {
  const clock = new FakeClock();
  const fakes = new FakeConnections();
  const all = { host: 'fake.invalid', clock, ...options, [CONNECTION_FACTORY]: fakes };
  const pool = new ResilientPool(all);
  return { pool, clock, fakes };
}

function getConnection(pool: ResilientPool): Promise<PoolConnection> {
  return new Promise((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))));
}

async function end(pool: ResilientPool, clock: FakeClock): Promise<void> {
  const done = new Promise<void>((resolve, reject) => pool.end((err) => (err ? reject(err) : resolve())));
  await settle();
  clock.advance(5_000);
  await done;
  assert.deepEqual(clock.holding(), [], 'no timer left that keeps the process alive');
}

describe('the pool on fake time', () => {
  test('a connection is opened through the injected factory, probed, handed out and reused', async () => {
    const { pool, clock, fakes } = makePool();
    const conn = await getConnection(pool);
    assert.equal(fakes.made.length, 1);
    assert.equal(conn, fakes.made[0]);
    assert.deepEqual(fakes.made[0]!.queries, ['SELECT @@SESSION.wait_timeout'], 'the first connection reads the server');
    conn.release();
    await settle();
    const again = await getConnection(pool);
    assert.equal(again, conn, 'used a moment ago: no new connection, no ping');
    assert.equal(pool.stats().pings, 0);
    again.release();
    await end(pool, clock);
  });

  test('idle eviction runs on the pool clock: idleTimeout closes an idle connection above minConnections', async () => {
    const { pool, clock } = makePool({ idleTimeout: 5_000 });
    const evicted: unknown[] = [];
    pool.on('evict', (_conn, reason) => evicted.push(reason));
    const conn = await getConnection(pool);
    conn.release();
    await settle();
    clock.advance(4_000);
    await settle();
    assert.deepEqual(evicted, [], 'not idle long enough yet');
    clock.advance(2_000);
    await settle();
    assert.deepEqual(evicted, ['idle']);
    assert.equal(pool.stats().total, 0);
    await end(pool, clock);
  });

  test('acquireTimeout: a caller waiting behind the only connection gets ACQUIRE_TIMEOUT at its deadline', async () => {
    const { pool, clock } = makePool({ connectionLimit: 1, acquireTimeout: 1_000 });
    const held = await getConnection(pool);
    let outcome: unknown;
    const waiting = getConnection(pool).then(
      () => (outcome = 'connection'),
      (err: { code?: string }) => (outcome = err.code),
    );
    await settle();
    assert.equal(clock.holding().length, 1, 'the deadline timer keeps the process alive while the caller waits');
    clock.advance(999);
    await settle();
    assert.equal(outcome, undefined);
    clock.advance(1);
    await waiting;
    assert.equal(outcome, 'POOL_ACQUIRE_TIMEOUT');
    assert.equal(pool.stats().acquireTimeouts, 1);
    held.release();
    await end(pool, clock);
  });

  test('acquireTimeout: a waiter whose own connect failed (requeued behind open connections) times out with that error as its cause', async () => {
    // Every checkout pings (pingSkipWindow 0), and after the refusal the server accepts connections that never
    // answer a ping: the successful dials clear the backoff's last error, so only the waiter remembers why.
    const { pool, clock, fakes } = makePool({ connectionLimit: 2, acquireTimeout: 5_000, pingSkipWindow: 0, pingTimeout: 400 });
    const held = await getConnection(pool);
    const refused = Object.assign(new Error('Too many connections'), { code: 'ER_CON_COUNT_ERROR', errno: 1040 });
    fakes.refuse = refused;
    let outcome: (Error & { code?: string; cause?: unknown }) | undefined;
    const waiting = getConnection(pool).then(
      () => assert.fail('handed a connection'),
      (err: Error) => (outcome = err),
    );
    await settle();
    assert.equal(fakes.made.length, 2, 'one dial for the waiter, refused');
    assert.equal(outcome, undefined, 'requeued: a connection of the pool is open');
    fakes.refuse = undefined;
    fakes.pingHangs = true;
    for (let t = 0; t < 5_000 && outcome === undefined; t += 100) {
      clock.advance(100);
      await settle();
    }
    await waiting;
    assert.ok(fakes.made.length >= 3, 'dialled again after the backoff: those connects succeeded');
    assert.equal(outcome!.code, 'POOL_ACQUIRE_TIMEOUT');
    assert.equal(outcome!.cause, refused);
    assert.match(outcome!.message, /last connect error: ER_CON_COUNT_ERROR Too many connections/);
    fakes.pingHangs = false;
    held.release();
    await end(pool, clock);
  });

  test('a ping that does not answer within pingTimeout drops the connection and a new one serves the caller', async () => {
    const { pool, clock, fakes } = makePool({ pingSkipWindow: 500, pingTimeout: 300, idleTimeout: 60_000 });
    const first = await getConnection(pool);
    first.release();
    await settle();
    clock.advance(600);
    fakes.pingHangs = true;
    const next = getConnection(pool);
    await settle();
    assert.equal(pool.stats().pings, 1, 'idle beyond the skip window: pinged');
    fakes.pingHangs = false;
    clock.advance(300);
    const conn = await next;
    assert.notEqual(conn, first);
    assert.equal(fakes.made.length, 2);
    assert.equal(pool.stats().destroyed['ping-timeout'], 1);
    assert.equal(fakes.made[0]!.stream.destroyed, true, 'the silent connection is gone');
    conn.release();
    await end(pool, clock);
  });
});
