import type { ErrorAction } from './error-table.js';
import { isReadOnlyStatement } from './statement.js';

/**
 * A failed checkout is retried only while the connect backoff is this short:
 * that rides out a blip or a restart, but once the server has been unreachable
 * for a few attempts callers fail fast with the real error instead of waiting
 * out the backoff (which grows to 2 s) once per attempt.
 */
export const MAX_RETRY_BACKOFF = 250;

/** Which rule allowed a retry; counted in stats. */
export type RetryKind = 'not-sent' | 'read-after-send' | 'idempotent-after-send';

export interface RetryInput {
  /** The error table's verdict (null: a plain SQL error). */
  action: ErrorAction | null;
  /** The command's packet was written before the failure. */
  sent: boolean;
  /** Attempts made so far, including the one that failed. */
  attempt: number;
  maxAttempts: number;
  /** Milliseconds left of the call's budget (acquireTimeout from the call's start), after any backoff. */
  timeLeft: number;
  /** How long the pool's connect backoff makes a retry wait (0 after a failure on an open connection). */
  backoff?: number;
  /** Per call or pool-wide declaration; undefined: decide from the statement. */
  idempotent: boolean | undefined;
  sql: string;
}

export type RetryDecision =
  | { retry: true; kind: RetryKind; why: string; outcomeUnknown: boolean }
  | { retry: false; why: string; outcomeUnknown: boolean };

/**
 * The retry contract (Go's database/sql, HikariCP's advice): a statement is
 * retried only when running it again cannot run it twice.
 * - Never sent, or sent but certainly not executed (the server closed before
 *   reading it, or refused it as read-only): retried.
 * - Sent, then the connection died, so the outcome is unknown: retried only if
 *   the statement is a plain read, or the caller declared it idempotent.
 * - SQL errors (syntax, duplicate key, deadlock...): never retried here.
 * Attempts and time are bounded.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { action, sent } = input;
  const outcomeUnknown = sent && action !== null && !action.notExecuted;
  if (!action) return { retry: false, why: 'not a connection-level error', outcomeUnknown: false };
  if (!action.retryable) return { retry: false, why: `${action.reason} is not retried`, outcomeUnknown };
  if (input.attempt >= input.maxAttempts) return { retry: false, why: `${input.attempt} attempts made`, outcomeUnknown };
  if (input.timeLeft <= 0) return { retry: false, why: 'acquireTimeout budget spent', outcomeUnknown };
  if ((input.backoff ?? 0) > MAX_RETRY_BACKOFF) {
    return { retry: false, why: 'the server has been unreachable for a while: failing fast', outcomeUnknown };
  }
  if (!outcomeUnknown) return { retry: true, kind: 'not-sent', why: 'the statement did not run', outcomeUnknown };
  if (input.idempotent === false) return { retry: false, why: 'declared not idempotent; outcome unknown', outcomeUnknown };
  if (input.idempotent === true) {
    return { retry: true, kind: 'idempotent-after-send', why: 'declared idempotent', outcomeUnknown };
  }
  if (isReadOnlyStatement(input.sql)) return { retry: true, kind: 'read-after-send', why: 'a plain read', outcomeUnknown };
  return { retry: false, why: 'a write whose outcome is unknown is never retried', outcomeUnknown };
}
