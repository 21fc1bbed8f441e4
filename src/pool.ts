import type { PoolConnection, PoolOptions } from 'mysql2';
import type { PoolConnection as PromisePoolConnection } from 'mysql2/promise';
import type { Clock } from './clock.js';
import { Connector, CONNECTION_FACTORY, mysql2Connections } from './connection-factory.js';
import type { ConnectionFactory, ConnectorHost } from './connection-factory.js';
import { Failures } from './failures.js';
import { Health } from './health.js';
import { IdleStore } from './idle-store.js';
import { emitIsolated } from './isolate.js';
import { LeakDetector } from './leak-detector.js';
import type { Limits, ServerInfo } from './limits.js';
import { log } from './log.js';
import { ConnectionConfigClass, PoolClass, destroySocket, isBroken } from './mysql2-internals.js';
import { describeConfig, resolveOptions } from './options.js';
import type { ResilientPoolOptions, ResolvedOptions } from './options.js';
import { poolConfig } from './pool-config.js';
import type { ResilientPoolConfig } from './pool-config.js';
import { Backoff } from './backoff.js';
import { entryOf } from './pooled-connection.js';
import type { CloseReason, PoolEntry } from './pooled-connection.js';
import { ResilientPromisePool } from './promise-pool.js';
import { runPoolCommand } from './query-runner.js';
import { ReadOnlyCheck } from './read-only-check.js';
import type { ReadOnlyHost } from './read-only-check.js';
import { Dialer, shutdown } from './lifecycle.js';
import { Lending } from './lending.js';
import { StorePolicy } from './store-policy.js';
import { Stats } from './stats.js';
import type { PoolStats } from './stats.js';
import type { Listen, PoolEvents } from './events.js';
import { poolConnectTraced, tracePoolConnect } from './tracing.js';
import { Waiters } from './waiters.js';
import { waiterFor } from './waiters.js';
import type { Waiter } from './waiters.js';

/**
 * The callback pool: mysql2's Pool API (it is an `instanceof` mysql2 `Pool`). It moves connections between the
 * waiting callers (waiters.ts), the idle store (idle-store.ts, generic-pool underneath) and the connection factory
 * (connection-factory.ts): lending.ts checks connections out and back in and closes them, store-policy.ts answers the
 * idle store, health.ts says whether a connection may be used, lifecycle.ts opens and ends. This file is mysql2's
 * surface over them.
 */
export class ResilientPool extends PoolClass {
  declare config: PoolOptions & ResilientPoolConfig;
  /** mysql2's flag: PoolConnection.release()/destroy() stop reporting to a closed pool. */
  declare _closed: boolean;
  // Typed events (src/events.ts): mysql2's with mysql2's listener types, this library's with their payloads.
  declare on: Listen<PoolEvents, this>;
  declare once: Listen<PoolEvents, this>;
  declare addListener: Listen<PoolEvents, this>;
  declare prependListener: Listen<PoolEvents, this>;
  declare prependOnceListener: Listen<PoolEvents, this>;
  declare off: Listen<PoolEvents, this>;
  declare removeListener: Listen<PoolEvents, this>;

  /** @internal */ readonly opts: ResolvedOptions;
  /** @internal */ readonly clock: Clock;
  /** @internal */ readonly stats_ = new Stats();
  /** @internal */ readonly store: IdleStore;
  /** @internal */ readonly connector: Connector;
  /** @internal */ readonly health = new Health();
  /** @internal */ readonly waiters: Waiters;
  /** @internal */ readonly backoff = new Backoff();
  /** @internal */ readonly dialer: Dialer;
  /** @internal */ readonly failures: Failures;
  /** @internal */ readonly leaks: LeakDetector;
  /** @internal */ readonly readOnly: ReadOnlyCheck;
  /** @internal Checkout, release and close; the counts of held, requested and settling connections. */
  readonly loans: Lending;
  /** @internal The idle store's validate, evict and destroy. */
  readonly policy: StorePolicy;
  /** @internal Every connection open or opening. */
  readonly entries = new Set<PoolEntry>();
  /** @internal Sockets of closed connections that have not finished closing yet. */
  readonly closingSockets = new Set<Promise<void>>();
  private ending: Promise<void> | undefined;

