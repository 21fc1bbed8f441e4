/**
 * `resilient-mysql-pool/mysql2`: mysql2's own module with `createPool`
 * replaced by the resilient pool, for libraries that take a driver module
 * rather than a pool (TypeORM's `driver` option, for example).
 * `createPoolCluster` stays mysql2's: each node of a cluster is a plain mysql2 pool.
 */
export * from 'mysql2';
export { createResilientPool as createPool, createResilientPool, ResilientPool } from './index.js';
