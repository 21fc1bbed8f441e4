import type { ConnectionConfig, PoolConnection, PoolOptions } from 'mysql2';
import type { PoolConnection as PromisePoolConnection } from 'mysql2/promise';
import * as genericPool from 'generic-pool';
import type { Clock, TimerHandle } from './clock.js';
import { CreateFailure, PoolEntry } from './entry.js';
import type { CloseReason, Resource } from './entry.js';
import { classifyWith } from './error-table.js';
import type { ErrorAction } from './error-table.js';
import { ErrorCodes, PoolError, poolClosedError } from './errors.js';
import { computeLimits, jitter, probeServer } from './limits.js';
import { clampReports } from './clamp-warnings.js';
import type { Limits, ServerInfo } from './limits.js';
import { log } from './log.js';
import {
  ConnectionConfigClass,
  PoolClass,
  cloneConnectionConfig,
  connectionExecute,
  connectionQuery,
  createPoolConnection,
  destroySocket,
  hasPendingCommand,
  isBroken,
  isMariaDB,
  markCheckedOut,
  quit,
  setGenericPoolMax,
  socketOf,
} from './mysql2-internals.js';
import { checkConnectionLimit, describeConfig, resolveOptions } from './options.js';
import type { ResilientPoolOptions, ResolvedOptions } from './options.js';
import { Backoff, FRESH_ERROR } from './backoff.js';
import { emitIsolated, rethrowLater } from './isolate.js';
import { poolConnectTraced, tracePoolConnect } from './tracing.js';
import { noteReply, noteStatement } from './transactions.js';
import { runPoolCommand } from './query-runner.js';
import type { ResilientPromisePool } from './promise.js';
import { Stats } from './stats.js';
import type { PoolStats } from './stats.js';
import type { Listen, PoolEvents } from './events.js';

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

/** A caller waiting for a connection. */
interface Waiter {
  cb: (err: Error | null, entry?: PoolEntry) => void;
  deadline: number;
  startedAt: number;
  /** It had to queue (every connection in use): counts against queueLimit. */
  queued: boolean;
  done: boolean;
}

const ENTRY = Symbol('resilient-mysql-pool.entry');
type Tagged = PoolConnection & { [ENTRY]?: PoolEntry };

export function entryOf(conn: unknown): PoolEntry | undefined {
  return conn ? (conn as Tagged)[ENTRY] : undefined;
}

const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);
/** Rounds of waiting (for an attempt in flight, or a backoff) one create may go through before it gives up. */
const MAX_CREATE_ROUNDS = 64;

