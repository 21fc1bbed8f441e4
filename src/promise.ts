/**
 * The promise API, like `mysql2/promise`: `createResilientPool()` here returns
 * mysql2's own PromisePool class (extended), wrapped around the resilient
 * callback pool, so every method, `.pool`, `getConnection()` returning a
 * PromisePoolConnection and `Symbol.asyncDispose` behave exactly as mysql2's.
 */
import type { EventEmitter } from 'node:events';
import { forwardEvents } from './forward-events.js';
import type { Pool as MysqlPromisePool } from 'mysql2/promise';
import { PromisePoolClass } from './mysql2-internals.js';
import { ResilientPool } from './pool.js';
import type { ResilientPoolOptions } from './options.js';
import type { PoolStats } from './stats.js';
import type { Listen, PoolEvents } from './events.js';
import { ResilientPoolCluster } from './cluster.js';
import type { ResilientPoolClusterOptions } from './cluster.js';
import { ResilientPromisePoolCluster } from './cluster-promise.js';

const PromisePoolBase = PromisePoolClass as unknown as new (pool: ResilientPool, P?: PromiseConstructor) => MysqlPromisePool;

/** Events this library adds; mysql2's PromisePool only forwards acquire/connection/enqueue/release. */
const EXTRA_EVENTS = ['error', 'warn', 'evict', 'retry', 'leak'];

export class ResilientPromisePool extends PromisePoolBase {
  declare pool: ResilientPool;

  constructor(pool: ResilientPool, promiseImpl?: PromiseConstructor) {
    super(pool, promiseImpl);
    forwardEvents(pool, this as unknown as EventEmitter, EXTRA_EVENTS);
  }

  // Typed events (src/events.ts): mysql2's four with mysql2's listener types, plus `evict`, `retry`, `leak`, `warn`
  // and (when listened to) `error`, which mysql2's promise Pool type does not name.
  declare on: Listen<PoolEvents, this>;
  declare once: Listen<PoolEvents, this>;
  declare addListener: Listen<PoolEvents, this>;
  declare prependListener: Listen<PoolEvents, this>;
  declare prependOnceListener: Listen<PoolEvents, this>;
  declare off: Listen<PoolEvents, this>;
  declare removeListener: Listen<PoolEvents, this>;

  /** See ResilientPool.stats(). */
  stats(): PoolStats {
    return this.pool.stats();
  }

  /** See ResilientPool.effectiveLimits(). */
  effectiveLimits(): ReturnType<ResilientPool['effectiveLimits']> {
    return this.pool.effectiveLimits();
  }
}

/**
 * Drop-in for `mysql2/promise`'s `createPool`: same options (plus this
 * library's), same promise pool API, with pre-ping, lifetimes below the
 * server's wait_timeout, keepalive, and safe retries.
 */
export function createResilientPool(options: string | ResilientPoolOptions): ResilientPromisePool {
  const pool = new ResilientPool(options);
  return pool.promise(typeof options === 'object' ? options.Promise : undefined);
}

export { createResilientPool as createPool };

/** Drop-in for `mysql2/promise`'s `createPoolCluster`: the promise API of {@link ResilientPoolCluster}. */
export function createResilientPoolCluster(options?: ResilientPoolClusterOptions): ResilientPromisePoolCluster {
  return new ResilientPoolCluster(options).promise(options?.Promise);
}
export { createResilientPoolCluster as createPoolCluster, ResilientPromisePoolCluster, ResilientPoolCluster };
export type { ResilientPoolClusterOptions };
export { ResilientPool };
export type { PoolStats };
export type { ResilientPoolOptions, ResilienceOptions, OptionError, OptionErrorCode } from './options.js';
export type { ErrorAction, ErrorReason, Flavor } from './error-table.js';
export { ErrorCodes, PoolError, isOutcomeUnknown, isResilientError } from './errors.js';
export type { ResilienceFields, AnnotatedError, ResilientError, PoolErrorCode } from './errors.js';
// Not `export type *` (TypeScript 5.0+): the declarations stay readable by older TypeScript consumers.
export type {
  PoolEvents,
  Mysql2PoolEvents,
  ResilienceEvents,
  RetryEvent,
  LeakEvent,
  OptionClampedWarning,
  PoolWarning,
  Listen,
  OtherEvent,
} from './events.js';
export type { CloseReason } from './entry.js';
export type { RetryKind } from './retry.js';
export { instrumentPool } from './metrics.js';
export type { InstrumentPoolOptions, PoolInstrumentation, MeterProviderLike } from './metrics.js';
