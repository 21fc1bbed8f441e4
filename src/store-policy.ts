/**
 * What the idle store (idle-store.ts) asks the pool: may this connection go out (validate, on checkout), must this
 * idle one go now (evict, every eviction run), and close this one (destroy). The answers come from health.ts's one
 * close-reason function; a ping (Connector.ping) only when the connection is outside the ping skip window.
 */
import { FRESH_ERROR } from './backoff.js';
import type { Clock } from './clock.js';
import type { Health } from './health.js';
import type { ResolvedOptions } from './options.js';
import { CreateFailure, PoolEntry } from './pooled-connection.js';
import type { CloseReason, Resource } from './pooled-connection.js';

const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);

/** What the policy needs of the pool (pool.ts; structural, so this file does not import it). */
export interface StorePolicyHost {
  readonly opts: ResolvedOptions;
  /** mysql2's pool.config, read when used (a user may change it after creation). */
  readonly config: { idleTimeout: number; maxIdle: number };
  readonly clock: Clock;
  readonly health: Health;
  /** The server's limits are learnt after the first connect: read `limits` when used. */
  readonly connector: { readonly limits: { idleLimit: number }; ping(entry: PoolEntry): Promise<boolean> };
  /** Read lazily: the store is built with this policy's hooks. */
  readonly store: { readonly size: number };
  readonly entries: Set<PoolEntry>;
  readonly loans: { close(entry: PoolEntry, reason: CloseReason): void };
}

export class StorePolicy {
  constructor(private readonly pool: StorePolicyHost) {}

  /** On the way out to a caller: false drops it (the store destroys it and tries the next). */
  readonly validate = (resource: Resource): Promise<boolean> => {
    const pool = this.pool;
    const now = pool.clock.now();
    // A failure waiting in the idle list is handed out only while it is fresh.
    if (resource instanceof CreateFailure) return now - resource.at < FRESH_ERROR ? TRUE : FALSE;
    const entry = resource;
    entry.state = 'validating';
    const reason = pool.health.closeReason(entry, now, 'checkout', pool.connector.limits.idleLimit);
    if (reason) {
      entry.closeReason = reason;
      return FALSE;
    }
    if (pool.health.maySkipPing(entry, now, pool.opts.pingSkipWindow)) return TRUE;
    return pool.connector.ping(entry);
  };

  /** Whether an idle resource must go now; `available` is the idle count. */
  readonly evict = (resource: Resource, available: number): boolean => {
    if (resource instanceof CreateFailure) return true;
    const pool = this.pool;
    const aboveMin = pool.store.size > pool.opts.minConnections;
    const reason = pool.health.evictReason(resource, pool.clock.now(), pool.connector.limits.idleLimit, {
      idleTimeout: aboveMin ? this.idleTimeoutInForce() : Infinity,
      maxIdle: aboveMin ? pool.config.maxIdle : Infinity,
      available,
      entries: pool.entries,
    });
    if (reason) resource.closeReason = reason;
    return reason !== undefined;
  };

  /** The store lets go of a resource: a connection is closed (the reason validate or evict gave, else 'broken'). */
  readonly destroy = (resource: Resource): Promise<void> => {
    if (resource instanceof PoolEntry) this.pool.loans.close(resource, resource.closeReason ?? 'broken');
    return Promise.resolve();
  };

  /** pool.config.idleTimeout as it is now (0: none), within what the server and network allow. */
  idleTimeoutInForce(): number {
    const requested = this.pool.config.idleTimeout > 0 ? this.pool.config.idleTimeout : Infinity;
    return Math.min(requested, this.pool.connector.limits.idleLimit);
  }
}
