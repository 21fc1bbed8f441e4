/**
 * `npm run demo`: the ways pooled connections die in production, each run against `mysql2.createPool` and
 * `createResilientPool` side by side (default options, 3 connections, then 6 queries `SELECT i` on each), and a
 * table of what the application saw.
 *
 * It starts its own private server (a temp datadir on a free loopback port, removed at the end: see
 * test/support/server.ts), so it can change globals, KILL and restart freely. With MYSQL_URL it uses that server
 * instead and runs only the scenarios that need no control over it (KILL of its own connections, and a dropped flow
 * through a local proxy).
 *
 * The races are the production ones: where the server's close would reach an idle client first on loopback (and
 * mysql2 would quietly drop that connection), the close is held in flight until the queries are on the wire, as it
 * is when the two cross on a real network (test/support/chaos.ts `holdIncoming`).
 *
 * Progress goes to stderr, the table to stdout. Bounded: about 30 s, at most 55 s; exit 0 when every scenario ran.
 */
import { setTimeout as delay } from 'node:timers/promises';
import mysql from 'mysql2';
import { createResilientPool, type ResilientPool } from '../src/index.js';
import {
  afterWrites,
  closePlainPool,
  endPool,
  holdIncoming,
  run,
  trackConnections,
  waitThreadsGone,
  warm,
  type Outcome,
  type RawConnection,
} from '../test/support/chaos.js';
import { FaultProxy } from '../test/support/proxy.js';
import { startServer, type TestServer } from '../test/support/server.js';

const CONNECTIONS = 3;
const QUERIES = 6;
/** mysql2's own per-query timeout for the dropped-flow scenario: without it its queries hang for ~15 minutes. */
const MYSQL2_QUERY_TIMEOUT = 2_000;
/** Past the pool's default 500 ms ping skip window: a flow an LB drops has always been idle for a while. */
const IDLE_BEFORE_DROP_MS = 600;
const TOTAL_BUDGET_MS = 55_000;

type Options = mysql.PoolOptions;

interface Side {
  outcomes: Outcome[];
  /** Queries that did not even come back within `bound` ms (run() rejected). */
  hung: number;
  bound: number;
}

interface ResilientCounters {
  retried: number;
  pingFailures: number;
  dropped: number;
}

interface Result {
  plain: string;
  resilient: string;
  /** The resilient pool let an error or a wrong result through. */
  resilientFailed: boolean;
}

interface Scenario {
  name: string;
  /** Kills, restarts or changes globals of the server: not run against MYSQL_URL. */
  needsPrivateServer: boolean;
  run(server: TestServer): Promise<Result>;
}

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Two pools, side by side

interface Pair {
  plain: mysql.Pool;
  resilient: ResilientPool;
  plainConns: RawConnection[];
  resilientConns: RawConnection[];
}

async function withPair<T>(options: Options, body: (pair: Pair) => Promise<T>): Promise<T> {
  const plain = mysql.createPool({ ...options, connectionLimit: CONNECTIONS });
  const resilient = createResilientPool({ ...options, connectionLimit: CONNECTIONS });
  const pair: Pair = { plain, resilient, plainConns: trackConnections(plain), resilientConns: trackConnections(resilient) };
  try {
    return await body(pair);
  } finally {
    // mysql2's end() can wait forever on a dead peer: closePlainPool bounds it and destroys every socket.
    await closePlainPool(plain, pair.plainConns);
    await endPool(resilient, 15_000).catch(() => undefined);
  }
}

async function warmBoth(pair: Pair): Promise<number[]> {
  await Promise.all([warm(pair.plain, CONNECTIONS), warm(pair.resilient, CONNECTIONS)]);
  return [...pair.plainConns, ...pair.resilientConns].map((c) => c.threadId!).filter((id) => id !== null);
}

function sql(i: number, timeout?: number): string | { sql: string; timeout: number } {
  const text = `SELECT ${i} AS v`;
  return timeout ? { sql: text, timeout } : text;
}

