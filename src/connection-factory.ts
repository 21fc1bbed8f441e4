/**
 * Opening and closing physical connections: connect (with the pool's listeners and the per-connection query
 * hooks), the first connection's server probe (limits.ts), ping with a timeout, and the goodbye (COM_QUIT, the
 * socket destroyed if it does not finish). Accounting (how many, who waits) is the pool's and the idle store's.
 *
 * The seam for tests: the pool makes each connection with a {@link ConnectionFactory}, mysql2's PoolConnection by
 * default. A unit test passes its own under the {@link CONNECTION_FACTORY} symbol key of the options, next to the
 * `clock` option, to drive the pool with fake connections on fake time (docs/testing.md). Internal: not in the
 * README, not in the published types, never read from a user's plain option keys.
 */
import type { ConnectionConfig, PoolConnection } from 'mysql2';
import type { Clock, TimerHandle } from './clock.js';
import { poolClosedError } from './errors.js';
import { HostRotation } from './host-rotation.js';
import { probeNode } from './node-health.js';
import type { Failures } from './failures.js';
import type { Health } from './health.js';
import { clampReports } from './clamp-warnings.js';
import { computeLimits, jitter, probeServer } from './limits.js';
import type { Limits, ServerInfo } from './limits.js';
import { log } from './log.js';
import {
  cloneConnectionConfig,
  connectionExecute,
  connectionQuery,
  createPoolConnection,
  destroySocket,
  hasPendingCommand,
  isBroken,
  isMariaDB,
  lastCommand,
  quit,
  socketOf,
} from './mysql2-internals.js';
import type { PoolConnectionHost } from './mysql2-internals.js';
import type { PoolCore } from './pool-core.js';
import { PoolEntry, entryOf, tagConnection } from './pooled-connection.js';
import { noteReply, noteStatement } from './transactions.js';

/**
 * @internal Makes one connection that reports to `host` (release, destroy, 'end', 'error'), as mysql2's
 * PoolConnection does; the pool calls its `connect(cb)` next. A stand-in must have what mysql2-internals.ts reads.
 */
export interface ConnectionFactory {
  create(host: PoolConnectionHost, config: ConnectionConfig): PoolConnection;
}

/** @internal The options key under which a test passes its ConnectionFactory (a symbol: no user option can clash). */
export const CONNECTION_FACTORY: unique symbol = Symbol.for('resilient-mysql-pool.connectionFactory');

/** The real thing: a mysql2 PoolConnection, which starts connecting at once. */
export const mysql2Connections: ConnectionFactory = { create: createPoolConnection };

/** What the factory needs of the pool besides PoolCore. */
export interface ConnectorHost extends PoolCore, PoolConnectionHost {
  /** A new connection's record: one of the pool's connections from now on. */
  track(entry: PoolEntry): void;
  readonly failures: Failures;
  readonly health: Health;
}

export class Connector {
  /** The server behind the connections, once read (undefined again after a restart or failover). */
  server: ServerInfo | undefined;
  /** The limits in force (options clamped to what the server allows). */
  limits: Limits;
  private probing: Promise<void> | undefined;
  /** Several hosts (host-rotation.ts); undefined for one. */
  readonly hosts: HostRotation | undefined;

  constructor(
    private readonly pool: ConnectorHost,
    private readonly factory: ConnectionFactory,
    /** Options the user set (only their clamps are warned about). */
    private readonly userSet: ReadonlySet<string>,
  ) {
    this.limits = computeLimits(pool.opts, undefined).limits;
    const { hosts, preferFirstHost, hostRecheckInterval, pingTimeout, skipReadOnlyHosts } = pool.opts;
    if (!hosts) return;
    const rotation = new HostRotation(hosts, pool.config.connectionConfig, {
      preferFirstHost,
      skipReadOnly: skipReadOnlyHosts,
      hostRecheckInterval,
      recheckTimeout: Math.max(pingTimeout, 2_000),
      clock: pool.clock,
      onMove: (from, to, why) => {
        log.pool('host %s -> %s: %s', rotation.describe(from), rotation.describe(to), why);
        // A different server: its limits are read again, idle connections pinged.
        this.server = undefined;
        pool.health.suspect(this.clock.now());
      },
    });
    this.hosts = rotation;
    // Connections to a host that is no longer current are not handed out (closed as retired).
    pool.health.offHost = (entry) => rotation.abandoned(entry);
  }

  private get clock(): Clock {
    return this.pool.clock;
  }

  /**
   * Opens one connection; resolves once it is usable (handshake and, on the first one, the server probe). With
   * several hosts, on the current one, then the next ones while connects fail.
   */
  open(): Promise<PoolEntry> {
    if (!this.hosts) return this.openOn(this.pool.config.connectionConfig);
    const accept = this.pool.opts.skipReadOnlyHosts ? (entry: PoolEntry) => this.writable(entry) : undefined;
    return this.hosts.connect((config) => this.openOn(config), () => this.pool.closing, accept);
  }

