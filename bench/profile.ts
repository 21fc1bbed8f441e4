/**
 * Where the client CPU goes, per query: mysql2's pool and this one, each in its own process, CPU-profiled
 * (V8's sampling profiler, as `node --cpu-prof`) over the measured window only, alternating, against one
 * private server (or MYSQL_URL; SELECT 1 only).
 *
 *   npm run build && node --import tsx bench/profile.ts
 *
 * For every row it prints the client CPU per query (the window's measured user + system CPU, shared out over
 * the profile's samples) by where it was spent (this package, generic-pool,
 * mysql2, node internals, GC), the functions whose self time per query differs most between the two, and
 * this package's own functions by inclusive time per query. Profiles are kept in PROFILE_DIR (default
 * .tmp/profiles) for Chrome DevTools or speedscope.
 *
 * Environment: PROFILE_ROWS (default "callback:query:1,callback:query:64,promise:query:1,promise:query:64,
 * callback:execute:1,promise:execute:64"), PROFILE_MS per window (default 3000), PROFILE_ROUNDS (default 2; the
 * windows of a contestant are summed), PROFILE_TOP (default 15), PROFILE_DIR.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../test/support/server.js';
import { Contestant, fmt } from './harness.js';
import type { Api, Command } from './harness.js';

const ROWS = (process.env.PROFILE_ROWS ?? 'callback:query:1,callback:query:64,promise:query:1,promise:query:64,callback:execute:1,promise:execute:64')
  .split(',')
  .map((r) => {
    const [api, command, c] = r.split(':');
    return { api: api as Api, command: command as Command, concurrency: Number(c) };
  });
const MS = Number(process.env.PROFILE_MS ?? 3000);
const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 2);
const TOP = Number(process.env.PROFILE_TOP ?? 15);
const DIR = path.resolve(process.env.PROFILE_DIR ?? '.tmp/profiles');

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Self and inclusive sampled time (µs) per function, and per category, summed over profiles. */
class Tally {
  queries = 0;
  readonly self = new Map<string, number>();
  readonly inclusive = new Map<string, number>();
  readonly category = new Map<string, number>();

  /**
   * Each sample that is not idle gets an equal share of the window's measured CPU (user + system of the
   * process): on a loaded machine, the time between two samples includes the time the process was not
   * running, and would inflate whatever it was doing when it was preempted (mostly socket writes).
   */
  add(profile: CpuProfile, queries: number, cpuUs: number): void {
    this.queries += queries;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const { samples } = profile;
    const busy = samples.filter((id) => byId.get(id)!.callFrame.functionName !== '(idle)').length;
    const dt = cpuUs / Math.max(1, busy);
    for (let i = 0; i < samples.length; i++) {
      const leaf = byId.get(samples[i]!)!;
      if (leaf.callFrame.functionName === '(idle)') continue;
      const key = frameKey(leaf.callFrame);
      bump(this.self, key, dt);
      bump(this.category, categoryOf(leaf.callFrame), dt);
      const seen = new Set<string>();
      for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
        const k = frameKey(byId.get(id)!.callFrame);
        if (seen.has(k)) continue;
        seen.add(k);
        bump(this.inclusive, k, dt);
      }
    }
  }

  /** µs per query. */
  per(map: Map<string, number>, key: string): number {
    return (map.get(key) ?? 0) / this.queries;
  }
}

function bump(map: Map<string, number>, key: string, dt: number): void {
  map.set(key, (map.get(key) ?? 0) + dt);
}

