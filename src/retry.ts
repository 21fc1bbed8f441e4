import type { ErrorAction } from './error-table.js';
import { statementFacts } from './statement.js';
import type { StatementFacts } from './statement.js';

/**
 * A failed checkout is retried only while the connect backoff is this short:
 * that rides out a blip or a restart, but once the server has been unreachable
 * for a few attempts callers fail fast with the real error instead of waiting
 * out the backoff (which grows to 2 s) once per attempt.
 */
export const MAX_RETRY_BACKOFF = 250;

/** Which rule allowed a retry; counted in stats. */
export type RetryKind = 'not-sent' | 'read-after-send' | 'idempotent-after-send';

/**
 * Whether a failed statement certainly did not run: the one rule every "did not
 * run" conclusion goes through (retries, `outcomeUnknown`).
 * - Never sent (`sent` false): it did not run, whatever the error.
 * - Sent, and the error proves the server never read it (`notExecuted: true`:
 *   ERR 4031, a client that refused to write): it did not run.
 * - Sent, and the server refused it (`notExecuted: 'if-single-atomic'`: the
 *   read-only errors): it did not run only if `finalSql`, the text the server
 *   received, is one statement that cannot have changed anything before being
 *   refused (`statementFacts(finalSql).singleAtomic`), and the caller has not
 *   said that the text is not the whole truth (`trustText` false: the
 *   `retryReadsAfterSend: false` option, for views and triggers that write).
 *   A `CALL` or a multi-statement string may have written before the refusal.
 * - Anything else, including a sent statement whose final text is unknown
 *   (`finalSql` undefined): it may have run.
 * `finalSql` is a function so the text is classified only when the answer
 * depends on it (never on the hot path). `facts` is the classifier (tests pass
 * their own).
 */
export function didNotRun(
  action: ErrorAction | null,
  sent: boolean,
  finalSql: () => string | undefined,
  trustText = true,
  facts: (sql: string) => StatementFacts = statementFacts,
): boolean {
  if (!sent) return true;
  if (!action) return false;
  if (action.notExecuted === true) return true;
  if (action.notExecuted !== 'if-single-atomic' || !trustText) return false;
  const sql = finalSql();
  return typeof sql === 'string' && facts(sql).singleAtomic;
}

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
  /**
   * The final text the server received (after mysql2 formatted values, `raw()`,
   * named placeholders or a user `queryFormat` into it); undefined when it
   * cannot be known, which forbids every retry after send that depends on it.
   * Read only when the decision depends on it.
   */
  sql: string | undefined | (() => string | undefined);
  /**
   * The `retryReadsAfterSend` option (default true). False: no retry after send
   * rests on the SQL text (plain reads, single statements refused as
   * read-only); never-sent statements and declared-idempotent ones still are.
   */
  retryReadsAfterSend?: boolean;
  /**
   * For an action with `others: 'retire-if-read-only'`: whether the server,
   * asked, said it is read-only (undefined: not asked, or no answer). Only a
   * confirmed read-only server makes such an error a failover worth retrying;
   * otherwise it is the application's error and is passed on.
   */
  serverReadOnly?: boolean;
  /** @internal The statement classifier; default `statementFacts` (tests pass their own). */
  facts?: (sql: string) => StatementFacts;
}

export type RetryDecision =
  | { retry: true; kind: RetryKind; why: string; outcomeUnknown: boolean }
  | { retry: false; why: string; outcomeUnknown: boolean };

/**
 * The retry contract (Go's database/sql, HikariCP's advice): a statement is
 * retried only when running it again cannot run it twice.
 * - Never sent, or sent but certainly not run ({@link didNotRun}): retried.
 * - Sent, then the connection died, so the outcome is unknown: retried only if
 *   the final text is a plain read (and `retryReadsAfterSend` is on), or the
 *   caller declared it idempotent.
 * - A read-only refusal is retried only once the server confirmed it is
 *   read-only (a failover); otherwise it is the application's error.
 * - SQL errors (syntax, duplicate key, deadlock...): never retried here.
 * Attempts and time are bounded. Where the code cannot be sure, it does not
 * retry and does not claim "did not run".
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { action, sent } = input;
  const trustText = input.retryReadsAfterSend !== false;
  let text: { sql: string | undefined } | undefined;
  const finalSql = (): string | undefined => {
    if (!text) text = { sql: typeof input.sql === 'function' ? input.sql() : input.sql };
    return text.sql;
  };
  if (!action) return { retry: false, why: 'not a connection-level error', outcomeUnknown: false };
  const facts = input.facts ?? statementFacts;
  const outcomeUnknown = !didNotRun(action, sent, finalSql, trustText, facts);
  if (!action.retryable) return { retry: false, why: `${action.reason} is not retried`, outcomeUnknown };
  if (input.attempt >= input.maxAttempts) return { retry: false, why: `${input.attempt} attempts made`, outcomeUnknown };
  if (input.timeLeft <= 0) return { retry: false, why: 'acquireTimeout budget spent', outcomeUnknown };
  if ((input.backoff ?? 0) > MAX_RETRY_BACKOFF) {
    return { retry: false, why: 'the server has been unreachable for a while: failing fast', outcomeUnknown };
  }
  if (sent && action.others === 'retire-if-read-only' && input.serverReadOnly !== true) {
    return { retry: false, why: 'the server is not confirmed read-only: the error is the application\'s', outcomeUnknown };
  }
  if (!outcomeUnknown) return { retry: true, kind: 'not-sent', why: 'the statement did not run', outcomeUnknown };
  if (input.idempotent === false) return { retry: false, why: 'declared not idempotent; outcome unknown', outcomeUnknown };
  if (input.idempotent === true) {
    return { retry: true, kind: 'idempotent-after-send', why: 'declared idempotent', outcomeUnknown };
  }
  if (!trustText) return { retry: false, why: 'retryReadsAfterSend is off; outcome unknown', outcomeUnknown };
  const sql = finalSql();
  if (typeof sql !== 'string') return { retry: false, why: 'the text sent is not known; outcome unknown', outcomeUnknown };
  if (facts(sql).plainRead) return { retry: true, kind: 'read-after-send', why: 'a plain read', outcomeUnknown };
  return { retry: false, why: 'a write whose outcome is unknown is never retried', outcomeUnknown };
}
