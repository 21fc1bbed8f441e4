/**
 * What both entry points export, written once: `resilient-mysql-pool` (index.ts) and `resilient-mysql-pool/promise`
 * (promise.ts) each re-export this module, so the two lists cannot drift apart. Each entry adds its own
 * `createResilientPool` / `createPool` and the names only it has.
 */
export { ErrorCodes, PoolError, isOutcomeUnknown, isResilientError } from './errors.js';
export type { ResilienceFields, AnnotatedError, ResilientError, PoolErrorCode } from './errors.js';
export type { ResilientPoolOptions, ResilienceOptions, OptionError, OptionErrorCode } from './options.js';
export type { ErrorAction, ErrorReason, Flavor } from './error-table.js';
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
export type { PoolStats } from './stats.js';
export type { CloseReason } from './pooled-connection.js';
export type { RetryKind } from './retry.js';
export { instrumentPool } from './metrics.js';
export type { InstrumentPoolOptions, PoolInstrumentation, MeterProviderLike, MeterLike, MetricAttributes, MetricInstrumentOptions } from './metrics.js';
// Cluster roles (cluster-roles.ts) and nodeStates() entries.
export type { NamespaceOptions, NodeRole } from './cluster-roles.js';
export type { NodeStateInfo } from './cluster.js';