/**
 * The callback pool: mysql2's Pool API (it is an `instanceof` mysql2 `Pool`),
 * with generic-pool managing the physical connections underneath.
 *
 * generic-pool owns the idle list, min/max accounting, validation on borrow
 * and the eviction timer. This class owns the waiting callers (so a caller that
 * times out leaves nothing behind), the per-connection records, the error
 * policy and the mysql2 surface. Policy (error table, retry rules, limits,
 * statement classification) lives in small modules this class calls.
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
  /** Options the user set (only their clamps are warned about). */
  private readonly userSet: ReadonlySet<string>;
  /** @internal */ readonly clock: Clock;
  /** @internal */ readonly stats_ = new Stats();
  private readonly gp: genericPool.Pool<Resource>;
  private readonly entries = new Set<PoolEntry>();
  /** Sockets of closed connections that have not finished closing yet. */
  private readonly closingSockets = new Set<Promise<void>>();
  private readonly backoff = new Backoff();
  private server: ServerInfo | undefined;
  private probing: Promise<void> | undefined;
  private limits: Limits;
  /** Idle connections last used at or before this are pinged on checkout, whatever the skip window. */
  private suspectBefore = -Infinity;
  /** Connections created at or before this are closed instead of reused (failover, restart). */
  private retireBefore = -Infinity;
  /** Idle connections last used at or before this are presumed dead (a ping on one as old timed out). */
  private deadIdleBefore = -Infinity;
  /** The running "is the server read-only?" check, if any (see verifyReadOnly). */
  private readOnlyCheck: { since: number; verdict: Promise<boolean | undefined>; timer: TimerHandle } | undefined;

  /**
   * Connections released with nobody waiting, kept out of generic-pool until the event loop turns: a call made
   * meanwhile (the next query of a promise chain, of a callback) takes one at once, without generic-pool's
   * promise round trip. The rest go back to generic-pool (flushRecent).
   */
  private readonly recent: PoolEntry[] = [];
  private flushScheduled = false;

  private waiters: Waiter[] = [];
  private waiterHead = 0;
  private waiting = 0;
  /** Waiting callers that had to queue (mysql2's queue length, for queueLimit). */
  private queued = 0;
  /** Connections checked out by a caller and not yet released (state 'busy'). */
  private held = 0;
  /** generic-pool acquires not yet settled; kept <= waiting callers, so none is ever orphaned for long. */
  private inFlight = 0;
  /** Connections released and settling (next tick); they go to waiters first. */
  private releasing = 0;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private closing = false;
  /** Pending backoff waits, woken by end(). */
  private readonly wakeups = new Set<() => void>();
  private ending: Promise<void> | undefined;

  constructor(options: string | ResilientPoolOptions) {
    const { mysql, resolved, userSet } = resolveOptions(options);
    const connectionConfig = new ConnectionConfigClass({ ...mysql });
    // BasePool starts its own idle timer when maxIdle < connectionLimit; hand it
    // a config that never does, then install the real one.
    super({ config: { connectionConfig, connectionLimit: 0, maxIdle: 0 } } as never);
    const { clock, ...publicOpts } = resolved;
    // connectionLimit, maxIdle, idleTimeout, queueLimit and waitForConnections are read from here when they are
    // used, as mysql2 reads its pool.config (its own tests change connectionLimit after createPool).
    this.config = {
      connectionConfig,
      waitForConnections: resolved.waitForConnections,
      maxIdle: resolved.maxIdle,
      idleTimeout: resolved.idleTimeout,
      queueLimit: resolved.queueLimit,
      resetOnRelease: resolved.resetOnRelease,
      resilience: Object.freeze(publicOpts),
    } as PoolOptions & ResilientPoolConfig;
    let connectionLimit = resolved.connectionLimit;
    Object.defineProperty(this.config, 'connectionLimit', {
      enumerable: true,
      get: () => connectionLimit,
      set: (value: unknown) => {
        connectionLimit = checkConnectionLimit(value, resolved.minConnections);
        setGenericPoolLimit(this.gp, connectionLimit);
      },
    });
    this.opts = resolved;
    this.userSet = userSet;
    this.clock = clock;
    this.limits = computeLimits(resolved, undefined).limits;
    log.pool('created %o', describeConfig(resolved, mysql));

    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const pool = this;
    class Evictor {
      evict(_config: unknown, pooled: { obj: Resource }, available: number): boolean {
        return pool.shouldEvict(pooled.obj, available);
      }
    }
    const max = genericPoolMax(resolved.connectionLimit);
    const GenericPool = genericPool.Pool as unknown as new (...args: unknown[]) => genericPool.Pool<Resource>;
    this.gp = new GenericPool(
      Evictor,
      (genericPool as unknown as { Deque: unknown }).Deque,
      (genericPool as unknown as { PriorityQueue: unknown }).PriorityQueue,
      {
        create: () => this.create(),
        destroy: (r: Resource) => this.destroyResource(r),
        validate: (r: Resource) => this.validate(r),
      },
      {
        max,
        min: resolved.minConnections,
        testOnBorrow: true,
        // LIFO like mysql2: the hottest connection is reused (inside the ping
        // skip window), the coldest ones age out and are evicted.
        fifo: false,
        evictionRunIntervalMillis: 1_000,
        // Every idle connection each run (the number is only an upper bound), whatever connectionLimit becomes.
        numTestsPerEvictionRun: 1_000,
        // Our Evictor decides; these only keep generic-pool's defaults from acting.
        softIdleTimeoutMillis: -1,
        idleTimeoutMillis: Number.MAX_SAFE_INTEGER,
      },
    );
  }

  // ---------------------------------------------------------------- checkout

  override getConnection(cb: (err: NodeJS.ErrnoException | null, connection: PoolConnection) => void): void {
    const threshold = this.opts.leakDetectionThreshold;
    // Captured here, where the caller is on the stack; only when leak detection is on.
    const origin = threshold > 0 ? new Error('connection checked out here') : undefined;
    this.checkout(this.deadlineFrom(this.clock.now()), (err, entry) => {
      if (err) return cb(err, undefined as never);
      if (origin) this.watchForLeak(entry!, origin, threshold);
      cb(null, entry!.conn);
    });
  }

  /** Reports a held connection once if it is not released within `threshold` ms. */
  private watchForLeak(entry: PoolEntry, origin: Error, threshold: number): void {
    const since = this.clock.now();
    // Background: nobody waits on a leak report; it must not keep a finished script alive.
    entry.leakTimer = this.clock.setBackgroundTimeout(() => {
      entry.leakTimer = undefined;
      if (entry.state !== 'busy') return;
      const heldFor = Math.round(this.clock.now() - since);
      this.stats_.leaked();
      log.pool('%s held for %d ms (leakDetectionThreshold %d ms); %s', entry, heldFor, threshold, origin.stack);
      this.emit('leak', { connection: entry.conn, heldFor, stack: origin.stack ?? '' });
    }, threshold);
  }

  private stopLeakWatch(entry: PoolEntry): void {
    if (entry.leakTimer === undefined) return;
    this.clock.clearTimeout(entry.leakTimer);
    entry.leakTimer = undefined;
  }

  /** @internal Deadline for a checkout starting now; Infinity when acquireTimeout is 0. */
  deadlineFrom(now: number): number {
    return this.opts.acquireTimeout > 0 ? now + this.opts.acquireTimeout : Infinity;
  }

  /**
   * @internal acquire(), published on mysql2's `mysql2:pool:connect` tracing
   * channel as mysql2's getConnection is (see tracing.ts). One checkout, one
   * trace: a pool-level query that retries publishes one per attempt.
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
   * @internal Hands a validated connection to `cb` (always asynchronously), or
   * an error: pool closed, queue limit, acquire timeout, or the real connect
   * error when no connection of the pool could serve.
   */
  acquire(deadline: number, cb: Waiter['cb']): void {
    if (this.closing) {
      process.nextTick(cb, poolClosedError());
      return;
    }
    const { connectionLimit, waitForConnections, queueLimit } = this.config;
    // As in mysql2: a caller waits ("enqueue", queueLimit, waitForConnections)
    // when every connection the limit allows is held by a caller or promised to
    // a caller already waiting. A connection released this tick is free, as it
    // is at once in mysql2; one that callers waiting before this one will take
    // is not, however many arrive in the same tick.
    const mustWait = connectionLimit > 0 && this.held + this.waiting >= connectionLimit;
    if (mustWait) {
      if (!waitForConnections) {
        process.nextTick(cb, new PoolError(ErrorCodes.NO_CONNECTIONS, 'No connections available.'));
        return;
      }
      if (queueLimit > 0 && this.queued >= queueLimit) {
        process.nextTick(cb, new PoolError(ErrorCodes.QUEUE_LIMIT, 'Queue limit reached.'));
        return;
      }
    }
    const now = this.clock.now();
    if (!mustWait && this.waiting === 0 && this.recent.length > 0 && this.takeRecent(cb, now)) return;
    // Server down and nothing open or opening: fail fast with the real error,
    // if it is fresh (see backoff.ts); otherwise this caller dials (or joins
    // the attempt in flight) and waits for the outcome.
    // (Connects failing is rare: the walk over the connections is done only then.)
    const failure = this.backoff.mayFailFast() ? this.backoff.failFast(now, this.hasConnections()) : undefined;
    if (failure) {
      this.stats_.acquireFailed();
      process.nextTick(cb, failure);
      return;
    }
    const waiter: Waiter = { cb, deadline, startedAt: now, queued: mustWait, done: false };
    this.waiters.push(waiter);
    if (++this.waiting === 1) this.timer?.ref();
    if (mustWait) {
      this.queued++;
      this.emit('enqueue');
    }
    if (deadline < this.timerAt) this.armTimer(deadline, now);
    this.requestFromGenericPool();
  }

  /**
   * The checkout of a connection released a moment ago: a few reads, no promise, no waiter record. The
   * connection is handed out without a ping under the same conditions as generic-pool's validation would
   * (validate()); one that needs a check goes back to generic-pool, which pings or drops it.
   */
  private takeRecent(cb: Waiter['cb'], now: number): boolean {
    for (let entry = this.recent.pop(); entry; entry = this.recent.pop()) {
      if (this.usableWithoutPing(entry, now)) {
        entry.state = 'busy';
        this.held++;
        markCheckedOut(entry.conn);
        entry.checkedOutAt = now;
        this.stats_.acquired(0);
        this.emit('acquire', entry.conn);
        process.nextTick(answerAsync, cb, entry);
        return true;
      }
      void this.gp.release(entry);
    }
    return false;
  }

  /** What validate() lets through without a ping. */
  private usableWithoutPing(entry: PoolEntry, now: number): boolean {
    return (
      entry.state === 'idle' &&
      this.idleCloseReason(entry, now) === undefined &&
      now - entry.lastUsedAt < this.opts.pingSkipWindow &&
      entry.lastUsedAt > this.suspectBefore
    );
  }

  private readonly flushRecent = (): void => {
    this.flushScheduled = false;
    for (const entry of this.recent) void this.gp.release(entry);
    this.recent.length = 0;
  };

  /**
   * Asks generic-pool for one more connection if the callers waiting outnumber
   * what is already coming: acquires in flight plus connections being released
   * (a query issued from the previous one's callback gets that connection back
   * instead of opening a second one).
   */
  private requestFromGenericPool(): void {
    if (this.inFlight + this.releasing >= this.waiting) return;
    this.inFlight++;
    // Connections released a moment ago go back first, so generic-pool hands them out rather than open new ones.
    if (this.recent.length > 0) this.flushRecent();
    this.gp.acquire().then(this.onResource, this.onAcquireRejected);
  }

  private readonly onResource = (resource: Resource): void => {
    this.inFlight--;
    const waiter = this.nextWaiter();
    if (resource instanceof CreateFailure) {
      void this.gp.destroy(resource);
      if (!waiter) return;
      if (this.closing) return this.fail(waiter, poolClosedError());
      if (this.hasConnections()) {
        // Connections exist or are opening (e.g. ER_CON_COUNT_ERROR while they
        // are busy, or before the ones that got a slot finish their handshake):
        // wait for one of them rather than fail.
        this.requeueFront(waiter);
        this.requestFromGenericPool();
        return;
      }
      return this.fail(waiter, resource.error);
    }
    if (!waiter || this.closing) {
      // The caller it was meant for has gone (timed out, handed a released
      // connection meanwhile, or the pool is ending).
      if (this.closing) {
        resource.closeReason = 'pool-end';
        void this.gp.destroy(resource);
      } else {
        resource.state = 'idle';
        void this.gp.release(resource);
      }
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
    waiter.done = true;
    this.stopWaiting();
    if (waiter.queued) this.queued--;
    entry.state = 'busy';
    this.held++;
    markCheckedOut(entry.conn);
    const now = this.clock.now();
    entry.checkedOutAt = now;
    this.stats_.acquired(now - waiter.startedAt);
    this.emit('acquire', entry.conn);
    answer(waiter, null, entry);
  }

  private fail(waiter: Waiter, err: Error): void {
    if (waiter.done) return;
    waiter.done = true;
    this.stopWaiting();
    if (waiter.queued) this.queued--;
    this.stats_.acquireFailed();
    answer(waiter, err);
  }

  /**
   * One caller fewer waiting. The last one lets go of the process: the shared
   * deadline timer stays armed (re-arming it per checkout would cost more than
   * it saves) but no longer keeps a script alive whose callers all have their
   * answer.
   */
  private stopWaiting(): void {
    if (--this.waiting === 0) this.timer?.unref();
  }

  private nextWaiter(): Waiter | undefined {
    const list = this.waiters;
    while (this.waiterHead < list.length) {
      const w = list[this.waiterHead]!;
      list[this.waiterHead++] = undefined as never;
      if (!w.done) {
        this.compactWaiters();
        return w;
      }
    }
    this.waiters = [];
    this.waiterHead = 0;
    return undefined;
  }

  private compactWaiters(): void {
    if (this.waiterHead > 1024 && this.waiterHead * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.waiterHead);
      this.waiterHead = 0;
    }
  }

  private requeueFront(waiter: Waiter): void {
    if (this.waiterHead > 0) this.waiters[--this.waiterHead] = waiter;
    else this.waiters.unshift(waiter);
  }

  /**
   * One timer for all waiters, armed for the earliest deadline. A checkout that
   * finds a connection at once arms nothing: the timer is usually armed already
   * (it is re-armed only when it fires, at most once per acquireTimeout). It
   * keeps the process alive exactly while some caller waits (see stopWaiting).
   */
  private armTimer(deadline: number, now: number): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerAt = deadline;
    const ms = Math.max(0, deadline - now);
    this.timer = this.waiting > 0 ? this.clock.setTimeout(this.onTimer, ms) : this.clock.setBackgroundTimeout(this.onTimer, ms);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (let i = this.waiterHead; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.done) continue;
      if (w.deadline <= now) this.timedOut(w);
      else if (w.deadline < next) next = w.deadline;
    }
    if (next < Infinity) this.armTimer(next, now);
  };

  private timedOut(waiter: Waiter): void {
    this.stats_.acquireTimedOut();
    this.fail(waiter, this.acquireTimeoutError());
  }

  private acquireTimeoutError(): PoolError {
    const s = this.snapshot();
    const last = this.backoff.lastError(this.clock.now(), this.opts.acquireTimeout || Infinity);
    const cause = last ? `; last connect error: ${(last as { code?: unknown }).code ?? ''} ${last.message}` : '';
    return new PoolError(
      ErrorCodes.ACQUIRE_TIMEOUT,
      `Timed out after ${this.opts.acquireTimeout} ms waiting for a connection ` +
        `(pool: ${s.total} open, ${s.idle} idle, ${s.busy} in use, ${s.waiting} waiting, limit ${this.config.connectionLimit || 'none'}${cause})`,
      last ? { cause: last } : undefined,
    );
  }

  // ---------------------------------------------------------------- release

  override releaseConnection(connection: PoolConnection | PromisePoolConnection): void {
    const conn = ((connection as unknown as { connection?: PoolConnection }).connection ?? connection) as PoolConnection;
    const entry = entryOf(conn);
    if (!entry || entry.state !== 'busy') return;
    this.stopLeakWatch(entry);
    entry.lastUsedAt = this.clock.now();
    entry.state = 'releasing';
    this.held--;
    this.stats_.returned(entry, this.clock);
    this.releasing++;
    // Settle on the next tick: a release from inside a command's callback runs
    // while mysql2 still has that command on the wire, and a waiter must not run
    // inside the releaser's stack.
    process.nextTick(this.settleRelease, entry);
  }

  private readonly settleRelease = (entry: PoolEntry): void => {
    if (entry.state !== 'releasing') return;
    // A read-only check is running: a connection as old as the failure may be about to be retired.
    const check = this.readOnlyCheck;
    if (check && entry.createdAt <= check.since) {
      void check.verdict.then(() => this.settleRelease(entry));
      return;
    }
    const reason = this.releaseCloseReason(entry);
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
    this.requestFromGenericPool();
  }

  private releaseCloseReason(entry: PoolEntry): CloseReason | undefined {
    if (this.closing) return 'pool-end';
    if (entry.dead || isBroken(entry.conn)) return 'broken';
    if (entry.discard) return 'error';
    if (hasPendingCommand(entry.conn)) return 'busy-on-release';
    if (entry.inTransaction || entry.autocommitOff) return 'in-transaction';
    if (entry.createdAt <= this.retireBefore) return 'retired';
    if (this.clock.now() >= entry.expiresAt) return 'lifetime';
    return undefined;
  }

  private returnToService(entry: PoolEntry): void {
    this.emit('release', entry.conn);
    // Straight to the next caller when it needs no check: it was used a moment
    // ago. With pingSkipWindow 0 (ping every checkout), or when a sibling died
    // since, it goes back through generic-pool's validation instead.
    const check = this.opts.pingSkipWindow === 0 || entry.lastUsedAt <= this.suspectBefore;
    const waiter = this.waiting > 0 && !check ? this.nextWaiter() : undefined;
    if (waiter) {
      this.handOut(entry, waiter);
      return;
    }
    entry.state = 'idle';
    if (this.waiting === 0 && !check) {
      this.recent.push(entry);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flushRecent);
      }
      return;
    }
    void this.gp.release(entry);
    this.requestFromGenericPool();
  }

  /** @internal Ends a checkout by closing the connection and giving its slot back. Idempotent. */
  finishLoan(entry: PoolEntry, reason: CloseReason): void {
    if (entry.state === 'closed' || entry.state === 'idle') return;
    this.stopLeakWatch(entry);
    entry.closeReason ??= reason;
    if (entry.state === 'busy') this.held--;
    this.stats_.returned(entry, this.clock);
    entry.state = 'closed';
    this.closeEntry(entry, reason);
    if (this.gp.isBorrowedResource(entry)) void this.gp.destroy(entry);
  }

  // ---------------------------------------------------------------- the factory (generic-pool calls these)

  /**
   * Opens a connection, as the connect policy allows (backoff.ts): in parallel
   * when connections are open and nothing is failing; otherwise one attempt at
   * a time, callers joining it, and the fresh error handed over when the pool
   * has nothing open or opening to wait for.
   */
  private async create(): Promise<Resource> {
    for (let round = 0; ; round++) {
      const now = this.clock.now();
      if (this.closing) return new CreateFailure(poolClosedError(), now);
      const step = this.backoff.next(now, this.hasOpenConnection());
      if (step.do === 'connect') break;
      if (step.do === 'fail') return new CreateFailure(step.error, now);
      if (round >= MAX_CREATE_ROUNDS) {
        const error = this.backoff.lastError(now, Infinity) ?? new Error('connect attempts kept failing');
        return new CreateFailure(error, now);
      }
      if (step.do === 'join') await this.wakeable(step.settled);
      else await this.sleep(step.ms);
    }
    this.backoff.started();
    try {
      const entry = await this.connect();
      this.backoff.succeeded();
      return entry;
    } catch (err) {
      const error = err as Error;
      const delay = this.backoff.failed(error, this.clock.now());
      this.stats_.connectFailed();
      log.pool('connect failed (%s: %s); backoff %d ms', (error as { code?: unknown }).code, error.message, delay);
      return new CreateFailure(error, this.clock.now());
    }
  }

  /**
   * Waits for `done` (the connect attempt in flight); end() cuts it short. No
   * timer: the attempt's socket keeps the process alive meanwhile.
   */
  private wakeable(done: Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.wakeups.delete(wake);
        resolve();
      };
      this.wakeups.add(wake);
      void done.then(wake);
    });
  }

  /**
   * A backoff wait that end() cuts short. It keeps the process alive when a
   * caller is waiting for the connection it will open; a refill for
   * minConnections alone does not.
   */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.clock.clearTimeout(timer);
        this.wakeups.delete(wake);
        resolve();
      };
      const timer = this.waiting > 0 ? this.clock.setTimeout(wake, ms) : this.clock.setBackgroundTimeout(wake, ms);
      this.wakeups.add(wake);
    });
  }

  private connect(): Promise<PoolEntry> {
    const conn = createPoolConnection(this, cloneConnectionConfig(this.config.connectionConfig)) as Tagged;
    const now = this.clock.now();
    const entry = new PoolEntry(conn, now, Infinity);
    conn[ENTRY] = entry;
    this.entries.add(entry);
    // A permanent listener: mysql2's own is `once`, so a second error on a dead
    // connection would otherwise be an uncaught exception. Prepended, like the
    // 'end' one: they must run before mysql2's own listeners call
    // _removeConnection, so that it sees the connection as dead (not destroyed
    // by its holder) and the failure is noted before the entry is closed.
    conn.prependListener('error', (err: Error) => this.onConnectionError(entry, err));
    conn.prependListener('end', () => {
      entry.dead = true;
    });
    entry.onCommandError = (err) => this.onHeldCommandError(entry, err);
    conn.query = trackedQuery as PoolConnection['query'];
    conn.execute = trackedExecute as PoolConnection['execute'];
    const socket = socketOf(conn);
    if (socket) socket.once('close', () => entry.socketClosed());
    else entry.socketClosed();
    return new Promise<PoolEntry>((resolve, reject) => {
      conn.connect((err: unknown) => {
        if (err) {
          entry.closeReason = 'connect-failed';
          this.closeEntry(entry, 'connect-failed');
          reject(err);
          return;
        }
        entry.flavor = isMariaDB(conn) ? 'mariadb' : 'mysql';
        this.learnServer(entry).then(() => {
          if (entry.dead || isBroken(conn) || hasPendingCommand(conn) || this.closing) {
            this.closeEntry(entry, 'connect-failed');
            reject(this.closing ? poolClosedError() : new Error('Connection lost while reading server settings'));
            return;
          }
          entry.state = 'idle';
          entry.lastUsedAt = this.clock.now();
          entry.expiresAt = entry.createdAt + jitter(this.limits.maxLifetime);
          this.stats_.created(this.clock.now() - entry.createdAt);
          log.connection('%s opened (%s, lifetime %d ms)', entry, this.server?.version, entry.expiresAt - entry.createdAt);
          this.emit('connection', conn);
          resolve(entry);
        }, reject);
      });
    });
  }

  /** On the first connection (and after a restart or failover), read the server's limits once. */
  private learnServer(entry: PoolEntry): Promise<void> {
    if (this.server) return Promise.resolve();
    if (this.probing) return this.probing;
    this.probing = probeServer(entry.conn, Math.max(this.opts.pingTimeout, 2_000)).then((info) => {
      this.probing = undefined;
      this.server = info;
      const { limits, clamps } = computeLimits(this.opts, info);
      this.limits = limits;
      log.pool('server %s (%s), wait_timeout %s ms; limits %o', info.version, info.flavor, info.waitTimeout, limits);
      const { warnings, quiet } = clampReports(clamps, this.userSet);
      for (const line of quiet) log.pool('%s', line);
      for (const w of warnings) {
        log.pool('warning: %s', w.message);
        this.emit('warn', w);
      }
    });
    return this.probing;
  }

  private validate(resource: Resource): Promise<boolean> {
    const now = this.clock.now();
    // A failure waiting in generic-pool's idle list is handed out only while it is fresh.
    if (resource instanceof CreateFailure) return now - resource.at < FRESH_ERROR ? TRUE : FALSE;
    const entry = resource;
    entry.state = 'validating';
    const reason = this.closing ? 'pool-end' : this.idleCloseReason(entry, now);
    if (reason) {
      entry.closeReason = reason;
      return FALSE;
    }
    if (now - entry.lastUsedAt < this.opts.pingSkipWindow && entry.lastUsedAt > this.suspectBefore) return TRUE;
    return this.ping(entry);
  }

  /** Why an idle connection must not be handed out, without any I/O; undefined if it may be. */
  private idleCloseReason(entry: PoolEntry, now: number): CloseReason | undefined {
    if (entry.dead || isBroken(entry.conn)) return 'broken';
    if (entry.createdAt <= this.retireBefore) return 'retired';
    if (now >= entry.expiresAt) return 'lifetime';
    if (entry.lastUsedAt <= this.deadIdleBefore) return 'presumed-dead';
    if (now - entry.lastUsedAt >= this.limits.idleLimit) return 'idle';
    return undefined;
  }

  /** Always resolves (a validate that rejects or hangs would leak generic-pool's slot for good). */
  private ping(entry: PoolEntry): Promise<boolean> {
    this.stats_.pinged();
    return new Promise<boolean>((resolve) => {
      let settled = false;
      // Caller-facing: pings run on checkout, for a caller who waits.
      const timer = this.clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        entry.closeReason = 'ping-timeout';
        // A silently dropped flow: anything idle at least as long is presumed
        // dead too, so the next checkout does not wait out another ping.
        this.deadIdleBefore = Math.max(this.deadIdleBefore, entry.lastUsedAt);
        this.stats_.pingFailed();
        log.connection('%s ping timed out after %d ms', entry, this.opts.pingTimeout);
        resolve(false);
      }, this.opts.pingTimeout);
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
          this.stats_.pingFailed();
          log.connection('%s ping failed: %s', entry, (err as Error).message);
        }
        resolve(!err);
      });
    });
  }

  private shouldEvict(resource: Resource, available: number): boolean {
    if (resource instanceof CreateFailure) return true;
    const now = this.clock.now();
    let reason = this.idleCloseReason(resource, now);
    const aboveMin = this.gp.size > this.opts.minConnections;
    if (!reason && aboveMin && now - resource.lastUsedAt >= this.idleTimeoutInForce()) reason = 'idle';
    // Above maxIdle, the coldest go and the maxIdle most recently released stay, as in mysql2 (generic-pool walks
    // its idle list hottest first, so "is this one of the hottest" is asked of each, not "are there too many").
    const { maxIdle } = this.config;
    if (!reason && aboveMin && available > maxIdle && this.hotterIdle(resource) >= maxIdle) reason = 'max-idle';
    if (reason) resource.closeReason = reason;
    return reason !== undefined;
  }

  /** Idle connections released more recently than `entry` (ties broken by age, so exactly one order holds). */
  private hotterIdle(entry: PoolEntry): number {
    let n = 0;
    for (const e of this.entries) {
      if (e === entry || e.state !== 'idle') continue;
      if (e.lastUsedAt > entry.lastUsedAt || (e.lastUsedAt === entry.lastUsedAt && e.id > entry.id)) n++;
    }
    return n;
  }

  /** pool.config.idleTimeout as it is now (0: none), within what the server and network allow. */
  private idleTimeoutInForce(): number {
    const requested = this.config.idleTimeout > 0 ? this.config.idleTimeout : Infinity;
    return Math.min(requested, this.limits.idleLimit);
  }

  private destroyResource(resource: Resource): Promise<void> {
    if (resource instanceof PoolEntry) this.closeEntry(resource, resource.closeReason ?? 'broken');
    return Promise.resolve();
  }

  /**
   * Closes a connection for good: COM_QUIT when it is healthy (the server then
   * counts no aborted client), with the socket destroyed if the goodbye is not
   * done within pingTimeout; the socket at once when it is dead. Idempotent.
   */
  private closeEntry(entry: PoolEntry, reason: CloseReason): void {
    if (!this.entries.delete(entry)) return;
    const parked = this.recent.indexOf(entry);
    if (parked >= 0) {
      // Still borrowed from generic-pool: give its slot back now.
      this.recent.splice(parked, 1);
      void this.gp.destroy(entry);
    }
    this.stopLeakWatch(entry);
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
    if (healthy) {
      // Background: the socket itself keeps the process alive until the goodbye is done.
      const timer = this.clock.setBackgroundTimeout(() => destroySocket(conn), this.opts.pingTimeout);
      quit(conn, () => {
        this.clock.clearTimeout(timer);
        destroySocket(conn);
      });
    } else {
      destroySocket(conn);
    }
  }

  private onConnectionError(entry: PoolEntry, err: Error): void {
    if (entry.dead && entry.state === 'closed') return;
    const action = classifyWith(err, entry.flavor, this.opts.classifyError);
    log.connection('%s error (%s): %s', entry, (err as { code?: unknown }).code, err.message);
    entry.dead = true;
    destroySocket(entry.conn);
    this.noteFailure(action);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /** An error in reply to a command on a held connection: decide its fate now, act on release. */
  private onHeldCommandError(entry: PoolEntry, err: unknown): void {
    const action = classifyWith(err, entry.flavor, this.opts.classifyError);
    if (!action) return;
    if (action.destroy) entry.discard = true;
    this.noteFailure(action);
  }

  /**
   * @internal What an error on one connection says about the others (see ErrorAction.others). A read-only
   * refusal retires nothing by itself: the server is asked first ({@link verifyReadOnly}), unless the caller
   * already did (`checked`).
   */
  noteFailure(action: ErrorAction | null, checked = false): void {
    if (!action) return;
    if (action.others === 'retire-if-read-only') {
      if (!checked) void this.verifyReadOnly(undefined);
      return;
    }
    const now = this.clock.now();
    if (action.others === 'suspect' || action.others === 'retire') {
      this.suspectBefore = now;
      // Until a dial succeeds, the server may be gone: dial one at a time.
      this.backoff.doubt();
    }
    if (action.others === 'retire') this.retireOlder(now);
  }

  /** Every connection created at or before `now` is closed instead of reused: the server behind them changed. */
  private retireOlder(now: number): void {
    this.suspectBefore = Math.max(this.suspectBefore, now);
    this.retireBefore = Math.max(this.retireBefore, now);
    // The server behind the connections may have changed: read its limits again.
    this.server = undefined;
  }

  /**
   * @internal After a read-only refusal (1290, 1792, 1836): is the server read-only, i.e. a failover, or was
   * the error the application's (a write in its own read-only transaction, `secure_file_priv`)? Asks the server
   * once: on `on` when given (a connection the pool itself holds, e.g. a pool-level query's, never one a caller
   * holds), else on an idle or new connection. While a check runs, every other caller joins it, and connections
   * as old as the failure that are released meanwhile wait for the answer (so one that should be retired is not
   * handed out again). On "read-only", every connection created until now is retired. Resolves within
   * `pingTimeout`: true (read-only), false (not), undefined (no answer: nothing is retired, the safe side for the
   * pool; callers treat it as "not confirmed").
   */
  verifyReadOnly(on: PoolEntry | undefined): Promise<boolean | undefined> {
    if (this.readOnlyCheck) {
      // A call waiting for the answer keeps the process alive until it comes.
      if (on) this.readOnlyCheck.timer.ref();
      return this.readOnlyCheck.verdict;
    }
    if (this.closing) return Promise.resolve(undefined);
    const since = this.clock.now();
    let timer!: TimerHandle;
    const verdict = new Promise<boolean | undefined>((resolve) => {
      let done = false;
      const finish = (readOnly: boolean | undefined) => {
        if (done) return;
        done = true;
        this.clock.clearTimeout(timer);
        this.readOnlyCheck = undefined;
        log.pool('read-only check: %s', readOnly === undefined ? 'no answer' : readOnly ? 'read-only' : 'writable');
        if (readOnly === true) this.retireOlder(this.clock.now());
        resolve(readOnly);
      };
      // A pool-level call waits for the answer (`on`); after a held connection's error nobody does yet.
      timer = on
        ? this.clock.setTimeout(() => finish(undefined), this.opts.pingTimeout)
        : this.clock.setBackgroundTimeout(() => finish(undefined), this.opts.pingTimeout);
      if (on) {
        askReadOnly(on, finish);
        return;
      }
      if (this.recent.length > 0) this.flushRecent();
      this.gp.acquire().then(
        (resource) => {
          if (resource instanceof CreateFailure) {
            void this.gp.destroy(resource);
            return finish(undefined);
          }
          if (done || this.closing) return this.giveBack(resource);
          resource.state = 'busy';
          markCheckedOut(resource.conn);
          askReadOnly(resource, (readOnly) => {
            finish(readOnly);
            // After finish: the retire (if any) is in force when this connection settles.
            this.releaseConnection(resource.conn);
          });
        },
        () => finish(undefined),
      );
    });
    this.readOnlyCheck = { since, verdict, timer };
    return verdict;
  }

  /** A connection acquired for a check that is no longer wanted: back to the pool (or its waiters). */
  private giveBack(resource: PoolEntry): void {
    if (this.closing) {
      resource.closeReason = 'pool-end';
      void this.gp.destroy(resource);
      return;
    }
    resource.state = 'idle';
    void this.gp.release(resource);
  }

  /** mysql2's PoolConnection calls this on 'end', 'error' and destroy(). */
  _removeConnection(conn: PoolConnection): void {
    const entry = entryOf(conn);
    if (!entry) return;
    const reason: CloseReason = entry.dead || isBroken(conn) ? 'broken' : 'user-destroy';
    entry.dead = true;
    destroySocket(conn);
    // A checked-out connection that died (or that its holder destroyed) gives
    // its slot back now, as in mysql2; its later release() is a no-op.
    if (entry.state === 'releasing') this.retireReleased(entry, reason);
    else if (entry.state === 'busy') this.finishLoan(entry, reason);
    // An idle one its holder destroyed leaves the pool's count now, as in mysql2;
    // generic-pool drops its record at the next eviction run or checkout (it is
    // dead: never handed out). One that died on its own is left to the 'error'
    // that follows ('close' after 'end'): onConnectionError notes the failure
    // (the others become suspect) and reports it, then checkout drops it.
    else if (entry.state === 'idle' && reason === 'user-destroy') this.closeEntry(entry, reason);
  }

  /** A connection open or opening: callers wait for it rather than get a connect error. */
  private hasConnections(): boolean {
    for (const e of this.entries) if (!e.dead) return true;
    return false;
  }

  /** A connection open (handshake done), not known dead. */
  private hasOpenConnection(): boolean {
    for (const e of this.entries) if (!e.dead && e.state !== 'connecting') return true;
    return false;
  }

  // ---------------------------------------------------------------- pool-level commands
  // query() and execute() are assigned on the prototype below the class.

  /** @internal For the query runner: how long to wait before retrying after a connect failure. */
  connectBackoff(now: number): number {
    return this.backoff.waitFor(now);
  }

  // ---------------------------------------------------------------- end

  /**
   * Closes the pool: waiting callers get `Pool is closed.`, idle connections
   * are closed at once, checked-out ones when released (or destroyed after
   * `endTimeout`), then every socket is gone. Idempotent; the callback (or the
   * promise API's `end()`) completes when no connection of the pool is left.
   */
  override end(cb?: (err: NodeJS.ErrnoException | null, ...args: any[]) => any): void {
    this.ending ??= this.shutdown();
    this.ending.then(
      () => cb?.(null),
      (err: Error) => {
        if (cb) cb(err);
        else throw err;
      },
    );
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    log.pool('ending: %o', this.snapshot());
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    for (let w = this.nextWaiter(); w; w = this.nextWaiter()) this.fail(w, poolClosedError());
    for (const wake of [...this.wakeups]) wake();
    // Only checked-out connections are waited for; the rest close now.
    const checkedOut = (e: PoolEntry) => e.state === 'busy' || e.state === 'releasing';
    for (const e of [...this.entries]) if (!checkedOut(e)) this.closeEntry(e, 'pool-end');
    const busy = () => [...this.entries].filter(checkedOut);
    if (busy().length > 0 && this.opts.endTimeout > 0) {
      await waitAtMost(this.clock, this.opts.endTimeout, Promise.all(busy().map((e) => e.closed)));
    }
    // Still checked out at the deadline: close them and end their loans, or
    // generic-pool's drain below would wait for them forever.
    for (const e of [...this.entries]) {
      if (checkedOut(e)) this.finishLoan(e, 'pool-end');
      else this.closeEntry(e, 'pool-end');
    }
    this._closed = true;
    await waitAtMost(this.clock, this.opts.pingTimeout + 1_000, Promise.all(this.closingSockets));
    // Let generic-pool settle its own requests and stop its eviction timer.
    await waitAtMost(this.clock, 1_000, this.gp.drain().then(() => this.gp.clear()));
    log.pool('ended: %o', this.snapshot());
  }

  // ---------------------------------------------------------------- events

  /**
   * EventEmitter's emit with every listener isolated (see isolate.ts): a
   * listener that throws cannot leave a slot in use or a caller unanswered;
   * its exception surfaces as an uncaught exception on the next tick.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    return emitIsolated(this, event, args);
  }

  // ---------------------------------------------------------------- introspection

  /** @internal Counts for error messages and stats. */
  snapshot(): { total: number; idle: number; busy: number; waiting: number } {
    let idle = 0;
    let busy = 0;
    for (const e of this.entries) {
      if (e.state === 'idle') idle++;
      else if (e.state === 'busy' || e.state === 'releasing' || e.state === 'validating') busy++;
    }
    return { total: this.entries.size, idle, busy, waiting: this.waiting };
  }

  /** Connections, callers and counters since start; plain data, cheap to read. */
  stats(): PoolStats {
    return this.stats_.read(this.snapshot());
  }

  /** The limits in force after reading the server: idle timeout, lifetime, presumed-dead idle age. */
  effectiveLimits(): Readonly<Limits & { server: ServerInfo | undefined }> {
    return { ...this.limits, idleTimeout: this.idleTimeoutInForce(), server: this.server };
  }

  override promise(promiseImpl?: PromiseConstructor): ResilientPromisePool {
    // Loaded lazily, like mysql2's own Pool.promise(): keeps the module graph acyclic at load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ResilientPromisePool } = require('./promise.js') as typeof import('./promise.js');
    return new ResilientPromisePool(this, promiseImpl ?? (this.config.connectionConfig as { Promise?: PromiseConstructor }).Promise);
  }
}

