import type { PoolOptions } from 'mysql2';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { ConnectionConfigClass } from './mysql2-internals.js';
import type { ErrorAction } from './error-table.js';

/**
 * This library's own options. Every duration is in milliseconds, named the way
 * mysql2 names its own (`idleTimeout`, `connectTimeout`). They are validated and
 * removed before the rest is handed to mysql2, so mysql2 never warns about them.
 */
export interface ResilienceOptions {
  /**
   * Longest a caller waits for a connection (queue + validation + connect), and
   * the budget retries spend from. Default 10000. 0 means wait forever (mysql2's
   * behaviour; not recommended).
   */
  acquireTimeout?: number;
  /**
   * How long a pre-ping on checkout may take before the connection is declared
   * dead and dropped. Default 500: two orders of magnitude above a healthy
   * ping (<1 ms on a LAN, ~2 ms across zones), so a busy server is not mistaken
   * for a dead one, yet a silently dropped flow costs a checkout half a second,
   * not TCP's ~15 minutes. Must be > 0.
   */
  pingTimeout?: number;
  /**
   * A connection used less than this long ago is handed out without a ping
   * (HikariCP and the mariadb driver use 500). Default 500. 0 pings every checkout.
   */
  pingSkipWindow?: number;
  /**
   * Maximum age of a connection; older ones are closed when idle or on release.
   * Each connection gets up to 2.5% less, at random, so they do not all expire at
   * once. Clamped below the server's `wait_timeout` and `networkIdleTimeout`.
   * Default 1800000 (30 min). 0 means no age limit (the clamps still apply).
   */
  maxLifetime?: number;
  /**
   * An idle limit that SQL cannot see: a proxy, NAT or load balancer that drops
   * idle flows (AWS NLB/NAT gateway 350000, Azure LB 240000, GCP 600000).
   * Idle eviction and lifetime are kept below it. Default 0 (none known).
   */
  networkIdleTimeout?: number;
  /** Connections kept open even when idle (created at start). Default 0. */
  minConnections?: number;
  /**
   * Default timeout for pool-level `query`/`execute` when the call does not set
   * mysql2's `timeout`; on expiry the connection is destroyed (mysql2 leaves it
   * busy). Default 0 (none: long queries are legitimate).
   */
  queryTimeout?: number;
  /**
   * Attempts for a pool-level `query`/`execute` whose failure is safe to retry.
   * Default 3 (Go's database/sql: 2 on pooled connections, then a fresh one).
   * 1 disables retries.
   */
  maxAttempts?: number;
  /**
   * Treat every pool-level statement as idempotent: retry it even when the
   * connection died after it was sent. Default false: only plain reads are.
   * Per call: `pool.query({ sql, idempotent: true | false })`.
   */
  assumeIdempotent?: boolean;
  /**
   * Retry a statement after it was sent on the strength of its SQL text: a plain
   * read whose connection died mid-flight, or a single statement the server
   * refused as read-only. Default true. Set false when views, triggers or
   * functions make reads write (a view over a side-effecting function cannot be
   * seen in the text): then nothing sent is retried unless declared idempotent
   * (per call `idempotent: true`, or `assumeIdempotent`, which win: they are your
   * word about the statement), and a read-only refusal no longer counts as "did
   * not run". Statements never sent, or that the server certainly never read
   * (ERR 4031), are still retried. Not the same as `maxAttempts: 1`, which stops
   * those always-safe retries too.
   */
  retryReadsAfterSend?: boolean;
  /**
   * How long `end()` waits for checked-out connections to be released before it
   * destroys them. Default 10000. 0 destroys them at once.
   */
  endTimeout?: number;
  /**
   * Report a connection held (checked out with getConnection) longer than this,
   * once per checkout, with the stack of the getConnection call: a `leak` event
   * and a `debug` line. Default 0 (off: when on, each checkout captures a stack
   * and arms a timer).
   */
  leakDetectionThreshold?: number;
  /**
   * Override the error table: called with the table's action (null: a plain SQL error);
   * return an action to use instead, null for "leave the connection alone", or
   * undefined to keep the table's answer. Called for every error on a connection.
   */
  classifyError?: (err: Error, action: ErrorAction | null) => ErrorAction | null | undefined;
  /** @internal Time source; tests pass a fake clock. */
  clock?: Clock;
}

export type ResilientPoolOptions = PoolOptions & ResilienceOptions;

declare module 'mysql2' {
  interface QueryOptions {
    /**
     * resilient-mysql-pool: declare whether this statement may run twice.
     * `true`: retried even when the connection died after it was sent;
     * `false`: never retried after it was sent, even if it looks like a read
     * (e.g. a SELECT calling a function that writes). Unset: plain reads only.
     */
    idempotent?: boolean;
  }
}

