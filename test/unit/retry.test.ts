import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classify } from '../../src/error-table.js';
import type { ErrorAction } from '../../src/error-table.js';
import { MAX_RETRY_BACKOFF, decideRetry, didNotRun } from '../../src/retry.js';
import type { RetryInput } from '../../src/retry.js';
import type { StatementFacts } from '../../src/statement.js';

/** Connection lost: retryable, may have run. */
const LOST = classify({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }, 'mysql')!;
/** Idle-timeout ERR: retryable, certainly not run. */
const IDLE = classify({ code: 4031, fatal: true }, 'mysql')!;
/** Query timeout: not retryable. */
const TIMEOUT = classify({ code: 'PROTOCOL_SEQUENCE_TIMEOUT', fatal: true }, 'mysql')!;
/** Read-only refusal: did not run only for a single atomic statement; retried only on a confirmed read-only server. */
const READ_ONLY = classify({ code: 'ER_OPTION_PREVENTS_STATEMENT', errno: 1290 }, 'mysql')!;

/** A stand-in classifier: the facts a test wants, and a count of how often it was asked. */
function fakeFacts(facts: Partial<StatementFacts>): ((sql: string) => StatementFacts) & { calls: string[] } {
  const calls: string[] = [];
  const fn = (sql: string): StatementFacts => {
    calls.push(sql);
    return { plainRead: false, singleAtomic: false, ...facts };
  };
  return Object.assign(fn, { calls });
}

/** A final-SQL getter that counts its calls. */
function text(sql: string | undefined): (() => string | undefined) & { calls: number } {
  const fn = Object.assign(() => {
    fn.calls++;
    return sql;
  }, { calls: 0 });
  return fn;
}

function input(overrides: Partial<RetryInput>): RetryInput {
  return {
    action: LOST,
    sent: true,
    attempt: 1,
    maxAttempts: 3,
    timeLeft: 5_000,
    idempotent: undefined,
    sql: 'SELECT 1',
    ...overrides,
  };
}

function decide(overrides: Partial<RetryInput>): { retry: boolean; kind: string | undefined; outcomeUnknown: boolean } {
  const d = decideRetry(input(overrides));
  return { retry: d.retry, kind: d.retry ? d.kind : undefined, outcomeUnknown: d.outcomeUnknown };
}

const NO = { retry: false, kind: undefined };

describe('didNotRun: the one rule for "did not run"', () => {
  const atomic = fakeFacts({ singleAtomic: true });
  const notAtomic = fakeFacts({ singleAtomic: false });

  test('never sent: did not run, whatever the error, without reading the text', () => {
    for (const action of [null, LOST, IDLE, TIMEOUT, READ_ONLY]) {
      const sql = text('INSERT INTO t VALUES (1)');
      assert.equal(didNotRun(action, false, sql, true, notAtomic), true, action?.reason ?? 'null');
      assert.equal(sql.calls, 0);
    }
  });

  test('sent, a plain SQL error (no action): may have run', () => {
    assert.equal(didNotRun(null, true, text('SELECT 1'), true, atomic), false);
  });

  test('sent, the server never read it (notExecuted true): did not run, without reading the text', () => {
    const sql = text('CALL p()');
    assert.equal(didNotRun(IDLE, true, sql, true, notAtomic), true);
    assert.equal(didNotRun(IDLE, true, sql, false, notAtomic), true, 'whatever retryReadsAfterSend says');
    assert.equal(sql.calls, 0);
  });

  test('sent, connection lost (notExecuted false): may have run, without reading the text', () => {
    const sql = text('SELECT 1');
    assert.equal(didNotRun(LOST, true, sql, true, atomic), false);
    assert.equal(didNotRun(TIMEOUT, true, sql, true, atomic), false);
    assert.equal(sql.calls, 0);
    assert.deepEqual(atomic.calls, []);
  });

  test('sent, refused as read-only: did not run only for a single atomic statement', () => {
    const facts = fakeFacts({ singleAtomic: true });
    assert.equal(didNotRun(READ_ONLY, true, text('INSERT INTO t VALUES (1)'), true, facts), true);
    assert.deepEqual(facts.calls, ['INSERT INTO t VALUES (1)'], 'the final text is what is classified');
    assert.equal(didNotRun(READ_ONLY, true, text('CALL p()'), true, notAtomic), false);
  });

  test('sent, refused as read-only, the final text unknown: may have run', () => {
    const facts = fakeFacts({ singleAtomic: true });
    assert.equal(didNotRun(READ_ONLY, true, text(undefined), true, facts), false);
    assert.deepEqual(facts.calls, []);
  });

  test('sent, refused as read-only, retryReadsAfterSend off: the text is not trusted, without reading it', () => {
    const sql = text('INSERT INTO t VALUES (1)');
    assert.equal(didNotRun(READ_ONLY, true, sql, false, atomic), false);
    assert.equal(sql.calls, 0);
  });

  test('trusting the text is the default', () => {
    assert.equal(didNotRun(READ_ONLY, true, text('INSERT INTO t VALUES (1)'), undefined, fakeFacts({ singleAtomic: true })), true);
  });

  test('with the real classifier: a CALL, several statements, a stored function never prove "did not run"', () => {
    for (const sql of ['CALL p()', 'INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)', "SELECT log_hit('x')", 'SELECT NEXTVAL(s)']) {
      assert.equal(didNotRun(READ_ONLY, true, () => sql), false, sql);
    }
  });

  test('any other notExecuted value (a user override) proves nothing', () => {
    const odd = { ...READ_ONLY, notExecuted: 'maybe' } as unknown as ErrorAction;
    assert.equal(didNotRun(odd, true, text('SELECT 1'), true, atomic), false);
  });
});