// Pool-level query/execute, assigned on the prototype so the class keeps
// mysql2's typed overloads (a `(...args: any[])` method would erase them).
// Three named parameters, not `...args`: no array per call (only the first three arguments are read).
ResilientPool.prototype.query = function query(this: ResilientPool, sql: unknown, values?: unknown, cb?: unknown) {
  return runPoolCommand(this, 'query', sql, values, cb as never);
} as ResilientPool['query'];
ResilientPool.prototype.execute = function execute(this: ResilientPool, sql: unknown, values?: unknown, cb?: unknown) {
  return runPoolCommand(this, 'execute', sql, values, cb as never);
} as ResilientPool['execute'];

/** generic-pool's `max` for a mysql2 connectionLimit (0: no limit). */
function genericPoolMax(connectionLimit: number): number {
  return connectionLimit > 0 ? connectionLimit : Number.MAX_SAFE_INTEGER;
}

/**
 * A new connectionLimit takes effect for the next connection generic-pool would open. generic-pool 3.9 (pinned) has
 * no setter; it reads `_config.max` each time it decides whether it may create.
 */
function setGenericPoolLimit(gp: genericPool.Pool<Resource>, connectionLimit: number): void {
  setGenericPoolMax(gp, genericPoolMax(connectionLimit));
}

