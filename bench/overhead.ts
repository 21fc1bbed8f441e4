/**
 * npm run bench:overhead: what the pool itself costs per call, without the network: this pool and mysql2's own,
 * in one process, on the same fake connections (test/support/fake-connection.ts: mysql2 PoolConnections whose
 * commands are answered on the next tick, no socket). What is left once the server, the kernel and the wire are
 * taken away is the pools' own JavaScript (checkout, release, bookkeeping, the callbacks they allocate) plus
 * mysql2's command objects, which both pay alike. It is far steadier than `npm run bench` on a busy machine (no
 * syscalls, no second process), and it is the cost the hot path work of issue 10 aims at.
 *
 * Contestants: `mysql2` (mysql2.createPool, its 10 connections put in its free list), `mysql2-b` (a second
 * identical one: its ratio to `mysql2` is the A/A band), `resilient` (this package as built, dist/, default
 * options), and `bare` (one fake connection, no pool: the floor). Rows: callback and promise × query and execute ×
 * concurrency 1 and 16, and a held connection (getConnection, one query, release) at concurrency 1. Interleaved
 * rounds, the order rotating; each figure is the CPU time (user + system of this process) per call, ratios taken
 * per round, medians printed.
 *
 *   npm run build && node --import tsx bench/overhead.ts
 *
 * Environment: OVERHEAD_ROUNDS (default 12), OVERHEAD_CALLS per measurement (default 20000).
 */
import type { Pool } from 'mysql2';
import mysql2 from 'mysql2';
import type * as Library from '../src/index.js';
import type { ConnectionFactory } from '../src/connection-factory.js';
import { FakeConnections } from '../test/support/fake-connection.js';
import { median, rotate } from './harness.js';

// The built package, as users run it (see bench.ts). CONNECTION_FACTORY is the test seam for fake connections.
/* eslint-disable @typescript-eslint/no-require-imports */
const { createResilientPool } = require('../dist/index.js') as typeof Library;
const { CONNECTION_FACTORY } = require('../dist/connection-factory.js') as { CONNECTION_FACTORY: symbol };
/* eslint-enable @typescript-eslint/no-require-imports */

const ROUNDS = Number(process.env.OVERHEAD_ROUNDS ?? 12);
const CALLS = Number(process.env.OVERHEAD_CALLS ?? 20_000);
const LIMIT = 10;

type Done = (err?: unknown) => void;
type Op = (done: Done) => void;
type Name = 'mysql2' | 'mysql2-b' | 'resilient' | 'bare';

const fakes = new FakeConnections();

/** mysql2's pool with LIMIT fake connections in its free list (as after a warm-up). */
function mysql2Pool(): Pool {
  const pool = mysql2.createPool({ host: 'fake.invalid', connectionLimit: LIMIT });
  const internals = pool as unknown as { _allConnections: { push(c: unknown): void }; _freeConnections: { push(c: unknown): void } };
  const config = (pool as unknown as { config: { connectionConfig: object } }).config.connectionConfig;
  for (let i = 0; i < LIMIT; i++) {
    const conn = fakes.create(pool as never, config as never) as unknown as { threadId: number; lastActiveTime: number };
    conn.threadId = 10_000 + i;
    conn.lastActiveTime = Date.now();
    internals._allConnections.push(conn);
    internals._freeConnections.push(conn);
  }
  return pool;
}

function ops(pool: Pool): Record<string, Op> {
  const promise = pool.promise();
  return {
    'callback query': (done) => pool.query('SELECT 1', (err) => done(err)),
    'callback execute': (done) => pool.execute('SELECT 1', (err) => done(err)),
    'promise query': (done) => promise.query('SELECT 1').then(() => done(), done),
    'promise execute': (done) => promise.execute('SELECT 1').then(() => done(), done),
    held: (done) =>
      pool.getConnection((err, conn) => {
        if (err) return done(err);
        conn.query('SELECT 1', (e) => {
          conn.release();
          done(e);
        });
      }),
  };
}

