/**
 * Release against a real server: a connection released from its own query's callback is back at once, as in
 * mysql2 (a checkout in the same callback gets it, without waiting and without a second connection); one released
 * with another statement still queued on it is never handed to a second holder (`busy-on-release`: a deliberate
 * difference, mysql2 lends it on with the statement running), yet that statement runs to its end and its caller
 * gets its result before the connection is closed; a
 * pool-level call's connection goes back once its reply has been read, so the reply still decides (a transaction
 * left open closes it).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { PoolConnection } from 'mysql2';
import { assertNoHandlesLeft } from '../support/handles.js';
import { checkout, poolMaker } from '../support/pools.js';
import { usePrivateServer } from '../support/private-server.js';
import { bounded } from '../support/wait.js';

const T = { timeout: 30_000 };
const server = usePrivateServer();
const { pool, endAll } = poolMaker(() => ({ ...server.connectionOptions(), connectionLimit: 2 }));

function query(conn: PoolConnection, sql: string): Promise<unknown> {
  return bounded(new Promise((resolve, reject) => conn.query(sql, (err, rows) => (err ? reject(err) : resolve(rows)))), 10_000, sql);
}

describe('release', () => {
  after(endAll);
  after(() => assertNoHandlesLeft());

  test('released from its own callback: the next checkout in that callback gets it, nobody waits', T, async () => {
    const p = pool();
    const conn = await checkout(p);
    const enqueued: unknown[] = [];
    p.on('enqueue', () => enqueued.push(1));
    // As mysql2's pool does with a free connection: 'acquire' is emitted inside getConnection() (one that waited
    // would get it on a later tick).
    let inside = false;
    let acquiredInside = false;
    p.once('acquire', () => (acquiredInside = inside));
    const again = await bounded(
      new Promise<PoolConnection>((resolve, reject) =>
        conn.query('SELECT 1', (err) => {
          if (err) return reject(err);
          conn.release();
          inside = true;
          p.getConnection((e, c) => (e ? reject(e) : resolve(c)));
          inside = false;
        }),
      ),
      10_000,
      'the checkout after the release',
    );
    assert.equal(again, conn, 'the same connection, back at once');
    assert.equal(acquiredInside, true, 'taken at once, not after a wait');
    assert.equal(p.stats().total, 1, 'no second connection opened');
    assert.equal(enqueued.length, 0);
    assert.deepEqual(await query(again, 'SELECT 2 AS v'), [{ v: 2 }]);
    again.release();
  });

  test('released with a statement still queued on it: never lent twice; the statement finishes, then it is closed', T, async () => {
    const p = pool();
    const evicted: string[] = [];
    p.on('evict', (_c: unknown, reason: string) => evicted.push(reason));
    const conn = await checkout(p);
    const socket = (conn as unknown as { stream: import('node:net').Socket }).stream;
    const order: string[] = [];
    const socketClosed = new Promise<void>((resolve) => socket.once('close', () => (order.push('closed'), resolve())));
    const second = new Promise<{ err: Error | null; rows: unknown }>((resolve) => {
      conn.query('SELECT 1', () => {
        // The holder queues another statement, then releases before it has run.
        conn.query('SELECT SLEEP(0.2) AS slept', (err, rows) => (order.push('result'), resolve({ err, rows })));
        conn.release();
      });
    });
    // Meanwhile the connection is not lent again, and it is not cut under the statement.
    const meanwhile = await checkout(p);
    assert.notEqual(meanwhile, conn);
    const { err, rows } = await bounded(second, 10_000, 'the queued statement');
    assert.equal(err, null, 'the statement ran to its end');
    assert.deepEqual(rows, [{ slept: 0 }]);
    meanwhile.release();
    // Then the goodbye (COM_QUIT after it, the socket closed by the server's answer).
    await bounded(socketClosed, 10_000, 'the close after the statement');
    assert.deepEqual(order, ['result', 'closed']);
    assert.deepEqual(evicted, ['busy-on-release']);
  });

  test('two statements sent together, released from the first one\'s callback: the second is running, never lent', T, async () => {
    const p = pool();
    const evicted: string[] = [];
    p.on('evict', (_c: unknown, reason: string) => evicted.push(reason));
    const conn = await checkout(p);
    // Both are sent before either answers: when the first one's callback runs, the second is already on the wire.
    const results = new Promise<{ next: PoolConnection; second: unknown }>((resolve, reject) => {
      let next: PoolConnection | undefined;
      let second: unknown;
      const done = () => next && second !== undefined && resolve({ next, second });
      conn.query('SELECT 1', (err) => {
        if (err) return reject(err);
        conn.release();
        p.getConnection((e, c) => (e ? reject(e) : ((next = c), done())));
      });
      conn.query('SELECT SLEEP(0.2) AS slept', (err, rows) => (err ? reject(err) : ((second = rows), done())));
    });
    const { next, second } = await bounded(results, 10_000, 'the checkout and the second statement');
    assert.notEqual(next, conn, 'not handed out with a statement on the wire');
    assert.deepEqual(second, [{ slept: 0 }], 'the second statement ran to its end');
    assert.deepEqual(evicted, ['busy-on-release']);
    next.release();
  });

  test('a pool-level call: the reply decides before the connection is reused (a transaction left open closes it)', T, async () => {
    const p = pool({ connectionLimit: 1 });
    const evicted: string[] = [];
    p.on('evict', (_c: unknown, reason: string) => evicted.push(reason));
    const first = await new Promise<{ err: Error | null; thread?: number }>((resolve) =>
      p.query('SELECT CONNECTION_ID() AS id', (err, rows) => resolve({ err, thread: (rows as Array<{ id: number }>)?.[0]?.id })),
    );
    assert.equal(first.err, null);
    const open = await new Promise<Error | null>((resolve) => p.query('START TRANSACTION', (err) => resolve(err)));
    assert.equal((open as { code?: string })?.code, 'POOL_TRANSACTION_LEFT_OPEN');
    const after = await new Promise<{ err: Error | null; thread?: number }>((resolve) =>
      p.query('SELECT CONNECTION_ID() AS id', (err, rows) => resolve({ err, thread: (rows as Array<{ id: number }>)?.[0]?.id })),
    );
    assert.equal(after.err, null);
    assert.notEqual(after.thread, first.thread, 'the connection that held the transaction was not reused');
    assert.deepEqual(evicted, ['in-transaction']);
  });
});
