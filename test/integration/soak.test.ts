/**
 * Soak: 16 workers doing keyed reads and unique inserts through one resilient pool (connectionLimit 8, default
 * resilience options) for ~5 s, while a killer KILLs one of the pool's server connections every 100-300 ms.
 *
 * What must hold: no read error ever reaches the application; every insert acknowledged OK is in the table; no
 * insert ran twice (no duplicate key error, no key twice); every insert that failed says why (outcomeUnknown, or
 * an error that is not about the connection); after end() the pool has nothing left on the server.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type mysql from 'mysql2';
import {
  AdminSession,
  IMPLS,
  attempt,
  createAppUser,
  endPool,
  resilient,
  startChaosServer,
  until,
  type QueryError,
} from '../support/chaos-server.js';
import type { TestServer } from '../support/server.js';

const DURATION_MS = 5_000;
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let server: TestServer;
let admin: AdminSession;

before(
  async () => {
    server = await startChaosServer();
    await createAppUser(server, USER, PASSWORD);
    admin = await AdminSession.open(server);
    await admin.query('DROP TABLE IF EXISTS t');
    await admin.query(
      'CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(64) NOT NULL, v INT NULL, UNIQUE KEY uk (k)) ENGINE=InnoDB',
    );
  },
  { timeout: 90_000 },
);

after(async () => {
  admin?.close();
  await server?.close();
});

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
  let reads = 0;
  let kills = 0;
  let stop = false;
  const deadline = Date.now() + DURATION_MS;

  const killer = (async () => {
    while (!stop) {
      await sleep(100 + Math.floor(Math.random() * 200));
      if (stop) break;
      const ids = await admin.threadsOf(USER);
      if (ids.length === 0) continue;
      if (await admin.kill(ids[Math.floor(Math.random() * ids.length)]!)) kills++;
    }
  })();

  const worker = async (w: number) => {
    let n = 0;
    while (Date.now() < deadline) {
      if (Math.random() < 0.5) {
        const key = acked.length > 0 && Math.random() < 0.8 ? acked[Math.floor(Math.random() * acked.length)]! : `none-${w}`;
        const r = await attempt<Array<{ k: string; v: number | null }>>(pool, 'SELECT k, v FROM t WHERE k = ?', [key]);
        reads++;
        if (r.err) readErrors.push(r.err);
        else if (!key.startsWith('none-')) assert.equal(r.rows!.length, 1, `acknowledged key ${key} must be readable`);
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
    await endPool(pool);
  }

  const outcomeUnknown = writeErrors.filter((e) => e.err.outcomeUnknown === true);
  const otherWriteErrors = writeErrors.filter((e) => e.err.outcomeUnknown !== true);
  const duplicates = writeErrors.filter((e) => e.err.code === 'ER_DUP_ENTRY');
  console.log(
    `# soak: reads=${reads} (errors ${readErrors.length}), writes ok=${acked.length}, ` +
      `writes outcomeUnknown=${outcomeUnknown.length}, other write errors=${otherWriteErrors.length}, kills=${kills}, ` +
      `retries=${JSON.stringify(stats.retries)}, created=${stats.created}, destroyed=${JSON.stringify(stats.destroyed)}, ` +
      `errorsSurfaced=${stats.errorsSurfaced}, acquireWait p99=${stats.acquireWait.p99} ms max=${Math.round(stats.acquireWait.max)} ms`,
  );

  // After end(): nothing of the pool is left on the server.
  await until(async () => (await admin.threadsOf(USER)).length === 0, 5_000, 'no pool connection left on the server');

  assert.ok(kills >= 5, `the killer must have hit the pool (kills=${kills})`);
  assert.ok(reads > 0 && acked.length > 0, 'the workers made progress');
  assert.deepEqual(readErrors.map(brief), [], 'no read error reaches the application');

  const inTable = await admin.query<Array<{ k: string }>>('SELECT k FROM t');
  const present = new Set(inTable.map((r) => r.k));
  const missing = acked.filter((k) => !present.has(k));
  assert.deepEqual(missing, [], 'every acknowledged insert is in the table');

  const twice = await admin.query<Array<{ k: string }>>('SELECT k FROM t GROUP BY k HAVING COUNT(*) > 1');
  assert.deepEqual(twice, [], 'no key twice');
  assert.deepEqual(duplicates.map((e) => `${e.key}: ${brief(e.err)}`), [], 'no insert ran twice (a retried write would hit the UNIQUE key)');

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