describe('decideRetry', () => {
  test('the actions used here are what the table says', () => {
    assert.equal(LOST.retryable && LOST.notExecuted === false, true);
    assert.equal(IDLE.retryable && IDLE.notExecuted === true, true);
    assert.equal(TIMEOUT.retryable, false);
    assert.equal(READ_ONLY.notExecuted, 'if-single-atomic');
    assert.equal(READ_ONLY.others, 'retire-if-read-only');
  });

  test('not sent, retryable: retried as not-sent, whatever the statement', () => {
    for (const sql of ['SELECT 1', 'INSERT INTO t VALUES (1)', 'DELETE FROM t']) {
      assert.deepEqual(decide({ sent: false, sql }), { retry: true, kind: 'not-sent', outcomeUnknown: false }, sql);
    }
    // Even when declared not idempotent: it did not run.
    assert.deepEqual(decide({ sent: false, idempotent: false, sql: 'INSERT INTO t VALUES (1)' }), {
      retry: true,
      kind: 'not-sent',
      outcomeUnknown: false,
    });
  });

  test('sent but certainly not executed: retried as not-sent', () => {
    assert.deepEqual(decide({ action: IDLE, sent: true, sql: 'INSERT INTO t VALUES (1)' }), {
      retry: true,
      kind: 'not-sent',
      outcomeUnknown: false,
    });
  });

  test('sent, outcome unknown, a plain read: retried as read-after-send', () => {
    assert.deepEqual(decide({ sql: 'SELECT * FROM t WHERE id = 1' }), { retry: true, kind: 'read-after-send', outcomeUnknown: true });
  });

  test('sent, outcome unknown, a write: not retried, outcome unknown', () => {
    for (const sql of ['INSERT INTO t VALUES (1)', 'UPDATE t SET a = 1', 'SELECT * FROM t FOR UPDATE', 'CALL p()']) {
      assert.deepEqual(decide({ sql }), { ...NO, outcomeUnknown: true }, sql);
    }
  });

  test('the final text decides, not the template: what raw() or a queryFormat put in is seen', () => {
    for (const sql of ['SELECT NEXTVAL(s)', 'SELECT 1; INSERT INTO t VALUES (1)', "SELECT GET_LOCK('x', 0)"]) {
      assert.deepEqual(decide({ sql }), { ...NO, outcomeUnknown: true }, sql);
      assert.deepEqual(decide({ sql: () => sql }), { ...NO, outcomeUnknown: true }, sql);
    }
  });

  test('sent, outcome unknown, the final text unknown: not retried', () => {
    assert.deepEqual(decide({ sql: undefined }), { ...NO, outcomeUnknown: true });
    assert.deepEqual(decide({ sql: () => undefined }), { ...NO, outcomeUnknown: true });
    assert.match(decideRetry(input({ sql: undefined })).why, /not known/);
  });

  test('the text is read at most once, and only when the decision depends on it', () => {
    const read = text('SELECT 1');
    assert.equal(decideRetry(input({ sql: read, facts: fakeFacts({ plainRead: true }) })).retry, true);
    assert.equal(read.calls, 1);
    const readOnly = text('SELECT 1');
    decideRetry(input({ action: READ_ONLY, serverReadOnly: true, sql: readOnly, facts: fakeFacts({ plainRead: true }) }));
    assert.equal(readOnly.calls, 1, 'once for "did not run" and the plain-read test together');
    for (const overrides of [
      { sent: false },
      { action: null },
      { action: IDLE },
      { idempotent: true },
      { idempotent: false },
      { action: TIMEOUT },
      { retryReadsAfterSend: false },
    ] as Partial<RetryInput>[]) {
      const unread = text('SELECT 1');
      decideRetry(input({ ...overrides, sql: unread }));
      assert.equal(unread.calls, 0, JSON.stringify(overrides));
    }
  });

  test('declared idempotent: retried as idempotent-after-send, even a write', () => {
    for (const sql of ['INSERT INTO t VALUES (1)', 'SELECT 1']) {
      assert.deepEqual(decide({ sql, idempotent: true }), { retry: true, kind: 'idempotent-after-send', outcomeUnknown: true }, sql);
    }
  });

  test('declared not idempotent: a read is not retried after send', () => {
    assert.deepEqual(decide({ sql: 'SELECT 1', idempotent: false }), { ...NO, outcomeUnknown: true });
  });

  test('attempts exhausted: not retried', () => {
    assert.equal(decide({ sent: false, attempt: 3, maxAttempts: 3 }).retry, false);
    assert.equal(decide({ sent: false, attempt: 4, maxAttempts: 3 }).retry, false);
    assert.equal(decide({ sent: false, attempt: 1, maxAttempts: 1 }).retry, false);
    assert.deepEqual(decide({ attempt: 3, maxAttempts: 3 }), { ...NO, outcomeUnknown: true });
    // One below the limit still retries.
    assert.equal(decide({ sent: false, attempt: 2, maxAttempts: 3 }).retry, true);
  });

  test('no time left: not retried', () => {
    assert.equal(decide({ sent: false, timeLeft: 0 }).retry, false);
    assert.equal(decide({ sent: false, timeLeft: -10 }).retry, false);
    assert.equal(decide({ sent: false, timeLeft: 1 }).retry, true);
  });

  test('a plain SQL error (action null): not retried, outcome known', () => {
    for (const sent of [true, false]) {
      for (const idempotent of [true, false, undefined]) {
        assert.deepEqual(decide({ action: null, sent, idempotent }), { ...NO, outcomeUnknown: false });
      }
    }
  });

  test('a non-retryable action: not retried', () => {
    assert.deepEqual(decide({ action: TIMEOUT, sent: true }), { ...NO, outcomeUnknown: true });
    assert.deepEqual(decide({ action: TIMEOUT, sent: false, idempotent: true }), { ...NO, outcomeUnknown: false });
  });

  test('outcomeUnknown depends only on sent and notExecuted (and, for refusals, the statement)', () => {
    const custom = (notExecuted: ErrorAction['notExecuted']): ErrorAction => ({
      reason: 'fatal',
      destroy: true,
      others: 'none',
      retryable: false,
      notExecuted,
    });
    assert.equal(decide({ action: custom(false), sent: true }).outcomeUnknown, true);
    assert.equal(decide({ action: custom(true), sent: true }).outcomeUnknown, false);
    assert.equal(decide({ action: custom(false), sent: false }).outcomeUnknown, false);
    assert.equal(decide({ action: custom('if-single-atomic'), sent: true, facts: fakeFacts({ singleAtomic: true }) }).outcomeUnknown, false);
    assert.equal(decide({ action: custom('if-single-atomic'), sent: true, facts: fakeFacts({ singleAtomic: false }) }).outcomeUnknown, true);
  });
});

