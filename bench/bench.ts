/**
 * npm run bench: resilient-mysql-pool against mysql2's own pool, SELECT 1 against one private server (or
 * MYSQL_URL, read-only: SELECT 1 is all it sends).
 *
 * Each contestant runs in its own child process (bench/contestant.mjs), so the client CPU a contestant is
 * charged (user + system of its process over the measured window) is its own pool's and driver's and nobody
 * else's. The contestants:
 * - `mysql2`: mysql2.createPool, the reference;
 * - `mysql2-b`: a second, identical mysql2 pool in another process. Its ratio to `mysql2` is the A/A band:
 *   how far two identical pools drift apart in the same run on this machine. A ratio of ours inside it
 *   cannot be told from noise;
 * - `resilient`: this package as built (dist/), default options, so pre-ping is on (a connection used less
 *   than pingSkipWindow, 500 ms, ago is handed out without a ping) and acquireTimeout is 10 s (the burst alone
 *   runs on a second one with acquireTimeout 0, as mysql2's queue has no deadline);
 * - `bare`: one mysql2 connection and no pool, at concurrency 1 only: the floor a pool can approach;
 * - `resilient-ping`: pingSkipWindow 0 (a ping on every checkout), at concurrency 1 for query (callback) only.
 *
 * Rounds are interleaved: in every round each row is measured once per contestant, one contestant at a time
 * (never two at once), in an order that rotates with the round and row, so drift and the other load on the
 * machine hit every contestant alike. A ratio is taken per round (ours / mysql2's, and mysql2-b / mysql2's for
 * the A/A band) and its median over rounds is the row's figure; the summary is the median over rows.
 *
 * Rows outside the medians: a held connection (getConnection, one query on it, release) at
 * concurrency 1 and 16, callback and promise.
 *
 * Environment: BENCH_QUICK=1 (3 rounds x 250 ms, one burst round of 20000 calls: for trying things), BENCH_ROUNDS (default
 * 12), BENCH_MS per measurement (default 500), BENCH_CONCURRENCY (default "1,16,64"), BENCH_HELD_CONCURRENCY (default "1,16"; empty: none), BENCH_BURST (queued
 * calls, default 100000), BENCH_BURST_ROUNDS (default 3), BENCH_JSON (write the raw samples there),
 * MYSQL_URL (an external server).
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import mysql2 from 'mysql2';
import type * as Library from '../src/index.js';
import { Contestant, fmt, median, rotate } from './harness.js';
import type { Api, BurstSample, Command, Name, Sample } from './harness.js';
import { FaultProxy } from '../test/support/proxy.js';
import { startServer } from '../test/support/server.js';

// The built package, as users run it: loading src/ through tsx would wrap every closure the pool creates per
// query in esbuild's keep-names helper (measured: ~4% of client CPU), a cost mysql2's plain JS does not pay.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createResilientPool } = require('../dist/index.js') as typeof Library;

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 12));
const MS = Number(process.env.BENCH_MS ?? (QUICK ? 250 : 500));
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
const HELD_CONCURRENCY = (process.env.BENCH_HELD_CONCURRENCY ?? '1,16').split(',').filter(Boolean).map(Number);
const BURST = Number(process.env.BENCH_BURST ?? (QUICK ? 20_000 : 100_000));
const BURST_ROUNDS = Number(process.env.BENCH_BURST_ROUNDS ?? (QUICK ? 1 : 3));
const LIMIT = 10;

interface Row {
  api: Api;
  command: Command;
  concurrency: number;
  contestants: Contestant[];
  samples: Map<Name, Sample[]>;
}

/** Per-round ratios of `b` to `a` for one figure, and their median. */
function ratio(row: Row, b: Name, a: Name, key: keyof Sample): number {
  const A = row.samples.get(a)!;
  const B = row.samples.get(b)!;
  return median(A.map((s, i) => B[i]![key] / s[key]));
}

const signed = (n: number): string => `${n >= 0 ? '+' : ''}${fmt(n, 1)}`;

