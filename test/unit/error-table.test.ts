import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classify, classifyWith } from '../../src/error-table.js';
import type { ErrorAction, ErrorReason, Flavor } from '../../src/error-table.js';
import { decideRetry, didNotRun } from '../../src/retry.js';

/** A mysql2-shaped error: an Error with the given fields. */
function mysqlError(fields: { code?: string | number; errno?: number; fatal?: boolean; message?: string; sqlState?: string }): Error {
  const { message = 'some error', ...rest } = fields;
  return Object.assign(new Error(message), rest);
}

interface Expected {
  reason: ErrorReason;
  destroy: boolean;
  others: ErrorAction['others'];
  retryable: boolean;
  notExecuted: ErrorAction['notExecuted'];
}

const LOST: Expected = { reason: 'connection-lost', destroy: true, others: 'suspect', retryable: true, notExecuted: false };
const CLOSED: Expected = { reason: 'closed', destroy: true, others: 'suspect', retryable: true, notExecuted: true };
const IDLE_TIMEOUT: Expected = { reason: 'idle-timeout', destroy: true, others: 'suspect', retryable: true, notExecuted: true };
const KILLED: Expected = { reason: 'killed', destroy: true, others: 'suspect', retryable: true, notExecuted: false };
const SHUTDOWN: Expected = { reason: 'server-shutdown', destroy: true, others: 'retire', retryable: true, notExecuted: false };
/**
 * A read-only refusal keeps its connection (the server is asked before anything is retired) and proves "did not
 * run" only for a single atomic statement.
 */
const READ_ONLY: Expected = {
  reason: 'read-only',
  destroy: false,
  others: 'retire-if-read-only',
  retryable: true,
  notExecuted: 'if-single-atomic',
};
/** A Galera node that cannot serve (non-primary, rejecting queries): the connection is kept, the node is not used. */
const NOT_READY: Expected = { reason: 'not-ready', destroy: false, others: 'none', retryable: true, notExecuted: 'if-single-atomic' };
const QUERY_TIMEOUT: Expected = { reason: 'query-timeout', destroy: true, others: 'suspect', retryable: false, notExecuted: false };
const PROTOCOL: Expected = { reason: 'protocol', destroy: true, others: 'none', retryable: false, notExecuted: false };
const FATAL: Expected = { reason: 'fatal', destroy: true, others: 'none', retryable: false, notExecuted: false };

const CLOSED_STATE = "Can't add new command when connection is in closed state";

