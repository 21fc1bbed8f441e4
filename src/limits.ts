import type { PoolConnection } from 'mysql2';
import type { Flavor } from './error-table.js';
import { connectionQuery, isMariaDB, serverVersion } from './mysql2-internals.js';

/** What the pool learns about the server from its first connection. */
export interface ServerInfo {
  flavor: Flavor;
  version: string;
  /** `@@SESSION.wait_timeout` in ms; undefined when it could not be read. */
  waitTimeout: number | undefined;
}

/** The idle and age limits in force, after clamping to what the server and network allow. */
export interface Limits {
  /** Idle connections above `minConnections` are closed after this long. */
  idleTimeout: number;
  /** Connections are closed at this age (before jitter); Infinity for none. */
  maxLifetime: number;
  /** Beyond this idle time a connection is presumed closed by the server or network; Infinity if unknown. */
  idleLimit: number;
}

export interface Clamp {
  option: 'idleTimeout' | 'maxLifetime';
  requested: number;
  applied: number;
  because: string;
}

/**
 * Margin kept below an imposed limit (HikariCP: "several seconds shorter than
 * any database or infrastructure imposed connection time limit"): 10% of it,
 * at most 5 s.
 */
export function limitWithMargin(limit: number): number {
  return Math.floor(limit - Math.min(5_000, limit * 0.1));
}

export function computeLimits(
  requested: { idleTimeout: number; maxLifetime: number; networkIdleTimeout: number },
  server: ServerInfo | undefined,
): { limits: Limits; clamps: Clamp[] } {
  const sources: { limit: number; because: string }[] = [];
  if (server?.waitTimeout) sources.push({ limit: server.waitTimeout, because: `the server's wait_timeout (${server.waitTimeout} ms)` });
  if (requested.networkIdleTimeout > 0) {
    sources.push({ limit: requested.networkIdleTimeout, because: `networkIdleTimeout (${requested.networkIdleTimeout} ms)` });
  }
  sources.sort((a, b) => a.limit - b.limit);
  const tightest = sources[0];
  const idleLimit = tightest ? limitWithMargin(tightest.limit) : Infinity;
  const clamps: Clamp[] = [];
  const clamp = (option: Clamp['option'], value: number): number => {
    if (value <= idleLimit) return value;
    clamps.push({ option, requested: value, applied: idleLimit, because: tightest!.because });
    return idleLimit;
  };
  const lifetime = requested.maxLifetime > 0 ? requested.maxLifetime : Infinity;
  return {
    limits: {
      idleTimeout: clamp('idleTimeout', requested.idleTimeout > 0 ? requested.idleTimeout : Infinity),
      maxLifetime: clamp('maxLifetime', lifetime),
      idleLimit,
    },
    clamps: clamps.filter((c) => Number.isFinite(c.requested)),
  };
}

/** Up to 2.5% shorter, at random, so connections opened together do not all expire together. Never longer. */
export function jitter(lifetime: number, random: () => number = Math.random): number {
  return Number.isFinite(lifetime) ? Math.floor(lifetime * (1 - 0.025 * random())) : lifetime;
}

/**
 * The version as the server names itself: MariaDB's handshake prefixes `5.5.5-` (for clients of MySQL 5.5 vintage)
 * to the real one, `5.5.5-10.11.6-MariaDB-0+deb12u1`; `SELECT VERSION()` has no prefix.
 */
export function withoutCompatPrefix(version: string): string {
  return version.replace(/^5\.5\.5-(?=\d)/, '');
}

/**
 * Reads flavour, version and the session's wait_timeout (per session: the
 * global is copied at connect, and `interactive_timeout` replaces it for
 * interactive clients, so the global alone can mislead).
 */
export function probeServer(conn: PoolConnection, timeoutMs: number): Promise<ServerInfo> {
  const info: ServerInfo = {
    flavor: isMariaDB(conn) ? 'mariadb' : 'mysql',
    version: withoutCompatPrefix(serverVersion(conn)),
    waitTimeout: undefined,
  };
  return new Promise((resolve) => {
    connectionQuery.call(
      conn,
      { sql: 'SELECT @@SESSION.wait_timeout', rowsAsArray: true, timeout: timeoutMs },
      (err: unknown, rows: unknown) => {
        if (!err && Array.isArray(rows) && Array.isArray(rows[0])) {
          const seconds = Number((rows[0] as unknown[])[0]);
          if (Number.isFinite(seconds) && seconds > 0) info.waitTimeout = seconds * 1000;
        }
        resolve(info);
      },
    );
  });
}
