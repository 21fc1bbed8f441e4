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
export type { ResilientPoolClusterOptions } from './cluster.js';
export type { PoolNamespace } from './cluster-call.js';
export { ResilientPromisePoolCluster } from './cluster-promise.js';
export type { NodeHealth, NodeState, GaleraState } from './node-health.js';
export { ResilientPool };
export type { ResilientPoolConfig } from './pool-config.js';
export { ResilientPromisePool } from './promise.js';
export { DEFAULTS, OPTION_ERROR_CODES } from './options.js';
export { classify as classifyError } from './error-table.js';
export { isReadOnlyStatement } from './statement.js';
// The names the promise entry exports too.
export * from './public-api.js';
