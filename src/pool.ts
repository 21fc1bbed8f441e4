import type { PoolConnection, PoolOptions } from 'mysql2';
import type { PoolConnection as PromisePoolConnection } from 'mysql2/promise';
import type { Clock } from './clock.js';
import { Connector, CONNECTION_FACTORY, mysql2Connections } from './connection-factory.js';
import type { ConnectionFactory, ConnectorHost } from './connection-factory.js';
import { Failures } from './failures.js';
import { ErrorCodes, PoolError, poolClosedError } from './errors.js';
import { Health } from './health.js';
import { IdleStore } from './idle-store.js';
import { emitIsolated } from './isolate.js';
import { LeakDetector } from './leak-detector.js';
import type { Limits, ServerInfo } from './limits.js';
import { log } from './log.js';
import { ConnectionConfigClass, PoolClass, destroySocket, hasPendingCommand, isBroken, markCheckedOut } from './mysql2-internals.js';
import { describeConfig, resolveOptions } from './options.js';
import type { ResilientPoolOptions, ResolvedOptions } from './options.js';
import { poolConfig } from './pool-config.js';
import type { ResilientPoolConfig } from './pool-config.js';
import { Backoff, FRESH_ERROR } from './backoff.js';
import { CreateFailure, PoolEntry, entryOf } from './pooled-connection.js';
import type { CloseReason, Resource } from './pooled-connection.js';
import { ResilientPromisePool } from './promise-pool.js';
import { runPoolCommand } from './query-runner.js';
import { ReadOnlyCheck } from './read-only-check.js';
import type { ReadOnlyHost } from './read-only-check.js';
import { Dialer, shutdown } from './lifecycle.js';
import { Stats } from './stats.js';
import type { PoolStats } from './stats.js';
import type { Listen, PoolEvents } from './events.js';
import { poolConnectTraced, tracePoolConnect } from './tracing.js';
import { Waiters, acquireTimeoutError, answer, answerLater } from './waiters.js';
import type { Waiter } from './waiters.js';



const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);

