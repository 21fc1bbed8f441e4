/**
 * The read-only check borrows a connection of the pool for its own question (read-only-check.ts). That loan must
 * count like a caller's: when it ends, the pool's count of held connections is what it was, so the next callers
 * still queue at connectionLimit (with 'enqueue' and queueLimit) as in mysql2.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PoolConnection } from 'mysql2';
import { CONNECTION_FACTORY } from '../../src/connection-factory.js';
import { ResilientPool } from '../../src/pool.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeConnections } from '../support/fake-connection.js';

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

const getConnection = (pool: ResilientPool): Promise<PoolConnection> =>
  new Promise((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))));

describe('the read-only check on a borrowed connection', () => {
  test('leaves the count of held connections as it found it: the next caller at the limit still queues', async () => {
    const clock = new FakeClock();
    const fakes = new FakeConnections();
    const options = { host: 'fake.invalid', clock, connectionLimit: 1, queueLimit: 1, [CONNECTION_FACTORY]: fakes };
    const pool = new ResilientPool(options);
    const first = await getConnection(pool);
    first.release();
    await settle();
    // After a held connection's read-only error, nobody waits for the answer: the check borrows an idle connection.
    const verdict = await pool.verifyReadOnly(undefined);
    assert.equal(verdict, undefined, "the fake's empty answer is no answer");
    await settle();
    assert.ok(fakes.made.some((c) => c.queries.some((q) => /@@global\.read_only/.test(q))), 'the question was asked');

    const enqueued: number[] = [];
    pool.on('enqueue', () => enqueued.push(1));
    const held = await getConnection(pool);
    const waiting = getConnection(pool);
    await settle();
    assert.equal(enqueued.length, 1, 'the second caller at connectionLimit 1 waits, as in mysql2');
    await assert.rejects(getConnection(pool), /Queue limit reached/, 'queueLimit 1 applies to a third caller');
    held.release();
    (await waiting).release();
    await settle();
    const done = new Promise<void>((resolve, reject) => pool.end((err) => (err ? reject(err) : resolve())));
    await settle();
    clock.advance(5_000);
    await done;
  });
});