/**
 * Starts QUERIES queries on a pool in the same tick; resolves with what each caller saw. A query with no answer
 * within `bound` ms counts as hung (mysql2's pool never gets back a connection whose query timed out: it releases a
 * connection on the query's 'end', which a timed-out query never emits, so the queries queued behind it wait for good).
 */
function startQueries(pool: mysql.Pool | ResilientPool, timeout: number | undefined, bound: number): Promise<Side> {
  const calls = Array.from({ length: QUERIES }, (_, i) =>
    run(pool, sql(i, timeout), bound).then(
      (o): Outcome | 'hung' => o,
      () => 'hung' as const,
    ),
  );
  return Promise.all(calls).then((all) => ({
    outcomes: all.filter((o): o is Outcome => o !== 'hung'),
    hung: all.filter((o) => o === 'hung').length,
    bound,
  }));
}

function countersOf(pool: ResilientPool): ResilientCounters {
  const s = pool.stats();
  const sum = (o: Record<string, number | undefined>) => Object.values(o).reduce<number>((a, b) => a + (b ?? 0), 0);
  const { 'pool-end': _end, 'user-destroy': _user, ...unhealthy } = s.destroyed;
  return { retried: sum(s.retries), pingFailures: s.pingFailures, dropped: sum(unhealthy) };
}

/** A query's result is right only if it returned its own index. */
function isRight(o: Outcome, i: number): boolean {
  return o.ok && Array.isArray(o.rows) && Number(o.rows[0]?.v) === i;
}

