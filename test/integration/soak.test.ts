/**
 * Soak: 16 workers doing keyed reads and unique inserts through one resilient pool (connectionLimit 8, default
 * resilience options) for ~5 s (longer under load, at most 20 s, until the killer has made 8 kills, 3 of them
 * mid-INSERT), while a killer KILLs one of the pool's server connections every 100-300 ms: every
 * other kill a connection that is executing an INSERT (each takes a few ms: the trigger below sleeps), since a kill
 * that lands between statements cannot make anything run twice.
 *
 * What must hold: no read error ever reaches the application; every insert acknowledged OK is in the table; no
 * insert ran twice; every insert that failed says why (outcomeUnknown, or an error that is not about the
 * connection); after end() the pool has nothing left on the server.
 *
 * "Ran twice" is counted on the server, in two ways a replay cannot escape: `t.k` has no UNIQUE key (a replay that
 * commits leaves the key twice instead of failing with a duplicate-key error), and the server's general log records
 * every statement it received, so an INSERT received twice is seen even when its first execution was killed and
 * rolled back. (A correct pool re-sends a write only when it was never written to the socket, which the server
 * cannot have received.) A retry rule that re-sent writes fails this test: checked by breaking decideRetry.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import type mysql from 'mysql2';
import { AdminSession, IMPLS, attempt, createAppUser, resilient, type QueryError } from '../support/chaos-server.js';
import { endPools } from '../support/pools.js';
import { delay, until } from '../support/wait.js';

const DURATION_MS = 5_000;
/** Under load the killer may not have hit enough by DURATION_MS; the workers go on until it has, at most this long. */
const MAX_DURATION_MS = 20_000;
/** Kills in all, and kills mid-INSERT, the run waits for (within MAX_DURATION_MS) before it stops. */
const WANT_KILLS = 8;
const WANT_INSERT_KILLS = 3;
const WORKERS = 16;
const CONNECTION_LIMIT = 8;
const USER = 'soak';
const PASSWORD = 'soak-pw';

/** Codes of connection-level failures (as opposed to SQL errors the application owns). */
const CONNECTION_CODES = new Set<string | number>([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'POOL_ACQUIRE_TIMEOUT',
  'POOL_CLOSED',
  1927,
]);
function isConnectionError(err: QueryError): boolean {
  return (
    CONNECTION_CODES.has(err.code as string) ||
    (err.errno !== undefined && CONNECTION_CODES.has(err.errno)) ||
    err.fatal === true ||
    err.retryable === true
  );
}

function brief(err: QueryError): string {
  const { code, errno, attempts, retryable, outcomeUnknown } = err;
  return JSON.stringify({ code, errno, attempts, retryable, outcomeUnknown, message: err.message });
}

let admin: AdminSession;
let logDir: string;

const server = usePrivateServer({
  args: () => {
    // The general log goes to a file: as a table (CSV, table-locked) it slows every statement of the soak.
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmp-soak-log-'));
    return ['--general-log=1', '--log-output=FILE', `--general-log-file=${path.join(logDir, 'general.log')}`];
  },
  setup: async () => {
    await createAppUser(server, USER, PASSWORD);
    admin = await AdminSession.open(server);
    await admin.query('DROP TABLE IF EXISTS t');
    await admin.query(
      'CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(64) NOT NULL, v INT NULL, KEY ik (k)) ENGINE=InnoDB',
    );
    // Each INSERT takes 5 ms, so the killer can catch some mid-execution. (No table in the trigger: a
    // non-transactional one would be table-locked for the whole statement and serialise every INSERT.)
    await admin.query('CREATE TRIGGER t_slow BEFORE INSERT ON t FOR EACH ROW DO SLEEP(0.005)');
  },
  cleanup: () => admin?.close(),
});

