/**
 * The promise API, like `mysql2/promise`: `createResilientPool()` here returns
 * mysql2's own PromisePool class (extended), wrapped around the resilient
 * callback pool, so every method, `.pool`, `getConnection()` returning a
 * PromisePoolConnection and `Symbol.asyncDispose` behave exactly as mysql2's.
 */
import { ResilientPool } from './pool.js';
import { ResilientPromisePool } from './promise-pool.js';
import type { ResilientPoolOptions } from './options.js';
import { ResilientPoolCluster } from './cluster.js';
import type { ResilientPoolClusterOptions } from './cluster.js';
import { ResilientPromisePoolCluster } from './cluster-promise.js';

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
export { ResilientPool, ResilientPromisePool };
// The names the main entry exports too.
export * from './public-api.js';
