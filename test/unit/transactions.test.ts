import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PoolEntry } from '../../src/entry.js';
import { noteStatement } from '../../src/transactions.js';

interface Tx {
  inTransaction: boolean;
  autocommitOff: boolean;
}

function entry(state: Partial<Tx> = {}): Tx {
  return { inTransaction: false, autocommitOff: false, ...state };
}

/** Applies the statements in order to a fresh (or given) entry and returns it. */
function run(statements: unknown[], start: Partial<Tx> = {}): Tx {
  const e = entry(start);
  for (const s of statements) noteStatement(e as unknown as PoolEntry, s);
  return e;
}

describe('noteStatement: starting a transaction', () => {
  for (const sql of [
    'BEGIN',
    'begin',
    'begin work',
    '  \n\tBEGIN',
    'START TRANSACTION',
    'start transaction',
    'START TRANSACTION READ ONLY',
    'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE',
    'START\n  TRANSACTION',
    "XA START 'xid1'",
    "xa begin 'xid1'",
  ]) {
    test(JSON.stringify(sql), () => {
      assert.deepEqual(run([sql]), { inTransaction: true, autocommitOff: false });
    });
  }

  test('options object { sql }', () => {
    assert.deepEqual(run([{ sql: 'BEGIN' }]), { inTransaction: true, autocommitOff: false });
    assert.deepEqual(run([{ sql: 'START TRANSACTION', values: [] }]), { inTransaction: true, autocommitOff: false });
  });
});

describe('noteStatement: ending a transaction', () => {
  for (const sql of ['COMMIT', 'commit', 'COMMIT WORK', 'ROLLBACK', 'rollback work', 'COMMIT AND NO CHAIN', 'ROLLBACK AND NO CHAIN', 'COMMIT RELEASE']) {
    test(JSON.stringify(sql), () => {
      assert.deepEqual(run([sql], { inTransaction: true }), { inTransaction: false, autocommitOff: false });
    });
  }

  test('options object { sql }', () => {
    assert.equal(run([{ sql: 'COMMIT' }], { inTransaction: true }).inTransaction, false);
  });

  test('BEGIN ... COMMIT, twice', () => {
    assert.equal(run(['BEGIN', 'INSERT INTO t VALUES (1)', 'COMMIT']).inTransaction, false);
    assert.equal(run(['BEGIN', 'COMMIT', 'BEGIN']).inTransaction, true);
  });
});

describe('noteStatement: statements that stay in the transaction', () => {
  for (const sql of [
    'ROLLBACK TO SAVEPOINT x',
    'rollback to x',
    'ROLLBACK WORK TO SAVEPOINT x',
    'COMMIT AND CHAIN',
    'commit work and chain',
    'ROLLBACK AND CHAIN',
    'SAVEPOINT x',
    'RELEASE SAVEPOINT x',
    'SELECT 1',
    'INSERT INTO t VALUES (1)',
    'SET @x = 1',
  ]) {
    test(JSON.stringify(sql), () => {
      assert.deepEqual(run([sql], { inTransaction: true }), { inTransaction: true, autocommitOff: false });
    });
  }
});

describe('noteStatement: autocommit', () => {
  for (const sql of [
    'SET autocommit=0',
    'SET autocommit = 0',
    'set autocommit=OFF',
    'SET SESSION autocommit = OFF',
    'SET LOCAL autocommit = false',
    'SET @@autocommit = 0',
    'SET @@session.autocommit := 0',
  ]) {
    test(`${JSON.stringify(sql)} turns it off`, () => {
      assert.deepEqual(run([sql]), { inTransaction: false, autocommitOff: true });
    });
  }

  for (const sql of ['SET autocommit=1', 'SET SESSION autocommit = ON', 'set @@autocommit = true']) {
    test(`${JSON.stringify(sql)} turns it back on`, () => {
      assert.deepEqual(run([sql], { autocommitOff: true }), { inTransaction: false, autocommitOff: false });
    });
  }

  test('COMMIT does not turn autocommit back on', () => {
    assert.deepEqual(run(['SET autocommit=0', 'INSERT INTO t VALUES (1)', 'COMMIT']), { inTransaction: false, autocommitOff: true });
  });

  test('other SET statements leave it alone', () => {
    assert.deepEqual(run(['SET NAMES utf8mb4', 'SET sql_mode = ""', 'SET autocommitx = 0'], { autocommitOff: true }), {
      inTransaction: false,
      autocommitOff: true,
    });
  });
});

describe('noteStatement: ignored input', () => {
  for (const input of [undefined, null, 42, true, {}, { sql: 42 }, [], '', '   ']) {
    test(`${JSON.stringify(input) ?? String(input)} changes nothing`, () => {
      assert.deepEqual(run([input], { inTransaction: true, autocommitOff: true }), { inTransaction: true, autocommitOff: true });
      assert.deepEqual(run([input]), { inTransaction: false, autocommitOff: false });
    });
  }

  for (const sql of ['SELECT 1', 'select * from t', 'UPDATE t SET a = 1', 'SHOW TABLES', 'CALL p()', 'DO 1', 'XA RECOVER']) {
    test(`${JSON.stringify(sql)} does nothing`, () => {
      assert.deepEqual(run([sql]), { inTransaction: false, autocommitOff: false });
      assert.deepEqual(run([sql], { inTransaction: true, autocommitOff: true }), { inTransaction: true, autocommitOff: true });
    });
  }

  test('words that only start like a keyword', () => {
    assert.deepEqual(run(['BEGINNING()', 'STARTS', 'COMMITTED()']), { inTransaction: false, autocommitOff: false });
    assert.equal(run(['COMMITTED()', 'ROLLBACKS'], { inTransaction: true }).inTransaction, true);
  });
});

describe('noteStatement: comments, SET lists and XA endings', () => {
  test('a comment before BEGIN still opens a transaction', () => {
    assert.equal(run(['/* app */ START TRANSACTION']).inTransaction, true);
    assert.equal(run(['-- note\nBEGIN']).inTransaction, true);
    assert.equal(run(['# note\n  begin']).inTransaction, true);
  });
  test('a comment before COMMIT still ends it', () => {
    assert.equal(run(['BEGIN', '/* app */ COMMIT']).inTransaction, false);
  });
  test('autocommit anywhere in a SET list', () => {
    assert.equal(run(["SET sql_mode='', autocommit=0"]).autocommitOff, true);
    assert.equal(run(["SET sql_mode='', @@session.autocommit = OFF"]).autocommitOff, true);
    assert.equal(run(["SET autocommit=0", "SET time_zone='+00:00', autocommit = 1"]).autocommitOff, false);
  });
  test('XA COMMIT and XA ROLLBACK end an XA transaction', () => {
    assert.equal(run(["XA START 'x'", "XA END 'x'", "XA COMMIT 'x' ONE PHASE"]).inTransaction, false);
    assert.equal(run(["XA START 'x'", "XA END 'x'", "XA ROLLBACK 'x'"]).inTransaction, false);
    assert.equal(run(["XA START 'x'", "XA END 'x'"]).inTransaction, true);
  });
});
