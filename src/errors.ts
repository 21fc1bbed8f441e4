/**
 * This library's own errors, and the fields it adds to mysql2's.
 *
 * mysql2's error objects are passed on as they are (their `code`, `errno`,
 * `message`, `fatal`, `sqlState` untouched): applications already branch on
 * them. We only add fields (see {@link ResilienceFields}).
 */
import type { QueryError } from 'mysql2';

/** Fields added to every error that a pool-level `query`/`execute` passes on. */
export interface ResilienceFields {
  /** How many attempts were made (1 when the first attempt's error was passed on). */
  attempts?: number;
  /** The error was of a kind that is retried when safe (connection-level). */
  retryable?: boolean;
  /**
   * The statement was sent and the connection died before its result arrived:
   * it may or may not have run. Never retried unless the statement is a plain
   * read or the caller declared it idempotent. Also set (alone) on the errors
   * of a held connection's commands, which are never retried.
   */
  outcomeUnknown?: boolean;
}

export type AnnotatedError = Error & ResilienceFields & { code?: string | number; errno?: number; fatal?: boolean };

/**
 * What a pool-level `query`/`execute` fails with: mysql2's error (code, errno, sqlState, fatal as mysql2 set them)
 * or the pool's own {@link PoolError}, with the fields this library adds.
 */
export type ResilientError = (QueryError | PoolError) & ResilienceFields;

/**
 * True when `err` is an error whose statement may or may not have run (it was sent and the connection died before
 * the reply). Such a call is not retried unless the statement is a plain read or declared idempotent: check whether
 * it ran before doing it again. Narrows `err` (a `catch` clause's `unknown` too) to {@link ResilientError}.
 */
export function isOutcomeUnknown(err: unknown): err is ResilientError & { outcomeUnknown: true } {
  return typeof err === 'object' && err !== null && (err as ResilienceFields).outcomeUnknown === true;
}

/** True when `err` carries this library's fields (any error a pool-level `query`/`execute` passed on does). */
export function isResilientError(err: unknown): err is ResilientError {
  return err instanceof Error && typeof (err as ResilienceFields).attempts === 'number';
}

/** Stable codes of the errors this library creates itself. */
export const ErrorCodes = {
  /** `end()` was called; same message as mysql2 (`Pool is closed.`). */
  POOL_CLOSED: 'POOL_CLOSED',
  /** No connection could be handed out within `acquireTimeout`. */
  ACQUIRE_TIMEOUT: 'POOL_ACQUIRE_TIMEOUT',
  /** `queueLimit` waiters already; same message as mysql2 (`Queue limit reached.`). */
  QUEUE_LIMIT: 'POOL_ENQUEUELIMIT',
  /** `waitForConnections: false` and none free; same message as mysql2 (`No connections available.`). */
  NO_CONNECTIONS: 'POOL_CONNLIMIT',
  /**
   * A pool-level `query`/`execute` left its connection inside a transaction or
   * with autocommit off: the call failed, the connection was closed (the server
   * rolls back). A deliberate difference from mysql2, whose pool hands such a
   * connection to the next caller.
   */
  TRANSACTION_LEFT_OPEN: 'POOL_TRANSACTION_LEFT_OPEN',
} as const;

export type PoolErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An error created by the pool itself (not by mysql2 or the server). */
export class PoolError extends Error {
  readonly code: PoolErrorCode;
  /** mysql2 marks errors that end a connection `fatal`; pool errors never do. */
  readonly fatal = false;
  constructor(code: PoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PoolError';
    this.code = code;
  }
}

export function poolClosedError(): PoolError {
  return new PoolError(ErrorCodes.POOL_CLOSED, 'Pool is closed.');
}

/**
 * The error of a pool-level call that left a transaction open (see
 * transactions.ts). Its connection is closed, so the server rolls back what
 * the call did, except what it cannot roll back (statements that commit
 * implicitly, such as DDL; non-transactional tables).
 */
export function transactionLeftOpenError(): PoolError {
  return new PoolError(
    ErrorCodes.TRANSACTION_LEFT_OPEN,
    'pool.query()/pool.execute() left its connection inside a transaction or with autocommit off, so the pool ' +
      'closed that connection and the server rolled back the uncommitted work; the call is not acknowledged. ' +
      'Run transactions on one connection from getConnection() (unlike mysql2, which would hand that ' +
      'connection, transaction and all, to the next pool-level call).',
  );
}

/** Copies fields onto an error without replacing anything mysql2 set. */
export function annotate<E extends object>(err: E, fields: ResilienceFields): E & ResilienceFields {
  return Object.assign(err, fields);
}
