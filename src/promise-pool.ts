/**
 * The promise pool class: mysql2's own PromisePool (extended) around the resilient callback pool, so every method,
 * `.pool`, `getConnection()` returning a PromisePoolConnection and `Symbol.asyncDispose` behave exactly as mysql2's.
 * `ResilientPool.promise()` makes one; `resilient-mysql-pool/promise` (promise.ts) is the entry point.
 */
import type { EventEmitter } from 'node:events';
import type { Pool } from 'mysql2';
import type { Pool as MysqlPromisePool } from 'mysql2/promise';
import type { Limits, ServerInfo } from './limits.js';
import { forwardEvents } from './forward-events.js';
import { PromisePoolClass } from './mysql2-internals.js';
import type { PoolStats } from './stats.js';
import type { Listen, PoolEvents } from './events.js';

const PromisePoolBase = PromisePoolClass as unknown as new (pool: Pool, P?: PromiseConstructor) => MysqlPromisePool;

/** Events this library adds; mysql2's PromisePool only forwards acquire/connection/enqueue/release. */
const EXTRA_EVENTS = ['error', 'warn', 'evict', 'retry', 'leak'];

/** The callback pool inside, as far as this class uses it (pool.ts narrows `.pool` to ResilientPool). */
interface StatsPool extends Pool {
  stats(): PoolStats;
  effectiveLimits(): Readonly<Limits & { server: ServerInfo | undefined }>;
}

export class ResilientPromisePool extends PromisePoolBase {
  constructor(pool: StatsPool, promiseImpl?: PromiseConstructor) {
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
    return (this.pool as StatsPool).stats();
  }

  /** See ResilientPool.effectiveLimits(). */
  effectiveLimits(): Readonly<Limits & { server: ServerInfo | undefined }> {
    return (this.pool as StatsPool).effectiveLimits();
  }
}

