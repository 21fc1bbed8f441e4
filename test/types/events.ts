/**
 * Compile-time test (never run): the pools' events are typed on both APIs. mysql2's own events (`connection`,
 * `acquire`, `release`, `enqueue`) keep mysql2's listener types, this library's (`evict`, `retry`, `leak`, `warn`,
 * `error`) have their exported payload types, and the fields added to errors are reachable without casts from both
 * entries. Every `@ts-expect-error` line is a misuse that must stay a compile error (the compile fails if one stops
 * erroring, e.g. because a listener collapsed to `(...args: any[])`). Compiled by test/integration/types.test.ts.
 */
import type * as mysql from 'mysql2';
import type * as mysqlPromise from 'mysql2/promise';
import { createResilientPool, isOutcomeUnknown, isResilientError, PoolError } from '../../src/index.js';
import type {
  CloseReason,
  ErrorReason,
  LeakEvent,
  OptionClampedWarning,
  PoolErrorCode,
  PoolWarning,
  ResilientError,
  RetryEvent,
  RetryKind,
} from '../../src/index.js';
import * as promiseApi from '../../src/promise.js';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const exactly =
  <Expected>() =>
  <Actual>(_value: Actual, ..._typesDiffer: Equals<Actual, Expected> extends true ? [] : [never]): void => {};

const pool = createResilientPool({ host: 'h' });
const promisePool = promiseApi.createResilientPool({ host: 'h' });

// ---------------------------------------------------------------- mysql2's events, callback pool

pool.on('connection', (conn) => exactly<mysql.PoolConnection>()(conn));
pool.on('acquire', (conn) => exactly<mysql.PoolConnection>()(conn));
pool.once('release', (conn) => exactly<mysql.PoolConnection>()(conn));
pool.on('enqueue', () => {});
// Chaining keeps the pool's own type.
exactly<typeof pool>()(pool.on('enqueue', () => {}).off('enqueue', () => {}));

// @ts-expect-error -- the connection is a mysql2 PoolConnection: no such method
pool.on('connection', (conn) => conn.notAMethod());
// @ts-expect-error -- and not a number
pool.on('acquire', (conn: number) => conn);
// @ts-expect-error -- enqueue passes nothing
pool.on('enqueue', (what: string) => what);

// ---------------------------------------------------------------- this library's events, callback pool

pool.on('evict', (conn, reason) => {
  exactly<mysql.PoolConnection>()(conn);
  exactly<CloseReason>()(reason);
});
pool.on('retry', (event) => {
  exactly<RetryEvent>()(event);
  exactly<number>()(event.attempt);
  exactly<Error>()(event.error);
  exactly<ErrorReason>()(event.reason);
  exactly<RetryKind>()(event.kind);
  exactly<string>()(event.sql);
});
pool.on('leak', (event) => {
  exactly<LeakEvent>()(event);
  exactly<mysql.PoolConnection>()(event.connection);
  exactly<number>()(event.heldFor);
  exactly<string>()(event.stack);
});
pool.on('warn', (warning) => {
  exactly<PoolWarning>()(warning);
  exactly<'OPTION_CLAMPED'>()(warning.code);
  exactly<'idleTimeout' | 'maxLifetime'>()(warning.option);
  exactly<number>()(warning.requested);
  exactly<number>()(warning.applied);
});
pool.on('error', (err) => exactly<Error>()(err));
// A wider parameter type is fine (a listener taking any string takes every reason).
pool.on('evict', (_conn: unknown, reason: string) => reason);

// @ts-expect-error -- the reason is a CloseReason string, not a number
pool.on('evict', (_conn, reason: number) => reason);
// @ts-expect-error -- no such CloseReason
pool.on('evict', (_conn, reason) => reason === 'timeout');
// @ts-expect-error -- a retry event has no `attempts` (it is `attempt`)
pool.on('retry', (event) => event.attempts);
// @ts-expect-error -- retry kinds are not-sent, read-after-send, idempotent-after-send
pool.on('retry', (event) => event.kind === 'after-send');
// @ts-expect-error -- heldFor is a number of milliseconds
pool.on('leak', (event: { heldFor: string }) => event.heldFor);
// @ts-expect-error -- a warning's code is OPTION_CLAMPED
pool.on('warn', (warning) => warning.code === 'POOL_CLOSED');

// Other event names (EventEmitter's own, or any) still take any listener, as on mysql2's pools.
pool.on('newListener', (name: string | symbol) => name);
pool.on('some-other-event', (...args: unknown[]) => args);

// ---------------------------------------------------------------- promise pool: the same events

promisePool.on('connection', (conn) => exactly<mysql.PoolConnection>()(conn));
promisePool.on('acquire', (conn) => exactly<mysql.PoolConnection>()(conn));
promisePool.on('release', (conn) => exactly<mysql.PoolConnection>()(conn));
promisePool.on('enqueue', () => {});
promisePool.on('evict', (_conn, reason) => exactly<CloseReason>()(reason));
promisePool.on('retry', (event) => exactly<RetryEvent>()(event));
promisePool.on('leak', (event) => exactly<LeakEvent>()(event));
promisePool.once('warn', (warning) => exactly<OptionClampedWarning>()(warning));
promisePool.on('error', (err) => exactly<Error>()(err));
exactly<typeof promisePool>()(promisePool.on('enqueue', () => {}));

// @ts-expect-error -- the promise pool's listeners are typed too (mysql2's promise Pool types `on` with any for these)
promisePool.on('connection', (conn) => conn.notAMethod());
// @ts-expect-error -- evict passes a CloseReason
promisePool.on('evict', (_conn, reason: number) => reason);
// @ts-expect-error -- retry's payload is a RetryEvent
promisePool.on('retry', (event) => event.attempts);
// @ts-expect-error -- removing a listener is typed the same way
promisePool.off('leak', (event: { heldFor: string }) => event);

// The typed pools are still mysql2's pool types.
export const asPool: mysql.Pool = pool;
export const asPromisePool: mysqlPromise.Pool = promisePool;

// ---------------------------------------------------------------- added error fields, from both entries

exactly<typeof isOutcomeUnknown>()(promiseApi.isOutcomeUnknown);
exactly<typeof isResilientError>()(promiseApi.isResilientError);
exactly<typeof PoolError>()(promiseApi.PoolError);

pool.query('UPDATE t SET a = 1', (err) => {
  if (err && isOutcomeUnknown(err)) {
    exactly<true>()(err.outcomeUnknown);
    exactly<number | undefined>()(err.attempts);
    // mysql2's fields are still there.
    exactly<string>()(err.code);
    exactly<number | undefined>()(err.errno);
  }
});

export async function promiseUsage(): Promise<void> {
  try {
    await promisePool.execute('UPDATE t SET a = ?', [1]);
  } catch (err) {
    // @ts-expect-error -- a catch clause's error is unknown until narrowed
    void err.outcomeUnknown;
    if (promiseApi.isOutcomeUnknown(err)) {
      exactly<true>()(err.outcomeUnknown);
      exactly<ResilientError & { outcomeUnknown: true }>()(err);
      exactly<string>()(err.message);
    }
    if (promiseApi.isResilientError(err)) {
      exactly<boolean | undefined>()(err.retryable);
      exactly<number | undefined>()(err.attempts);
      exactly<boolean | undefined>()(err.outcomeUnknown);
      const code: string = err.code;
      void code;
      if (err instanceof PoolError) exactly<PoolErrorCode>()(err.code);
    }
  }
}
