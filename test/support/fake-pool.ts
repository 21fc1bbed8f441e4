/**
 * A ResilientPool on fake time with fake connections (fake-clock.ts, fake-connection.ts), for unit tests of the
 * pool's timer-driven behaviour: time moves only on `clock.advance()`, and `settle()` lets the ticks, promise
 * continuations and immediates that the fakes and generic-pool answer on run in between.
 */
import type { PoolConnection } from 'mysql2';
import { CONNECTION_FACTORY } from '../../src/connection-factory.js';
import { ResilientPool } from '../../src/pool.js';
import type { ResilientPoolOptions } from '../../src/options.js';
import { FakeClock } from './fake-clock.js';
import { FakeConnections } from './fake-connection.js';

/** Lets every pending tick, promise continuation and immediate run (a few rounds: chains of them). No time passes. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

export function makeFakePool(options: ResilientPoolOptions = {}): { pool: ResilientPool; clock: FakeClock; fakes: FakeConnections } {
  const clock = new FakeClock();
  const fakes = new FakeConnections();
  const all = { host: 'fake.invalid', clock, ...options, [CONNECTION_FACTORY]: fakes };
  return { pool: new ResilientPool(all), clock, fakes };
}

export function getConnection(pool: ResilientPool): Promise<PoolConnection> {
  return new Promise((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))));
}

/** end() as a promise, and whether it has settled yet. */
export function ending(pool: ResilientPool): { done: Promise<void>; settled: () => boolean } {
  let settled = false;
  const done = new Promise<void>((resolve, reject) => pool.end((err) => (err ? reject(err) : resolve()))).finally(
    () => (settled = true),
  );
  return { done, settled: () => settled };
}

/** Ends the pool (nothing held) and resolves once it has; no time passes. */
export async function endNow(pool: ResilientPool): Promise<void> {
  const end = ending(pool);
  await settle();
  await end.done;
}
