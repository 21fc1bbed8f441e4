/**
 * What the pool's parts (query runner, connection factory, read-only check, promise pool) see of the pool: an
 * interface, so none of them imports pool.ts and the module graph has no cycle. ResilientPool implements it; its
 * members are marked @internal there and left out of the published types.
 */
import type { ConnectionConfig, PoolConnection } from 'mysql2';
import type { Clock } from './clock.js';
import type { ErrorAction } from './error-table.js';
import type { ResolvedOptions } from './options.js';
import type { CloseReason, PoolEntry } from './pooled-connection.js';
import type { Stats } from './stats.js';
import type { Waiter } from './waiters.js';

export interface PoolCore {
  readonly opts: ResolvedOptions;
  readonly clock: Clock;
  readonly stats_: Stats;
  readonly config: { connectionConfig: ConnectionConfig };
  /** end() has been called. */
  readonly closing: boolean;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  listenerCount(event: string | symbol): number;
  /** Hands a validated connection to `cb` (always asynchronously), traced like mysql2's getConnection. */
  checkout(now: number, waiter: Waiter): void;
  /** Deadline for a checkout starting at `now`; Infinity when acquireTimeout is 0. */
  deadlineFrom(now: number): number;
  /** How long to wait before retrying after a connect failure. */
  connectBackoff(now: number): number;
  /** What an error on one connection says about the others (failures.ts). */
  readonly failures: { note(action: ErrorAction | null, checked?: boolean): void };
  releaseConnection(conn: PoolConnection): void;
  /** Checkout, release and close (lending.ts). close(): the one way a connection is closed; idempotent. */
  readonly loans: { close(entry: PoolEntry, reason: CloseReason): void; release(entry: PoolEntry, finishing?: object): void };
  /** Is the server read-only (a failover)? See read-only-check.ts. */
  verifyReadOnly(on: PoolEntry | undefined): Promise<boolean | undefined>;
}
