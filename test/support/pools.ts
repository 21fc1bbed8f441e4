/**
 * Ending pools in tests, written once: every `end()` bounded (a pool whose end() never calls back fails the test
 * instead of hanging it), and never called twice on the same pool by the helpers (a second mysql2 `end()` calls back
 * with "Pool is closed"; a test that means to call it twice calls `pool.end()` itself). Also the pool maker of a test
 * file (`poolMaker`) and a bounded checkout.
 */
import type { Pool, PoolConnection } from 'mysql2';
import { createResilientPool, type ResilientPool, type ResilientPoolOptions } from '../../src/index.js';
import { bounded } from './wait.js';

/** Anything with mysql2's callback `end()`: mysql2's pool, the resilient pool, a pool cluster. */
export interface Endable {
  end(cb: (err?: unknown) => void): void;
}

const ended = new WeakMap<Endable, Promise<unknown>>();

/**
 * Ends `pool` and resolves with what its callback was given (null when nothing); rejects if it has not called back
 * within `ms`. A second call for the same pool returns the first call's promise.
 */
export function endPool(pool: Endable, ms = 15_000): Promise<unknown> {
  let p = ended.get(pool);
  if (!p) {
    p = bounded(new Promise((resolve) => pool.end((err) => resolve(err ?? null))), ms, 'pool.end()');
    ended.set(pool, p);
  }
  return p;
}

/** Ends these pools at once; rejects if any end() calls back with an error or not within `ms`. */
export async function endPools(pools: Iterable<Endable>, ms = 15_000): Promise<void> {
  const errors = await Promise.all([...pools].map((p) => endPool(p, ms)));
  const failed = errors.find((err) => err !== null);
  if (failed !== undefined) throw failed;
}

/**
 * The pools of one test file: `pool(extra)` makes a resilient pool with `base()` and then `extra`, and remembers it;
 * `endAll()` ends every pool made since the last call (for an `after` hook). `base` is read at each call: a private
 * server's address is known only once its `before` hook has run.
 */
export function poolMaker(base: () => Partial<ResilientPoolOptions>): {
  pool: (extra?: Partial<ResilientPoolOptions>) => ResilientPool;
  endAll: () => Promise<void>;
} {
  const made: ResilientPool[] = [];
  return {
    pool: (extra = {}) => {
      const p = createResilientPool({ ...base(), ...extra });
      made.push(p);
      return p;
    },
    endAll: () => endPools(made.splice(0)),
  };
}

/** A checkout: resolves with the connection, rejects with the pool's error, or fails the test after `ms`. */
export function checkout(pool: Pick<Pool, 'getConnection'>, ms = 10_000): Promise<PoolConnection> {
  return bounded(
    new Promise((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn)))),
    ms,
    'a checkout',
  );
}