/**
 * The callback pool: mysql2's Pool API (it is an `instanceof` mysql2 `Pool`). It moves connections between the
 * waiting callers (waiters.ts), the idle store (idle-store.ts, generic-pool underneath) and the connection factory
 * (connection-factory.ts); health.ts says whether a connection may be used, lifecycle.ts opens and ends.
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
  /** @internal Every connection open or opening. */
  readonly entries = new Set<PoolEntry>();
  /** @internal Sockets of closed connections that have not finished closing yet. */
  readonly closingSockets = new Set<Promise<void>>();
  private readonly leaks: LeakDetector;
  private readonly readOnly: ReadOnlyCheck;
  /** Connections checked out by a caller and not yet released (state 'busy'). */
  private held = 0;
  /** Idle-store acquires not yet settled; kept <= waiting callers, so none is ever orphaned for long. */
  private inFlight = 0;
  /** Connections released and settling (next tick); they go to waiters first. */
  private releasing = 0;
  private ending: Promise<void> | undefined;

  constructor(options: string | ResilientPoolOptions) {
    const { mysql, resolved, userSet } = resolveOptions(options);
    const connectionConfig = new ConnectionConfigClass({ ...mysql });
    // BasePool starts its own idle timer when maxIdle < connectionLimit; hand it a config that never does, then
    // install the real one.
    super({ config: { connectionConfig, connectionLimit: 0, maxIdle: 0 } } as never);
    this.config = poolConfig(connectionConfig, resolved, (limit) => (this.store.setLimit(limit), this.requestConnection()));
    this.opts = resolved;
    const clock = (this.clock = resolved.clock);
    const factory = typeof options === 'object' ? (options as { [CONNECTION_FACTORY]?: ConnectionFactory })[CONNECTION_FACTORY] : undefined;
    this.connector = new Connector(this as ConnectorHost, factory ?? mysql2Connections, userSet);
    this.readOnly = new ReadOnlyCheck(this as ReadOnlyHost);
    this.failures = new Failures(this);
    this.waiters = new Waiters(clock, (w) => this.timedOut(w));
    this.leaks = new LeakDetector(clock, this.stats_, (leak) => this.emit('leak', leak));
    this.dialer = new Dialer(this);
    log.pool('created %o', describeConfig(resolved, mysql));
    this.store = new IdleStore(
      clock,
      {
        create: () => this.dialer.create(),
        destroy: (r) => this.destroyResource(r),
        validate: (r) => this.validate(r),
        evict: (r, available) => this.shouldEvict(r, available),
      },
      resolved.connectionLimit,
      resolved.minConnections,
    );
  }

  /** @internal end() has been called. */
  get closing(): boolean {
    return this.health.closing;
  }

  // ---------------------------------------------------------------- checkout

  override getConnection(cb: (err: NodeJS.ErrnoException | null, connection: PoolConnection) => void): void {
    const threshold = this.opts.leakDetectionThreshold;
    // Captured here, where the caller is on the stack; only when leak detection is on.
    const origin = threshold > 0 ? new Error('connection checked out here') : undefined;
    this.checkout(this.deadlineFrom(this.clock.now()), (err, entry) => {
      if (err) return cb(err, undefined as never);
      if (origin) this.leaks.watch(entry!, origin, threshold);
      cb(null, entry!.conn);
    });
  }

  /** @internal Deadline for a checkout starting now; Infinity when acquireTimeout is 0. */
  deadlineFrom(now: number): number {
    return this.opts.acquireTimeout > 0 ? now + this.opts.acquireTimeout : Infinity;
  }

  /**
   * @internal acquire(), published on mysql2's `mysql2:pool:connect` tracing channel as mysql2's getConnection is
   * (see tracing.ts). One checkout, one trace: a pool-level query that retries publishes one per attempt.
   */
  checkout(deadline: number, cb: Waiter['cb']): void {
    if (!poolConnectTraced()) return this.acquire(deadline, cb);
    tracePoolConnect(
      this.config.connectionConfig,
      (done) => this.acquire(deadline, (err, entry) => (err ? done(err) : done(null, entry!.conn))),
      (err, conn) => cb(err, entryOf(conn)),
    );
  }

  /**
   * Hands a validated connection to `cb` (always asynchronously), or an error: pool closed, queue limit, acquire
   * timeout, or the real connect error when no connection of the pool could serve.
   */
  private acquire(deadline: number, cb: Waiter['cb']): void {
    if (this.closing) {
      process.nextTick(cb, poolClosedError());
      return;
    }
    const { connectionLimit, waitForConnections, queueLimit } = this.config;
    // As in mysql2: a caller waits ("enqueue", queueLimit, waitForConnections) when every connection the limit
    // allows is held by a caller or promised to a caller already waiting. A connection released this tick is free,
    // as it is at once in mysql2; one that callers waiting before this one will take is not, however many arrive in
    // the same tick.
    const mustWait = connectionLimit > 0 && this.held + this.waiters.waiting >= connectionLimit;
    if (mustWait) {
      if (!waitForConnections) {
        process.nextTick(cb, new PoolError(ErrorCodes.NO_CONNECTIONS, 'No connections available.'));
        return;
      }
      if (queueLimit > 0 && this.waiters.queued >= queueLimit) {
        process.nextTick(cb, new PoolError(ErrorCodes.QUEUE_LIMIT, 'Queue limit reached.'));
        return;
      }
    }
    const now = this.clock.now();
    if (!mustWait && this.waiters.waiting === 0 && this.store.hasRecent && this.takeRecent(cb, now)) return;
    // Server down and nothing open or opening: fail fast with the real error, if it is fresh (see backoff.ts);
    // otherwise this caller dials (or joins the attempt in flight) and waits for the outcome. (Connects failing is
    // rare: the walk over the connections is done only then.)
    const failure = this.backoff.mayFailFast() ? this.backoff.failFast(now, this.hasConnections()) : undefined;
    if (failure) {
      this.stats_.acquireFailed();
      process.nextTick(cb, failure);
      return;
    }
    this.waiters.add({ cb, deadline, startedAt: now, queued: mustWait, done: false }, now);
    if (mustWait) this.emit('enqueue');
    this.requestConnection();
  }

  /**
   * The checkout of a connection released a moment ago: a few reads, no promise, no waiter record. Handed out
   * without a ping under the same conditions as validate() would; one that needs a check goes back to the idle
   * store, which pings or drops it.
   */
  private takeRecent(cb: Waiter['cb'], now: number): boolean {
    const entry = this.store.takeRecent(this.usableWithoutPing, now);
    if (!entry) return false;
    this.lend(entry);
    entry.checkedOutAt = now;
    this.stats_.acquired(0);
    this.emit('acquire', entry.conn);
    process.nextTick(answerLater, cb, entry);
    return true;
  }

  /** What validate() lets through without a ping. */
  private readonly usableWithoutPing = (entry: PoolEntry, now: number): boolean =>
    entry.state === 'idle' &&
    this.health.closeReason(entry, now, 'checkout', this.connector.limits.idleLimit) === undefined &&
    this.health.maySkipPing(entry, now, this.opts.pingSkipWindow);

  /**
   * Asks the idle store for one more connection if the callers waiting outnumber what is already coming: acquires
   * in flight plus connections being released (a query issued from the previous one's callback gets that
   * connection back instead of opening a second one).
   */
  private requestConnection(): void {
    if (this.inFlight + this.releasing >= this.waiters.waiting) return;
    // No more requests than the store can serve; a release, a freed slot (finishLoan) or a higher limit asks again.
    if (this.config.connectionLimit > 0 && this.held + this.releasing + this.inFlight >= this.config.connectionLimit) return;
    this.inFlight++;
    this.store.acquire().then(this.onResource, this.onAcquireRejected);
  }

  private readonly onResource = (resource: Resource): void => {
    this.inFlight--;
    const waiter = this.waiters.next();
    if (resource instanceof CreateFailure) {
      this.store.destroy(resource);
      if (!waiter) return;
      if (this.closing) return this.fail(waiter, poolClosedError());
      if (this.hasConnections()) {
        // Connections exist or are opening (e.g. ER_CON_COUNT_ERROR while they are busy, or before the ones that
        // got a slot finish their handshake): wait for one of them rather than fail.
        this.waiters.requeueFront(waiter);
        this.requestConnection();
        return;
      }
      return this.fail(waiter, resource.error);
    }
    if (!waiter || this.closing) {
      // The caller it was meant for has gone (timed out, handed a released connection meanwhile, or the pool is
      // ending).
      this.giveBack(resource);
      if (waiter) this.fail(waiter, poolClosedError());
      return;
    }
    this.handOut(resource, waiter);
  };

  private readonly onAcquireRejected = (err: unknown): void => {
    // generic-pool rejects only while draining: end() has already failed every waiter.
    this.inFlight--;
    log.pool('generic-pool acquire rejected: %s', (err as Error)?.message);
  };

  private handOut(entry: PoolEntry, waiter: Waiter): void {
    this.waiters.settle(waiter);
    this.lend(entry);
    const now = this.clock.now();
    entry.checkedOutAt = now;
    this.stats_.acquired(now - waiter.startedAt);
    this.emit('acquire', entry.conn);
    answer(waiter, null, entry);
  }

  /** @internal */
  fail(waiter: Waiter, err: Error): void {
    if (!this.waiters.settle(waiter)) return;
    this.stats_.acquireFailed();
    answer(waiter, err);
  }

  private timedOut(waiter: Waiter): void {
    this.stats_.acquireTimedOut();
    this.fail(waiter, this.acquireTimeoutError());
  }

  private acquireTimeoutError(): PoolError {
    const last = this.backoff.lastError(this.clock.now(), this.opts.acquireTimeout || Infinity);
    return acquireTimeoutError(this.opts.acquireTimeout, this.snapshot(), this.config.connectionLimit, last);
  }

  // ---------------------------------------------------------------- release

  override releaseConnection(connection: PoolConnection | PromisePoolConnection): void {
    const conn = ((connection as unknown as { connection?: PoolConnection }).connection ?? connection) as PoolConnection;
    const entry = entryOf(conn);
    if (!entry || entry.state !== 'busy') return;
    this.leaks.stop(entry);
    entry.lastUsedAt = this.clock.now();
    entry.state = 'releasing';
    this.held--;
    this.stats_.returned(entry, this.clock);
    this.releasing++;
    // Settle on the next tick: a release from inside a command's callback runs while mysql2 still has that command
    // on the wire, and a waiter must not run inside the releaser's stack.
    process.nextTick(this.settleRelease, entry);
  }

  private readonly settleRelease = (entry: PoolEntry): void => {
    if (entry.state !== 'releasing') return;
    // A read-only check is running: a connection as old as the failure may be about to be retired.
    const check = this.readOnly.running;
    if (check && entry.createdAt <= check.since) {
      void check.verdict.then(() => this.settleRelease(entry));
      return;
    }
    const reason = this.health.closeReason(entry, this.clock.now(), 'release', Infinity);
    if (reason) return this.retireReleased(entry, reason);
    if (this.opts.resetOnRelease) {
      entry.conn.reset((err: unknown) => {
        if (err) return this.retireReleased(entry, 'reset-failed');
        this.releasing--;
        this.returnToService(entry);
      });
      return;
    }
    this.releasing--;
    this.returnToService(entry);
  };

  /** A released connection that must not be reused: close it, and find the waiters another one. */
  private retireReleased(entry: PoolEntry, reason: CloseReason): void {
    this.releasing--;
    this.finishLoan(entry, reason);
    this.requestConnection();
  }

  private returnToService(entry: PoolEntry): void {
    this.emit('release', entry.conn);
    // Straight to the next caller when it needs no check: it was used a moment ago. With pingSkipWindow 0 (ping
    // every checkout), or when a sibling died since, it goes back through the idle store's validation instead.
    const check = this.opts.pingSkipWindow === 0 || entry.lastUsedAt <= this.health.suspectBefore;
    const waiter = this.waiters.waiting > 0 && !check ? this.waiters.next() : undefined;
    if (waiter) {
      this.handOut(entry, waiter);
      return;
    }
    entry.state = 'idle';
    // Nobody waits: kept at hand until the event loop turns (the next call of a promise chain takes it at once).
    if (this.waiters.waiting === 0 && !check) return this.store.park(entry);
    this.store.release(entry);
    this.requestConnection();
  }

  /** @internal Ends a checkout by closing the connection and giving its slot back. Idempotent. */
  finishLoan(entry: PoolEntry, reason: CloseReason): void {
    if (entry.state === 'closed' || entry.state === 'idle') return;
    this.leaks.stop(entry);
    entry.closeReason ??= reason;
    if (entry.state === 'busy') this.held--;
    this.stats_.returned(entry, this.clock);
    entry.state = 'closed';
    this.closeEntry(entry, reason);
    if (this.store.isBorrowed(entry)) this.store.destroy(entry);
    this.requestConnection();
  }

  /** @internal Checks a connection out: held (a caller's, or the read-only check's) until released. */
  lend(entry: PoolEntry): void {
    entry.state = 'busy';
    this.held++;
    markCheckedOut(entry.conn);
  }

  /** @internal A connection borrowed for the pool's own use that is no longer wanted: back to the pool. */
  giveBack(entry: PoolEntry): void {
    if (this.closing) {
      entry.closeReason = 'pool-end';
      return this.store.destroy(entry);
    }
    entry.state = 'idle';
    this.store.release(entry);
  }

  // ---------------------------------------------------------------- the idle store calls these

  private validate(resource: Resource): Promise<boolean> {
    const now = this.clock.now();
    // A failure waiting in the idle list is handed out only while it is fresh.
    if (resource instanceof CreateFailure) return now - resource.at < FRESH_ERROR ? TRUE : FALSE;
    const entry = resource;
    entry.state = 'validating';
    const reason = this.health.closeReason(entry, now, 'checkout', this.connector.limits.idleLimit);
    if (reason) {
      entry.closeReason = reason;
      return FALSE;
    }
    if (this.health.maySkipPing(entry, now, this.opts.pingSkipWindow)) return TRUE;
    return this.connector.ping(entry);
  }

  private shouldEvict(resource: Resource, available: number): boolean {
    if (resource instanceof CreateFailure) return true;
    const aboveMin = this.store.size > this.opts.minConnections;
    const reason = this.health.evictReason(resource, this.clock.now(), this.connector.limits.idleLimit, {
      idleTimeout: aboveMin ? this.idleTimeoutInForce() : Infinity,
      maxIdle: aboveMin ? this.config.maxIdle : Infinity,
      available,
      entries: this.entries,
    });
    if (reason) resource.closeReason = reason;
    return reason !== undefined;
  }

  /** pool.config.idleTimeout as it is now (0: none), within what the server and network allow. */
  private idleTimeoutInForce(): number {
    const requested = this.config.idleTimeout > 0 ? this.config.idleTimeout : Infinity;
    return Math.min(requested, this.connector.limits.idleLimit);
  }

  private destroyResource(resource: Resource): Promise<void> {
    if (resource instanceof PoolEntry) this.closeEntry(resource, resource.closeReason ?? 'broken');
    return Promise.resolve();
  }

  /**
   * @internal Closes a connection for good: COM_QUIT when it is healthy, the socket at once when it is dead (see
   * Connector.quit). Idempotent.
   */
  closeEntry(entry: PoolEntry, reason: CloseReason): void {
    if (!this.entries.delete(entry)) return;
    this.store.unpark(entry);
    this.leaks.stop(entry);
    if (entry.state === 'busy') this.held--;
    this.stats_.returned(entry, this.clock);
    entry.state = 'closed';
    entry.closeReason ??= reason;
    const conn = entry.conn;
    const healthy = !entry.dead && !isBroken(conn) && !hasPendingCommand(conn) && entry.threadId !== null;
    entry.dead = true;
    const closed = entry.closed;
    this.closingSockets.add(closed);
    void closed.then(() => this.closingSockets.delete(closed));
    if (reason !== 'connect-failed') {
      this.stats_.destroyed(entry.closeReason);
      log.connection('%s closed: %s', entry, entry.closeReason);
      this.emit('evict', conn, entry.closeReason);
    }
    this.connector.quit(conn, healthy);
  }

  // ---------------------------------------------------------------- failures

  /** @internal */
  track(entry: PoolEntry): void {
    this.entries.add(entry);
  }

  /** @internal After a read-only refusal: is the server read-only? See read-only-check.ts. */
  verifyReadOnly(on: PoolEntry | undefined): Promise<boolean | undefined> {
    return this.readOnly.verify(on);
  }

  /** @internal An idle or new connection for the pool's own use (the read-only check). */
  borrow(): Promise<PoolEntry | undefined> {
    return this.store.acquire().then((resource) => {
      if (!(resource instanceof CreateFailure)) return resource;
      return void this.store.destroy(resource);
    });
  }

  /** mysql2's PoolConnection calls this on 'end', 'error' and destroy(). */
  _removeConnection(conn: PoolConnection): void {
    const entry = entryOf(conn);
    if (!entry) return;
    const reason: CloseReason = entry.dead || isBroken(conn) ? 'broken' : 'user-destroy';
    entry.dead = true;
    destroySocket(conn);
    // A checked-out connection that died (or that its holder destroyed) gives its slot back now, as in mysql2; its
    // later release() is a no-op.
    if (entry.state === 'releasing') this.retireReleased(entry, reason);
    else if (entry.state === 'busy') this.finishLoan(entry, reason);
    // An idle one its holder destroyed leaves the pool's count now, as in mysql2; the idle store drops its record
    // at the next eviction run or checkout (it is dead: never handed out). One that died on its own is left to the
    // 'error' that follows ('close' after 'end'): failures.onConnectionError notes the failure (others suspect)
    // and reports it, then checkout drops it.
    else if (entry.state === 'idle' && reason === 'user-destroy') this.closeEntry(entry, reason);
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
    return { ...this.connector.limits, idleTimeout: this.idleTimeoutInForce(), server: this.connector.server };
  }

  override promise(promiseImpl?: PromiseConstructor): ResilientPromisePool {
    return new ResilientPromisePool(this, promiseImpl ?? (this.config.connectionConfig as { Promise?: PromiseConstructor }).Promise);
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