/**
 * Calls a waiter back. The callback leads to user code (getConnection's
 * callback, a query's); an exception from it must not unwind the pool's
 * bookkeeping (a timer's loop over waiters, a promise continuation that would
 * turn it into an unhandled rejection).
 */
function answer(waiter: Waiter, err: Error | null, entry?: PoolEntry): void {
  try {
    waiter.cb(err, entry);
  } catch (thrown) {
    rethrowLater(thrown);
  }
}

/** A checkout answered from takeRecent, on the next tick as every checkout is. */
function answerAsync(cb: Waiter['cb'], entry: PoolEntry): void {
  try {
    cb(null, entry);
  } catch (thrown) {
    rethrowLater(thrown);
  }
}

/**
 * Resolves when `done` settles (either way) or `ms` pass, whichever first. The
 * timer keeps the process alive: end()'s caller waits on it, and the wait is bounded.
 */
function waitAtMost(clock: Clock, ms: number, done: Promise<unknown>): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = clock.setTimeout(resolve, ms);
    const finish = () => {
      clock.clearTimeout(timer);
      resolve();
    };
    done.then(finish, finish);
  });
}

/**
 * Per-instance `query`/`execute` of a held connection (what ORMs use): notes
 * transaction state for release(), and passes errors through the error table
 * on their way to the caller, so a read-only error after failover (say)
 * closes this connection on release and retires the older ones.
 */