/** `calls` calls in `concurrency` loops of one call after another; CPU µs of this process per call. */
function measure(op: Op, concurrency: number, calls: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let left = calls;
    let running = concurrency;
    const cpu0 = process.cpuUsage();
    const next: Done = (err) => {
      if (err) return reject(err);
      if (--left <= 0) {
        if (--running === 0) {
          const cpu = process.cpuUsage(cpu0);
          resolve((cpu.user + cpu.system) / calls);
        }
        return;
      }
      op(next);
    };
    for (let i = 0; i < concurrency; i++) op(next);
  });
}

async function main(): Promise<void> {
  const resilient = createResilientPool({
    host: 'fake.invalid',
    connectionLimit: LIMIT,
    [CONNECTION_FACTORY]: fakes as ConnectionFactory,
  } as never);
  // Open LIMIT connections once, so every contestant starts warm.
  const held = await Promise.all(
    Array.from({ length: LIMIT }, () => new Promise<{ release(): void }>((resolve, reject) => resilient.getConnection((e, c) => (e ? reject(e) : resolve(c))))),
  );
  held.forEach((c) => c.release());
  const bareConn = fakes.create(resilient as never, (resilient as unknown as { config: { connectionConfig: never } }).config.connectionConfig) as unknown as {
    query(sql: string, cb: (err: unknown) => void): void;
  };
  const contestants: Record<Name, Record<string, Op>> = {
    mysql2: ops(mysql2Pool()),
    'mysql2-b': ops(mysql2Pool()),
    resilient: ops(resilient as unknown as Pool),
    bare: { 'callback query': (done) => bareConn.query('SELECT 1', (err) => done(err)) },
  };
  const rows: Array<{ op: string; concurrency: number }> = [];
  for (const op of ['callback query', 'callback execute', 'promise query', 'promise execute']) {
    for (const concurrency of [1, 16]) rows.push({ op, concurrency });
  }
  rows.push({ op: 'held', concurrency: 1 });
  const samples = new Map<string, Map<Name, number[]>>();
  const names = Object.keys(contestants) as Name[];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [r, row] of rows.entries()) {
      const key = `${row.op} c=${row.concurrency}`;
      const bySample = samples.get(key) ?? new Map<Name, number[]>();
      samples.set(key, bySample);
      for (const name of rotate(names, round + r)) {
        const op = contestants[name][row.op];
        if (!op || (name === 'bare' && row.concurrency !== 1)) continue;
        fakes.made.forEach((m) => (m.queries.length = 0));
        const us = await measure(op, row.concurrency, CALLS);
        (bySample.get(name) ?? bySample.set(name, []).get(name)!).push(us);
      }
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS}\r`);
  }
  const ratio = (key: string, a: Name, b: Name): number => {
    const xs = samples.get(key)!.get(a)!;
    const ys = samples.get(key)!.get(b)!;
    return median(xs.map((x, i) => x / ys[i]!));
  };
  const ns = (key: string, name: Name): string => {
    const xs = samples.get(key)!.get(name);
    return xs ? String(Math.round(median(xs) * 1000)) : '-';
  };
  console.log(`\nPool overhead on fake connections (no I/O), CPU ns per call, median of ${ROUNDS} interleaved rounds x ${CALLS} calls; ratios per round, then the median\n`);
  console.log('| row | bare | mysql2 | mysql2-b | resilient | **resilient / mysql2** | A/A (mysql2-b / mysql2) |');
  console.log('|---|---|---|---|---|---|---|');
  const ours: number[] = [];
  const aa: number[] = [];
  for (const key of samples.keys()) {
    const r = ratio(key, 'resilient', 'mysql2');
    const a = ratio(key, 'mysql2-b', 'mysql2');
    ours.push(r);
    aa.push(a);
    console.log(`| ${key} | ${ns(key, 'bare')} | ${ns(key, 'mysql2')} | ${ns(key, 'mysql2-b')} | ${ns(key, 'resilient')} | **${r.toFixed(3)}** | ${a.toFixed(3)} |`);
  }
  console.log(`\nmedian over rows: resilient / mysql2 **${median(ours).toFixed(3)}**, A/A ${median(aa).toFixed(3)} (band ${Math.min(...aa).toFixed(3)}-${Math.max(...aa).toFixed(3)})`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
