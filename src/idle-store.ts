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
   * Connections released with nobody waiting, kept out of generic-pool until the event loop turns: a call made
   * meanwhile (the next query of a promise chain, of a callback) takes one at once, without generic-pool's
   * promise round trip. The rest go back to generic-pool (flush). Still borrowed from generic-pool meanwhile.
   */
  private readonly recent: PoolEntry[] = [];
  private flushScheduled = false;

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

  get hasRecent(): boolean {
    return this.recent.length > 0;
  }

  /** Keeps a released connection at hand until the event loop turns (see `recent`). */
  park(entry: PoolEntry): void {
    this.recent.push(entry);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** The most recently parked connection `usable` accepts; those it refuses go back to generic-pool. */
  takeRecent(usable: (entry: PoolEntry, now: number) => boolean, now: number): PoolEntry | undefined {
    for (let entry = this.recent.pop(); entry; entry = this.recent.pop()) {
      if (usable(entry, now)) return entry;
      void this.gp.release(entry);
    }
    return undefined;
  }

  /** A connection being closed: if it was parked, its generic-pool slot is given back now. */
  unpark(entry: PoolEntry): void {
    const parked = this.recent.indexOf(entry);
    if (parked < 0) return;
    this.recent.splice(parked, 1);
    void this.gp.destroy(entry);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    for (const entry of this.recent) void this.gp.release(entry);
    this.recent.length = 0;
  };

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
    if (this.evictionTimer) this.clock.clearTimeout(this.evictionTimer);
    this.evictionTimer = undefined;
    return this.gp.drain().then(() => this.gp.clear());
  }
}

/** generic-pool's `max` for a mysql2 connectionLimit (0: no limit). */
function maxFor(connectionLimit: number): number {
  return connectionLimit > 0 ? connectionLimit : Number.MAX_SAFE_INTEGER;
}
