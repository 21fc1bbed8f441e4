/**
 * The pool's deadlines on fake time with fake connections (test/support/fake-connection.ts), after pool-timers.test.ts:
 * end() (nothing held: settles without time passing; held: at endTimeout, not before; released early: at once), the
 * lifetime (an idle connection closed at its jittered age by the eviction run, not before), the ping skip window at
 * its edge, and the connect backoff (a refused connect is not retried before its window). Milliseconds, no sleeps.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EVICTION_INTERVAL } from '../../src/idle-store.js';
import { endNow, ending, getConnection, makeFakePool as makePool, settle } from '../support/fake-pool.js';

describe('pool deadlines on fake time', () => {
  test('end() with every connection released settles without any time passing', async () => {
    const { pool, clock, fakes } = makePool();
    const a = await getConnection(pool);
    const b = await getConnection(pool);
    a.release();
    b.release();
    await settle();
    const start = clock.now();
    const end = ending(pool);
    await settle();
    assert.equal(end.settled(), true, 'end() waited on a timer with nothing held');
    assert.equal(clock.now(), start);
    assert.deepEqual(
      fakes.made.map((c) => c.stream.destroyed),
      [true, true],
    );
    assert.deepEqual(clock.holding(), []);
  });

  test('end() with a connection held settles at endTimeout, not before, and destroys it', async () => {
    const { pool, clock, fakes } = makePool({ endTimeout: 2_000 });
    const held = await getConnection(pool);
    const end = ending(pool);
    await settle();
    clock.advance(1_999);
    await settle();
    assert.equal(end.settled(), false, 'still waiting for the held connection');
    assert.equal(fakes.made[0]!.stream.destroyed, false);
    clock.advance(1);
    await settle();
    await end.done;
    assert.equal(fakes.made[0]!.stream.destroyed, true);
    assert.equal(pool.stats().destroyed['pool-end'], 1);
    held.release(); // late: harmless
    await settle();
    assert.deepEqual(clock.holding(), []);
  });

  test('end() with a connection held settles as soon as it is released, before endTimeout', async () => {
    const { pool, clock } = makePool({ endTimeout: 10_000 });
    const held = await getConnection(pool);
    const end = ending(pool);
    await settle();
    clock.advance(100);
    await settle();
    assert.equal(end.settled(), false);
    held.release();
    await settle();
    await end.done;
    assert.equal(clock.now() - 1_000, 100, 'no more time passed');
    assert.deepEqual(clock.holding(), []);
  });

  test('maxLifetime: an idle connection is closed by the eviction run at its jittered age, not before', async () => {
    const lifetime = 40_000;
    const { pool, clock } = makePool({ maxLifetime: lifetime, idleTimeout: 0 });
    const evicted: Array<[unknown, number]> = [];
    const opened = clock.now();
    pool.on('evict', (_conn, reason) => evicted.push([reason, clock.now() - opened]));
    const conn = await getConnection(pool);
    conn.release();
    await settle();
    // Jitter makes it up to 2.5 % shorter: nothing before 97.5 % of the lifetime.
    for (let t = 0; t < lifetime * 0.975 - EVICTION_INTERVAL; t += EVICTION_INTERVAL) {
      clock.advance(EVICTION_INTERVAL);
      await settle();
    }
    assert.deepEqual(evicted, [], 'closed before its age');
    for (let t = 0; t < 2 * EVICTION_INTERVAL + lifetime * 0.025; t += EVICTION_INTERVAL) {
      clock.advance(EVICTION_INTERVAL);
      await settle();
    }
    assert.equal(evicted.length, 1);
    assert.equal(evicted[0]![0], 'lifetime');
    assert.ok(evicted[0]![1] >= lifetime * 0.975 && evicted[0]![1] <= lifetime + EVICTION_INTERVAL, `at ${evicted[0]![1]} ms`);
    await endNow(pool);
  });

  test('pingSkipWindow: a connection used 499 ms ago is handed out without a ping; at 501 ms it is pinged', async () => {
    const { pool, clock } = makePool({ pingSkipWindow: 500 });
    const conn = await getConnection(pool);
    conn.release();
    await settle();
    clock.advance(499);
    const again = await getConnection(pool);
    assert.equal(again, conn);
    assert.equal(pool.stats().pings, 0);
    again.release();
    await settle();
    clock.advance(501);
    const third = await getConnection(pool);
    assert.equal(third, conn);
    assert.equal(pool.stats().pings, 1);
    third.release();
    await endNow(pool);
  });

  test('connect backoff: after a refused connect, callers get that error without a new dial until the window ends', async () => {
    const { pool, clock, fakes } = makePool({ acquireTimeout: 60_000 });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111 });
    fakes.refuse = refused;
    await assert.rejects(getConnection(pool), (err: { code?: string }) => err.code === 'ECONNREFUSED');
    assert.equal(fakes.made.length, 1);
    await assert.rejects(getConnection(pool), (err: { code?: string }) => err.code === 'ECONNREFUSED');
    assert.equal(fakes.made.length, 1, 'the fresh error is handed over: no second dial inside the backoff window');
    fakes.refuse = undefined;
    clock.advance(60_000);
    await settle();
    const conn = await getConnection(pool);
    assert.ok(fakes.made.length >= 2, 'dialled again once the window passed');
    assert.equal(conn, fakes.made.at(-1));
    conn.release();
    await endNow(pool);
  });
});
