/**
 * Everything that touches mysql2's private fields lives here, and only here.
 *
 * mysql2's `exports` map blocks deep imports, and its connection state is not
 * public, so the pool reads a handful of underscore fields. Each one is named
 * below with what it means; test/unit/mysql2-internals.test.ts pins them to the
 * installed mysql2 (run it after upgrading mysql2). Supported range: the
 * `peerDependencies` of package.json.
 */
import * as mysql2 from 'mysql2';
import * as mysql2Promise from 'mysql2/promise';
import { Connection, PoolConnection } from 'mysql2';
import type { ConnectionConfig, Pool } from 'mysql2';
import type { Pool as PromisePool } from 'mysql2/promise';
import type { Socket } from 'node:net';
import type { Pool as GenericPool } from 'generic-pool';

/** The private fields we read, typed. */
interface ConnectionInternals {
  /** The command on the wire (null when idle); its packet was written in `start()`. */
  _command: object | null;
  /** Commands queued behind `_command`. */
  _commands: { length: number };
  /** Set once the connection failed; every later command gets "closed state". */
  _fatalError: unknown;
  _protocolError: unknown;
  /** Set by `close()`/`destroy()`: the client is ending the connection. */
  _closing?: boolean;
  /** `release()` is a no-op while true; the pool clears it on checkout. */
  _released: boolean;
  /** The pool a PoolConnection reports to; null once removed. */
  _pool: unknown;
  _isMariaDB: boolean;
  _handshakePacket: { serverVersion?: string } | null;
  stream: Socket;
}

function internals(conn: Connection | PoolConnection): ConnectionInternals {
  return conn as unknown as ConnectionInternals;
}

/**
 * The minimal pool object a mysql2 PoolConnection reports to: `release()` calls
 * `releaseConnection`, `destroy()`/'end'/'error' call `_removeConnection`, both
 * skip a pool whose `_closed` is true.
 */
export interface PoolConnectionHost {
  releaseConnection(conn: PoolConnection): void;
  _removeConnection(conn: PoolConnection): void;
  readonly _closed: boolean;
}

/** A real mysql2 PoolConnection (instanceof, `.promise()`, `release()` all work); starts connecting at once. */
export function createPoolConnection(host: PoolConnectionHost, config: ConnectionConfig): PoolConnection {
  const Ctor = PoolConnection as unknown as new (pool: PoolConnectionHost, opts: { config: ConnectionConfig }) => PoolConnection;
  return new Ctor(host, { config });
}

/**
 * A per-connection copy of the config: `changeUser` mutates `connection.config`
 * in place, and a shared object would leak that into later connections.
 */
export function cloneConnectionConfig(config: ConnectionConfig): ConnectionConfig {
  return Object.create(Object.getPrototypeOf(config), Object.getOwnPropertyDescriptors(config)) as ConnectionConfig;
}

/** Known unusable without any I/O: failed, closing, or its socket is gone or half-closed. */
export function isBroken(conn: PoolConnection): boolean {
  const c = internals(conn);
  const s = c.stream;
  return (
    c._fatalError != null ||
    c._protocolError != null ||
    c._closing === true ||
    s == null ||
    s.destroyed ||
    !s.writable ||
    s.readableEnded
  );
}

/** A command is still running or queued (e.g. a query whose `timeout` fired: mysql2 leaves it on the wire). */
export function hasPendingCommand(conn: PoolConnection, finishing?: object): boolean {
  const c = internals(conn);
  return (c._command != null && c._command !== finishing) || c._commands.length > 0;
}

/**
 * Whether `cmd` is the command on the wire. Called from the command's own
 * error callback: true means its packet was written (outcome unknown if the
 * connection then died); false means it was queued or refused, never sent.
 */
export function isOnTheWire(conn: PoolConnection, cmd: object | undefined): boolean {
  return cmd !== undefined && internals(conn)._command === cmd;
}

/** Lets a checked-out connection's `release()` reach the pool again. */
export function markCheckedOut(conn: PoolConnection): void {
  internals(conn)._released = false;
}

