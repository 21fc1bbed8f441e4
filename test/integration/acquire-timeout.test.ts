/**
 * `acquireTimeout` against a real server: a caller queued behind busy connections gets POOL_ACQUIRE_TIMEOUT at its
 * own deadline (counted from when it asked, not from the first waiter), with a message that says what the pool
 * looked like; a caller that timed out leaves nothing behind; and when connects were failing meanwhile the error
 * carries the real connect error, untouched, as its `cause`.
 *
 * mysql2's pool has no acquire timeout (it waits forever); the error object follows mysql2's shape for errors the
 * pool makes itself: an `Error` with a string `code`, `fatal: false`, and mysql2's fields untouched on the cause.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import mysql from 'mysql2';
import type { ResilientPool } from '../../src/index.js';
import { assertNoHandlesLeft } from '../support/handles.js';
import { checkout, poolMaker } from '../support/pools.js';
import { usePrivateServer } from '../support/private-server.js';
import { bounded, pendingAfter } from '../support/wait.js';

const T = { timeout: 30_000 };
/** A user the server lets open one connection at a time: the pool's second connect fails with 1226 (ER_USER_LIMIT_REACHED). */
const CAPPED = 'rmp_acquire_capped';

const server = usePrivateServer({
  setup: async () => {
    await server.admin(`CREATE USER IF NOT EXISTS '${CAPPED}'@'127.0.0.1' WITH MAX_USER_CONNECTIONS 1`);
    await server.admin(`GRANT ALL ON test.* TO '${CAPPED}'@'127.0.0.1'`);
  },
});

type PoolError = Error & { code?: string; errno?: number; fatal?: boolean; sqlState?: string; cause?: unknown };

const { pool, endAll } = poolMaker(() => server.connectionOptions());

/** The rejection of a checkout, with when it came (ms after the call). */
async function timedRejection(p: ResilientPool): Promise<{ err: PoolError; ms: number }> {
  const started = performance.now();
  try {
    const conn = await checkout(p);
    conn.release();
  } catch (err) {
    return { err: err as PoolError, ms: performance.now() - started };
  }
  throw new Error('the checkout succeeded; expected POOL_ACQUIRE_TIMEOUT');
}