function frameKey(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  return `${name} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\/.*\/bench\//, 'bench/');
}

function categoryOf(f: CallFrame): string {
  if (f.functionName === '(garbage collector)') return 'GC';
  if (f.functionName === '(program)') return '(program: V8/native, no JS frame)';
  if (f.functionName === '(idle)') return '(idle)';
  if (f.url.includes('/node_modules/mysql2/')) return 'mysql2';
  if (f.url.includes('/node_modules/generic-pool/')) return 'generic-pool';
  if (f.url.includes('/node_modules/')) return 'other packages';
  if (f.url.includes('/dist/')) return 'resilient-mysql-pool (dist/)';
  if (f.url.includes('/bench/')) return 'bench harness';
  if (f.url.startsWith('node:')) return 'node internals';
  return 'builtins/native';
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const server = await startServer();
  const options = { ...server.connectionOptions(), connectionLimit: 10 };
  const m2 = await Contestant.start('mysql2', 'mysql2', options);
  const ours = await Contestant.start('resilient', 'resilient', options);
  console.log(`profiles: ${ROUNDS} x ${MS} ms per contestant and row, sampled every 200 µs; each sample weighted by the window's measured CPU; files in ${DIR}\n`);
  for (const row of ROWS) {
    const label = `${row.api} ${row.command} c=${row.concurrency}`;
    const tallies = { mysql2: new Tally(), resilient: new Tally() };
    for (const c of [m2, ours]) await c.measure(row.api, row.command, row.concurrency, MS / 3);
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of round % 2 ? [ours, m2] : [m2, ours]) {
        const file = path.join(DIR, `${c.name}-${row.api}-${row.command}-c${row.concurrency}-${round + 1}.cpuprofile`);
        const sample = await c.measure(row.api, row.command, row.concurrency, MS, file);
        const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
        tallies[c.name as 'mysql2' | 'resilient'].add(profile, sample.queries, sample.cpuUs * sample.queries);
      }
    }
    const [a, b] = [tallies.mysql2, tallies.resilient];
    const out: string[] = [`## ${label} (${a.queries} / ${b.queries} queries profiled)`, ''];
    const cats = [...new Set([...a.category.keys(), ...b.category.keys()])].filter((k) => k !== '(idle)');
    const total = (t: Tally) => cats.reduce((s, k) => s + t.per(t.category, k), 0);
    out.push(
      table(
        ['where', 'mysql2 µs/q', 'resilient µs/q', 'difference'],
        [
          ...cats
            .sort((x, y) => b.per(b.category, y) - a.per(a.category, y) - (b.per(b.category, x) - a.per(a.category, x)))
            .map((k) => [k, fmt(a.per(a.category, k), 2), fmt(b.per(b.category, k), 2), fmt(b.per(b.category, k) - a.per(a.category, k), 2)]),
          ['**all (measured CPU)**', fmt(total(a), 2), fmt(total(b), 2), fmt(total(b) - total(a), 2)],
        ],
      ),
      '',
    );
    const keys = [...new Set([...a.self.keys(), ...b.self.keys()])].filter((k) => k !== '(idle)');
    const diff = keys
      .map((k) => ({ k, d: b.per(b.self, k) - a.per(a.self, k) }))
      .sort((x, y) => y.d - x.d)
      .slice(0, TOP);
    out.push(
      `Self time: largest excess of resilient over mysql2 (µs/query)`,
      '',
      table(
        ['function', 'mysql2', 'resilient', 'excess'],
        diff.map(({ k, d }) => [k, fmt(a.per(a.self, k), 2), fmt(b.per(b.self, k), 2), fmt(d, 2)]),
      ),
      '',
    );
    const own = [...b.inclusive.keys()]
      .filter((k) => / dist\//.test(k) || k.includes('generic-pool/'))
      .map((k) => ({ k, incl: b.per(b.inclusive, k), self: b.per(b.self, k) }))
      .sort((x, y) => y.incl - x.incl)
      .slice(0, TOP);
    out.push(
      `This package's and generic-pool's functions by inclusive time (µs/query; includes mysql2 work they call)`,
      '',
      table(
        ['function', 'inclusive', 'self'],
        own.map(({ k, incl, self }) => [k, fmt(incl, 2), fmt(self, 2)]),
      ),
      '',
    );
    console.log(out.join('\n'));
  }
  await m2.end();
  await ours.end();
  await server.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