// [label, error, expected on MySQL, expected on MariaDB]
const cases: ReadonlyArray<readonly [string, unknown, Expected | null, Expected | null]> = [
  // Socket and mysql2 protocol errors: the same on both flavours.
  [
    'connection lost (mysql2 close handler)',
    mysqlError({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true, message: 'Connection lost: The server closed the connection.' }),
    LOST,
    LOST,
  ],
  ['ECONNRESET', mysqlError({ code: 'ECONNRESET', message: 'read ECONNRESET' }), LOST, LOST],
  ['ECONNRESET with Node errno', mysqlError({ code: 'ECONNRESET', errno: -104, fatal: true }), LOST, LOST],
  ['ETIMEDOUT', mysqlError({ code: 'ETIMEDOUT', fatal: true }), LOST, LOST],
  ['ECONNREFUSED', mysqlError({ code: 'ECONNREFUSED', errno: -111 }), LOST, LOST],
  ['EPIPE without the FIN message', mysqlError({ code: 'EPIPE', message: 'write EPIPE' }), LOST, LOST],
  [
    'EPIPE after the server FIN: nothing left the client',
    mysqlError({ code: 'EPIPE', message: 'This socket has been ended by the other party' }),
    CLOSED,
    CLOSED,
  ],
  ['closed state, no code', mysqlError({ message: CLOSED_STATE, fatal: true }), CLOSED, CLOSED],
  ['closed state on write, no code', mysqlError({ message: "Can't write in closed state" }), CLOSED, CLOSED],
  ['query timeout', mysqlError({ code: 'PROTOCOL_SEQUENCE_TIMEOUT', fatal: true, message: 'Query inactivity timeout' }), QUERY_TIMEOUT, QUERY_TIMEOUT],
  ['packets out of order', mysqlError({ code: 'PROTOCOL_PACKETS_OUT_OF_ORDER', fatal: true }), PROTOCOL, PROTOCOL],

  // Idle-timeout ERR packet (MySQL 8.0.24+): numeric 4031 is MySQL's, MariaDB's 4031 is something else.
  ['4031 while idle (numeric code, fatal)', mysqlError({ code: 4031, fatal: true }), IDLE_TIMEOUT, FATAL],
  ['4031 in reply (string code + errno)', mysqlError({ code: 'ER_CLIENT_INTERACTION_TIMEOUT', errno: 4031 }), IDLE_TIMEOUT, null],
  [
    '4031 in reply, fatal',
    mysqlError({ code: 'ER_CLIENT_INTERACTION_TIMEOUT', errno: 4031, fatal: true }),
    IDLE_TIMEOUT,
    FATAL,
  ],

  // Server numbers shared by both flavours.
  [
    '1047 WSREP not prepared (Galera non-primary or rejecting)',
    mysqlError({ code: 'ER_UNKNOWN_COM_ERROR', errno: 1047, sqlState: '08S01', message: 'WSREP has not yet prepared node for application use' }),
    NOT_READY,
    NOT_READY,
  ],
  ['1053 server shutdown', mysqlError({ code: 'ER_SERVER_SHUTDOWN', errno: 1053, sqlState: '08S01' }), SHUTDOWN, SHUTDOWN],
  ['1053 while idle (numeric code)', mysqlError({ code: 1053, fatal: true }), SHUTDOWN, SHUTDOWN],
  ['1077 normal shutdown', mysqlError({ code: 'ER_NORMAL_SHUTDOWN', errno: 1077 }), SHUTDOWN, SHUTDOWN],
  ['1152 aborting connection', mysqlError({ code: 'ER_ABORTING_CONNECTION', errno: 1152 }), KILLED, KILLED],
  ['1290 --read-only', mysqlError({ code: 'ER_OPTION_PREVENTS_STATEMENT', errno: 1290 }), READ_ONLY, READ_ONLY],
  ['1792 read-only transaction', mysqlError({ code: 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION', errno: 1792 }), READ_ONLY, READ_ONLY],
  ['1836 read-only mode', mysqlError({ code: 'ER_READ_ONLY_MODE', errno: 1836 }), READ_ONLY, READ_ONLY],
  ['2006 server gone', mysqlError({ code: 'CR_SERVER_GONE_ERROR', errno: 2006 }), LOST, LOST],
  ['2013 server lost', mysqlError({ code: 'CR_SERVER_LOST', errno: 2013 }), LOST, LOST],

  // Flavour-specific numbers.
  ['1927 connection killed', mysqlError({ code: 'ER_CONNECTION_KILLED', errno: 1927 }), null, KILLED],
  ['1927 while idle', mysqlError({ code: 1927, fatal: true }), FATAL, KILLED],
  ['3169 session was killed', mysqlError({ code: 'ER_SESSION_WAS_KILLED', errno: 3169 }), KILLED, null],

  // Plain SQL errors: the connection is fine, they are the application's.
  ['1064 syntax error', mysqlError({ code: 'ER_PARSE_ERROR', errno: 1064, sqlState: '42000' }), null, null],
  ['1062 duplicate key', mysqlError({ code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000' }), null, null],
  ['1213 deadlock', mysqlError({ code: 'ER_LOCK_DEADLOCK', errno: 1213, sqlState: '40001' }), null, null],
  ['1317 query interrupted (KILL QUERY)', mysqlError({ code: 'ER_QUERY_INTERRUPTED', errno: 1317 }), null, null],
  ['1205 lock wait timeout', mysqlError({ code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }), null, null],

  // Not errors at all.
  ['null', null, null, null],
  ['undefined', undefined, null, null],
  ['a string', 'PROTOCOL_CONNECTION_LOST', null, null],
  ['a number', 2013, null, null],
  ['an empty object', {}, null, null],
  ['a plain object with a known code', { code: 'ECONNRESET' }, LOST, LOST],

  // Unknown errors.
  ['unknown fatal error', mysqlError({ code: 'SOMETHING_NEW', fatal: true }), FATAL, FATAL],
  ['unknown fatal error without code', mysqlError({ message: 'boom', fatal: true }), FATAL, FATAL],
  ['unknown non-fatal error', mysqlError({ code: 'SOMETHING_NEW' }), null, null],
  ['fatal must be exactly true', mysqlError({ code: 'SOMETHING_NEW', fatal: 1 as unknown as boolean }), null, null],
];

function check(actual: ErrorAction | null, expected: Expected | null, label: string): void {
  if (expected === null) {
    assert.equal(actual, null, label);
    return;
  }
  assert.ok(actual, `${label}: expected ${expected.reason}, got null`);
  // Every field, and nothing else: an action with a stray or missing field is a different action.
  assert.deepEqual({ ...actual }, expected, label);
}

describe('classify', () => {
  for (const flavor of ['mysql', 'mariadb'] as const satisfies readonly Flavor[]) {
    describe(`on ${flavor}`, () => {
      for (const [label, err, onMysql, onMariadb] of cases) {
        test(label, () => check(classify(err, flavor), flavor === 'mysql' ? onMysql : onMariadb, label));
      }
    });
  }

  test('actions are frozen and shared', () => {
    const a = classify(mysqlError({ code: 'ECONNRESET' }), 'mysql');
    const b = classify(mysqlError({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), 'mariadb');
    assert.ok(a && Object.isFrozen(a));
    assert.equal(a, b);
  });
});

/**
 * Every entry of the table, written out here independently of the source, for both flavours and in every shape
 * mysql2 reports it: an entry lost or changed in src/error-table.ts fails one of these.
 */
describe('classify: every entry of the table', () => {
  const flavors = ['mysql', 'mariadb'] as const;

  // Socket and mysql2 codes (strings): the same on both flavours, except MySQL's name for 4031.
  const byCode: ReadonlyArray<readonly [string, Expected, Expected | null]> = [
    ['PROTOCOL_CONNECTION_LOST', LOST, LOST],
    ['ECONNRESET', LOST, LOST],
    ['EPIPE', LOST, LOST],
    ['ETIMEDOUT', LOST, LOST],
    ['ECONNREFUSED', LOST, LOST],
    ['ECONNABORTED', LOST, LOST],
    ['EHOSTUNREACH', LOST, LOST],
    ['ENETUNREACH', LOST, LOST],
    ['ENETDOWN', LOST, LOST],
    ['PROTOCOL_SEQUENCE_TIMEOUT', QUERY_TIMEOUT, QUERY_TIMEOUT],
    ['PROTOCOL_PACKETS_OUT_OF_ORDER', PROTOCOL, PROTOCOL],
    ['PROTOCOL_UNEXPECTED_PACKET', PROTOCOL, PROTOCOL],
    ['PROTOCOL_INCORRECT_PACKET_SEQUENCE', PROTOCOL, PROTOCOL],
    // mysql2 names errnos by MySQL's list: on MariaDB this name (with no errno) means nothing known.
    ['ER_CLIENT_INTERACTION_TIMEOUT', IDLE_TIMEOUT, null],
    ['ERR_STREAM_DESTROYED', CLOSED, CLOSED],
  ];
  for (const [code, onMysql, onMariadb] of byCode) {
    for (const flavor of flavors) {
      const expected = flavor === 'mysql' ? onMysql : onMariadb;
      test(`code ${code} on ${flavor}`, () => {
        check(classify(mysqlError({ code }), flavor), expected, code);
        // A fatal error with a known code takes the code's action, not the generic fatal one.
        check(classify(mysqlError({ code, fatal: true }), flavor), expected ?? FATAL, `${code} fatal`);
      });
    }
  }

  // Server numbers: [errno, MySQL, MariaDB].
  const byErrno: ReadonlyArray<readonly [number, Expected | null, Expected | null]> = [
    [1047, NOT_READY, NOT_READY],
    [1053, SHUTDOWN, SHUTDOWN],
    [1077, SHUTDOWN, SHUTDOWN],
    [1079, SHUTDOWN, SHUTDOWN],
    [1152, KILLED, KILLED],
    [1158, LOST, LOST],
    [1159, LOST, LOST],
    [1160, LOST, LOST],
    [1161, LOST, LOST],
    [1290, READ_ONLY, READ_ONLY],
    [1792, READ_ONLY, READ_ONLY],
    [1836, READ_ONLY, READ_ONLY],
    [2006, LOST, LOST],
    [2013, LOST, LOST],
    [3169, KILLED, null],
    [4031, IDLE_TIMEOUT, null],
    [1927, null, KILLED],
    // Neighbours of entries, to catch an off-by-one key.
    [1046, null, null],
    [1048, null, null],
    [1052, null, null],
    [1054, null, null],
    [1289, null, null],
    [1291, null, null],
    [1928, null, null],
    [4030, null, null],
    [4032, null, null],
  ];
  for (const [errno, onMysql, onMariadb] of byErrno) {
    for (const flavor of flavors) {
      const expected = flavor === 'mysql' ? onMysql : onMariadb;
      test(`errno ${errno} on ${flavor}`, () => {
        // In reply to a command: a string code mysql2 may not know, and the errno.
        check(classify(mysqlError({ code: 'ER_SOMETHING', errno }), flavor), expected, `${errno} in reply`);
        // Arrived while idle: the number is the code, no errno, fatal.
        check(classify(mysqlError({ code: errno, fatal: true }), flavor), expected ?? FATAL, `${errno} while idle`);
        // The errno wins over a known string code.
        check(classify(mysqlError({ code: 'ECONNRESET', errno }), flavor), expected ?? LOST, `${errno} with ECONNRESET`);
      });
    }
  }

  // Client-side errors matched by message (no errno).
  const byMessage: ReadonlyArray<readonly [string, Expected]> = [
    ["Can't add new command when connection is in closed state", CLOSED],
    ["Can't write in closed state", CLOSED],
    ['This socket has been ended by the other party', CLOSED],
  ];
  for (const [message, expected] of byMessage) {
    for (const flavor of flavors) {
      test(`message "${message}" on ${flavor}`, () => {
        check(classify(mysqlError({ message }), flavor), expected, message);
        // Found inside a longer message too.
        check(classify(mysqlError({ message: `write: ${message}!` }), flavor), expected, `${message} (inside)`);
        // The message wins over a code (EPIPE after the server's FIN: nothing was sent).
        check(classify(mysqlError({ code: 'EPIPE', message }), flavor), expected, `${message} with EPIPE`);
        // Not for server errors: they carry an errno, and their message may quote anything.
        check(classify(mysqlError({ code: 'ER_DUP_ENTRY', errno: 1062, message }), flavor), null, `${message} with errno`);
      });
    }
  }

  test('only objects are errors: a function carrying a known code or message is not classified', () => {
    const fn = Object.assign(() => undefined, { code: 'ECONNRESET', errno: 2013, fatal: true });
    for (const flavor of flavors) check(classify(fn, flavor), null, `function on ${flavor}`);
  });

  test('an errno that is not a number is not looked up as one', () => {
    check(classify({ errno: '2013', message: 'x' }, 'mysql'), null, 'string errno');
    check(classify({ code: '2013', message: 'x' }, 'mysql'), null, 'string code');
  });

  test('the action reached by a number is the same object as by a code (one table)', () => {
    assert.equal(classify({ errno: 2013 }, 'mysql'), classify({ code: 'ECONNRESET' }, 'mysql'));
    assert.equal(classify({ errno: 1290 }, 'mysql'), classify({ errno: 1836 }, 'mariadb'));
  });
});

describe('classifyWith', () => {
  const lost = mysqlError({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
  const dup = mysqlError({ code: 'ER_DUP_ENTRY', errno: 1062 });
  const custom: ErrorAction = Object.freeze({ reason: 'fatal', destroy: true, others: 'retire', retryable: false, notExecuted: false });

  test('no override: the table', () => {
    assert.equal(classifyWith(lost, 'mysql', undefined), classify(lost, 'mysql'));
    assert.equal(classifyWith(dup, 'mysql', undefined), null);
  });

  test('the override sees the error and the table action', () => {
    const seen: [Error, ErrorAction | null][] = [];
    classifyWith(lost, 'mariadb', (err, act) => {
      seen.push([err, act]);
      return undefined;
    });
    classifyWith(dup, 'mariadb', (err, act) => {
      seen.push([err, act]);
      return undefined;
    });
    assert.equal(seen.length, 2);
    assert.equal(seen[0]![0], lost);
    assert.equal(seen[0]![1]?.reason, 'connection-lost');
    assert.equal(seen[1]![0], dup);
    assert.equal(seen[1]![1], null);
  });

  test('returning undefined keeps the table answer', () => {
    assert.equal(classifyWith(lost, 'mysql', () => undefined), classify(lost, 'mysql'));
    assert.equal(classifyWith(dup, 'mysql', () => undefined), null);
  });

  test('returning null clears it', () => {
    assert.equal(classifyWith(lost, 'mysql', () => null), null);
  });

  test('returning an action replaces it', () => {
    assert.equal(classifyWith(lost, 'mysql', () => custom), custom);
    assert.equal(classifyWith(dup, 'mysql', () => custom), custom);
  });
});

describe('classify: message text only for client-side errors', () => {
  test('a server error whose message quotes a matched text is still a plain SQL error', () => {
    const dup = {
      code: 'ER_DUP_ENTRY',
      errno: 1062,
      message: "Duplicate entry 'This socket has been ended by the other party' for key 'PRIMARY'",
    };
    assert.equal(classify(dup, 'mysql'), null);
    assert.equal(classify(dup, 'mariadb'), null);
  });
});

describe('classify: a write to a socket the pool destroyed', () => {
  test('ERR_STREAM_DESTROYED is "closed": nothing was sent, retryable', () => {
    const err = { code: 'ERR_STREAM_DESTROYED', message: 'Cannot call write after a stream was destroyed' };
    for (const flavor of ['mysql', 'mariadb'] as const) {
      const act = classify(err, flavor);
      assert.equal(act?.reason, 'closed');
      assert.equal(act?.notExecuted, true);
      assert.equal(act?.retryable, true);
    }
  });
});

describe('classifyWith: an override that throws', () => {
  test("keeps the table's answer, and the exception is rethrown on the next tick", (t) => {
    const lost = mysqlError({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
    const dup = mysqlError({ code: 'ER_DUP_ENTRY', errno: 1062 });
    const boom = new Error('override failed');
    const later: unknown[] = [];
    t.mock.method(process, 'nextTick', (fn: (arg: unknown) => void, arg: unknown) => later.push([fn, arg]));
    const throwing = () => {
      throw boom;
    };
    const a = classifyWith(lost, 'mysql', throwing);
    const b = classifyWith(dup, 'mysql', throwing);
    t.mock.restoreAll();
    assert.equal(a, classify(lost, 'mysql'));
    assert.equal(b, null);
    assert.equal(later.length, 2);
    for (const [fn, arg] of later as [(arg: unknown) => void, unknown][]) {
      assert.equal(arg, boom);
      assert.throws(() => fn(arg), (e) => e === boom);
    }
  });
});

describe('1047 (Galera node not prepared) under the retry contract', () => {
  const notReady = classify(
    mysqlError({ code: 'ER_UNKNOWN_COM_ERROR', errno: 1047, sqlState: '08S01', message: 'WSREP has not yet prepared node for application use' }),
    'mariadb',
  );
  const base = { sent: true, attempt: 1, maxAttempts: 3, timeLeft: 5_000, idempotent: undefined } as const;

  test('a single atomic write refused with 1047 did not run: retried, outcome known', () => {
    const d = decideRetry({ ...base, action: notReady, sql: 'INSERT INTO t VALUES (1)' });
    assert.equal(d.retry, true);
    assert.equal(d.retry && d.kind, 'not-sent');
    assert.equal(d.outcomeUnknown, false);
  });

  test('a CALL or several statements refused with 1047 may have run in part: not retried, outcome unknown', () => {
    for (const sql of ['CALL p()', 'INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)']) {
      const d = decideRetry({ ...base, action: notReady, sql });
      assert.equal(d.retry, false, sql);
      assert.equal(d.outcomeUnknown, true, sql);
    }
  });

  test('retryReadsAfterSend: false stops the text from proving "did not run"', () => {
    const d = decideRetry({ ...base, action: notReady, sql: 'INSERT INTO t VALUES (1)', retryReadsAfterSend: false });
    assert.equal(d.retry, false);
    assert.equal(d.outcomeUnknown, true);
  });

  test('the one didNotRun rule gives the same answer', () => {
    assert.equal(didNotRun(notReady, true, () => 'UPDATE t SET a = 1 WHERE id = 2'), true);
    assert.equal(didNotRun(notReady, true, () => undefined), false);
  });
});
