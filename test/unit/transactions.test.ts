import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes, PoolError, transactionLeftOpenError } from '../../src/errors.js';
import {
  SERVER_STATUS_AUTOCOMMIT,
  SERVER_STATUS_IN_TRANS,
  leftOpen,
  mayHaveLeftOpen,
  noteReply,
  noteStatement,
  replyStatus,
  statementEffect,
  statusOpen,
} from '../../src/transactions.js';

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
  for (const s of statements) noteStatement(e, s);
  return e;
}

describe('noteStatement: starting a transaction', () => {
  for (const sql of [
    'BEGIN',
    'begin',
    'begin work',
    'BEGIN;',
    '  \n\tBEGIN',
    '\r\nBEGIN',
    'START TRANSACTION',
    'start transaction',
    'sTaRt TrAnSaCtIoN',
    'START  TRANSACTION',
    'START TRANSACTION READ ONLY',
    'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE',
    'START\n  TRANSACTION',
    'START /* c */ TRANSACTION',
    'START -- c\nTRANSACTION',
    'START # c\nTRANSACTION',
    "XA START 'xid1'",
    "xa begin 'xid1'",
    "XA  START 'xid1'",
    "XA /* c */ START 'xid1'",
    'BEGIN NOT ATOMIC START TRANSACTION; INSERT INTO t VALUES (1); END',
  ]) {
    test(JSON.stringify(sql), () => {
      assert.equal(statementEffect(sql), 'begin');
      assert.deepEqual(run([sql]), { inTransaction: true, autocommitOff: false });
    });
  }

  test('options object { sql }', () => {
    assert.deepEqual(run([{ sql: 'BEGIN' }]), { inTransaction: true, autocommitOff: false });
    assert.deepEqual(run([{ sql: 'START TRANSACTION', values: [] }]), { inTransaction: true, autocommitOff: false });
  });

  test('returns the effect it applied', () => {
    assert.equal(noteStatement(entry(), 'BEGIN'), 'begin');
    assert.equal(noteStatement(entry(), 'SELECT 1'), undefined);
  });
});

describe('noteStatement: comments before the first keyword', () => {
  for (const sql of [
    '/* app */ START TRANSACTION',
    '/* a b */BEGIN',
    '/* one */ /* two */ BEGIN',
    '/**/BEGIN',
    '/* 2 * 3 */ BEGIN',
    '/* a **/ BEGIN',
    '-- note\nBEGIN',
    '-- note\r\nBEGIN',
    '--\nBEGIN',
    '--\tx\nBEGIN',
    '# note\n  begin',
    '#\nBEGIN',
    '-- a\n# b\n/* c */ BEGIN',
    // Executable comments run their content: counting it is the safe side.
    '/*!BEGIN */',
    '/*!40101 BEGIN */',
    '/*!40101 START TRANSACTION */',
    '/*M!BEGIN */',
    '/*M!100100 BEGIN */',
    "/*!40101 XA START 'x' */",
  ]) {
    test(JSON.stringify(sql), () => {
      assert.equal(statementEffect(sql), 'begin');
    });
  }

  test('"--" glued to text is not a comment (the server reads minus minus)', () => {
    assert.equal(statementEffect('--x\nBEGIN'), undefined);
  });
  test('a comment runs to the end of its line', () => {
    assert.equal(statementEffect('# c BEGIN'), undefined);
    assert.equal(statementEffect('-- c BEGIN'), undefined);
    assert.equal(statementEffect('# c\nSELECT 1 -- BEGIN'), undefined);
  });
  test('a comment with nothing after it', () => {
    assert.equal(statementEffect('/* only */'), undefined);
    assert.equal(statementEffect('-- only'), undefined);
    assert.equal(statementEffect('# only'), undefined);
  });
  test('a comment that does not start the text is not skipped', () => {
    assert.equal(statementEffect('/x BEGIN'), undefined);
    assert.equal(statementEffect('-1 BEGIN'), undefined);
  });
});