  constructor(options: string | ResilientPoolOptions) {
    const { mysql, resolved, userSet } = resolveOptions(options);
    const connectionConfig = new ConnectionConfigClass({ ...mysql });
    // BasePool starts its own idle timer when maxIdle < connectionLimit; hand it a config that never does, then
    // install the real one.
    super({ config: { connectionConfig, connectionLimit: 0, maxIdle: 0 } } as never);
    this.config = poolConfig(connectionConfig, resolved, (limit) => (this.store.setLimit(limit), this.loans.requestConnection()));
    this.opts = resolved;
    const clock = (this.clock = resolved.clock);
    const factory = typeof options === 'object' ? (options as { [CONNECTION_FACTORY]?: ConnectionFactory })[CONNECTION_FACTORY] : undefined;
    this.connector = new Connector(this as ConnectorHost, factory ?? mysql2Connections, userSet);
    this.readOnly = new ReadOnlyCheck(this as ReadOnlyHost);
    this.failures = new Failures(this);
    this.waiters = new Waiters(clock, (w) => this.loans.timedOut(w));
    this.leaks = new LeakDetector(clock, this.stats_, (leak) => this.emit('leak', leak));
    this.dialer = new Dialer(this);
    log.pool('created %o', describeConfig(resolved, mysql));
    const policy = (this.policy = new StorePolicy(this));
    const { validate, evict, destroy } = policy;
    const create = () => this.dialer.create();
    this.store = new IdleStore(clock, { create, validate, evict, destroy }, resolved.connectionLimit, resolved.minConnections);
    this.loans = new Lending(this);
  }

  /** @internal end() has been called. */
  get closing(): boolean {
    return this.health.closing;
  }

  // ---------------------------------------------------------------- checkout

  override getConnection(cb: (err: NodeJS.ErrnoException | null, connection: PoolConnection) => void): void {
    const now = this.clock.now();
    this.checkout(now, new ConnectionRequest(this, cb, this.deadlineFrom(now)));
  }

  /** @internal Deadline for a checkout starting now; Infinity when acquireTimeout is 0. */
  deadlineFrom(now: number): number {
    return this.opts.acquireTimeout > 0 ? now + this.opts.acquireTimeout : Infinity;
  }

  /**
   * @internal Lending.acquire(), published on mysql2's `mysql2:pool:connect` tracing channel as mysql2's getConnection is
   * (see tracing.ts). One checkout, one trace: a pool-level query that retries publishes one per attempt.
   */
  checkout(now: number, waiter: Waiter): void {
    if (!poolConnectTraced()) return this.loans.acquire(now, waiter);
    tracePoolConnect(
      this.config.connectionConfig,
      (done) => this.loans.acquire(now, waiterFor(waiter.deadline, (err, entry) => (err ? done(err) : done(null, entry!.conn)))),
      (err, conn) => waiter.cb(err, entryOf(conn)),
    );
  }

  // ---------------------------------------------------------------- release

  override releaseConnection(connection: PoolConnection | PromisePoolConnection): void {
    const conn = ((connection as unknown as { connection?: PoolConnection }).connection ?? connection) as PoolConnection;
    const entry = entryOf(conn);
    if (entry && entry.state === 'busy') this.loans.release(entry);
  }

  // ---------------------------------------------------------------- the pool's parts call these

  /** @internal */
  track(entry: PoolEntry): void {
    this.entries.add(entry);
  }

  /** @internal After a read-only refusal: is the server read-only? See read-only-check.ts. */
  verifyReadOnly(on: PoolEntry | undefined): Promise<boolean | undefined> {
    return this.readOnly.verify(on);
  }

  /** mysql2's PoolConnection calls this on 'end', 'error' and destroy(). */
  _removeConnection(conn: PoolConnection): void {
    const entry = entryOf(conn);
    if (!entry) return;
    const reason: CloseReason = entry.dead || isBroken(conn) ? 'broken' : 'user-destroy';
    entry.dead = true;
    destroySocket(conn);
    // A checked-out connection that died (or that its holder destroyed) gives its slot back now, as in mysql2; its
    // later release() is a no-op. An idle one its holder destroyed leaves the pool's count now, as in mysql2; the
    // idle store drops its record at the next eviction run or checkout (it is dead: never handed out). An idle one
    // that died on its own is left to the 'error' that follows ('close' after 'end'): failures.onConnectionError
    // notes the failure (others suspect) and reports it, then checkout drops it.
    const state = entry.state;
    if (state === 'busy' || state === 'releasing' || (state === 'idle' && reason === 'user-destroy')) this.loans.close(entry, reason);
  }

