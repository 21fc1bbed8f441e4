/**
 * Cases that kill mutants of src/transactions.ts which transactions.test.ts let live (npm run test:mutation,
 * docs/testing.md). Each one is a text where a one-character change to a rule would end a transaction the server
 * keeps open, miss one it opened, or see one inside a string.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PoolEntry } from '../../src/pooled-connection.js';
import { mayHaveLeftOpen, noteStatement, replyStatus } from '../../src/transactions.js';

interface Tx {
  inTransaction: boolean;
  autocommitOff: boolean;
}

function after(sql: string, start: Partial<Tx> = {}): Tx {
  const e: Tx = { inTransaction: false, autocommitOff: false, ...start };
  noteStatement(e as unknown as PoolEntry, sql);
  return e;
}

describe('noteStatement: more than one blank between keywords (\\s+, not \\s)', () => {
  for (const sql of ["XA  START 'x'", "XA\r\nBEGIN 'x'", 'START  TRANSACTION']) {
    test(`${JSON.stringify(sql)} starts a transaction`, () => {
      assert.equal(after(sql).inTransaction, true);
    });
  }
  for (const sql of [
    'ROLLBACK  TO SAVEPOINT s',
    'ROLLBACK\r\n  TO s',
    'ROLLBACK WORK  TO SAVEPOINT s',
    'ROLLBACK  WORK TO s',
    'COMMIT AND  CHAIN',
    'COMMIT WORK AND\r\nCHAIN',
    'ROLLBACK AND\t\tCHAIN',
  ]) {
    test(`${JSON.stringify(sql)} keeps the transaction open`, () => {
      assert.equal(after(sql, { inTransaction: true }).inTransaction, true);
    });
  }
  for (const sql of ["XA  COMMIT 'x'", "XA\r\nROLLBACK 'x'"]) {
    test(`${JSON.stringify(sql)} ends it`, () => {
      assert.equal(after(sql, { inTransaction: true }).inTransaction, false);
    });
  }
});

describe('noteStatement: the keyword must start the statement', () => {
  for (const sql of [
    "SELECT 'BEGIN'",
    "SET @x = 'START TRANSACTION'",
    "SELECT 'XA START x'",
    "CALL p('BEGIN')",
    "SELECT 'SET autocommit=0'",
    "SELECT 1 /* SET autocommit = 0 */",
  ]) {
    test(`${JSON.stringify(sql)} changes nothing`, () => {
      assert.deepEqual(after(sql), { inTransaction: false, autocommitOff: false });
    });
  }
  for (const sql of ["SELECT 'COMMIT'", "SET @x = 'ROLLBACK'", "CALL p('XA COMMIT')", "SELECT 'SET autocommit=1'"]) {
    test(`${JSON.stringify(sql)} ends nothing`, () => {
      assert.deepEqual(after(sql, { inTransaction: true, autocommitOff: true }), {
        inTransaction: true,
        autocommitOff: true,
      });
    });
  }
});

describe('replyStatus and mayHaveLeftOpen: shapes mysql2 never produces are not guessed at', () => {
  test('a fields entry that is neither undefined (an OK) nor an array (a result set): no status', () => {
    const ok = (serverStatus: number) => ({ fieldCount: 0, affectedRows: 0, serverStatus });
    assert.equal(replyStatus([ok(1), { serverStatus: 2 }], [undefined, { name: 'serverStatus' }]), undefined);
    assert.equal(replyStatus([ok(1), ok(2)], [undefined, undefined]), 2);
  });
  test('only a string sql is read for a sign of a transaction', () => {
    assert.equal(mayHaveLeftOpen({ sql: ['BEGIN'] }), false);
    assert.equal(mayHaveLeftOpen({ sql: { toString: () => 'BEGIN' } }), false);
    assert.equal(mayHaveLeftOpen({ sql: 'BEGIN' }), true);
  });
});
