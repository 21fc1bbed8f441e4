/**
 * KILL (CONNECTION) from an admin session while a pool-level statement runs, end to end on a real server: a plain
 * read is retried on another connection and succeeds (what mysql2's pool hands the caller instead: the error); a
 * statement with a side effect is not retried, and the caller is told its outcome is unknown. The general log counts
 * how often the server received the statement.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import type mysql from 'mysql2';
import { IMPLS, type QueryError } from '../support/chaos-server.js';
import { SLEEP_READ, queryOn, seen, useSideEffectServer } from '../support/side-effects.js';
import { endPools } from '../support/pools.js';

const side = useSideEffectServer();

describe('KILL of the connection mid-statement', { timeout: 60_000 }, () => {
  /** Starts `sql` (which sleeps for the knob's value), kills its connection once it runs; the retry sleeps 0. */
  async function killWhileRunning(pool: mysql.Pool, sql: string): Promise<{ err: QueryError | null; rows: unknown }> {
    await side.bed.admin.query('UPDATE knob SET sleep_s = 30 WHERE id = 1');
    const call = queryOn(pool, sql);
    const id = await side.bed.admin.waitForStatement(sql, 50);
    await side.bed.admin.query('UPDATE knob SET sleep_s = 0 WHERE id = 1');
    assert.ok(await side.bed.admin.kill(id), 'killed the connection running the statement');
    return call;
  }

  for (const impl of IMPLS) {
    test(`${impl.name}: a plain read (SELECT SLEEP) killed mid-flight`, async () => {
      const pool = side.pool(impl);
      try {
        const sql = `${SLEEP_READ}, '${impl.name}-kill-read' AS m`;
        const { err, rows } = await killWhileRunning(pool, sql);
        if (impl.name === 'mysql2') {
          assert.ok(err, 'mysql2 hands the caller the dead connection');
        } else {
          assert.equal(err, null, `retried on another connection and succeeded: ${seen(err)}`);
          assert.equal((rows as Array<{ slept: number }>)[0]!.slept, 0, 'the answer is from the retry');
          assert.equal(await side.bed.received(`${impl.name}-kill-read`), 2, 'sent twice');
        }
      } finally {
        await endPools([pool]);
      }
    });
  }

  test('a statement with a side effect (log_hit, then SLEEP) killed mid-flight: not retried', async () => {
    const pool = side.pool();
    try {
      const sql = `SELECT log_hit('kill-write') AS h, SLEEP((SELECT sleep_s FROM knob WHERE id = 1)) AS slept`;
      const { err } = await killWhileRunning(pool, sql);
      assert.equal(await side.bed.received('kill-write'), 1, `sent once (caller saw ${seen(err)})`);
      // Killed mid-statement: the server rolled the insert back; the client cannot know that.
      assert.ok((await side.bed.hits('kill-write')) <= 1);
      assert.ok(err, 'the caller gets the error');
      assert.equal(err.outcomeUnknown, true, `outcome unknown: ${seen(err)}`);
      assert.equal(err.attempts, 1, seen(err));
    } finally {
      await endPools([pool]);
    }
  });
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