  /** @internal A connection open or opening: callers wait for it rather than get a connect error. */
  hasConnections(): boolean {
    for (const e of this.entries) if (!e.dead) return true;
    return false;
  }

  /** @internal For the query runner: how long to wait before retrying after a connect failure. */
  connectBackoff(now: number): number {
    return this.backoff.waitFor(now);
  }

  // ---------------------------------------------------------------- end, events, introspection

  /**
   * Closes the pool: waiting callers get `Pool is closed.`, idle connections are closed at once, checked-out ones
   * when released (or destroyed after `endTimeout`), then every socket is gone. Idempotent; the callback (or the
   * promise API's `end()`) completes when no connection of the pool is left.
   */
  override end(cb?: (err: NodeJS.ErrnoException | null, ...args: any[]) => any): void {
    this.connector.hosts?.close();
    this.ending ??= shutdown(this);
    this.ending.then(
      () => cb?.(null),
      (err: Error) => {
        if (cb) cb(err);
        else throw err;
      },
    );
  }

  /**
   * EventEmitter's emit with every listener isolated (see isolate.ts): a listener that throws cannot leave a slot
   * in use or a caller unanswered; its exception surfaces as an uncaught exception on the next tick.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    return emitIsolated(this, event, args);
  }

  /** @internal Counts for error messages and stats. */
  snapshot(): { total: number; idle: number; busy: number; waiting: number } {
    let idle = 0;
    let busy = 0;
    for (const e of this.entries) {
      if (e.state === 'idle') idle++;
      else if (e.state === 'busy' || e.state === 'releasing' || e.state === 'validating') busy++;
    }
    return { total: this.entries.size, idle, busy, waiting: this.waiters.waiting };
  }

  /** Connections, callers and counters since start; plain data, cheap to read. */
  stats(): PoolStats {
    return this.stats_.read(this.snapshot());
  }

  /** The limits in force after reading the server: idle timeout, lifetime, presumed-dead idle age. */
  effectiveLimits(): Readonly<Limits & { server: ServerInfo | undefined }> {
    return { ...this.connector.limits, idleTimeout: this.policy.idleTimeoutInForce(), server: this.connector.server };
  }

  override promise(promiseImpl?: PromiseConstructor): ResilientPromisePool {
    return new ResilientPromisePool(this, promiseImpl ?? (this.config.connectionConfig as { Promise?: PromiseConstructor }).Promise);
  }
}

/** A getConnection() call: its own waiter record (no closure per checkout). */
class ConnectionRequest implements Waiter {
  startedAt = 0;
  queued = false;
  done = false;
  /** Set only when a connect made for it failed (`declare`: no field per record otherwise). */
  declare cause?: Error;
  /** Where the caller checked it out; captured while the caller is on the stack, only when leak detection is on. */
  private readonly origin: Error | undefined;

  constructor(
    private readonly pool: ResilientPool,
    private readonly callback: (err: NodeJS.ErrnoException | null, connection: PoolConnection) => void,
    public deadline: number,
  ) {
    this.origin = pool.opts.leakDetectionThreshold > 0 ? new Error('connection checked out here') : undefined;
  }

  cb(err: Error | null, entry?: PoolEntry): void {
    if (err) return this.callback(err, undefined as never);
    if (this.origin) this.pool.leaks.watch(entry!, this.origin, this.pool.opts.leakDetectionThreshold);
    this.callback(null, entry!.conn);
  }
}

// Pool-level query/execute, assigned on the prototype so the class keeps mysql2's typed overloads (a
// `(...args: any[])` method would erase them). Three named parameters, not `...args`: no array per call (only the
// first three arguments are read).
ResilientPool.prototype.query = function query(this: ResilientPool, sql: unknown, values?: unknown, cb?: unknown) {
  return runPoolCommand(this, 'query', sql, values, cb as never);
} as ResilientPool['query'];
ResilientPool.prototype.execute = function execute(this: ResilientPool, sql: unknown, values?: unknown, cb?: unknown) {
  return runPoolCommand(this, 'execute', sql, values, cb as never);
} as ResilientPool['execute'];


// The promise pool's `.pool` is this class (promise-pool.ts does not import this file: no cycle).
declare module './promise-pool.js' {
  interface ResilientPromisePool {
    pool: ResilientPool;
  }
}