/** mysql2's pool options as resolved, plus this library's, as resolved. */
export interface ResolvedOptions {
  connectionLimit: number;
  maxIdle: number;
  idleTimeout: number;
  queueLimit: number;
  waitForConnections: boolean;
  resetOnRelease: boolean;
  acquireTimeout: number;
  pingTimeout: number;
  pingSkipWindow: number;
  maxLifetime: number;
  networkIdleTimeout: number;
  minConnections: number;
  queryTimeout: number;
  maxAttempts: number;
  assumeIdempotent: boolean;
  retryReadsAfterSend: boolean;
  endTimeout: number;
  leakDetectionThreshold: number;
  classifyError: ResilienceOptions['classifyError'];
  clock: Clock;
}

/** Defaults; see each option's doc comment for the reasoning. */
export const DEFAULTS = Object.freeze({
  connectionLimit: 10,
  idleTimeout: 60_000,
  queueLimit: 0,
  acquireTimeout: 10_000,
  pingTimeout: 500,
  pingSkipWindow: 500,
  maxLifetime: 1_800_000,
  networkIdleTimeout: 0,
  minConnections: 0,
  queryTimeout: 0,
  maxAttempts: 3,
  endTimeout: 10_000,
  leakDetectionThreshold: 0,
  /** mysql2 leaves it unset, so Linux's 7200 s applies: useless against 240-600 s LB idle drops. */
  keepAliveInitialDelay: 30_000,
});

const OWN_KEYS: readonly (keyof ResilienceOptions)[] = [
  'acquireTimeout', 'pingTimeout', 'pingSkipWindow', 'maxLifetime', 'networkIdleTimeout',
  'minConnections', 'queryTimeout', 'maxAttempts', 'assumeIdempotent', 'retryReadsAfterSend', 'endTimeout',
  'leakDetectionThreshold', 'classifyError', 'clock',
];

/** mysql2's own option names (pool and connection), so they are never mistaken for typos of ours. */
const MYSQL2_KEYS = new Set([
  'authPlugins', 'authSwitchHandler', 'bigNumberStrings', 'charset', 'charsetNumber', 'compress',
  'connectAttributes', 'connectTimeout', 'database', 'dateStrings', 'debug', 'decimalNumbers',
  'enableKeepAlive', 'flags', 'host', 'insecureAuth', 'infileStreamFactory', 'isServer',
  'keepAliveInitialDelay', 'localAddress', 'maxPreparedStatements', 'multipleStatements',
  'namedPlaceholders', 'nestTables', 'password', 'password1', 'password2', 'password3',
  'passwordSha1', 'pool', 'port', 'queryFormat', 'rowsAsArray', 'socketPath', 'ssl', 'stream',
  'stringifyObjects', 'supportBigNumbers', 'timezone', 'trace', 'typeCast', 'uri', 'user',
  'disableEval', 'enableCleartextPlugin', 'connectionLimit', 'maxIdle', 'idleTimeout', 'Promise',
  'queueLimit', 'resetOnRelease', 'waitForConnections', 'jsonStrings', 'gracefulEnd',
]);

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** A non-negative integer number of milliseconds (or a count). */
function nonNegative(name: string, value: unknown, fallback: number, opts: { min?: number } = {}): number {
  if (value === undefined || value === null) return fallback;
  // mysql2 accepts numeric strings for its own options (it calls Number()); so do we for those.
  const n = typeof value === 'string' && value.trim() !== '' && MYSQL2_KEYS.has(name) ? Number(value) : value;
  if (typeof n !== 'number' || Number.isNaN(n)) {
    throw new TypeError(`resilient-mysql-pool: option '${name}' must be a number, got ${describe(value)}`);
  }
  if (!Number.isInteger(n) || n < (opts.min ?? 0)) {
    throw new RangeError(
      `resilient-mysql-pool: option '${name}' must be an integer >= ${opts.min ?? 0}, got ${describe(value)}`,
    );
  }
  return n;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(`resilient-mysql-pool: option '${name}' must be a boolean, got ${describe(value)}`);
  }
  return value;
}

/** Edit distance, to catch typos of our own option names (`pingTimout`). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * Splits user options into what mysql2 gets and this library's resolved config.
 * Throws TypeError/RangeError naming the option for bad values, and for unknown
 * keys that look like a typo of one of ours. Other unknown keys go to mysql2,
 * which warns about them exactly as `mysql2.createPool` would.
 */