export function isMariaDB(conn: PoolConnection): boolean {
  const c = internals(conn);
  return c._isMariaDB === true || /mariadb/i.test(c._handshakePacket?.serverVersion ?? '');
}

/** The version string of the server's handshake ('' before it); a plain Connection's too (doctor). */
export function serverVersion(conn: Connection | PoolConnection): string {
  return internals(conn)._handshakePacket?.serverVersion ?? '';
}

/**
 * Destroys the socket. mysql2's `destroy()` only half-closes (`stream.end()`):
 * a silent or blackholed peer would keep the socket open for good.
 */
export function destroySocket(conn: Connection | PoolConnection): void {
  const s = internals(conn).stream;
  if (s && !s.destroyed) s.destroy();
}

export function socketOf(conn: PoolConnection): Socket | undefined {
  return internals(conn).stream ?? undefined;
}

/**
 * Sends COM_QUIT (a clean goodbye: the server does not count an aborted
 * client). PoolConnection overrides `end()` as a deprecated release, so the
 * plain Connection's `end` is called.
 */
/** The last command queued on the connection (or the one on the wire when none is queued); undefined when idle. */
export function lastCommand(conn: PoolConnection): { once(event: 'end', fn: () => void): unknown } | undefined {
  const c = internals(conn) as unknown as { _command: unknown; _commands: { length: number; get(i: number): unknown } };
  const last = c._commands.length > 0 ? c._commands.get(c._commands.length - 1) : c._command;
  return (last ?? undefined) as { once(event: 'end', fn: () => void): unknown } | undefined;
}

export function quit(conn: PoolConnection, cb: (err?: unknown) => void): void {
  (Connection.prototype.end as (this: PoolConnection, cb: (err?: unknown) => void) => void).call(conn, cb);
}

/** A Query/Execute command's private result state, kept by mysql2 even without a callback. */
interface CommandInternals {
  /** Called (as `this.done()`) once the last result of the command has arrived, before its 'end'. */
  done: () => unknown;
  /** One entry per result: the OK packet (ResultSetHeader) or the result set's rows (empty without a callback). */
  _rows: unknown[];
  /** One entry per result: undefined for an OK packet, the column definitions for a result set. */
  _fields: unknown[];
}

/**
 * Calls `fn` with the command's results (mysql2's multi-result shape: one
 * entry per result) when its last result has arrived, before mysql2 emits
 * 'end': an 'error' emitted from `fn` reaches the caller before the 'end'.
 * For commands without a callback, whose rows are emitted and not kept.
 */
export function onLastResult(cmd: object, fn: (rows: unknown[], fields: unknown[]) => void): void {
  const c = cmd as CommandInternals;
  const done = c.done;
  c.done = function (this: CommandInternals) {
    const r = done.call(this);
    fn(this._rows, this._fields);
    return r;
  };
}

/**
 * A mysql2 Query/Execute command, as far as the pool touches it: the fields `Query`'s constructor sets from its
 * options (`sql` is the final text once formatted; `onResult` the callback, undefined for an event query).
 */
