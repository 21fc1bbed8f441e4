/**
 * Lending: how a connection goes out to a caller and comes back. A checkout takes a connection released a moment
 * ago (takeRecent: a few reads), or waits (waiters.ts) for one the idle store validates or opens; a release goes to
 * the next caller or is kept at hand at once when it is plainly reusable (as in mysql2), else settles on the next
 * tick (back to the store, or closed). One close() for a connection,
 * wherever it is (HikariCP's PoolEntry.close): it clears the leak watch, the counts, the stats, the store's loan and
 * the socket, once.
 *
 * The counts below are what the pool's decisions read: `held + waiting` against connectionLimit (must a caller
 * wait?), `inFlight + releasing` against `waiting` (is a connection already coming for each waiting caller?).
 */
import type { PoolConnection } from 'mysql2';
import type { Backoff } from './backoff.js';
import type { Clock } from './clock.js';
import { ErrorCodes, PoolError, poolClosedError } from './errors.js';
import type { Health } from './health.js';
import type { IdleStore } from './idle-store.js';
import type { LeakDetector } from './leak-detector.js';
import { log } from './log.js';
import { hasPendingCommand, isBroken, markCheckedOut } from './mysql2-internals.js';
import type { ResolvedOptions } from './options.js';
import { CreateFailure } from './pooled-connection.js';
import type { CloseReason, PoolEntry, Resource } from './pooled-connection.js';
import type { Stats } from './stats.js';
import { acquireTimeoutError, answer } from './waiters.js';
import type { Waiter, Waiters } from './waiters.js';

/** What lending needs of the pool (pool.ts; structural, so this file does not import it). */
export interface LendingHost {
  readonly opts: ResolvedOptions;
  /** mysql2's pool.config, read when used: connectionLimit may change after creation. */
  readonly config: { connectionLimit: number; waitForConnections: boolean; queueLimit: number };
  readonly clock: Clock;
  readonly stats_: Stats;
  readonly store: IdleStore;
  readonly waiters: Waiters;
  readonly backoff: Backoff;
  readonly health: Health;
  readonly leaks: LeakDetector;
  /** The server's limits are learnt after the first connect: read `limits` when used. */
  readonly connector: { readonly limits: { idleLimit: number }; quit(conn: PoolConnection, healthy: boolean, afterPending?: boolean): void };
  /** A read-only check running: connections as old as `since` released meanwhile wait for its verdict. */
  readonly readOnly: { readonly running: { since: number; verdict: Promise<unknown> } | undefined };
  /** Every connection open or opening. */
  readonly entries: Set<PoolEntry>;
  /** Sockets of closed connections that have not finished closing yet. */
  readonly closingSockets: Set<Promise<void>>;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  /** EventEmitter's: the hot path emits `acquire`/`release` only when someone listens (no argument array). */
  listenerCount(event: string | symbol): number;
  hasConnections(): boolean;
  snapshot(): { total: number; idle: number; busy: number; waiting: number };
}

export class Lending {
  /** Connections checked out by a caller (or the read-only check) and not yet released (state 'busy'). */
  held = 0;
  /** Idle-store acquires not yet settled; kept <= waiting callers, so none is ever orphaned for long. */
  inFlight = 0;
  /** Connections released and settling (next tick); they go to waiters first. */
  releasing = 0;
  // The pool's parts, read directly (one property read each on the hot path, as when this code was the pool's).
  private readonly opts: ResolvedOptions;
  private readonly config: LendingHost['config'];
  private readonly clock: Clock;
  private readonly stats: Stats;
  private readonly store: IdleStore;
  private readonly waiters: Waiters;
  private readonly health: Health;
  private readonly backoff: Backoff;
  private readonly leaks: LeakDetector;
  private readonly connector: LendingHost['connector'];
  private readonly readOnly: LendingHost['readOnly'];

