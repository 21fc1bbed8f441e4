/**
 * resilient-mysql-pool: a drop-in replacement for `mysql2.createPool`.
 * The callback API (like `mysql2`); the promise API is `resilient-mysql-pool/promise`.
 */
import { ResilientPool } from './pool.js';
import type { ResilientPoolOptions } from './options.js';

/**
 * Drop-in for `mysql2.createPool`: same options (plus this library's), same
 * callback pool API (`.promise()` included), with pre-ping, lifetimes below
 * the server's wait_timeout, keepalive, and safe retries.
 */
export function createResilientPool(options: string | ResilientPoolOptions): ResilientPool {
  return new ResilientPool(options);
}

export { createResilientPool as createPool };
export { createResilientPoolCluster, createResilientPoolCluster as createPoolCluster, ResilientPoolCluster } from './cluster.js';
export type { NodeStateInfo, ResilientPoolClusterOptions } from './cluster.js';
export type { NamespaceOptions, NodeRole } from './cluster-roles.js';
export type { PoolNamespace } from './cluster-call.js';
export { ResilientPromisePoolCluster } from './cluster-promise.js';
export type { NodeHealth, NodeState, GaleraState } from './node-health.js';
export { ResilientPool };
export type { ResilientPoolConfig } from './pool-config.js';
export { ResilientPromisePool } from './promise.js';
export { DEFAULTS, OPTION_ERROR_CODES } from './options.js';
export type { ResilientPoolOptions, ResilienceOptions, OptionError, OptionErrorCode } from './options.js';
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
export { classify as classifyError } from './error-table.js';
export type { ErrorAction, ErrorReason, Flavor } from './error-table.js';
export { isReadOnlyStatement } from './statement.js';
export type { PoolStats } from './stats.js';
export { instrumentPool } from './metrics.js';
export type { InstrumentPoolOptions, PoolInstrumentation, MeterProviderLike, MeterLike, MetricAttributes, MetricInstrumentOptions } from './metrics.js';
export type { CloseReason } from './pooled-connection.js';
export type { RetryKind } from './retry.js';