export interface QueryCommand {
  onResult?: (err: Error | null, rows?: unknown, fields?: unknown) => void;
  namedPlaceholders?: boolean;
  timeout?: number;
  sql?: string;
  once(event: string, fn: (...args: any[]) => void): unknown;
  prependListener(event: string, fn: (...args: any[]) => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
}

/**
 * mysql2's static `Connection.createQuery(sql, values, cb, config)`: the Query command `pool.query` builds and
 * returns before it has a connection (what `Connection.prototype.query` builds from the same arguments).
 */
export const createQuery = (Connection as unknown as { createQuery: (...a: unknown[]) => QueryCommand }).createQuery;

/**
 * The options a Query command was made from (mysql2's private `_queryOptions`): `sql` and `values` as the caller
 * gave them, and any per-query options. mysql2 formats the command's own `sql` (and converts named placeholders
 * in its `sql`/`values`) when it starts it; these stay as given, so a retry makes a fresh command from them.
 */
export function queryOptionsOf(cmd: QueryCommand): { sql?: unknown; values?: unknown } {
  return (cmd as unknown as { _queryOptions: { sql?: unknown; values?: unknown } })._queryOptions;
}

/** mysql2's `ConnectionConfig.parseUrl`: a connection URI as options (query parameters included). */
export const parseUrl = (mysql2 as unknown as { ConnectionConfig: { parseUrl(url: string): Record<string, unknown> } }).ConnectionConfig
  .parseUrl;

/**
 * mysql2's own option names (connection and pool): a copy of the private `validOptions` of
 * lib/connection_config.js, so they are never mistaken for typos of this library's options.
 */
export const MYSQL2_OPTION_NAMES: ReadonlySet<string> = new Set([
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

type Method = (this: PoolConnection, ...args: unknown[]) => unknown;

/**
 * The plain Connection methods, for calls the pool makes itself (bypassing per-instance hooks). Looked up on the
 * prototype at each call, not captured at load: APM instrumentation (OpenTelemetry's instrumentation-mysql2, which
 * wraps mysql2's connection prototype, and unwraps it on disable()) then applies to this pool's connections exactly
 * as to mysql2's own, whenever it is switched on or off.
 */
export function connectionQuery(this: PoolConnection, ...args: unknown[]): unknown {
  return (Connection.prototype.query as Method).apply(this, args);
}
export function connectionExecute(this: PoolConnection, ...args: unknown[]): unknown {
  return (Connection.prototype.execute as Method).apply(this, args);
}

/** mysql2's runtime classes that its typings declare only as interfaces. */
export const ConnectionConfigClass = (mysql2 as unknown as { ConnectionConfig: new (options: object) => ConnectionConfig })
  .ConnectionConfig;
export const PoolClass = (mysql2 as unknown as { Pool: new (options: object) => Pool }).Pool;
/** `mysql2/promise`'s PromisePool class (exported at run time, not in its typings): wraps a callback pool. */
export const PromisePoolClass = (mysql2Promise as unknown as { PromisePool: new (pool: Pool, P?: PromiseConstructor) => PromisePool })
  .PromisePool;

// ---------------------------------------------------------------- generic-pool 3.9 (pinned in package.json)

/** What generic-pool's Pool keeps privately and the idle store reaches: its options and its eviction run. */
interface GenericPoolInternals {
  _config: { max: number; evictionRunIntervalMillis: number };
  _evict(): void;
}

/**
 * A generic-pool Pool whose eviction decision is `evict` (called with each idle resource and the idle count):
 * `createPool()` cannot take an Evictor, so its Pool constructor is called as `createPool()` calls it, with the
 * module's Deque and PriorityQueue. `gp` is the generic-pool module (only idle-store.ts imports it).
 */
export function newGenericPool<T>(
  gp: object,
  evict: (resource: T, available: number) => boolean,
  factory: object,
  options: object,
): GenericPool<T> {
  const m = gp as { Pool: new (...args: unknown[]) => GenericPool<T>; Deque: unknown; PriorityQueue: unknown };
  class Evictor {
    evict(_config: unknown, pooled: { obj: T }, available: number): boolean {
      return evict(pooled.obj, available);
    }
  }
  return new m.Pool(Evictor, m.Deque, m.PriorityQueue, factory, options);
}

/**
 * Sets generic-pool's `max`: 3.9 has no setter, and reads `_config.max` each time it decides whether it may create.
 */
export function setGenericPoolMax(gp: object, max: number): void {
  (gp as GenericPoolInternals)._config.max = max;
}

/**
 * One eviction run of generic-pool (its private `_evict`): the Evictor is asked about up to
 * `numTestsPerEvictionRun` idle resources, and those it names are destroyed. The idle store calls it from the
 * pool's own clock, with generic-pool's own timer off (`evictionRunIntervalMillis: 0`).
 */
export function runGenericPoolEviction(gp: object): void {
  (gp as GenericPoolInternals)._evict();
}

export { Connection, PoolConnection };
export type { ConnectionConfig };