describe('decideRetry: read-only refusals', () => {
  const atomic = fakeFacts({ singleAtomic: true });
  const notAtomic = fakeFacts({ singleAtomic: false });

  test('not confirmed read-only (not asked, no answer, or writable): never retried, even a single atomic statement', () => {
    for (const serverReadOnly of [undefined, false]) {
      for (const idempotent of [undefined, true]) {
        const d = decideRetry(input({ action: READ_ONLY, serverReadOnly, idempotent, facts: atomic }));
        assert.equal(d.retry, false, `${serverReadOnly} ${idempotent}`);
        assert.equal(d.outcomeUnknown, false);
        assert.match(d.why, /not confirmed read-only/);
      }
    }
  });

  test('confirmed read-only, a single atomic statement: it did not run, retried as not-sent', () => {
    assert.deepEqual(decide({ action: READ_ONLY, serverReadOnly: true, facts: atomic, sql: 'INSERT INTO t VALUES (1)' }), {
      retry: true,
      kind: 'not-sent',
      outcomeUnknown: false,
    });
  });

  test('confirmed read-only, a CALL or several statements: may have run, not retried', () => {
    assert.deepEqual(decide({ action: READ_ONLY, serverReadOnly: true, facts: notAtomic, sql: 'CALL p()' }), { ...NO, outcomeUnknown: true });
    for (const sql of ['CALL p()', 'INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)']) {
      assert.deepEqual(decide({ action: READ_ONLY, serverReadOnly: true, sql }), { ...NO, outcomeUnknown: true }, sql);
    }
  });

  test('confirmed read-only, not single atomic, declared idempotent: retried as idempotent-after-send', () => {
    assert.deepEqual(decide({ action: READ_ONLY, serverReadOnly: true, facts: notAtomic, idempotent: true }), {
      retry: true,
      kind: 'idempotent-after-send',
      outcomeUnknown: true,
    });
  });

  test('confirmed read-only, retryReadsAfterSend off: the text proves nothing, not retried', () => {
    assert.deepEqual(decide({ action: READ_ONLY, serverReadOnly: true, facts: atomic, retryReadsAfterSend: false }), {
      ...NO,
      outcomeUnknown: true,
    });
  });

  test('a read-only action that was never sent (a user override) did not run: retried without asking', () => {
    assert.deepEqual(decide({ action: READ_ONLY, sent: false }), { retry: true, kind: 'not-sent', outcomeUnknown: false });
  });
});