  /** skipReadOnlyHosts: a new connection to a read-only server is closed, and the connect fails (next host). */
  private writable(entry: PoolEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      probeNode(entry.conn, Math.max(this.pool.opts.pingTimeout, 2_000), (state) => {
        if (state.health !== 'down' && !state.readOnly) return resolve();
        this.pool.loans.close(entry, 'retired');
        reject(Object.assign(new Error(`host is ${state.readOnly ? 'read-only' : state.why}`), { code: 'HOST_READ_ONLY' }));
      });
    });
  }

  private openOn(config: ConnectionConfig): Promise<PoolEntry> {
    const pool = this.pool;
    const conn = this.factory.create(pool, cloneConnectionConfig(config));
    const entry = new PoolEntry(conn, this.clock.now(), Infinity);
    tagConnection(conn, entry);
    pool.track(entry);
    // A permanent listener: mysql2's own is `once`, so a second error on a dead connection would otherwise be an
    // uncaught exception. Prepended, like the 'end' one: they must run before mysql2's own listeners call
    // _removeConnection, so that it sees the connection as dead (not destroyed by its holder) and the failure is
    // noted before the entry is closed.
    conn.prependListener('error', (err: Error) => pool.failures.onConnectionError(entry, err));
    conn.prependListener('end', () => {
      entry.dead = true;
    });
    entry.onCommandError = (err, cmd) => pool.failures.onHeldCommandError(entry, err, cmd);
    conn.query = trackedQuery as PoolConnection['query'];
    conn.execute = trackedExecute as PoolConnection['execute'];
    const socket = socketOf(conn);
    if (socket) socket.once('close', () => entry.socketClosed());
    else entry.socketClosed();
    return new Promise<PoolEntry>((resolve, reject) => {
      conn.connect((err: unknown) => {
        if (err) {
          entry.closeReason = 'connect-failed';
          pool.loans.close(entry, 'connect-failed');
          reject(err);
          return;
        }
        entry.flavor = isMariaDB(conn) ? 'mariadb' : 'mysql';
        this.learnServer(entry).then(() => {
          if (entry.dead || isBroken(conn) || hasPendingCommand(conn) || pool.closing) {
            pool.loans.close(entry, 'connect-failed');
            reject(pool.closing ? poolClosedError() : new Error('Connection lost while reading server settings'));
            return;
          }
          entry.state = 'idle';
          entry.lastUsedAt = this.clock.now();
          entry.expiresAt = entry.createdAt + jitter(this.limits.maxLifetime);
          pool.stats_.created(this.clock.now() - entry.createdAt);
          log.connection('%s opened (%s, lifetime %d ms)', entry, this.server?.version, entry.expiresAt - entry.createdAt);
          pool.emit('connection', conn);
          resolve(entry);
        }, reject);
      });
    });
  }

  /** On the first connection (and after a restart or failover), read the server's limits once. */
  private learnServer(entry: PoolEntry): Promise<void> {
    if (this.server) return Promise.resolve();
    if (this.probing) return this.probing;
    const pool = this.pool;
    this.probing = probeServer(entry.conn, Math.max(pool.opts.pingTimeout, 2_000)).then((info) => {
      this.probing = undefined;
      this.server = info;
      const { limits, clamps } = computeLimits(pool.opts, info);
      this.limits = limits;
      log.pool('server %s (%s), wait_timeout %s ms; limits %o', info.version, info.flavor, info.waitTimeout, limits);
      const { warnings, quiet } = clampReports(clamps, this.userSet);
      for (const line of quiet) log.pool('%s', line);
      for (const w of warnings) {
        log.pool('warning: %s', w.message);
        pool.emit('warn', w);
      }
    });
    return this.probing;
  }

  /** Pings within pingTimeout; always resolves (a validate that rejects or hangs would leak generic-pool's slot). */
  ping(entry: PoolEntry): Promise<boolean> {
    const pool = this.pool;
    pool.stats_.pinged();
    return new Promise<boolean>((resolve) => {
      let settled = false;
      // Caller-facing: pings run on checkout, for a caller who waits.
      const timer = this.clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        entry.closeReason = 'ping-timeout';
        // A silently dropped flow: anything idle at least as long is presumed dead too, so the next checkout does
        // not wait out another ping.
        pool.health.presumeDeadSince(entry.lastUsedAt);
        pool.stats_.pingFailed();
        log.connection('%s ping timed out after %d ms', entry, pool.opts.pingTimeout);
        resolve(false);
      }, pool.opts.pingTimeout);
      const sent = this.clock.now();
      entry.conn.ping((err: unknown) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        if (!err) {
          // Alive as of now (and the server's idle clock was reset by the ping).
          const now = this.clock.now();
          log.connection('%s ping ok in %d ms (idle %d ms)', entry, Math.round(now - sent), Math.round(sent - entry.lastUsedAt));
          entry.lastUsedAt = now;
        } else {
          entry.closeReason = 'ping-failed';
          pool.stats_.pingFailed();
          log.connection('%s ping failed: %s', entry, (err as Error).message);
        }
        resolve(!err);
      });
    });
  }

  /**
   * The goodbye: COM_QUIT when the connection is healthy (the server then counts no aborted client), with the
   * socket destroyed if it is not done within pingTimeout; the socket at once when it is dead.
   */
  quit(conn: PoolConnection, healthy: boolean, afterPending = false): void {
    if (!healthy) return destroySocket(conn);
    // Background: the socket itself keeps the process alive until the goodbye is done. Behind statements still
    // queued (`afterPending`), COM_QUIT waits for them as long as they take (their callers wait on them, bounded by
    // their own timeouts, as on any connection): the bound on the goodbye starts when the last of them ends.
    let timer: TimerHandle | undefined;
    const bound = () => (timer = this.clock.setBackgroundTimeout(() => destroySocket(conn), this.pool.opts.pingTimeout));
    const last = afterPending ? lastCommand(conn) : undefined;
    if (last) last.once('end', bound);
    else bound();
    quit(conn, () => {
      if (timer !== undefined) this.clock.clearTimeout(timer);
      destroySocket(conn);
    });
  }
}