  constructor(private readonly pool: LendingHost) {
    this.opts = pool.opts;
    this.config = pool.config;
    this.clock = pool.clock;
    this.stats = pool.stats_;
    this.store = pool.store;
    this.waiters = pool.waiters;
    this.health = pool.health;
    this.backoff = pool.backoff;
    this.leaks = pool.leaks;
    this.connector = pool.connector;
    this.readOnly = pool.readOnly;
  }

  // ---------------------------------------------------------------- checkout

  /**
   * Hands a validated connection to `cb` (always asynchronously), or an error: pool closed, queue limit, acquire
   * timeout, or the real connect error when no connection of the pool could serve.
   */
  acquire(now: number, waiter: Waiter): void {
    if (this.health.closing) return refuse(waiter, poolClosedError());
    const { connectionLimit, waitForConnections, queueLimit } = this.config;
    // As in mysql2: a caller waits ("enqueue", queueLimit, waitForConnections) when every connection the limit
    // allows is held by a caller or promised to a caller already waiting. A connection released this tick is free,
    // as it is at once in mysql2; one that callers waiting before this one will take is not, however many arrive in
    // the same tick.
    const mustWait = connectionLimit > 0 && this.held + this.waiters.waiting >= connectionLimit;
    if (mustWait) {
      if (!waitForConnections) return refuse(waiter, new PoolError(ErrorCodes.NO_CONNECTIONS, 'No connections available.'));
      if (queueLimit > 0 && this.waiters.queued >= queueLimit) return refuse(waiter, new PoolError(ErrorCodes.QUEUE_LIMIT, 'Queue limit reached.'));
    }
    if (!mustWait && this.waiters.waiting === 0 && this.store.hasRecent && this.takeRecent(waiter, now)) return;
    // Server down and nothing open or opening: fail fast with the real error, if it is fresh (see backoff.ts);
    // otherwise this caller dials (or joins the attempt in flight) and waits for the outcome. (Connects failing is
    // rare: the walk over the connections is done only then.)
    const failure = this.backoff.mayFailFast() ? this.backoff.failFast(now, this.pool.hasConnections()) : undefined;
    if (failure) {
      this.stats.acquireFailed();
      return refuse(waiter, failure);
    }
    waiter.startedAt = now;
    waiter.queued = mustWait;
    waiter.done = false;
    if (waiter.cause !== undefined) waiter.cause = undefined;
    this.waiters.add(waiter, now);
    if (mustWait) this.pool.emit('enqueue');
    this.requestConnection();
  }

  /**
   * The checkout of a connection released a moment ago: a few reads, no promise, no waiter record. Handed out
   * without a ping under the same conditions as the store's validate would; one that needs a check goes back to the
   * idle store, which pings or drops it.
   */
  private takeRecent(waiter: Waiter, now: number): boolean {
    const entry = this.store.takeRecent(this.usableWithoutPing, now);
    if (!entry) return false;
    this.lend(entry);
    entry.checkedOutAt = now;
    this.stats.acquired(0);
    if (this.pool.listenerCount('acquire') > 0) this.pool.emit('acquire', entry.conn);
    process.nextTick(answer, waiter, null, entry);
    return true;
  }

  /** What the store's validate lets through without a ping. */
  private readonly usableWithoutPing = (entry: PoolEntry, now: number): boolean =>
    entry.state === 'idle' &&
    this.health.closeReason(entry, now, 'checkout', this.connector.limits.idleLimit) === undefined &&
    this.health.maySkipPing(entry, now, this.opts.pingSkipWindow);

