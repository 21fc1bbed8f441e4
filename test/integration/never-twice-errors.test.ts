/**
 * "Never twice" against server errors, end to end on a real server:
 * - an error that looks like "the server is read-only" (1290, 1792) proves "did not run" only for a single statement
 *   that could not have written before failing: a CALL whose procedure inserted, or a multi-statement string whose
 *   first statement wrote, must run once;
 * - such errors are the application's when the server is not read-only: they must not retire the pool's other
 *   connections.
 * Side effects are counted on the server. KILL: never-twice-kill.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import mysql from 'mysql2';
import { getConnection, query, resilient, type QueryError } from '../support/chaos-server.js';
import { APP_USER, queryOn, seen, useSideEffectServer } from '../support/side-effects.js';
import { endPools } from '../support/pools.js';

const side = useSideEffectServer();

function createPool(extra: mysql.PoolOptions = {}): mysql.Pool {
  return side.pool(undefined, extra);
}

/** Every connection the pool closes, with the reason it gives (`evict` event). */
function watchEvictions(pool: mysql.Pool): Array<{ conn: unknown; reason: string }> {
  const evicted: Array<{ conn: unknown; reason: string }> = [];
  pool.on('evict' as 'release', ((conn: unknown, reason: string) => evicted.push({ conn, reason })) as never);
  return evicted;
}

/** Opens `n` connections (n concurrent reads that each hold one for a moment); returns their server thread ids. */
async function warm(pool: mysql.Pool, n: number): Promise<number[]> {
  const results = await Promise.all(
    Array.from({ length: n }, () => query<Array<{ id: number }>>(pool, 'SELECT CONNECTION_ID() AS id, SLEEP(0.05) AS s')),
  );
  return results.map((rows) => Number(rows[0]!.id)).sort((a, b) => a - b);
}

describe('an error read as "did not run" after something already ran', { timeout: 60_000 }, () => {
  test('CALL p() that inserted, then hit 1290 (secure_file_priv): runs once', async () => {
    const pool = createPool();
    const evicted = watchEvictions(pool);
    try {
      const { err } = await queryOn(pool, "CALL p_hit_then_1290('call-1290')");
      assert.equal(err?.errno, 1290, `the procedure's error reaches the caller: ${seen(err)}`);
      assert.equal(await side.bed.hits('call-1290'), 1, `the procedure's INSERT ran once (caller saw ${seen(err)})`);
      assert.equal(err.attempts, 1, `not retried: ${seen(err)}`);
      assert.deepEqual(evicted.map((e) => e.reason).filter((r) => r === 'retired'), [], 'no connection retired');
    } finally {
      await endPools([pool]);
    }
  });

  test('a multi-statement string whose first statement wrote and second hit 1290: runs once', async () => {
    const pool = createPool({ multipleStatements: true });
    try {
      const sql = `INSERT INTO hits (tag) VALUES ('multi-1290'); SELECT 1 INTO OUTFILE ${mysql.escape(side.bed.forbiddenFile)}`;
      const { err } = await queryOn(pool, sql);
      assert.equal(err?.errno, 1290, `the second statement's error reaches the caller: ${seen(err)}`);
      assert.equal(await side.bed.hits('multi-1290'), 1, `the INSERT ran once (caller saw ${seen(err)})`);
      assert.equal(err.attempts, 1, `not retried: ${seen(err)}`);
    } finally {
      await endPools([pool]);
    }
  });
});

describe('application errors that look read-only do not retire the pool', { timeout: 60_000 }, () => {
  test("a write inside the caller's own START TRANSACTION READ ONLY (1792)", async () => {
    const pool = createPool();
    const evicted = watchEvictions(pool);
    try {
      const others = await warm(pool, 3);
      const conn = await getConnection(pool);
      let err: QueryError | undefined;
      try {
        await query(conn, 'START TRANSACTION READ ONLY');
        err = await query(conn, "INSERT INTO hits (tag) VALUES ('ro-tx')").then(
          () => undefined,
          (e: QueryError) => e,
        );
        await query(conn, 'ROLLBACK');
      } finally {
        conn.release();
      }
      assert.equal(err?.errno, 1792, `the caller gets the server's error: ${seen(err)}`);
      assert.equal(await side.bed.hits('ro-tx'), 0);
      // Checking connections out again is when a retired idle connection would be closed.
      await warm(pool, 3);
      const retiredOthers = evicted.filter((e) => e.conn !== conn && e.reason === 'retired');
      assert.deepEqual(retiredOthers.map((e) => e.reason), [], 'no other connection retired');
      assert.equal(resilient(pool).stats().destroyed.retired ?? 0, 0, 'stats: nothing retired');
      const live = await side.bed.admin.threadsOf(APP_USER);
      const gone = others.filter((id) => id !== conn.threadId && !live.includes(id));
      assert.deepEqual(gone, [], 'the other connections are still open on the server');
    } finally {
      await endPools([pool]);
    }
  });

  test('a 1290 from secure_file_priv (SELECT ... INTO OUTFILE outside it) through pool.query', async () => {
    const pool = createPool();
    const evicted = watchEvictions(pool);
    try {
      const others = await warm(pool, 3);
      const { err } = await queryOn(pool, `SELECT 1 INTO OUTFILE ${mysql.escape(side.bed.forbiddenFile)}`);
      assert.equal(err?.errno, 1290, `the caller gets the server's error: ${seen(err)}`);
      await warm(pool, 3);
      assert.deepEqual(
        evicted.map((e) => e.reason).filter((r) => r === 'retired'),
        [],
        'no connection retired: the server is not read-only',
      );
      const live = await side.bed.admin.threadsOf(APP_USER);
      assert.ok(
        others.filter((id) => live.includes(id)).length >= 2,
        `the pool's other connections are still open (before ${others.join(', ')}; now ${live.join(', ')})`,
      );
    } finally {
      await endPools([pool]);
    }
  });
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
