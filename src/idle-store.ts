/**
 * The idle connections, and the accounting of creates and destroys: generic-pool 3.9 underneath (the only file
 * that imports it). It keeps the idle list (LIFO, as mysql2: the hottest connection is reused inside the ping skip
 * window, the coldest age out), min/max, and validation on the way out (the pool's `validate`).
 *
 * Eviction runs every second from the pool's own clock (generic-pool's own timer is off), so fake time drives it
 * in unit tests; the pool's `evict` decides for each idle connection.
 */
import * as genericPool from 'generic-pool';
import type { Clock, TimerHandle } from './clock.js';
import { newGenericPool, runGenericPoolEviction, setGenericPoolMax } from './mysql2-internals.js';
import { CreateFailure } from './pooled-connection.js';
import type { PoolEntry, Resource } from './pooled-connection.js';

/** How often idle connections are checked for eviction (ms). */
export const EVICTION_INTERVAL = 1_000;

export interface IdleStoreHooks {
  create(): Promise<Resource>;
  destroy(resource: Resource): Promise<void>;
  /** On the way out to a caller: false drops it (generic-pool destroys it and tries the next). */
  validate(resource: Resource): Promise<boolean>;
  /** Whether an idle resource must go now; `available` is the idle count. */
  evict(resource: Resource, available: number): boolean;
}

export class IdleStore {
  private readonly gp: genericPool.Pool<Resource>;
  private evictionTimer: TimerHandle | undefined;
  /**
   * Connections released with nobody waiting, kept out of generic-pool: the next call (of a promise chain, of a
   * callback) takes one at once, without generic-pool's promise round trip. Still borrowed from generic-pool
   * meanwhile; they go back to it (flush) whenever generic-pool is asked for a connection, at every eviction run,
   * and on drain. No timer per park: a pending setImmediate would cost the event loop an extra turn (an extra
   * epoll_wait) per query.
   */
  private readonly recent: PoolEntry[] = [];

  constructor(
    private readonly clock: Clock,
    hooks: IdleStoreHooks,
    connectionLimit: number,
    minConnections: number,
  ) {
    this.gp = newGenericPool<Resource>(
      genericPool,
      (resource, available) => hooks.evict(resource, available),
      { create: hooks.create, destroy: hooks.destroy, validate: hooks.validate },
      {
        max: maxFor(connectionLimit),
        min: minConnections,
        testOnBorrow: true,
        fifo: false,
        // Off: eviction runs from the pool's clock (below).
        evictionRunIntervalMillis: 0,
        // Every idle connection each run (the number is only an upper bound), whatever connectionLimit becomes.
        numTestsPerEvictionRun: 1_000,
        // The pool's evict() decides; these only keep generic-pool's defaults from acting.
        softIdleTimeoutMillis: -1,
        idleTimeoutMillis: Number.MAX_SAFE_INTEGER,
      },
    );
    this.scheduleEviction();
  }

  /** Background: eviction is housekeeping, it never keeps the process alive. */
  private scheduleEviction(): void {
    this.evictionTimer = this.clock.setBackgroundTimeout(() => {
      // Parked connections are idle too: the run must see them.
      this.flush();
      runGenericPoolEviction(this.gp);
      this.scheduleEviction();
    }, EVICTION_INTERVAL);
  }

  /** An idle connection validated on its way out, or a new one, or a CreateFailure; rejects only while draining. */
  acquire(): Promise<Resource> {
    // Connections released a moment ago go back first, so generic-pool hands them out rather than open new ones.
    if (this.recent.length > 0) this.flush();
    return this.gp.acquire();
  }

  /** An idle or new connection for the pool's own use (the read-only check); undefined when none could be had. */
  borrow(): Promise<PoolEntry | undefined> {
    return this.acquire().then((resource) => {
      if (!(resource instanceof CreateFailure)) return resource;
      return void this.destroy(resource);
    });
  }

  get hasRecent(): boolean {
    return this.recent.length > 0;
  }

  /** Keeps a released connection at hand for the next checkout (see `recent`). */
  park(entry: PoolEntry): void {
    this.recent.push(entry);
  }

  /**
   * The most recently parked connection, if `usable` accepts it. If not (idle past the skip window, or to be closed),
   * every parked one goes back to generic-pool, oldest first: its LIFO list then hands out the most recent first, as
   * if none had been parked (a ping that times out on it presumes the older ones dead, see health.ts).
   */
  takeRecent(usable: (entry: PoolEntry, now: number) => boolean, now: number): PoolEntry | undefined {
    const entry = this.recent.pop();
    if (entry === undefined) return undefined;
    if (usable(entry, now)) return entry;
    this.recent.push(entry);
    this.flush();
    return undefined;
  }

  /** A connection being closed: if it was parked, its generic-pool slot is given back now. */
  unpark(entry: PoolEntry): void {
    const parked = this.recent.indexOf(entry);
    if (parked < 0) return;
    this.recent.splice(parked, 1);
    void this.gp.destroy(entry);
  }

  private flush(): void {
    if (this.recent.length === 0) return;
    for (const entry of this.recent) void this.gp.release(entry);
    this.recent.length = 0;
  }

  /** Back to the idle list. */
  release(entry: PoolEntry): void {
    void this.gp.release(entry);
  }

  /** Out of the accounting (the pool's destroy hook closes it). */
  destroy(resource: Resource): void {
    void this.gp.destroy(resource);
  }

  isBorrowed(entry: PoolEntry): boolean {
    return this.gp.isBorrowedResource(entry);
  }

  /** Connections open or opening, as generic-pool counts them. */
  get size(): number {
    return this.gp.size;
  }

  /** A new connectionLimit: takes effect for the next connection it would open. */
  setLimit(connectionLimit: number): void {
    setGenericPoolMax(this.gp, maxFor(connectionLimit));
  }

  /** Stops eviction (end(): every idle connection is closed anyway) and lets generic-pool settle its own requests. */
  drain(): Promise<void> {
    this.flush();
    if (this.evictionTimer) this.clock.clearTimeout(this.evictionTimer);
    this.evictionTimer = undefined;
    return this.gp.drain().then(() => this.gp.clear());
  }
}

/** generic-pool's `max` for a mysql2 connectionLimit (0: no limit). */
function maxFor(connectionLimit: number): number {
  return connectionLimit > 0 ? connectionLimit : Number.MAX_SAFE_INTEGER;
}