export function resolveOptions(input: string | ResilientPoolOptions | undefined): {
  mysql: PoolOptions;
  resolved: ResolvedOptions;
} {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'string' && typeof input !== 'object') {
    throw new TypeError(`resilient-mysql-pool: options must be an object or a connection URI, got ${typeof input}`);
  }
  input = expandUri(input);
  const own: Record<string, unknown> = {};
  const mysql: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    const value = (input as Record<string, unknown>)[key];
    if ((OWN_KEYS as readonly string[]).includes(key)) {
      own[key] = value;
      continue;
    }
    if (!MYSQL2_KEYS.has(key)) {
      const near = OWN_KEYS.find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
      if (near) {
        throw new TypeError(`resilient-mysql-pool: unknown option '${key}'; did you mean '${near}'?`);
      }
    }
    mysql[key] = value;
  }

  const connectionLimit = nonNegative('connectionLimit', mysql.connectionLimit, DEFAULTS.connectionLimit);
  const resolved: ResolvedOptions = {
    connectionLimit,
    maxIdle: nonNegative('maxIdle', mysql.maxIdle, connectionLimit),
    idleTimeout: nonNegative('idleTimeout', mysql.idleTimeout, DEFAULTS.idleTimeout),
    queueLimit: nonNegative('queueLimit', mysql.queueLimit, DEFAULTS.queueLimit),
    waitForConnections: mysql.waitForConnections === undefined ? true : Boolean(mysql.waitForConnections),
    resetOnRelease: Boolean(mysql.resetOnRelease),
    acquireTimeout: nonNegative('acquireTimeout', own.acquireTimeout, DEFAULTS.acquireTimeout),
    pingTimeout: nonNegative('pingTimeout', own.pingTimeout, DEFAULTS.pingTimeout, { min: 1 }),
    pingSkipWindow: nonNegative('pingSkipWindow', own.pingSkipWindow, DEFAULTS.pingSkipWindow),
    maxLifetime: nonNegative('maxLifetime', own.maxLifetime, DEFAULTS.maxLifetime),
    networkIdleTimeout: nonNegative('networkIdleTimeout', own.networkIdleTimeout, DEFAULTS.networkIdleTimeout),
    minConnections: nonNegative('minConnections', own.minConnections, DEFAULTS.minConnections),
    queryTimeout: nonNegative('queryTimeout', own.queryTimeout, DEFAULTS.queryTimeout),
    maxAttempts: nonNegative('maxAttempts', own.maxAttempts, DEFAULTS.maxAttempts, { min: 1 }),
    assumeIdempotent: bool('assumeIdempotent', own.assumeIdempotent, false),
    retryReadsAfterSend: bool('retryReadsAfterSend', own.retryReadsAfterSend, true),
    endTimeout: nonNegative('endTimeout', own.endTimeout, DEFAULTS.endTimeout),
    leakDetectionThreshold: nonNegative('leakDetectionThreshold', own.leakDetectionThreshold, DEFAULTS.leakDetectionThreshold),
    classifyError: undefined,
    clock: systemClock,
  };
  if (own.classifyError !== undefined) {
    if (typeof own.classifyError !== 'function') {
      throw new TypeError(`resilient-mysql-pool: option 'classifyError' must be a function`);
    }
    resolved.classifyError = own.classifyError as ResilienceOptions['classifyError'];
  }
  if (own.clock !== undefined) resolved.clock = own.clock as Clock;
  if (connectionLimit > 0 && resolved.minConnections > connectionLimit) {
    throw new RangeError(
      `resilient-mysql-pool: option 'minConnections' (${resolved.minConnections}) must not exceed 'connectionLimit' (${connectionLimit})`,
    );
  }
  if (mysql.enableKeepAlive !== false && mysql.keepAliveInitialDelay === undefined) {
    mysql.keepAliveInitialDelay = DEFAULTS.keepAliveInitialDelay;
  }
  return { mysql: mysql as PoolOptions, resolved };
}

/**
 * Spreads a connection URI into options the way mysql2 does: a URI string
 * becomes the options (query parameters included, e.g. `?connectionLimit=5`);
 * a `uri` key fills in what the object does not set. Done first, so pool
 * options and this library's own options in the query string take effect.
 */
function expandUri(input: string | ResilientPoolOptions): ResilientPoolOptions {
  const parseUrl = (ConnectionConfigClass as unknown as { parseUrl(url: string): Record<string, unknown> }).parseUrl;
  if (typeof input === 'string') return parseUrl(input) as ResilientPoolOptions;
  if (typeof input.uri !== 'string') return input;
  const merged: Record<string, unknown> = { ...input };
  for (const [key, value] of Object.entries(parseUrl(input.uri))) {
    if (!merged[key]) merged[key] = value;
  }
  return merged as ResilientPoolOptions;
}

/** A URI with its password replaced by ***; one that does not parse is hidden whole. */
function maskUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparsable uri)';
  }
}

/** The resolved config for logs: functions named, never the password. */
export function describeConfig(resolved: ResolvedOptions, mysql: PoolOptions): Record<string, unknown> {
  const { clock: _clock, classifyError, ...rest } = resolved;
  return {
    ...rest,
    classifyError: classifyError ? 'custom' : 'default',
    host: mysql.host,
    port: mysql.port,
    socketPath: mysql.socketPath,
    user: mysql.user,
    database: mysql.database,
    uri: mysql.uri ? maskUri(mysql.uri) : undefined,
    password: mysql.password ? '***' : undefined,
    enableKeepAlive: mysql.enableKeepAlive !== false,
    keepAliveInitialDelay: mysql.keepAliveInitialDelay,
    connectTimeout: mysql.connectTimeout,
  };
}