after(async () => {
  if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

/** How often the server received each `INSERT INTO t ...` text from the soak user, from the general log file. */
async function insertsReceived(): Promise<Map<string, number>> {
  await admin.query('FLUSH GENERAL LOGS'); // the server writes the log buffered; this empties its buffer to the file
  const soakThreads = new Set<string>();
  const counts = new Map<string, number>();
  // Lines: [time\t]thread_id Command\tArgument. "Connect" lines name the user of a thread.
  for (const line of fs.readFileSync(path.join(logDir, 'general.log'), 'utf8').split('\n')) {
    const m = /^(?:\S+\s+\S+\t|\t\t)?\s*(\d+) (\w+)\t(.*)$/.exec(line);
    if (!m) continue;
    const [, thread, command, arg] = m;
    if (command === 'Connect' && arg!.startsWith(`${USER}@`)) soakThreads.add(thread!);
    if (command === 'Query' && soakThreads.has(thread!) && arg!.startsWith('INSERT INTO t ')) {
      counts.set(arg!, (counts.get(arg!) ?? 0) + 1);
    }
  }
  return counts;
}

test('soak: reads and unique inserts while connections are killed', { timeout: 60_000 }, async () => {
  const pool: mysql.Pool = IMPLS.find((i) => i.name === 'resilient')!.create({
    ...server.connectionOptions(),
    user: USER,
    password: PASSWORD,
    connectionLimit: CONNECTION_LIMIT,
  });
  const threads = new Set<number>();
  pool.on('connection', (conn) => threads.add(conn.threadId!));

  const acked: string[] = [];
  const writeErrors: Array<{ key: string; err: QueryError }> = [];
  const readErrors: QueryError[] = [];
  /** Acknowledged keys a read found other than exactly once (twice: the INSERT ran twice). */
  const misread: string[] = [];
  let reads = 0;
  let kills = 0;
  let insertKills = 0;
  let round = 0;
  let stop = false;
  const started = Date.now();
  // Bounded: stops at MAX_DURATION_MS whatever the killer managed.
  const running = (): boolean =>
    Date.now() - started < MAX_DURATION_MS &&
    (Date.now() - started < DURATION_MS || kills + insertKills < WANT_KILLS || insertKills < WANT_INSERT_KILLS);

  /** Threads running an INSERT: looked for up to 30 times within 300 ms, since most of the time none is. */
  const insertsInFlight = async (): Promise<number[]> => {
    const until = Date.now() + 300;
    for (let look = 0; look < 30 && !stop && Date.now() < until; look++) {
      // Inside the trigger the processlist shows the trigger's statement, not the INSERT.
      const rows = await admin.processlist("USER = ? AND (INFO LIKE 'INSERT%' OR INFO LIKE 'DO SLEEP%')", [USER]);
      if (rows.length > 0) return rows.map((r) => r.id);
      await delay(10);
    }
    return [];
  };

  const killer = (async () => {
    while (!stop) {
      await delay(100 + Math.floor(Math.random() * 200));
      if (stop) break;
      const mid = round++ % 2 === 1;
      const ids = mid ? await insertsInFlight() : await admin.threadsOf(USER);
      if (ids.length === 0) continue;
      if (await admin.kill(ids[Math.floor(Math.random() * ids.length)]!)) {
        if (mid) insertKills++;
        else kills++;
      }
    }
  })();

  const worker = async (w: number) => {
    let n = 0;
    while (running()) {
      if (Math.random() < 0.5) {
        const key = acked.length > 0 && Math.random() < 0.8 ? acked[Math.floor(Math.random() * acked.length)]! : `none-${w}`;
        const r = await attempt<Array<{ k: string; v: number | null }>>(pool, 'SELECT k, v FROM t WHERE k = ?', [key]);
        reads++;
        if (r.err) readErrors.push(r.err);
        else if (!key.startsWith('none-') && r.rows!.length !== 1) misread.push(`${key}: ${r.rows!.length} rows`);
      } else {
        const key = `w${w}-${n++}`;
        const r = await attempt(pool, 'INSERT INTO t (k) VALUES (?)', [key]);
        if (r.err) writeErrors.push({ key, err: r.err });
        else acked.push(key);
      }
    }
  };

  let stats: ReturnType<ReturnType<typeof resilient>['stats']>;
  try {
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  } finally {
    stop = true;
    await killer;
    stats = resilient(pool).stats();
    await endPools([pool]);
  }

  const outcomeUnknown = writeErrors.filter((e) => e.err.outcomeUnknown === true);
  const otherWriteErrors = writeErrors.filter((e) => e.err.outcomeUnknown !== true);
  console.log(
    `# soak: ${Date.now() - started} ms, reads=${reads} (errors ${readErrors.length}), writes ok=${acked.length}, ` +
      `writes outcomeUnknown=${outcomeUnknown.length}, other write errors=${otherWriteErrors.length}, kills=${kills}, ` +
      `kills mid-INSERT=${insertKills}, ` +
      `retries=${JSON.stringify(stats.retries)}, created=${stats.created}, destroyed=${JSON.stringify(stats.destroyed)}, ` +
      `errorsSurfaced=${stats.errorsSurfaced}, acquireWait p99=${stats.acquireWait.p99} ms max=${Math.round(stats.acquireWait.max)} ms`,
  );

  // After end(): nothing of the pool is left on the server.
  await until(async () => (await admin.threadsOf(USER)).length === 0, 5_000, 'no pool connection left on the server');

  assert.ok(kills + insertKills >= 5, `the killer must have hit the pool (kills=${kills} + ${insertKills} mid-INSERT)`);
  // Without a kill mid-INSERT the replay checks below would have nothing to catch.
  assert.ok(insertKills >= 1, `the killer must have caught an INSERT mid-execution (kills mid-INSERT=${insertKills})`);
  assert.ok(reads > 0 && acked.length > 0, 'the workers made progress');
  assert.deepEqual(readErrors.map(brief), [], 'no read error reaches the application');

  const inTable = await admin.query<Array<{ k: string }>>('SELECT k FROM t');
  const present = new Set(inTable.map((r) => r.k));
  const missing = acked.filter((k) => !present.has(k));
  assert.deepEqual(missing, [], 'every acknowledged insert is in the table');

  const received = await insertsReceived();
  assert.deepEqual(
    [...received].filter(([, n]) => n > 1),
    [],
    'no INSERT received twice by the server (executions killed and rolled back included)',
  );
  assert.ok(received.size >= acked.length, `the general log saw every acknowledged insert (${received.size})`);
  const twice = await admin.query<Array<{ k: string; n: number }>>(
    'SELECT k, COUNT(*) AS n FROM t GROUP BY k HAVING COUNT(*) > 1',
  );
  assert.deepEqual(twice, [], 'no key committed twice');
  assert.deepEqual(misread, [], 'every acknowledged key read back exactly once');

  for (const { key, err } of outcomeUnknown) {
    assert.equal(err.attempts, 1, `${key}: a write whose outcome is unknown is never retried: ${brief(err)}`);
  }
  const unexplained = otherWriteErrors.filter((e) => isConnectionError(e.err));
  assert.deepEqual(
    unexplained.map((e) => `${e.key}: ${brief(e.err)}`),
    [],
    'an insert that failed on the connection must say its outcome is unknown (or it was retried)',
  );
  assert.ok(threads.size > CONNECTION_LIMIT, 'killed connections were replaced');
});