describe('acquireTimeout: the queue deadline', () => {
  after(endAll);

  test('a caller queued behind the only connection fails at its deadline, with the pool state in the message', T, async () => {
    const p = pool({ connectionLimit: 1, acquireTimeout: 300 });
    const held = await checkout(p);
    const waiting = timedRejection(p);
    const { err, ms } = await bounded(waiting, 10_000, 'the queued checkout');
    assert.equal(err.code, 'POOL_ACQUIRE_TIMEOUT');
    assert.ok(err instanceof Error);
    assert.equal(err.fatal, false, 'a pool error never ends a connection');
    assert.equal(
      err.message,
      'Timed out after 300 ms waiting for a connection (pool: 1 open, 0 idle, 1 in use, 1 waiting, limit 1)',
    );
    assert.equal(err.cause, undefined, 'no connect failed: no cause');
    // Not before its deadline (timers may fire a millisecond early by the wall clock), and not long after.
    assert.ok(ms >= 295, `timed out after ${ms.toFixed(0)} ms, before its 300 ms deadline`);
    assert.ok(ms < 3_000, `timed out after ${ms.toFixed(0)} ms`);
    assert.equal(p.stats().acquireTimeouts, 1);
    assert.equal(p.stats().waiting, 0, 'the timed-out caller left the queue');

    // It left nothing behind: the held connection, once released, goes to the next caller.
    held.release();
    const next = await bounded(checkout(p), 5_000, 'a checkout after the timeout');
    assert.equal(next.threadId, held.threadId);
    next.release();
  });

  test("each caller has its own deadline: a later caller outlives an earlier one's timeout", T, async () => {
    const p = pool({ connectionLimit: 1, acquireTimeout: 600 });
    const held = await checkout(p);
    const first = timedRejection(p);
    // The second asks once the first has waited a while (its deadline is later by that much).
    assert.equal(await pendingAfter(first, 300), 'pending');
    const second = timedRejection(p);
    const a = await bounded(first, 10_000, 'the first queued checkout');
    assert.equal(a.err.code, 'POOL_ACQUIRE_TIMEOUT');
    assert.equal(await pendingAfter(second, 0), 'pending', 'the second caller is still waiting when the first times out');
    assert.equal(p.stats().waiting, 1);
    const b = await bounded(second, 10_000, 'the second queued checkout');
    assert.equal(b.err.code, 'POOL_ACQUIRE_TIMEOUT');
    assert.ok(b.ms >= 595, `the second timed out after ${b.ms.toFixed(0)} ms of its own wait`);
    held.release();
  });

  test('a connection released before the deadline goes to the waiter: no timeout', T, async () => {
    const p = pool({ connectionLimit: 1, acquireTimeout: 2_000 });
    const held = await checkout(p);
    const waiting = checkout(p);
    assert.equal(await pendingAfter(waiting, 100), 'pending');
    held.release();
    const got = await bounded(waiting, 5_000, 'the waiting checkout');
    assert.equal(got.threadId, held.threadId);
    got.release();
    assert.equal(p.stats().acquireTimeouts, 0);
  });

  test('pool.query() gets the same error when no connection frees up', T, async () => {
    const p = pool({ connectionLimit: 1, acquireTimeout: 300 });
    const held = await checkout(p);
    const err = await bounded(
      new Promise<PoolError | null>((resolve) => p.query('SELECT 1', (e) => resolve(e as PoolError | null))),
      10_000,
      'the pool-level query',
    );
    assert.equal(err?.code, 'POOL_ACQUIRE_TIMEOUT');
    assert.match(err!.message, /^Timed out after 300 ms waiting for a connection \(pool: 1 open, 0 idle, 1 in use/);
    held.release();
  });
});

/** The error a plain mysql2 connection gets from connecting with `options`. */
function plainConnectError(options: mysql.ConnectionOptions): Promise<PoolError> {
  return new Promise((resolve, reject) => {
    const conn = mysql.createConnection(options);
    conn.on('error', () => undefined);
    conn.connect((err) => {
      conn.destroy();
      if (err) resolve(err as PoolError);
      else reject(new Error('the plain connection succeeded; expected the per-user limit'));
    });
  });
}

describe("acquireTimeout: the waiter's cause", () => {
  after(endAll);

  test('while the connection it waits for is busy and new connects fail, the timeout carries the connect error as cause', T, async () => {
    // The server allows this user one connection: the pool's second connect fails with 1226 (ER_USER_LIMIT_REACHED), and the caller waits
    // for the busy one instead of failing (connections exist), until its deadline.
    const p = pool({ user: CAPPED, connectionLimit: 2, acquireTimeout: 800 });
    const held = await checkout(p);
    const { err, ms } = await bounded(timedRejection(p), 10_000, 'the waiting checkout');
    assert.equal(err.code, 'POOL_ACQUIRE_TIMEOUT');
    assert.equal(err.fatal, false);
    assert.ok(ms >= 795, `timed out after ${ms.toFixed(0)} ms, before its 800 ms deadline`);
    assert.match(err.message, /^Timed out after 800 ms waiting for a connection \(pool: 1 open, 0 idle, 1 in use, 1 waiting, limit 2; last connect error: ER_USER_LIMIT_REACHED /);

    // The cause is mysql2's error as the server sent it: the same fields a plain mysql2 connection gets now.
    const cause = err.cause as PoolError;
    assert.ok(cause instanceof Error, 'the cause is the connect error');
    assert.equal(cause.code, 'ER_USER_LIMIT_REACHED');
    assert.equal(cause.errno, 1226);
    const reference = await plainConnectError({ ...server.connectionOptions(), user: CAPPED });
    const fields = (e: PoolError) => ({ code: e.code, errno: e.errno, sqlState: e.sqlState, fatal: e.fatal, message: e.message });
    assert.deepEqual(fields(cause), fields(reference));
    held.release();
  });
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