describe('decideRetry: retryReadsAfterSend', () => {
  const read = fakeFacts({ plainRead: true, singleAtomic: true });

  test('off: a plain read whose outcome is unknown is not retried', () => {
    const d = decideRetry(input({ retryReadsAfterSend: false, facts: read }));
    assert.deepEqual({ retry: d.retry, outcomeUnknown: d.outcomeUnknown }, { retry: false, outcomeUnknown: true });
    assert.match(d.why, /retryReadsAfterSend/);
  });

  test('off: never-sent and never-read statements are still retried', () => {
    assert.deepEqual(decide({ retryReadsAfterSend: false, sent: false, facts: read }), { retry: true, kind: 'not-sent', outcomeUnknown: false });
    assert.deepEqual(decide({ retryReadsAfterSend: false, action: IDLE, facts: read }), { retry: true, kind: 'not-sent', outcomeUnknown: false });
  });

  test('off: a statement declared idempotent is still retried (the caller vouches for it)', () => {
    assert.deepEqual(decide({ retryReadsAfterSend: false, idempotent: true, facts: read }), {
      retry: true,
      kind: 'idempotent-after-send',
      outcomeUnknown: true,
    });
  });

  test('on, or unset: a plain read is retried', () => {
    for (const retryReadsAfterSend of [true, undefined]) {
      assert.deepEqual(decide({ retryReadsAfterSend, facts: read }), { retry: true, kind: 'read-after-send', outcomeUnknown: true });
    }
  });
});

describe('decideRetry: why', () => {
  const cases: [Partial<RetryInput>, RegExp][] = [
    [{ action: null }, /^not a connection-level error$/],
    [{ action: TIMEOUT }, /^query-timeout is not retried$/],
    [{ attempt: 3, maxAttempts: 3 }, /^3 attempts made$/],
    [{ timeLeft: 0 }, /^acquireTimeout budget spent$/],
    [{ sent: false, backoff: MAX_RETRY_BACKOFF + 1 }, /unreachable for a while/],
    [{ sent: false }, /^the statement did not run$/],
    [{ idempotent: false }, /^declared not idempotent/],
    [{ idempotent: true }, /^declared idempotent$/],
    [{ sql: 'SELECT 1' }, /^a plain read$/],
    [{ sql: 'DELETE FROM t' }, /^a write whose outcome is unknown is never retried$/],
  ];
  for (const [overrides, why] of cases) {
    test(`${JSON.stringify(overrides)} → ${why}`, () => assert.match(decideRetry(input(overrides)).why, why));
  }
});

describe('decideRetry: failing fast while the server is unreachable', () => {
  const lost = { reason: 'connection-lost', destroy: true, others: 'suspect', retryable: true, notExecuted: false } as const;
  const base = { action: lost, sent: false, attempt: 1, maxAttempts: 3, timeLeft: 5_000, idempotent: undefined, sql: 'SELECT 1' };
  test('a short backoff (a blip, a restart) is waited out and retried', () => {
    assert.equal(decideRetry({ ...base, backoff: MAX_RETRY_BACKOFF }).retry, true);
    assert.equal(decideRetry({ ...base, backoff: 0 }).retry, true);
    assert.equal(decideRetry({ ...base }).retry, true);
  });
  test('a long backoff (down for a while) fails fast', () => {
    assert.equal(decideRetry({ ...base, backoff: MAX_RETRY_BACKOFF + 1 }).retry, false);
  });
  test('the threshold is 250 ms', () => {
    assert.equal(MAX_RETRY_BACKOFF, 250);
  });
});
