/**
 * The query runner's retry rules on fake connections (no socket, no server, no time passing): a plain read whose
 * connection died after send is retried on a new connection; a write is sent once and the caller told it may have
 * run (outcomeUnknown); retryReadsAfterSend: false keeps a read to one send; an ERR reply is the caller's answer,
 * never retried. Each test counts how many times the statement reached the (fake) server.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnnotatedError } from '../../src/errors.js';
import type { ResilientPool } from '../../src/pool.js';
import type { FakeConnections } from '../support/fake-connection.js';
import { endNow, makeFakePool } from '../support/fake-pool.js';

function query(pool: ResilientPool, sql: string): Promise<{ err: AnnotatedError | null; rows?: unknown }> {
  return new Promise((resolve) => pool.query(sql, (err: AnnotatedError | null, rows: unknown) => resolve({ err, rows })));
}

/** How many times `sql` reached any fake connection. */
function sent(fakes: FakeConnections, sql: string): number {
  return fakes.made.flatMap((c) => c.queries).filter((q) => q === sql).length;
}

describe('retry rules on fake connections', () => {
  test('a plain read whose connection died after send is retried on a new connection', async () => {
    const { pool, fakes } = makeFakePool();
    let drops = 1;
    fakes.answer = (sql) => (sql === 'SELECT 1' && drops-- > 0 ? 'drop' : undefined);
    const r = await query(pool, 'SELECT 1');
    assert.equal(r.err, null);
    assert.equal(sent(fakes, 'SELECT 1'), 2);
    assert.equal(fakes.made.length, 2, 'the dead connection was replaced');
    await endNow(pool);
  });

  test('a write whose connection died after send is sent once; the caller is told it may have run', async () => {
    const { pool, fakes } = makeFakePool();
    fakes.answer = (sql) => (sql.startsWith('INSERT') ? 'drop' : undefined);
    const r = await query(pool, 'INSERT INTO t VALUES (1)');
    assert.equal(r.err?.code, 'PROTOCOL_CONNECTION_LOST');
    assert.equal(r.err?.fatal, true, "mysql2's fields kept");
    assert.equal(r.err?.outcomeUnknown, true);
    assert.equal(sent(fakes, 'INSERT INTO t VALUES (1)'), 1);
    await endNow(pool);
  });

  test('retryReadsAfterSend: false: a read lost after send is sent once', async () => {
    const { pool, fakes } = makeFakePool({ retryReadsAfterSend: false });
    fakes.answer = (sql) => (sql === 'SELECT 1' ? 'drop' : undefined);
    const r = await query(pool, 'SELECT 1');
    assert.equal(r.err?.code, 'PROTOCOL_CONNECTION_LOST');
    assert.equal(sent(fakes, 'SELECT 1'), 1);
    await endNow(pool);
  });

  test('an ERR reply is the answer: not retried, the connection kept', async () => {
    const { pool, fakes } = makeFakePool();
    const dup = Object.assign(new Error("Duplicate entry '1' for key 'PRIMARY'"), {
      code: 'ER_DUP_ENTRY',
      errno: 1062,
      sqlState: '23000',
      fatal: false,
    });
    fakes.answer = (sql) => (sql.startsWith('INSERT') ? dup : undefined);
    const r = await query(pool, 'INSERT INTO t VALUES (1)');
    assert.equal(r.err?.code, 'ER_DUP_ENTRY');
    assert.equal(r.err?.errno, 1062);
    assert.equal(sent(fakes, 'INSERT INTO t VALUES (1)'), 1);
    assert.equal((await query(pool, 'SELECT 1')).err, null);
    assert.equal(fakes.made.length, 1, 'the same connection serves the next query');
    await endNow(pool);
  });
});
