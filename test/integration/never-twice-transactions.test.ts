/**
 * Pool-level transactions, end to end: a pool-level call that leaves its connection inside a transaction (or with
 * autocommit off) must fail and have its connection closed, so that nothing the application was told "ok" is rolled
 * back later. The invariant checked in every scenario, after the pool has ended (every connection closed, every open
 * transaction rolled back by the server): rows committed == rows whose INSERT was acknowledged.
 *
 * mysql2's pool has the same trap (shown in the first scenario); this library deliberately differs.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import type mysql from 'mysql2';
import { ErrorCodes } from '../../src/index.js';
import { IMPLS, type QueryError } from '../support/chaos-server.js';
import { SLEEP_READ, queryOn, seen, useSideEffectServer } from '../support/side-effects.js';
import { endPools } from '../support/pools.js';

const side = useSideEffectServer(async (bed) => {
  await bed.admin.query(
    'CREATE PROCEDURE p_begin_insert(t VARCHAR(64)) MODIFIES SQL DATA BEGIN START TRANSACTION; ' +
      'INSERT INTO tx (tag) VALUES (t); END',
  );
});

function create(impl: (typeof IMPLS)[number], extra: mysql.PoolOptions = {}): mysql.Pool {
  return side.pool(impl, extra);
}

async function committed(tag: string): Promise<number> {
  const rows = await side.bed.admin.query<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM tx WHERE tag = ?', [tag]);
  return Number(rows[0]!.n);
}

/** Runs the calls in order; returns what each caller saw. */
async function sequence(pool: mysql.Pool, sqls: string[]): Promise<Array<{ sql: string; err: QueryError | null }>> {
  const out: Array<{ sql: string; err: QueryError | null }> = [];
  for (const sql of sqls) out.push({ sql, err: (await queryOn(pool, sql)).err });
  return out;
}

/** Rows the acknowledged calls inserted: each INSERT (alone or in a string) and each CALL p_begin_insert adds one. */
function acknowledgedInserts(calls: Array<{ sql: string; err: QueryError | null }>): number {
  return calls.filter((c) => /\bINSERT\b|\bp_begin_insert\b/i.test(c.sql) && c.err === null).length;
}

function story(calls: Array<{ sql: string; err: QueryError | null }>): string {
  return calls.map((c) => `${c.sql} -> ${seen(c.err)}`).join('\n');
}

/** The guard's error: this library's, saying to use getConnection() for transactions. */
function assertGuardError(err: QueryError | null, what: string): void {
  assert.ok(err, `${what}: a pool-level call that leaves a transaction open must fail`);
  assert.equal(err.code, ErrorCodes.TRANSACTION_LEFT_OPEN, `${what}: ${seen(err)}`);
  assert.match(err.message, /getConnection/, `${what}: the message says what to do instead: ${seen(err)}`);
}

describe('pool-level calls that leave a transaction open', { timeout: 60_000 }, () => {
  for (const impl of IMPLS) {
    test(`${impl.name}: BEGIN, INSERT, a SELECT whose connection is killed, COMMIT`, async () => {
      const tag = `begin-kill-${impl.name}`;
      const pool = create(impl);
      const calls: Array<{ sql: string; err: QueryError | null }> = [];
      try {
        calls.push(...(await sequence(pool, ['BEGIN', `INSERT INTO tx (tag) VALUES ('${tag}')`])));
        await side.bed.admin.query('UPDATE knob SET sleep_s = 30 WHERE id = 1');
        const read = `${SLEEP_READ}, '${tag}' AS m`;
        const pending = queryOn(pool, read);
        const id = await side.bed.admin.waitForStatement(read, 50);
        await side.bed.admin.query('UPDATE knob SET sleep_s = 0 WHERE id = 1');
        await side.bed.admin.kill(id);
        calls.push({ sql: read, err: (await pending).err });
        calls.push(...(await sequence(pool, ['COMMIT'])));
      } finally {
        await endPools([pool]);
      }
      const acked = acknowledgedInserts(calls);
      if (impl.name === 'mysql2') {
        // mysql2's trap, kept here as the reason for the deliberate difference: every write it acknowledged is lost.
        assert.equal(await committed(tag), 0, story(calls));
        assert.equal(acked, 1, story(calls));
        return;
      }
      assert.equal(await committed(tag), acked, `rows committed == rows acknowledged:\n${story(calls)}`);
      assertGuardError(calls[0]!.err, 'BEGIN');
    });
  }

  /** Runs the calls in order on a fresh resilient pool, ends it (the server rolls back whatever is left open), checks. */
  async function scenario(tag: string, sqls: string[], extra: mysql.PoolOptions = {}): Promise<void> {
    const pool = create(IMPLS[1]!, extra);
    let calls: Array<{ sql: string; err: QueryError | null }>;
    try {
      calls = await sequence(pool, sqls);
    } finally {
      await endPools([pool]);
    }
    assert.equal(await committed(tag), acknowledgedInserts(calls), `rows committed == rows acknowledged:\n${story(calls)}`);
    assertGuardError(calls[0]!.err, sqls[0]!);
  }

  test('SET autocommit=0, then two INSERTs', () =>
    scenario('autocommit-off', [
      'SET autocommit=0',
      "INSERT INTO tx (tag) VALUES ('autocommit-off')",
      "INSERT INTO tx (tag) VALUES ('autocommit-off')",
    ]));

  test("one string 'BEGIN; INSERT ...' (multipleStatements)", () =>
    scenario('begin-insert-string', ["BEGIN; INSERT INTO tx (tag) VALUES ('begin-insert-string')"], {
      multipleStatements: true,
    }));

  test('CALL of a procedure that starts a transaction and inserts (seen only in the reply status flags)', () =>
    scenario('call-begin', ["CALL p_begin_insert('call-begin')", "INSERT INTO tx (tag) VALUES ('call-begin')"]));
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
