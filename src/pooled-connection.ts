import type { PoolConnection } from 'mysql2';
import type { TimerHandle } from './clock.js';
import type { Flavor } from './error-table.js';

/**
 * Where a connection is in its life. State is a field, not "which list it is
 * in": generic-pool holds the idle list, this record says what it is.
 * - `connecting`: handshake (and the first-connection server probe) running;
 * - `idle`: in generic-pool's available list;
 * - `validating`: being checked (maybe pinged) on its way out;
 * - `busy`: checked out (by the caller of getConnection, or by a pool-level query);
 * - `releasing`: released, being checked before it goes back (within release() when plainly reusable, else on
 *   the next tick);
 * - `closed`: dropped; never handed out again.
 */
export type EntryState = 'connecting' | 'idle' | 'validating' | 'busy' | 'releasing' | 'closed';

/**
 * Why the pool closed a connection: the `evict` event's reason, the keys of `stats().destroyed`, the
 * `reason` attribute of the closed-connections metric. The README's `evict` row lists exactly these
 * (test/unit/stats.test.ts checks it).
 */
export const EVICT_REASONS = [
  'lifetime',
  'idle',
  'max-idle',
  'ping-failed',
  'ping-timeout',
  'presumed-dead',
  'broken',
  'busy-on-release',
  'in-transaction',
  'reset-failed',
  'retired',
  'user-destroy',
  'pool-end',
  'error',
] as const;

export type EvictReason = (typeof EVICT_REASONS)[number];

/** Why a connection was closed; the labels used in logs. `connect-failed` (a handshake that failed) is logged only: no `evict`, not counted in stats().destroyed. */
export type CloseReason = EvictReason | 'connect-failed';

let nextId = 1;

/** The pool's record of one physical connection. */
export class PoolEntry {
  /** Small, process-unique; shown in logs next to the server's thread id. */
  readonly id = nextId++;
  state: EntryState = 'connecting';
  /** When the connection was opened. */
  readonly createdAt: number;
  /** When it must be closed (lifetime with jitter); Infinity for none. Set once the server's limits are known. */
  expiresAt: number;
  /** When the current checkout handed it out (undefined when not checked out by a caller); for use-time metrics. */
  checkedOutAt: number | undefined;
  /** When it was last released (or created); drives the ping skip window and idle eviction. */
  lastUsedAt: number;
  /** A held connection started a transaction (or turned autocommit off) and did not end it. */
  inTransaction = false;
  /** A held connection turned autocommit off: every statement is in a transaction. */
  autocommitOff = false;
  /** An error in reply to a held connection's command said not to reuse it (e.g. read-only after failover). */
  discard = false;
  /**
   * @internal The command whose reply callback is running (a held connection's; see connection-factory.ts): a
   * release from inside that callback does not count it as still running (any other command on it does).
   */
  replying: object | undefined;
  /** @internal Set by the pool: errors of a held connection's commands (`cmd`: mysql2's command, if it made one). */
  onCommandError: ((err: unknown, cmd: unknown) => void) | undefined;
  /** Leak detection: the pending report for the current checkout, if any. */
  leakTimer: TimerHandle | undefined;
  /** Set when the connection is known dead (error, end, destroy): never validated, never reused. */
  dead = false;
  /** Why it was closed, once it is. */
  closeReason: CloseReason | undefined;
  /** Server flavour, from the handshake. */
  flavor: Flavor = 'mysql';
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    readonly conn: PoolConnection,
    now: number,
    lifetime: number,
  ) {
    this.createdAt = now;
    this.lastUsedAt = now;
    this.expiresAt = lifetime > 0 ? now + lifetime : Infinity;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get threadId(): number | null {
    return this.conn.threadId ?? null;
  }

  /** Marks the socket closed; idempotent. */
  socketClosed(): void {
    this.resolveClosed();
  }

  toString(): string {
    return `#${this.id}(thread ${this.threadId ?? '?'})`;
  }
}

/**
 * What the factory resolves when a connect fails. generic-pool retries a
 * rejected create at once, in a tight loop, and never tells the waiting
 * caller why; resolving this stand-in instead hands the real error (ECONNREFUSED,
 * ER_ACCESS_DENIED_ERROR, ...) to the caller and lets generic-pool settle the
 * request. It is destroyed as soon as it comes out of generic-pool.
 */
export class CreateFailure {
  constructor(
    readonly error: Error,
    readonly at: number,
  ) {}
}

export type Resource = PoolEntry | CreateFailure;

const ENTRY = Symbol('resilient-mysql-pool.entry');
/** A connection of the pool carries its record under a symbol (one property read to find it). */
export type TaggedConnection = PoolConnection & { [ENTRY]?: PoolEntry };

export function tagConnection(conn: PoolConnection, entry: PoolEntry): void {
  (conn as TaggedConnection)[ENTRY] = entry;
}

/** The pool's record of a connection (a PoolConnection, or a promise wrapper's `.connection`); undefined if not ours. */
export function entryOf(conn: unknown): PoolEntry | undefined {
  return conn ? (conn as TaggedConnection)[ENTRY] : undefined;
}