describe('noteStatement: ending a transaction (only a whole plain COMMIT or ROLLBACK)', () => {
  for (const sql of [
    'COMMIT',
    'commit',
    'COMMIT;',
    'COMMIT ;',
    '  COMMIT  ',
    'COMMIT WORK',
    'COMMIT  WORK',
    'ROLLBACK',
    'rollback work',
    'ROLLBACK\tWORK',
    'COMMIT AND NO CHAIN',
    'COMMIT  AND  NO  CHAIN',
    'commit and no chain',
    'ROLLBACK AND NO CHAIN',
    'COMMIT RELEASE',
    'COMMIT  RELEASE',
    'COMMIT NO RELEASE',
    'COMMIT NO  RELEASE',
    'ROLLBACK WORK AND NO CHAIN NO RELEASE',
    'COMMIT /* c */',
    'COMMIT /* 2 * 3 */',
    'COMMIT/* c */',
    'COMMIT -- done',
    'COMMIT -- done\n',
    'COMMIT # done',
    'COMMIT\n# done\n',
    '/* app */ COMMIT',
    'COMMIT /* a */ WORK /* b */ AND /* c */ NO /* d */ CHAIN',
    "XA COMMIT 'x'",
    "XA COMMIT 'x' ONE PHASE",
    "xa rollback 'x'",
    "XA  ROLLBACK 'x'",
    "XA /* c */ COMMIT 'x'",
  ]) {
    test(JSON.stringify(sql), () => {
      assert.equal(statementEffect(sql), 'end');
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
    // Savepoints.
    'ROLLBACK TO SAVEPOINT x',
    'rollback to x',
    'ROLLBACK WORK TO SAVEPOINT x',
    'ROLLBACK\n  TO SAVEPOINT s',
    'ROLLBACK\tTO x',
    'ROLLBACK /* c */ TO SAVEPOINT s',
    'ROLLBACK -- c\n TO SAVEPOINT s',
    'ROLLBACK # c\n TO SAVEPOINT s',
    'ROLLBACK WORK\r\nTO s',
    // Chains open the next transaction at once.
    'COMMIT AND CHAIN',
    'COMMIT AND  CHAIN',
    'COMMIT  AND CHAIN',
    'COMMIT AND\nCHAIN',
    'commit work and chain',
    'ROLLBACK AND CHAIN',
    'COMMIT /* c */ AND CHAIN',
    'COMMIT -- c\n AND CHAIN',
    'COMMIT AND /* c */ CHAIN',
    'COMMIT /* a */ AND CHAIN /* b */',
    'COMMIT WORK AND CHAIN NO RELEASE',
    // Executable and hint comments may hide anything: not sure.
    'COMMIT /*!50000 AND CHAIN */',
    'COMMIT /*! AND CHAIN */',
    'COMMIT /*M! AND CHAIN */',
    'COMMIT /*M!100100 AND CHAIN */',
    'COMMIT /*+ x */',
    '/*!50000 COMMIT */',
    // A second statement, or anything the grammar does not have, is not sure.
    'COMMIT; BEGIN',
    'COMMIT;BEGIN',
    'ROLLBACK; SELECT 1',
    'COMMIT garbage',
    'COMMIT WORK WORK',
    'COMMIT --x',
    'COMMIT AND',
    'COMMIT AND NO',
    'COMMIT NO',
    'COMMITTED()',
    'ROLLBACKS',
    'COMMIT\u00a0AND CHAIN',
    // Not endings at all.
    'SAVEPOINT x',
    'RELEASE SAVEPOINT x',
    'SELECT 1',
    'INSERT INTO t VALUES (1)',
    'SET @x = 1',
    "XA END 'x'",
    "XA PREPARE 'x'",
    "XA COMMITTED 'x'",
    "XA END 'XA COMMIT'",
    'CALL p()',
    'CALL p() -- then ROLLBACK',
    'CREATE TABLE c (id INT) # COMMIT',
    'REPLACE INTO t VALUES (1) /* COMMIT */',
  ]) {
    test(JSON.stringify(sql), () => {
      assert.notEqual(statementEffect(sql), 'end');
      assert.deepEqual(run([sql], { inTransaction: true }), { inTransaction: true, autocommitOff: false });
    });
  }
});

describe('noteStatement: autocommit', () => {
  for (const sql of [
    'SET autocommit=0',
    'sEt autocommit=0',
    'SET autocommit = 0',
    'SET autocommit:=0',
    'set autocommit=OFF',
    'SET SESSION autocommit = OFF',
    'SET LOCAL autocommit = false',
    'SET @@autocommit = 0',
    'SET @@session.autocommit := 0',
    "SET autocommit = 'OFF'",
    // Not a plain "on": not sure, so off.
    'SET autocommit = DEFAULT',
    'SET autocommit = @saved',
    'SET autocommit = 1 - 1',
    'SET autocommit = 1 -- c',
    'SET autocommit = ONLY',
    'SET autocommit = X1',
    'SET autocommit = 10',
    'SET autocommit = ',
    // Applied in order: not on unless every assignment is.
    'SET autocommit = 1, autocommit = 0',
    'SET autocommit = 0, autocommit = 1 -- c',
    'SET autocommit = 1, autocommit = @x',
    'SET autocommit=1 /* autocommit = 0 */',
    "SET autocommit = 1, @note = 'autocommit=0'",
  ]) {
    test(`${JSON.stringify(sql)} turns it off`, () => {
      assert.equal(statementEffect(sql), 'autocommit-off');
      assert.deepEqual(run([sql]), { inTransaction: false, autocommitOff: true });
    });
  }

  for (const sql of [
    'SET autocommit=1',
    'SET autocommit = 1',
    'SET autocommit\t=\t1',
    'SET autocommit := 1',
    'SET SESSION autocommit = ON',
    'set @@autocommit = true',
    "SET autocommit = 'ON'",
    'SET autocommit = "on"',
    'SET autocommit=1;',
    'SET autocommit=1 ;',
    "SET autocommit=1, sql_mode=''",
    "SET autocommit = 1 , sql_mode=''",
    "SET time_zone='+00:00', autocommit = 1",
    "SET time_zone='+00:00',\nautocommit = 1",
    'SET autocommit = 1, autocommit = ON',
  ]) {
    test(`${JSON.stringify(sql)} turns it back on`, () => {
      assert.equal(statementEffect(sql), 'autocommit-on');
      assert.deepEqual(run([sql], { autocommitOff: true }), { inTransaction: false, autocommitOff: false });
    });
  }

  test('COMMIT does not turn autocommit back on', () => {
    assert.deepEqual(run(['SET autocommit=0', 'INSERT INTO t VALUES (1)', 'COMMIT']), { inTransaction: false, autocommitOff: true });
  });

  test('autocommit does not touch the transaction flag', () => {
    assert.deepEqual(run(['SET autocommit=1'], { inTransaction: true, autocommitOff: true }), { inTransaction: true, autocommitOff: false });
    assert.deepEqual(run(['SET autocommit=0'], { inTransaction: true }), { inTransaction: true, autocommitOff: true });
  });

  test('other SET statements leave it alone', () => {
    for (const sql of ['SET NAMES utf8mb4', 'SET sql_mode = ""', 'SET autocommitx = 0', 'SET x_autocommit = 0', 'SETTINGS autocommit = 0', 'SET @x = 1', 'SET autocommit', "SET @x = 'autocommit'", 'SET autocommit ! 0', 'SXT autocommit = 0', 'SEX autocommit = 0', 'SETX = 1; SET autocommit = 0', 'SET']) {
      assert.equal(statementEffect(sql), undefined, sql);
    }
    assert.deepEqual(run(['SET NAMES utf8mb4', 'SET sql_mode = ""', 'SET autocommitx = 0'], { autocommitOff: true }), {
      inTransaction: false,
      autocommitOff: true,
    });
  });

  test('autocommit anywhere in a SET list', () => {
    assert.equal(run(["SET sql_mode='', autocommit=0"]).autocommitOff, true);
    assert.equal(run(["SET sql_mode='', @@session.autocommit = OFF"]).autocommitOff, true);
    assert.equal(run(["SET sql_mode='',\n@@session.autocommit = OFF"]).autocommitOff, true);
    assert.equal(run(['SET autocommit=0', "SET time_zone='+00:00', autocommit = 1"]).autocommitOff, false);
  });
});

describe('noteStatement: ignored input', () => {
  for (const input of [undefined, null, 42, true, {}, { sql: 42 }, [], '', '   ']) {
    test(`${JSON.stringify(input) ?? String(input)} changes nothing`, () => {
      assert.equal(statementEffect(input), undefined);
      assert.deepEqual(run([input], { inTransaction: true, autocommitOff: true }), { inTransaction: true, autocommitOff: true });
      assert.deepEqual(run([input]), { inTransaction: false, autocommitOff: false });
    });
  }

  for (const sql of [
    'SELECT 1',
    'select * from t',
    'UPDATE t SET a = 1',
    'SHOW TABLES',
    'CALL p()',
    'DO 1',
    'XA RECOVER',
    "SET @x = 'BEGIN'",
    "SELECT 'START TRANSACTION'",
    "XA END 'begin'",
    'SAVEPOINT begin',
    'ROLLBACK TO begin',
    'SELECT autocommit = 0',
    'SHOW VARIABLES WHERE autocommit = 0',
    'SEX autocommit = 0',
    'STATUS autocommit=0',
    'S',
  ]) {
    test(`${JSON.stringify(sql)} does nothing`, () => {
      assert.equal(statementEffect(sql), undefined);
      assert.deepEqual(run([sql]), { inTransaction: false, autocommitOff: false });
      assert.deepEqual(run([sql], { inTransaction: true, autocommitOff: true }), { inTransaction: true, autocommitOff: true });
    });
  }

  test('words that only start like a keyword', () => {
    assert.deepEqual(run(['BEGINNING()', 'STARTS', 'START TRANSACTIONS', 'XA STARTED', 'COMMITTED()']), { inTransaction: false, autocommitOff: false });
    assert.equal(run(['COMMITTED()', 'ROLLBACKS'], { inTransaction: true }).inTransaction, true);
  });
});

// ------------------------------------------------------------------ server status flags

/** What mysql2 hands a callback: an OK packet is a ResultSetHeader-like object. */
const ok = (serverStatus: number) => ({ fieldCount: 0, affectedRows: 0, insertId: 0, info: '', serverStatus, warningStatus: 0 });
/** A column definition (mysql2's ColumnDefinition is an object, never an array). */
const col = { name: 'a', columnType: 3 };

describe('statusOpen', () => {
  test('the flag bits are the protocol\'s', () => {
    assert.equal(SERVER_STATUS_IN_TRANS, 1);
    assert.equal(SERVER_STATUS_AUTOCOMMIT, 2);
  });
  for (const [status, open] of [
    [0x2, false],
    [0x4002, false],
    [0x22, false],
    [0x3, true],
    [0x1, true],
    [0x0, true],
    [0x4000, true],
    [0x2003, true],
    [0xb, true],
  ] as const) {
    test(`0x${status.toString(16)}: ${open ? 'open' : 'closed'}`, () => {
      assert.equal(statusOpen(status), open);
    });
  }
});

describe('replyStatus', () => {
  test('a single OK packet', () => {
    assert.equal(replyStatus(ok(0x3), undefined), 0x3);
    assert.equal(replyStatus(ok(0x2), undefined), 0x2);
  });
  test('no status: nothing, null, a value without a numeric serverStatus', () => {
    assert.equal(replyStatus(undefined, undefined), undefined);
    assert.equal(replyStatus(null, undefined), undefined);
    assert.equal(replyStatus({ serverStatus: '3' }, undefined), undefined);
    assert.equal(replyStatus({}, undefined), undefined);
  });
  test('a single result set: its rows are never read, even a column called serverStatus', () => {
    assert.equal(replyStatus([{ serverStatus: 0 }], [col]), undefined);
    assert.equal(replyStatus([{ a: 1 }, { a: 2 }], [col]), undefined);
    assert.equal(replyStatus([], [col]), undefined);
    assert.equal(replyStatus([[0]], [col]), undefined);
  });
  test('a column definition last means one result set, whatever comes before', () => {
    assert.equal(replyStatus([ok(0x3), { a: 1 }], [undefined, col]), undefined);
  });
  test('an array without matching fields is not read', () => {
    assert.equal(replyStatus([ok(0x3)], undefined), undefined);
    assert.equal(replyStatus([ok(0x3), ok(0x3)], [undefined]), undefined);
    assert.equal(replyStatus([ok(0x3)], [undefined, undefined]), undefined);
  });
  test('several results: the last OK packet counts', () => {
    assert.equal(replyStatus([ok(0xb), ok(0x3)], [undefined, undefined]), 0x3);
    assert.equal(replyStatus([ok(0xb), ok(0x2)], [undefined, undefined]), 0x2);
    assert.equal(replyStatus([ok(0x2), ok(0xb)], [undefined, undefined]), 0xb);
  });
  test('several results ending with rows: the OK packet before them counts', () => {
    assert.equal(replyStatus([ok(0xb), [{ a: 1 }]], [undefined, [col]]), 0xb);
    assert.equal(replyStatus([[{ a: 1 }], ok(0x3)], [[col], undefined]), 0x3);
    assert.equal(replyStatus([ok(0x2), [{ serverStatus: 1 }], [{ a: 1 }]], [undefined, [col], [col]]), 0x2);
  });
  test('several result sets and no OK packet: no status', () => {
    assert.equal(replyStatus([[{ a: 1 }], [{ a: 2 }]], [[col], [col]]), undefined);
  });
  test('an OK entry without a numeric status: no status', () => {
    assert.equal(replyStatus([ok(0x2), { serverStatus: 'x' }], [undefined, undefined]), undefined);
    assert.equal(replyStatus([ok(0x2), null], [undefined, undefined]), undefined);
  });
});

describe('leftOpen', () => {
  test('the reply\'s flags decide when it has them', () => {
    assert.equal(leftOpen(entry(), ok(0x3), undefined), true);
    assert.equal(leftOpen(entry(), ok(0x4001), undefined), true);
    assert.equal(leftOpen(entry(), ok(0x2), undefined), false);
    assert.equal(leftOpen(entry({ inTransaction: true, autocommitOff: true }), ok(0x2), undefined), false);
    assert.equal(leftOpen(entry(), [ok(0xb), [{ a: 1 }]], [undefined, [col]]), true);
  });
  test('autocommit off with no transaction open: only a call whose text turned it off fails; the connection is marked', () => {
    for (const status of [0, 0x4000]) {
      const turnedOff = entry();
      assert.equal(leftOpen(turnedOff, ok(status), undefined, 'SET autocommit = 0'), true);
      assert.equal(turnedOff.autocommitOff, true);
      assert.equal(leftOpen(entry(), ok(status), undefined, { sql: "SET sql_mode='', autocommit=OFF" }), true);
      // A server that never sets the flags (mysql2's createServer() test doubles) looks like this: the call succeeds,
      // and release closes its connection (autocommitOff), so no later call meets a transaction on it.
      const other = entry();
      assert.equal(leftOpen(other, ok(status), undefined, 'INSERT INTO t VALUES (1)'), false);
      assert.equal(other.autocommitOff, true);
      assert.equal(other.inTransaction, false);
      const none = entry();
      assert.equal(leftOpen(none, ok(status), undefined), false);
      assert.equal(none.autocommitOff, true);
    }
    const on = entry();
    assert.equal(leftOpen(on, ok(0x2), undefined, 'SET autocommit = 0'), false);
    assert.equal(on.autocommitOff, false);
  });
  test('rows only: the connection\'s record decides', () => {
    assert.equal(leftOpen(entry(), [{ a: 1 }], [col]), false);
    assert.equal(leftOpen(entry({ inTransaction: true }), [{ a: 1 }], [col]), true);
    assert.equal(leftOpen(entry({ autocommitOff: true }), [{ a: 1 }], [col]), true);
  });
});

describe('noteReply (held connections)', () => {
  test('the flags win over the text', () => {
    const e = entry();
    noteReply(e, undefined, null, ok(0x3), undefined, false);
    assert.deepEqual(e, { inTransaction: true, autocommitOff: false }, 'a CALL that began a transaction');
    noteReply(e, 'end', null, ok(0x3), undefined, false);
    assert.deepEqual(e, { inTransaction: true, autocommitOff: false }, 'COMMIT under completion_type=CHAIN');
    noteReply(e, undefined, null, ok(0x0), undefined, false);
    assert.deepEqual(e, { inTransaction: false, autocommitOff: true });
    noteReply(e, undefined, null, ok(0x2), undefined, false);
    assert.deepEqual(e, { inTransaction: false, autocommitOff: false });
    noteReply(e, undefined, null, [[{ a: 1 }], ok(0x3)], [[col], undefined], false);
    assert.deepEqual(e, { inTransaction: true, autocommitOff: false }, 'SELECT 1; BEGIN');
  });
  test('a clean status clears a state the text raised', () => {
    const e = entry({ inTransaction: true, autocommitOff: true });
    noteReply(e, 'begin', null, ok(0x2), undefined, false);
    assert.deepEqual(e, { inTransaction: false, autocommitOff: false });
  });
  test('with later commands queued, the flags only raise', () => {
    const e = entry({ inTransaction: true, autocommitOff: true });
    noteReply(e, undefined, null, ok(0x2), undefined, true);
    assert.deepEqual(e, { inTransaction: true, autocommitOff: true });
    const f = entry();
    noteReply(f, undefined, null, ok(0x1), undefined, true);
    assert.deepEqual(f, { inTransaction: true, autocommitOff: true });
    const g = entry();
    noteReply(g, undefined, null, ok(0x2), undefined, true);
    assert.deepEqual(g, { inTransaction: false, autocommitOff: false });
    const h = entry();
    noteReply(h, undefined, null, ok(0x3), undefined, true);
    assert.deepEqual(h, { inTransaction: true, autocommitOff: false });
  });
  test('rows only: nothing changes', () => {
    const e = entry({ inTransaction: true });
    noteReply(e, undefined, null, [{ a: 1 }], [col], false);
    assert.deepEqual(e, { inTransaction: true, autocommitOff: false });
    const f = entry();
    noteReply(f, undefined, null, [{ a: 1 }], [col], false);
    assert.deepEqual(f, { inTransaction: false, autocommitOff: false });
  });
  test('an error undoes a text end, and nothing else', () => {
    const e = entry();
    noteReply(e, 'end', new Error('XAER_RMFAIL'), undefined, undefined, false);
    assert.deepEqual(e, { inTransaction: true, autocommitOff: false });
    const f = entry();
    noteReply(f, 'autocommit-on', new Error('x'), undefined, undefined, false);
    assert.deepEqual(f, { inTransaction: false, autocommitOff: true });
    for (const effect of ['begin', 'autocommit-off', undefined] as const) {
      const g = entry();
      noteReply(g, effect, new Error('x'), ok(0x3), undefined, false);
      assert.deepEqual(g, { inTransaction: false, autocommitOff: false }, String(effect));
    }
  });
});

describe('mayHaveLeftOpen (failed statements)', () => {
  for (const sql of [
    'CALL p()',
    'call p()',
    'BEGIN; INSERT INTO t VALUES (1); INSERT INTO t (nope) VALUES (1)',
    'START TRANSACTION; INSERT INTO t (nope) VALUES (1)',
    "XA START 'x'",
    'SET autocommit=0; INSERT INTO t (nope) VALUES (1)',
    'SET completion_type=1; COMMIT',
    'EXECUTE s',
  ]) {
    test(`${JSON.stringify(sql)}: yes`, () => {
      assert.equal(mayHaveLeftOpen(Object.assign(new Error('x'), { sql })), true);
    });
  }
  for (const sql of ['INSERT INTO t (nope) VALUES (1)', 'SELECT * FROM recall', 'UPDATE restart SET a = 1', 'SELECT autocommits']) {
    test(`${JSON.stringify(sql)}: no`, () => {
      assert.equal(mayHaveLeftOpen(Object.assign(new Error('x'), { sql })), false);
    });
  }
  test('no SQL on the error: no', () => {
    assert.equal(mayHaveLeftOpen(new Error('x')), false);
    assert.equal(mayHaveLeftOpen(Object.assign(new Error('x'), { sql: 42 })), false);
    assert.equal(mayHaveLeftOpen({ sql: ['CALL p()'] }), false, 'only a string is SQL text');
    assert.equal(mayHaveLeftOpen(null), false);
    assert.equal(mayHaveLeftOpen(undefined), false);
  });
});

describe('transactionLeftOpenError', () => {
  test('a PoolError with a stable code that points at getConnection()', () => {
    const err = transactionLeftOpenError();
    assert.ok(err instanceof PoolError);
    assert.equal(err.code, 'POOL_TRANSACTION_LEFT_OPEN');
    assert.equal(err.code, ErrorCodes.TRANSACTION_LEFT_OPEN);
    assert.equal(err.fatal, false);
    assert.match(err.message, /getConnection\(\)/);
    assert.match(err.message, /mysql2/);
  });
});
