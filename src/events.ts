/**
 * The pools' events, typed: mysql2's own (`connection`, `acquire`, `release`, `enqueue`) with mysql2's listener
 * types, and this library's (`evict`, `retry`, `leak`, `warn`, `error`) with exported payload types. The pool
 * classes declare their `on`/`once`/`off`/... with {@link Listen}, so a listener of a known event is checked
 * against its payload and any other event name still takes any listener, as on mysql2's pools.
 */
import type { PoolConnection } from 'mysql2';
import type { CloseReason } from './pooled-connection.js';
import type { ErrorReason } from './error-table.js';
import type { Clamp } from './limits.js';
import type { RetryKind } from './retry.js';

/** `retry`: a pool-level `query`/`execute` failed and is being run again on another connection. */
export interface RetryEvent {
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** mysql2's error of that attempt, as it came. */
  error: Error;
  /** What the error table made of it. */
  reason: ErrorReason;
  /** Why running it again is safe. */
  kind: RetryKind;
  sql: string;
}

/** `leak`: a connection was held longer than `leakDetectionThreshold` (reported once per checkout). */
export interface LeakEvent {
  connection: PoolConnection;
  /** Milliseconds since the checkout. */
  heldFor: number;
  /** Where it was checked out. */
  stack: string;
}

/** `warn`: a configured limit was clamped below the server's `wait_timeout` (or `networkIdleTimeout`). */
export interface OptionClampedWarning extends Error, Clamp {
  code: 'OPTION_CLAMPED';
}

/** Every `warn` payload (one kind today). */
export type PoolWarning = OptionClampedWarning;

/** This library's events; the same payloads on the callback pool and on the promise pool. */
export interface ResilienceEvents {
  /** A connection was closed, and why. */
  evict: (connection: PoolConnection, reason: CloseReason) => void;
  retry: (event: RetryEvent) => void;
  leak: (event: LeakEvent) => void;
  warn: (warning: PoolWarning) => void;
  /** Only emitted when listened to: a connection failed while idle (it has already been dropped). */
  error: (error: Error) => void;
}

/**
 * mysql2's pool events, with mysql2's listener types. On the promise pool too the connection is mysql2's callback
 * `PoolConnection`: mysql2's PromisePool forwards the core pool's events unchanged (its typings say a promise
 * connection; what arrives is the callback one, typed here as such).
 */
export interface Mysql2PoolEvents {
  connection: (connection: PoolConnection) => unknown;
  acquire: (connection: PoolConnection) => unknown;
  release: (connection: PoolConnection) => unknown;
  enqueue: () => unknown;
}

/** Every event of both pools, by name: `pool.on(name, listener)`. */
export interface PoolEvents extends Mysql2PoolEvents, ResilienceEvents {}

/** Event names other than those of `Events` (so a known event never falls back to an untyped listener). */
export type OtherEvent<Events, K> = K extends keyof Events ? never : K;

/** `on`/`once`/`off`/...: typed listeners for the events of `Events`, any listener for other names. */
export interface Listen<Events, Self> {
  <K extends keyof Events>(event: K, listener: Events[K]): Self;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as EventEmitter and mysql2 type other events
  <K extends string | symbol>(event: OtherEvent<Events, K>, listener: (...args: any[]) => void): Self;
}
