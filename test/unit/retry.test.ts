import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classify } from '../../src/error-table.js';
import type { ErrorAction } from '../../src/error-table.js';
import { MAX_RETRY_BACKOFF, decideRetry } from '../../src/retry.js';
import type { RetryInput } from '../../src/retry.js';

/** Connection lost: retryable, may have run. */
const LOST = classify({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }, 'mysql')!;
/** Idle-timeout ERR: retryable, certainly not run. */
const IDLE = classify({ code: 4031, fatal: true }, 'mysql')!;
/** Query timeout: not retryable. */
const TIMEOUT = classify({ code: 'PROTOCOL_SEQUENCE_TIMEOUT', fatal: true }, 'mysql')!;

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

describe('decideRetry', () => {
  test('the actions used here are what the table says', () => {
    assert.equal(LOST.retryable && !LOST.notExecuted, true);
    assert.equal(IDLE.retryable && IDLE.notExecuted, true);
    assert.equal(TIMEOUT.retryable, false);
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
    assert.deepEqual(decide({ sql: 'SELECT * FROM t WHERE id = ?' }), { retry: true, kind: 'read-after-send', outcomeUnknown: true });
  });

  test('sent, outcome unknown, a write: not retried, outcome unknown', () => {
    for (const sql of ['INSERT INTO t VALUES (1)', 'UPDATE t SET a = 1', 'SELECT * FROM t FOR UPDATE', 'CALL p()']) {
      assert.deepEqual(decide({ sql }), { retry: false, kind: undefined, outcomeUnknown: true }, sql);
    }
  });

  test('declared idempotent: retried as idempotent-after-send, even a write', () => {
    for (const sql of ['INSERT INTO t VALUES (1)', 'SELECT 1']) {
      assert.deepEqual(decide({ sql, idempotent: true }), { retry: true, kind: 'idempotent-after-send', outcomeUnknown: true }, sql);
    }
  });

  test('declared not idempotent: a read is not retried after send', () => {
    assert.deepEqual(decide({ sql: 'SELECT 1', idempotent: false }), { retry: false, kind: undefined, outcomeUnknown: true });
  });

  test('attempts exhausted: not retried', () => {
    assert.equal(decide({ sent: false, attempt: 3, maxAttempts: 3 }).retry, false);
    assert.equal(decide({ sent: false, attempt: 4, maxAttempts: 3 }).retry, false);
    assert.equal(decide({ sent: false, attempt: 1, maxAttempts: 1 }).retry, false);
    assert.deepEqual(decide({ attempt: 3, maxAttempts: 3 }), { retry: false, kind: undefined, outcomeUnknown: true });
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
        assert.deepEqual(decide({ action: null, sent, idempotent }), { retry: false, kind: undefined, outcomeUnknown: false });
      }
    }
  });

  test('a non-retryable action: not retried', () => {
    assert.deepEqual(decide({ action: TIMEOUT, sent: true }), { retry: false, kind: undefined, outcomeUnknown: true });
    assert.deepEqual(decide({ action: TIMEOUT, sent: false, idempotent: true }), { retry: false, kind: undefined, outcomeUnknown: false });
  });

  test('outcomeUnknown depends only on sent and notExecuted', () => {
    const custom = (notExecuted: boolean): ErrorAction => ({ reason: 'fatal', destroy: true, others: 'none', retryable: false, notExecuted });
    assert.equal(decide({ action: custom(false), sent: true }).outcomeUnknown, true);
    assert.equal(decide({ action: custom(true), sent: true }).outcomeUnknown, false);
    assert.equal(decide({ action: custom(false), sent: false }).outcomeUnknown, false);
  });
});

describe('decideRetry: failing fast while the server is unreachable', () => {
  const lost = { reason: 'connection-lost', destroy: true, others: 'suspect', retryable: true, notExecuted: false } as const;
  const base = { action: lost, sent: false, attempt: 1, maxAttempts: 3, timeLeft: 5_000, idempotent: undefined, sql: 'SELECT 1' };
  test('a short backoff (a blip, a restart) is waited out and retried', () => {
    assert.equal(decideRetry({ ...base, backoff: MAX_RETRY_BACKOFF }).retry, true);
  });
  test('a long backoff (down for a while) fails fast', () => {
    assert.equal(decideRetry({ ...base, backoff: MAX_RETRY_BACKOFF + 1 }).retry, false);
  });
});
