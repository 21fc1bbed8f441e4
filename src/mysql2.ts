/**
 * `resilient-mysql-pool/mysql2`: mysql2's own module with `createPool`
 * replaced by the resilient pool, for libraries that take a driver module
 * rather than a pool (TypeORM's `driver` option, for example).
 * `createPoolCluster` is the resilient cluster (each node a resilient pool), so libraries that build a cluster
 * from the driver module (TypeORM's `replication`) get it unchanged.
 */
export * from 'mysql2';
export { createResilientPool as createPool, createResilientPool, ResilientPool } from './index.js';
export { createResilientPoolCluster as createPoolCluster, createResilientPoolCluster, ResilientPoolCluster } from './index.js';
