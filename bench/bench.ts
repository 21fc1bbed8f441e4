/**
 * npm run bench: resilient-mysql-pool against mysql2's own pool, in one process,
 * against one private server (or MYSQL_URL), interleaved A B B A each round so
 * drift and noise hit both pools alike. Prints medians and the per-round ratio
 * spread. Throughput ratio > 1 means resilient is faster; CPU ratio < 1 means it
 * spends less client CPU per query. User CPU is the steadier figure on a small
 * box shared with the server: the kernel's share of a loopback round trip swings
 * by 2x between identical runs.
 *
 * Environment: BENCH_ROUNDS (default 5), BENCH_MS per measurement (default 400),
 * BENCH_CONCURRENCY (default "1,16,64"), MYSQL_URL (use an external server).
 */
import mysql2 from 'mysql2';
import { cpus, totalmem } from 'node:os';
import type * as Library from '../src/index.js';
import { FaultProxy } from '../test/support/proxy.js';
import { startServer } from '../test/support/server.js';

// The built package, as users run it: loading src/ through tsx would wrap every closure the pool creates per
// query in esbuild's keep-names helper (measured: ~4% of client CPU), a cost mysql2's plain JS does not pay.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createResilientPool } = require('../dist/index.js') as typeof Library;

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MS = Number(process.env.BENCH_MS ?? 400);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
const LIMIT = 10;

type Runner = (done: (err: unknown) => void) => void;
interface Sample {
  qps: number;
  p50: number;
  p99: number;
  /** Client CPU per query, user + system. */
  cpuUs: number;
  /** User-space CPU per query: the JavaScript of pool and driver, steadier than the kernel's share. */
  userUs: number;
}

/** Runs `concurrency` loops of `op` for `ms`; every loop is bounded by the clock. */
async function measure(op: Runner, concurrency: number, ms: number): Promise<Sample> {
  const latencies: number[] = [];
  const end = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from(
      { length: concurrency },
      () =>
        new Promise<void>((resolve, reject) => {
          const next = () => {
            const start = performance.now();
            if (start >= end) return resolve();
            op((err) => {
              if (err) return reject(err);
              latencies.push(performance.now() - start);
              next();
            });
          };
          next();
        }),
    ),
  );
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    qps: (latencies.length / elapsed) * 1000,
    p50: q(0.5),
    p99: q(0.99),
    cpuUs: (cpu.user + cpu.system) / latencies.length,
    userUs: cpu.user / latencies.length,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number, d = 0) => n.toFixed(d);