  /**
   * Asks the idle store for one more connection if the callers waiting outnumber what is already coming: acquires
   * in flight plus connections being released (a query issued from the previous one's callback gets that
   * connection back instead of opening a second one).
   */
  requestConnection(): void {
    if (this.inFlight + this.releasing >= this.waiters.waiting) return;
    // No more requests than the store can serve; a release, a freed slot (close) or a higher limit asks again.
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
      if (this.health.closing) return this.fail(waiter, poolClosedError());
      if (this.pool.hasConnections()) {
        // Connections exist or are opening (e.g. ER_CON_COUNT_ERROR while they are busy, or before the ones that
        // got a slot finish their handshake): wait for one of them rather than fail, remembering why this attempt
        // failed (the acquire-timeout error carries it).
        waiter.cause = resource.error;
        this.waiters.requeueFront(waiter);
        this.requestConnection();
        return;
      }
      return this.fail(waiter, resource.error);
    }
    if (!waiter || this.health.closing) {
      // The caller it was meant for has gone (timed out, handed a released connection meanwhile, or the pool is
      // ending).
      this.giveBack(resource);
      if (waiter) this.fail(waiter, poolClosedError());
      return;
    }
    this.handOut(resource, waiter, this.clock.now());
  };

  private readonly onAcquireRejected = (err: unknown): void => {
    // generic-pool rejects only while draining: end() has already failed every waiter.
    this.inFlight--;
    log.pool('generic-pool acquire rejected: %s', (err as Error)?.message);
  };

  private handOut(entry: PoolEntry, waiter: Waiter, now: number, later = false): void {
    this.waiters.settle(waiter);
    this.lend(entry);
    entry.checkedOutAt = now;
    this.stats.acquired(now - waiter.startedAt);
    if (this.pool.listenerCount('acquire') > 0) this.pool.emit('acquire', entry.conn);
    if (later) process.nextTick(answer, waiter, null, entry);
    else answer(waiter, null, entry);
  }

  fail(waiter: Waiter, err: Error): void {
    if (!this.waiters.settle(waiter)) return;
    this.stats.acquireFailed();
    answer(waiter, err);
  }

  /** The waiters' deadline passed: ACQUIRE_TIMEOUT, with the connect error of its own attempt, else the last one. */
  readonly timedOut = (waiter: Waiter): void => {
    this.stats.acquireTimedOut();
    const ms = this.opts.acquireTimeout;
    const cause = waiter.cause ?? this.backoff.lastError(this.clock.now(), ms || Infinity);
    this.fail(waiter, acquireTimeoutError(ms, this.pool.snapshot(), this.config.connectionLimit, cause));
  };

  /** Checks a connection out: held (a caller's, or the read-only check's) until released. */
  lend(entry: PoolEntry): void {
    entry.state = 'busy';
    this.held++;
    markCheckedOut(entry.conn);
  }

  /** A connection borrowed for the pool's own use that is no longer wanted: back to the pool. */
  giveBack(entry: PoolEntry): void {
    if (this.health.closing) {
      entry.closeReason = 'pool-end';
      return this.store.destroy(entry);
    }
    entry.state = 'idle';
    this.store.release(entry);
  }

  // ---------------------------------------------------------------- release

  /**
   * A held connection comes back. As in mysql2 it is back at once (the next checkout, even in the same tick, takes
   * it) when it is plainly reusable: no command of it still running but `finishing` (the one whose callback
   * releases it: mysql2 moves past it as soon as that callback returns), no reset to run, no read-only check to wait
   * for, and no reason to close it. Anything else settles on the next tick (settleRelease): a close or a reset must
   * not run inside mysql2's handling of the reply. A waiting caller is answered on a later tick either way, never
   * inside the releaser's stack.
   */
  release(entry: PoolEntry, finishing: object | undefined = entry.replying): void {
    this.leaks.stop(entry);
    // The one clock read of a release: the checks and a hand-out to the next caller go by it too.
    const now = this.clock.now();
    entry.lastUsedAt = now;
    entry.state = 'releasing';
    this.held--;
    this.stats.returned(entry, now);
    this.releasing++;
    if (
      this.readOnly.running === undefined &&
      !this.opts.resetOnRelease &&
      this.health.closeReason(entry, now, 'release', Infinity, finishing) === undefined
    ) {
      this.releasing--;
      this.returnToService(entry, true);
      return;
    }
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
    // The release's own time (a tick ago): a lifetime that ends in between is caught at the next checkout.
    const reason = this.health.closeReason(entry, entry.lastUsedAt, 'release', Infinity);
    if (reason) return this.close(entry, reason);
    if (this.opts.resetOnRelease) {
      entry.conn.reset((err: unknown) => {
        if (entry.state !== 'releasing') return; // closed meanwhile (destroyed, end())
        if (err) return this.close(entry, 'reset-failed');
        this.releasing--;
        entry.lastUsedAt = this.clock.now();
        this.returnToService(entry, false);
      });
      return;
    }
    this.releasing--;
    this.returnToService(entry, false);
  };

  /** `later`: called from the releaser's stack, so a waiting caller is answered on the next tick. */
  private returnToService(entry: PoolEntry, later: boolean): void {
    if (this.pool.listenerCount('release') > 0) this.pool.emit('release', entry.conn);
    // Straight to the next caller when it needs no check: it was used a moment ago. With pingSkipWindow 0 (ping
    // every checkout), or when a sibling died since, it goes back through the idle store's validation instead.
    const check = this.opts.pingSkipWindow === 0 || entry.lastUsedAt <= this.health.suspectBefore;
    const waiter = this.waiters.waiting > 0 && !check ? this.waiters.next() : undefined;
    if (waiter) {
      this.handOut(entry, waiter, entry.lastUsedAt, later);
      return;
    }
    entry.state = 'idle';
    // Nobody waits: kept at hand (the next call of a promise chain, of a callback, takes it at once).
    if (this.waiters.waiting === 0 && !check) return this.store.park(entry);
    this.store.release(entry);
    this.requestConnection();
  }

  // ---------------------------------------------------------------- close

  /**
   * Closes a connection for good, wherever it is: held (an error, destroy(), end()), released but not reusable,
   * refused on checkout or by eviction (the store's destroy), or a connect that failed. Clears everything, once:
   * state and reason, the leak watch, the caller's slot (held or releasing; the waiters are then found another
   * connection), use-time stats, the store's record (parked or lent), then the socket: COM_QUIT when it is healthy
   * (after its holder's statements still queued on it, if it was released with some), at once when it is dead or a
   * command of the pool's own is cut (Connector.quit). Idempotent.
   */
  close(entry: PoolEntry, reason: CloseReason): void {
    if (!this.pool.entries.delete(entry)) return;
    const was = entry.state;
    entry.state = 'closed';
    entry.closeReason ??= reason;
    this.leaks.stop(entry);
    if (was === 'busy') this.held--;
    else if (was === 'releasing') this.releasing--;
    this.stats.returned(entry, this.clock.now());
    this.store.unpark(entry);
    const conn = entry.conn;
    const pending = hasPendingCommand(conn);
    const healthy = !entry.dead && !isBroken(conn) && entry.threadId !== null && (!pending || reason === 'busy-on-release');
    entry.dead = true;
    const closing = this.pool.closingSockets.add(entry.closed);
    void entry.closed.then(() => closing.delete(entry.closed));
    if (reason !== 'connect-failed') {
      this.stats.destroyed(entry.closeReason);
      log.connection('%s closed: %s', entry, entry.closeReason);
      this.pool.emit('evict', conn, entry.closeReason);
    }
    this.connector.quit(conn, healthy, pending);
    // Lent by the store (held, or released and settling): its slot there is given back.
    if (this.store.isBorrowed(entry)) this.store.destroy(entry);
    if (was === 'busy' || was === 'releasing') this.requestConnection();
  }
}

/** A checkout answered with an error before it waited (on the next tick, as every checkout is answered). */
function refuse(waiter: Waiter, err: Error): void {
  process.nextTick(answer, waiter, err);
}