function band(xs: number[]): string {
  return `${fmt(Math.min(...xs), 2)}-${fmt(Math.max(...xs), 2)}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const server = await startServer();
  const options = { ...server.connectionOptions(), connectionLimit: LIMIT };
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; node ${process.version}; ` +
      `server ${server.flavor} on loopback (same box); connectionLimit ${LIMIT}; SELECT 1; ` +
      `${ROUNDS} interleaved rounds x ${MS} ms per contestant and row; load average at start ${loadavg().map((l) => fmt(l, 2)).join(' ')}`,
  );

  const m2 = await Contestant.start('mysql2', 'mysql2', options);
  const m2b = await Contestant.start('mysql2-b', 'mysql2', options);
  // Default options (acquireTimeout 10 s, pre-ping on): what an application that swaps the import runs.
  const ours = await Contestant.start('resilient', 'resilient', options);
  const bare = await Contestant.start('bare', 'bare', server.connectionOptions());
  const pinging = await Contestant.start('resilient-ping', 'resilient', { ...options, pingSkipWindow: 0 });
  // The burst only: acquireTimeout 0 (no deadline), as mysql2's queue has none; 100k queued calls on a loaded
  // machine wait longer than the default 10 s.
  const oursBurst = BURST > 0 && BURST_ROUNDS > 0 ? await Contestant.start('resilient-burst', 'resilient', { ...options, acquireTimeout: 0 }) : undefined;
  const all = [m2, m2b, ours, bare, pinging, ...(oursBurst ? [oursBurst] : [])];

  const rows: Row[] = [];
  for (const api of ['callback', 'promise'] as const) {
    for (const command of ['query', 'execute'] as const) {
      for (const concurrency of CONCURRENCY) {
        const contestants = [m2, m2b, ours];
        if (concurrency === 1) contestants.push(bare);
        if (concurrency === 1 && api === 'callback' && command === 'query') contestants.push(pinging);
        rows.push({ api, command, concurrency, contestants, samples: new Map(contestants.map((c) => [c.name, []])) });
      }
    }
  }
  const main = rows.length;
  // Held connections (getConnection, one query, release): not in the medians the issue's targets are stated on.
  for (const api of ['callback', 'promise'] as const) {
    for (const concurrency of HELD_CONCURRENCY) {
      const contestants = [m2, m2b, ours];
      rows.push({ api, command: 'held', concurrency, contestants, samples: new Map(contestants.map((c) => [c.name, []])) });
    }
  }

  // Warm-up: JIT, prepared statements, connections opened up to the limit.
  for (const row of rows) for (const c of row.contestants) await c.measure(row.api, row.command, row.concurrency, MS / 2);

  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, row] of rows.entries()) {
      for (const c of rotate(row.contestants, round + i)) {
        row.samples.get(c.name)!.push(await c.measure(row.api, row.command, row.concurrency, MS));
      }
    }
    const cpu = median(rows.slice(0, main).map((r) => ratio(r, 'resilient', 'mysql2', 'cpuUs')));
    const aa = median(rows.slice(0, main).map((r) => ratio(r, 'mysql2-b', 'mysql2', 'cpuUs')));
    process.stderr.write(`  round ${round + 1}/${ROUNDS}: CPU/query so far ${fmt(cpu, 3)} (A/A ${fmt(aa, 3)})\n`);
  }

  const head = [
    '| API | command | conc | q/s mysql2 / resilient | **throughput ×** (A/A) | CPU µs/q mysql2 / resilient | **CPU/q ×** (A/A) | user µs/q mysql2 / resilient | user CPU/q × (A/A) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const all_ = rows.map((row) => {
    const m = (name: Name, key: keyof Sample) => median(row.samples.get(name)!.map((s) => s[key]));
    const f = {
      qps: ratio(row, 'resilient', 'mysql2', 'qps'),
      qpsAA: ratio(row, 'mysql2-b', 'mysql2', 'qps'),
      cpu: ratio(row, 'resilient', 'mysql2', 'cpuUs'),
      cpuAA: ratio(row, 'mysql2-b', 'mysql2', 'cpuUs'),
      user: ratio(row, 'resilient', 'mysql2', 'userUs'),
      userAA: ratio(row, 'mysql2-b', 'mysql2', 'userUs'),
    };
    const line =
      `| ${row.api} | ${row.command} | ${row.concurrency} | ${fmt(m('mysql2', 'qps'))} / ${fmt(m('resilient', 'qps'))} | ` +
      `**${fmt(f.qps, 3)}** (${fmt(f.qpsAA, 3)}) | ${fmt(m('mysql2', 'cpuUs'), 1)} / ${fmt(m('resilient', 'cpuUs'), 1)} | ` +
      `**${fmt(f.cpu, 3)}** (${fmt(f.cpuAA, 3)}) | ${fmt(m('mysql2', 'userUs'), 1)} / ${fmt(m('resilient', 'userUs'), 1)} | ` +
      `${fmt(f.user, 3)} (${fmt(f.userAA, 3)}) |`;
    return { row, line, ...f };
  });
  const figures = all_.slice(0, main);
  const out: string[] = [...head, ...figures.map((f) => f.line)];
  const med = (k: keyof (typeof figures)[number]) => median(figures.map((f) => f[k] as number));
  const bandOf = (k: keyof (typeof figures)[number]) => band(figures.map((f) => f[k] as number));
  const qpsLow = Math.min(...figures.map((f) => f.qpsAA));
  const cpuHigh = Math.max(...figures.map((f) => f.cpuAA));
  const name = (f: (typeof figures)[number]) => `${f.row.api} ${f.row.command} c=${f.row.concurrency}`;
  const slow = figures.filter((f) => f.qps < qpsLow).map((f) => `${name(f)} ${fmt(f.qps, 3)}`);
  const costly = figures.filter((f) => f.cpu > cpuHigh).map((f) => `${name(f)} ${fmt(f.cpu, 3)}`);
  out.push(
    '',
    `Median over the ${figures.length} rows (resilient / mysql2; A/A = mysql2-b / mysql2, and its band = lowest-highest row):`,
    `- client CPU per query: **${fmt(med('cpu'), 3)}×** (A/A ${fmt(med('cpuAA'), 3)}, band ${bandOf('cpuAA')})`,
    `- user CPU per query: **${fmt(med('user'), 3)}×** (A/A ${fmt(med('userAA'), 3)}, band ${bandOf('userAA')})`,
    `- throughput: **${fmt(med('qps'), 3)}×** (A/A ${fmt(med('qpsAA'), 3)}, band ${bandOf('qpsAA')})`,
    `- rows worse than the A/A band: CPU ${costly.length ? costly.join(', ') : 'none'}; throughput ${slow.length ? slow.join(', ') : 'none'}`,
  );

  if (all_.length > main) {
    out.push(
      '',
      'Held connections (getConnection, one query on it, release; not in the medians above):',
      '',
      ...head,
      ...all_.slice(main).map((f) => f.line),
    );
  }

  // Overhead over no pool: one bare connection, concurrency 1.
  const single = rows.filter((r) => r.concurrency === 1 && r.samples.has('bare'));
  if (single.length) {
    out.push(
      '',
      'Over no pool at all (one bare mysql2 connection, concurrency 1; ratios per round over the bare connection, then the median):',
      '',
      '| API | command | q/s bare / mysql2 / resilient | CPU µs/q bare / mysql2 / resilient | mysql2 over bare: CPU/q × (µs) | resilient over bare: CPU/q × (µs) | user µs/q bare / mysql2 / resilient |',
      '|---|---|---|---|---|---|---|',
    );
    for (const row of single) {
      const m = (name: Name, key: keyof Sample) => median(row.samples.get(name)!.map((s) => s[key]));
      out.push(
        `| ${row.api} | ${row.command} | ${fmt(m('bare', 'qps'))} / ${fmt(m('mysql2', 'qps'))} / ${fmt(m('resilient', 'qps'))} | ` +
          `${fmt(m('bare', 'cpuUs'), 1)} / ${fmt(m('mysql2', 'cpuUs'), 1)} / ${fmt(m('resilient', 'cpuUs'), 1)} | ` +
          `${fmt(ratio(row, 'mysql2', 'bare', 'cpuUs'), 3)} (${signed(m('mysql2', 'cpuUs') - m('bare', 'cpuUs'))}) | ` +
          `${fmt(ratio(row, 'resilient', 'bare', 'cpuUs'), 3)} (${signed(m('resilient', 'cpuUs') - m('bare', 'cpuUs'))}) | ` +
          `${fmt(m('bare', 'userUs'), 1)} / ${fmt(m('mysql2', 'userUs'), 1)} / ${fmt(m('resilient', 'userUs'), 1)} |`,
      );
    }
    const pingRow = single.find((r) => r.samples.has('resilient-ping'));
    if (pingRow) {
      const m = (name: Name) => median(pingRow.samples.get(name)!.map((s) => s.qps));
      out.push(
        '',
        `Every checkout pinged (pingSkipWindow 0), query (callback) at concurrency 1: ${fmt(m('resilient-ping'))} q/s against mysql2's ` +
          `${fmt(m('mysql2'))}, **${fmt(ratio(pingRow, 'resilient-ping', 'mysql2', 'qps'), 2)}×**: the round trip the skip window saves.`,
      );
    }
  }
  console.log(out.join('\n'));

  // A burst of queued calls: heap per queued call and time to drain, per API.
  if (oursBurst) {
    const burstOut = [
      '',
      `A burst of ${BURST} calls issued at once (query SELECT 1, connectionLimit ${LIMIT}; ${BURST_ROUNDS} interleaved rounds, medians):`,
      '',
      '| API | time ms mysql2 / resilient | time × (A/A) | heap B per queued call mysql2 / resilient | heap × (A/A) | CPU µs/call mysql2 / resilient |',
      '|---|---|---|---|---|---|',
    ];
    for (const api of ['callback', 'promise'] as const) {
      const samples = new Map<Name, BurstSample[]>([
        ['mysql2', []],
        ['mysql2-b', []],
        ['resilient', []],
      ]);
      for (let round = 0; round < BURST_ROUNDS; round++) {
        for (const c of rotate([m2, m2b, oursBurst], round)) samples.get(c === oursBurst ? 'resilient' : c.name)!.push(await c.burst(api, BURST));
        process.stderr.write(`  burst ${api} round ${round + 1}/${BURST_ROUNDS}\n`);
      }
      const m = (name: Name, key: keyof BurstSample) => median(samples.get(name)!.map((s) => s[key]));
      const r = (b: Name, key: keyof BurstSample) => median(samples.get('mysql2')!.map((s, i) => samples.get(b)![i]![key] / s[key]));
      burstOut.push(
        `| ${api} | ${fmt(m('mysql2', 'ms'))} / ${fmt(m('resilient', 'ms'))} | **${fmt(r('resilient', 'ms'), 3)}** (${fmt(r('mysql2-b', 'ms'), 3)}) | ` +
          `${fmt(m('mysql2', 'heapPerCall'))} / ${fmt(m('resilient', 'heapPerCall'))} | **${fmt(r('resilient', 'heapPerCall'), 3)}** (${fmt(r('mysql2-b', 'heapPerCall'), 3)}) | ` +
          `${fmt(m('mysql2', 'cpuUs'), 1)} / ${fmt(m('resilient', 'cpuUs'), 1)} |`,
      );
    }
    console.log(burstOut.join('\n'));
  }
  for (const c of all) await c.end();

  if (process.env.BENCH_JSON) {
    const raw = rows.map((r) => ({ api: r.api, command: r.command, concurrency: r.concurrency, samples: Object.fromEntries(r.samples) }));
    writeFileSync(process.env.BENCH_JSON, JSON.stringify(raw, null, 1));
  }

  if (!QUICK) await blackholed(server.host, server.port, options);
  await server.close();
  console.log(`\n(${fmt((performance.now() - started) / 1000)} s; load average at end ${loadavg().map((l) => fmt(l, 2)).join(' ')})`);
}