function errorLabel(o: Outcome): string {
  if (o.ok) return 'wrong result';
  const err = o.err!;
  if (typeof err.code === 'string' && err.code) return err.code;
  if (/closed state/i.test(err.message)) return "closed state (Can't add new command)";
  if (/ended by the other party/i.test(err.message)) return 'socket ended by the other party';
  return err.message.slice(0, 40);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function describeSide(side: Side, extra: string[] = []): { text: string; failed: number } {
  const wrong = side.outcomes.filter((o, i) => !isRight(o, i));
  const failed = wrong.length + side.hung;
  const total = side.outcomes.length + side.hung;
  const slowest = Math.max(0, ...side.outcomes.map((o) => o.ms));
  if (failed === 0) {
    const notes = [...extra];
    if (slowest >= 300) notes.push(`slowest ${seconds(slowest)}`);
    return { text: `${total}/${total} ok${notes.length ? ` (${notes.join(', ')})` : ''}`, failed };
  }
  // Per kind of failure: how many, and when the slowest of them came back.
  const kinds = new Map<string, { n: number; ms: number }>();
  for (const o of wrong) {
    const k = kinds.get(errorLabel(o)) ?? { n: 0, ms: 0 };
    kinds.set(errorLabel(o), { n: k.n + 1, ms: Math.max(k.ms, o.ms) });
  }
  const labels = [...kinds].map(([label, k]) => {
    const count = kinds.size > 1 || side.hung ? ` x${k.n}` : '';
    return `${label}${count}${k.ms >= 1_000 ? ` after ${seconds(k.ms)}` : ''}`;
  });
  if (side.hung) labels.push(`no answer after ${seconds(side.bound)} x${side.hung}`);
  return { text: `${failed}/${total} failed: ${labels.join(', ')}`, failed };
}

function resilientExtras(before: ResilientCounters, after: ResilientCounters): string[] {
  const extras: string[] = [];
  const retried = after.retried - before.retried;
  const pings = after.pingFailures - before.pingFailures;
  const dropped = after.dropped - before.dropped;
  if (retried) extras.push(`${retried} retried`);
  if (pings) extras.push(`${pings} caught by pre-ping`);
  if (dropped) extras.push(`${dropped} connection${dropped === 1 ? '' : 's'} replaced`);
  return extras;
}

/**
 * The common shape: warm both pools, `before` counters, then `provoke` (which returns once the failure has happened,
 * with the close possibly held in flight), then 6 queries on each pool, then `release` of anything held.
 */
async function sideBySide(
  options: Options,
  provoke: (pair: Pair, threadIds: number[]) => Promise<() => void>,
  queryTimeout?: number,
  bound = 10_000,
): Promise<Result> {
  return withPair(options, async (pair) => {
    const ids = await warmBoth(pair);
    const before = countersOf(pair.resilient);
    const release = await provoke(pair, ids);
    try {
      const plainRun = startQueries(pair.plain, queryTimeout, bound);
      const resilientRun = startQueries(pair.resilient, queryTimeout, bound);
      // Every query is on the wire before the held close is let through: the production race.
      await afterWrites();
      release();
      const [plain, resilient] = await Promise.all([plainRun, resilientRun]);
      const r = describeSide(resilient, resilientExtras(before, countersOf(pair.resilient)));
      return { plain: describeSide(plain).text, resilient: r.text, resilientFailed: r.failed > 0 };
    } finally {
      release();
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios

const scenarios: Scenario[] = [
  {
    name: 'idle past wait_timeout',
    needsPrivateServer: true,
    async run(server) {
      const [row] = await server.admin<Array<{ v: number }>>('SELECT @@GLOBAL.wait_timeout AS v');
      const previous = Number(row!.v);
      // Sessions copy the global at connect: set it before the pools open their connections.
      await server.admin('SET GLOBAL wait_timeout = 2');
      try {
        return await sideBySide(server.connectionOptions(), async (pair, ids) => {
          const release = holdIncoming([...pair.plainConns, ...pair.resilientConns]);
          // The server closes them after 2 s idle; poll its processlist until they are gone.
          await waitThreadsGone(server, ids, 8_000);
          return release;
        });
      } finally {
        await server.admin(`SET GLOBAL wait_timeout = ${previous}`);
      }
    },
  },
  {
    name: 'killed (KILL)',
    needsPrivateServer: false,
    run(server) {
      return sideBySide(server.connectionOptions(), async (pair, ids) => {
        const release = holdIncoming([...pair.plainConns, ...pair.resilientConns]);
        await Promise.all(ids.map((id) => server.admin(`KILL ${id}`)));
        await waitThreadsGone(server, ids, 5_000);
        return release;
      });
    },
  },
  {
    name: 'server restart',
    needsPrivateServer: true,
    run(server) {
      return sideBySide(server.connectionOptions(), async (pair) => {
        const release = holdIncoming([...pair.plainConns, ...pair.resilientConns]);
        await server.restart();
        return release;
      });
    },
  },
  {
    name: 'dropped flow (LB/NAT)',
    needsPrivateServer: false,
    async run(server) {
      const proxy = await FaultProxy.start(server.connectionOptions());
      try {
        const options = { ...server.connectionOptions(), host: proxy.host, port: proxy.port };
        return await sideBySide(
          options,
          async () => {
            await delay(IDLE_BEFORE_DROP_MS);
            proxy.blackholeExisting();
            return () => undefined;
          },
          MYSQL2_QUERY_TIMEOUT,
          MYSQL2_QUERY_TIMEOUT + 3_000,
        );
      } finally {
        await proxy.close();
      }
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Table

/** The table's width limit (a terminal of 120 columns): the wider outcome column is cut, with ' ...'. */
const TABLE_COLUMNS = 120;

function formatTable(rows: Array<[string, string, string]>): string {
  const header: [string, string, string] = ['scenario', 'with mysql2', 'with resilient-mysql-pool'];
  let all = [header, ...rows];
  const widths = [0, 1, 2].map((i) => Math.max(...all.map((r) => r[i]!.length)));
  // Over the limit: narrow the wider outcome column (then both alike) and fit its cells into it.
  while (widths[0]! + widths[1]! + widths[2]! + 2 * ' | '.length > TABLE_COLUMNS) widths[widths[1]! > widths[2]! ? 1 : 2]!--;
  all = all.map((r) => [r[0], fit(r[1], widths[1]!), fit(r[2], widths[2]!)]);
  widths.splice(0, 3, ...[0, 1, 2].map((i) => Math.max(...all.map((r) => r[i]!.length))));
  rows = all.slice(1) as Array<[string, string, string]>;
  const line = (r: readonly string[]) => r.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/**
 * `text` if it fits in `width`; else, for `N/M ok (a, b, c)`, the notes that fit then ' ...' inside the parentheses,
 * and otherwise a cut at the last space that leaves room for ' ...'.
 */
function fit(text: string, width: number): string {
  if (text.length <= width) return text;
  const notes = /^(.*?) \((.*)\)$/.exec(text);
  if (notes) {
    const kept = notes[2]!.split(', ');
    while (kept.length > 1 && `${notes[1]} (${kept.join(', ')} ...)`.length > width) kept.pop();
    const shorter = `${notes[1]} (${kept.join(', ')} ...)`;
    if (shorter.length <= width) return shorter;
  }
  const room = text.slice(0, width - ' ...'.length);
  const cut = room.lastIndexOf(' ');
  return `${(cut > 0 ? room.slice(0, cut) : room).replace(/,$/, '')} ...`;
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = Date.now();
  const external = Boolean(process.env.MYSQL_URL);
  progress(external ? 'using the server at MYSQL_URL…' : 'starting a private server…');
  const server = await startServer();
  try {
    const [info] = await server.admin<Array<{ v: string }>>('SELECT VERSION() AS v');
    progress(`server ${info!.v} on ${server.host}:${server.port}${external ? '' : ' (private, removed at the end)'}`);
    const rows: Array<[string, string, string]> = [];
    let errors = 0;
    let resilientFailures = 0;
    for (const [i, scenario] of scenarios.entries()) {
      const scenarioStarted = Date.now();
      process.stderr.write(`[${i + 1}/${scenarios.length}] ${scenario.name}…`);
      if (scenario.needsPrivateServer && !server.controllable) {
        const skipped = 'skipped (needs a private server; MYSQL_URL is set)';
        rows.push([scenario.name, skipped, skipped]);
        progress(' skipped');
        continue;
      }
      try {
        const r = await scenario.run(server);
        rows.push([scenario.name, r.plain, r.resilient]);
        if (r.resilientFailed) resilientFailures++;
      } catch (err) {
        errors++;
        const text = `scenario error: ${(err as Error)?.message ?? String(err)}`;
        rows.push([scenario.name, text, text]);
      }
      progress(` ${seconds(Date.now() - scenarioStarted)}`);
    }
    const out = [
      '',
      `${CONNECTIONS} pooled connections, then ${QUERIES} concurrent queries (SELECT i) on each pool, default options;`,
      `server ${info!.v}${external ? ' (MYSQL_URL)' : ' (private)'}.`,
      '',
      formatTable(rows),
      '',
      `dropped flow: every query carries mysql2's { timeout: ${MYSQL2_QUERY_TIMEOUT} }; without it, mysql2's queries wait until TCP gives up`,
      '(~15 min), and its pool never gets back a connection whose query timed out, so the queries queued behind them wait for good.',
      'retried: only statements that cannot run twice are retried (here, plain SELECTs); writes whose outcome is unknown are',
      'surfaced with err.outcomeUnknown = true.',
      '',
    ];
    process.stdout.write(out.join('\n'));
    progress(`done in ${seconds(Date.now() - started)}`);
    if (resilientFailures) progress(`resilient-mysql-pool let failures through in ${resilientFailures} scenario(s)`);
    return errors > 0 ? 1 : 0;
  } finally {
    await server.close();
  }
}

const watchdog = setTimeout(() => {
  progress(`demo: not finished after ${TOTAL_BUDGET_MS / 1000} s; giving up`);
  // The server helper's 'exit' handler kills the private server and removes its datadir.
  process.exit(1);
}, TOTAL_BUDGET_MS);

main().then(
  (status) => {
    clearTimeout(watchdog);
    process.exitCode = status;
  },
  (err: unknown) => {
    clearTimeout(watchdog);
    progress(`demo failed: ${(err as Error)?.stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
