/**
 * The pool's `config`: mysql2's PoolConfig fields, read when they are used as mysql2 reads its `pool.config` (its own
 * tests change connectionLimit after createPool), plus this library's resolved options.
 */
import type { ConnectionConfig, PoolOptions } from 'mysql2';
import { checkConnectionLimit } from './options.js';
import type { ResolvedOptions } from './options.js';

/** mysql2's PoolConfig fields, plus this library's resolved options. */
export interface ResilientPoolConfig {
  connectionConfig: ConnectionConfig;
  waitForConnections: boolean;
  connectionLimit: number;
  maxIdle: number;
  idleTimeout: number;
  queueLimit: number;
  resetOnRelease: boolean;
  /** This library's options as resolved (defaults applied). */
  resilience: Readonly<Omit<ResolvedOptions, 'clock'>>;
}

/** The config object; a connectionLimit assigned later is checked, then passed to `setLimit`. */
export function poolConfig(
  connectionConfig: ConnectionConfig,
  resolved: ResolvedOptions,
  setLimit: (connectionLimit: number) => void,
): PoolOptions & ResilientPoolConfig {
  const { clock: _clock, ...publicOpts } = resolved;
  const config = {
    connectionConfig,
    waitForConnections: resolved.waitForConnections,
    maxIdle: resolved.maxIdle,
    idleTimeout: resolved.idleTimeout,
    queueLimit: resolved.queueLimit,
    resetOnRelease: resolved.resetOnRelease,
    resilience: Object.freeze(publicOpts),
  } as PoolOptions & ResilientPoolConfig;
  let connectionLimit = resolved.connectionLimit;
  Object.defineProperty(config, 'connectionLimit', {
    enumerable: true,
    get: () => connectionLimit,
    set: (value: unknown) => {
      connectionLimit = checkConnectionLimit(value, resolved.minConnections);
      setLimit(connectionLimit);
    },
  });
  return config;
}