/** Recovery after existing flows are blackholed (NAT/LB dropped them silently). */
async function blackholed(host: string, port: number, options: object): Promise<void> {
  const proxy = await FaultProxy.start({ host, port });
  const viaProxy = { ...options, host: proxy.host, port: proxy.port };
  const recovering = createResilientPool(viaProxy);
  const plain = mysql2.createPool(viaProxy);
  const query = (pool: mysql2.Pool, sql: string | mysql2.QueryOptions) =>
    new Promise<unknown>((resolve) => pool.query(sql as string, (e: unknown) => resolve(e)));
  await Promise.all([query(recovering, 'SELECT 1'), query(plain, 'SELECT 1')]);
  proxy.blackholeExisting();
  // Let the connections age past the 500 ms skip window, as an idle pool's would.
  await new Promise((res) => setTimeout(res, 600));
  const t0 = performance.now();
  const err = await query(recovering, 'SELECT 1');
  const recovered = performance.now() - t0;
  const t1 = performance.now();
  const plainErr = await query(plain, { sql: 'SELECT 1', timeout: 5_000 });
  const plainMs = performance.now() - t1;
  console.log(
    `\nBlackholed flows: resilient ${err ? `failed (${String(err)})` : 'answered'} in ${fmt(recovered)} ms (ping timeout 500 ms + a new connection); ` +
      `mysql2 ${plainErr ? `failed after ${fmt(plainMs)} ms (${(plainErr as { code?: string }).code}, bounded by a 5 s query timeout; without one it waits for TCP, ~15 min)` : `answered in ${fmt(plainMs)} ms`}`,
  );
  await new Promise((res) => recovering.end(res));
  plain.end(() => {});
  await proxy.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