/**
 * Per-instance `query`/`execute` of a held connection (what ORMs use): notes transaction state for release(), and
 * passes errors through the error table on their way to the caller, so a read-only error after failover (say)
 * closes this connection on release and retires the older ones.
 */
// mysql2's `query(sql, values, cb)` and `execute(sql, values, cb)` take three parameters (the callback second or
// third) and call back with at most three arguments (err, rows, fields): fixed parameters, no argument arrays.
type Reply = (this: unknown, err: unknown, rows?: unknown, fields?: unknown) => unknown;
type Method = (this: PoolConnection, ...args: unknown[]) => unknown;
/** Where the callback was: `(sql, values, cb)`, `(sql, cb)`, `(sql, cb, x)`. */
const enum Form {
  Third,
  Second,
  SecondOfThree,
}

/** The tracking wrapper of one of mysql2's methods (made once per method, at load). */
function trackedMethod(method: Method) {
  return function (this: PoolConnection, sql: unknown, values?: unknown, cb?: unknown): unknown {
    const entry = entryOf(this);
    if (entry !== undefined) {
      if (typeof cb === 'function') return tracked(method, this, entry, sql, values, cb as Reply, Form.Third);
      if (typeof values === 'function') {
        return tracked(method, this, entry, sql, cb, values as Reply, arguments.length === 2 ? Form.Second : Form.SecondOfThree);
      }
      noteStatement(entry, sql);
    }
    // As called (the arity too: instrumentation that wraps mysql2's methods may look at it); `arguments`, not a
    // rest parameter, so the common calls above build no array.
    // eslint-disable-next-line prefer-rest-params
    return method.apply(this, arguments as unknown as unknown[]);
  };
}

const trackedQuery = trackedMethod(connectionQuery);
const trackedExecute = trackedMethod(connectionExecute);

/**
 * Runs a held connection's statement with its callback wrapped: notes what the statement does to the transaction
 * state, then the reply; an error goes through the error table with the command mysql2 made (undefined when it
 * called back before returning it: refused on a closed connection, never sent). `other`: the values (Form.Third)
 * or the argument after the callback (Form.SecondOfThree).
 */
function tracked(method: Method, conn: PoolConnection, entry: PoolEntry, sql: unknown, other: unknown, cb: Reply, form: Form): unknown {
  const effect = noteStatement(entry, sql);
  let cmd: unknown;
  const reply = function (this: unknown, err: unknown, rows?: unknown, fields?: unknown) {
    if (err) entry.onCommandError?.(err, cmd);
    noteReply(entry, effect, err, rows, fields, hasPendingCommand(conn));
    // A release() from inside the callback may settle at once (lending.ts): this command (not whatever mysql2 has
    // on the wire by now: a success is called back after mysql2 has moved on to the next queued command) is done.
    entry.replying = cmd as object | undefined;
    try {
      return cb.call(this, err, rows, fields);
    } finally {
      entry.replying = undefined;
    }
  };
  if (form === Form.Third) cmd = method.call(conn, sql, other, reply);
  else if (form === Form.Second) cmd = method.call(conn, sql, reply);
  else cmd = method.call(conn, sql, reply, other);
  return cmd;
}