function trackedQuery(this: PoolConnection, ...args: unknown[]): unknown {
  track(this, args);
  return connectionQuery.apply(this, args);
}

function trackedExecute(this: PoolConnection, ...args: unknown[]): unknown {
  track(this, args);
  return connectionExecute.apply(this, args);
}

function track(conn: PoolConnection, args: unknown[]): void {
  const entry = entryOf(conn);
  if (!entry) return;
  const effect = noteStatement(entry, args[0]);
  const at = typeof args[2] === 'function' ? 2 : typeof args[1] === 'function' ? 1 : -1;
  if (at < 0) return;
  const cb = args[at] as (err: unknown, ...rest: unknown[]) => unknown;
  args[at] = function (this: unknown, err: unknown, ...rest: unknown[]) {
    if (err) entry.onCommandError?.(err);
    noteReply(entry, effect, err, rest[0], rest[1], hasPendingCommand(conn));
    return cb.call(this, err, ...rest);
  };
}

/**
 * Asks the server behind `entry` whether it is read-only: `read_only` (both flavours; MariaDB 11 makes it an enum
 * whose every value but OFF refuses writes), and on MySQL `super_read_only` and `innodb_read_only` (Aurora
 * readers). Calls `done` once with true, false, or undefined when the question failed. Rows come as arrays
 * whatever the pool's `rowsAsArray`/`nestTables`; the pool's own bounded wait (verifyReadOnly) covers a hang.
 */
function askReadOnly(entry: PoolEntry, done: (readOnly: boolean | undefined) => void): void {
  const sql =
    entry.flavor === 'mariadb'
      ? 'SELECT @@global.read_only'
      : 'SELECT @@global.read_only, @@global.super_read_only, @@global.innodb_read_only';
  try {
    connectionQuery.call(entry.conn, { sql, rowsAsArray: true, nestTables: false, typeCast: true }, (err: unknown, rows: unknown) => {
      if (err || !Array.isArray(rows) || !Array.isArray(rows[0])) return done(undefined);
      done((rows[0] as unknown[]).some(isOn));
    });
  } catch {
    done(undefined);
  }
}

/** A server variable's value means "on": 1, '1', 'ON', MariaDB 11's 'NO_LOCK'...; not 0, '0', 'OFF', NULL. */
function isOn(value: unknown): boolean {
  if (value === null || value === undefined || value === 0 || value === false) return false;
  const text = Buffer.isBuffer(value) ? value.toString() : String(value);
  return text !== '0' && text.toUpperCase() !== 'OFF' && text !== '';
}