/** A B B A per round; returns per-implementation medians and per-round ratios. */
async function compare(a: Runner, b: Runner, concurrency: number) {
  const A: Sample[] = [];
  const B: Sample[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  const userRatios: number[] = [];
  await measure(a, concurrency, MS / 2); // warm both (JIT, statement caches, connections)
  await measure(b, concurrency, MS / 2);
  for (let r = 0; r < ROUNDS; r++) {
    const a1 = await measure(a, concurrency, MS);
    const b1 = await measure(b, concurrency, MS);
    const b2 = await measure(b, concurrency, MS);
    const a2 = await measure(a, concurrency, MS);
    A.push(a1, a2);
    B.push(b1, b2);
    ratios.push((b1.qps + b2.qps) / (a1.qps + a2.qps));
    cpuRatios.push((b1.cpuUs + b2.cpuUs) / (a1.cpuUs + a2.cpuUs));
    userRatios.push((b1.userUs + b2.userUs) / (a1.userUs + a2.userUs));
  }
  const pick = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
  return {
    a: { qps: pick(A, 'qps'), p50: pick(A, 'p50'), p99: pick(A, 'p99'), cpuUs: pick(A, 'cpuUs'), userUs: pick(A, 'userUs') },
    b: { qps: pick(B, 'qps'), p50: pick(B, 'p50'), p99: pick(B, 'p99'), cpuUs: pick(B, 'cpuUs'), userUs: pick(B, 'userUs') },
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    cpuRatio: median(cpuRatios),
    userRatio: median(userRatios),
  };
}

function callbackOps(pool: mysql2.Pool): Record<string, Runner> {
  return {
    'query SELECT 1 (callback)': (done) => pool.query('SELECT 1', (err) => done(err)),
    'execute SELECT ? (callback)': (done) => pool.execute('SELECT ? AS v', [7], (err) => done(err)),
  };
}

function promiseOps(pool: mysql2.Pool): Record<string, Runner> {
  const p = pool.promise();
  return {
    'query SELECT 1 (promise)': (done) => p.query('SELECT 1').then(() => done(null), done),
    'execute SELECT ? (promise)': (done) => p.execute('SELECT ? AS v', [7]).then(() => done(null), done),
  };
}

function end(pool: { end(cb: (err: unknown) => void): void }): Promise<void> {
  return new Promise((resolve) => pool.end(() => resolve()));
}

async function main(): Promise<void> {
  const server = await startServer();
  const options = { ...server.connectionOptions(), connectionLimit: LIMIT };
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; node ${process.version}; ` +
      `server ${server.flavor} on loopback (same box); connectionLimit ${LIMIT}; ${ROUNDS} rounds x ${MS} ms, A B B A`,
  );
  const base = mysql2.createPool(options);
  const ours = createResilientPool(options);
  const rows: string[] = [];
  const header =
    '| workload | conc | mysql2 q/s | resilient q/s | ratio (median, min-max) | p50 ms m2 / res | p99 ms m2 / res | user CPU µs/q m2 / res (ratio) | all CPU µs/q m2 / res (ratio) |';
  rows.push(header, '|---|---|---|---|---|---|---|---|---|');
  const sets = [
    [callbackOps(base), callbackOps(ours)],
    [promiseOps(base), promiseOps(ours)],
  ] as const;
  let done = 0;
  const total = sets.reduce((n, [a]) => n + Object.keys(a).length, 0) * CONCURRENCY.length;
  for (const [aOps, bOps] of sets) {
    for (const name of Object.keys(aOps)) {
      for (const c of CONCURRENCY) {
        const r = await compare(aOps[name]!, bOps[name]!, c);
        done++;
        process.stderr.write(`  [${done}/${total}] ${name} c=${c}: ratio ${fmt(r.ratio, 3)}\n`);
        rows.push(
          `| ${name} | ${c} | ${fmt(r.a.qps)} | ${fmt(r.b.qps)} | **${fmt(r.ratio, 2)}** (${fmt(r.ratioMin, 2)}-${fmt(r.ratioMax, 2)}) | ` +
            `${fmt(r.a.p50, 3)} / ${fmt(r.b.p50, 3)} | ${fmt(r.a.p99, 3)} / ${fmt(r.b.p99, 3)} | ` +
            `${fmt(r.a.userUs, 1)} / ${fmt(r.b.userUs, 1)} (${fmt(r.userRatio, 2)}) | ${fmt(r.a.cpuUs, 1)} / ${fmt(r.b.cpuUs, 1)} (${fmt(r.cpuRatio, 2)}) |`,
        );
      }
    }
  }
  console.log(rows.join('\n'));

  // Every checkout pings: traffic sparser than the skip window. pingSkipWindow 0 forces it.
  const pinging = createResilientPool({ ...options, pingSkipWindow: 0 });
  const r = await compare(callbackOps(base)['query SELECT 1 (callback)']!, callbackOps(pinging)['query SELECT 1 (callback)']!, 1);
  console.log(
    `\nevery checkout pinged (pingSkipWindow 0), SELECT 1 at concurrency 1: ${fmt(r.b.qps)} q/s vs mysql2 ${fmt(r.a.qps)} q/s, ` +
      `ratio ${fmt(r.ratio, 2)} (${fmt(r.ratioMin, 2)}-${fmt(r.ratioMax, 2)}): the price of a ping the skip window saves`,
  );
  await end(pinging);
  await end(base);
  await end(ours);

  // Recovery after existing flows are blackholed (NAT/LB dropped them silently).
  const proxy = await FaultProxy.start({ host: server.host, port: server.port });
  const viaProxy = { ...options, host: proxy.host, port: proxy.port };
  const recovering = createResilientPool(viaProxy);
  const plain = mysql2.createPool(viaProxy);
  await Promise.all([
    new Promise((res, rej) => recovering.query('SELECT 1', (e) => (e ? rej(e) : res(null)))),
    new Promise((res, rej) => plain.query('SELECT 1', (e) => (e ? rej(e) : res(null)))),
  ]);
  proxy.blackholeExisting();
  // Let the connections age past the 500 ms skip window, as an idle pool's would.
  await new Promise((res) => setTimeout(res, 600));
  const t0 = performance.now();
  await new Promise((res, rej) => recovering.query('SELECT 1', (e) => (e ? rej(e) : res(null))));
  const recovered = performance.now() - t0;
  const t1 = performance.now();
  const plainErr = await new Promise<unknown>((res) => plain.query({ sql: 'SELECT 1', timeout: 5_000 }, (e) => res(e)));
  const plainMs = performance.now() - t1;
  console.log(
    `blackholed flows: resilient answered in ${fmt(recovered)} ms (ping timeout 500 ms + a new connection); ` +
      `mysql2 ${plainErr ? `failed after ${fmt(plainMs)} ms (${(plainErr as { code?: string }).code}, bounded by a 5 s query timeout; without one it waits for TCP, ~15 min)` : `answered in ${fmt(plainMs)} ms`}`,
  );
  await end(recovering);
  plain.end(() => {});
  await proxy.close();
  await server.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
