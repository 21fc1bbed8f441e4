/**
 * Helpers for test/integration/observability.test.ts: recording a pool's events, waiting (bounded) for the next ones,
 * finding a statement on the server's processlist, and the child process of the `DEBUG=resilient-mysql-pool:*` test.
 */
import type { EventEmitter } from 'node:events';
import type { PoolConnection } from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import type { RawConnection } from './chaos.js';
import type { TestServer } from './server.js';
import { until } from './wait.js';

/** The account of the debug test: it has a password, and that password must never reach a log line. */
export const OBS_USER = 'obs';
export const OBS_PASSWORD = 's3cret-pw';
/** A wrong password tried by the debug child: it must not be logged either. */
export const WRONG_PASSWORD = 'wr0ng-pw-7f3a';
export const DEBUG_TABLE = 'obs_debug';

export interface Evicted {
  threadId: number | null;
  reason: string;
}

export interface RetryInfo {
  attempt: number;
  error: Error & { code?: string | number; errno?: number };
  reason: string;
  kind: string;
  sql: string;
}

/** Everything a pool emits, in order, from the moment `record()` is called. */
export interface Recorded {
  connections: RawConnection[];
  evicts: Evicted[];
  retries: RetryInfo[];
  warns: Array<Error & Record<string, unknown>>;
  errors: Error[];
  acquires: number;
  releases: number;
  enqueues: number;
  /** Evictions counted by reason, shaped like `stats().destroyed`. */
  evictReasons(): Record<string, number>;
}

/**
 * Subscribes to every event of `pool` (callback or promise pool). `listenForErrors` also subscribes to 'error', which
 * the pool emits only when someone listens.
 */
export function record(pool: EventEmitter, { listenForErrors = false } = {}): Recorded {
  const rec: Recorded = {
    connections: [],
    evicts: [],
    retries: [],
    warns: [],
    errors: [],
    acquires: 0,
    releases: 0,
    enqueues: 0,
    evictReasons() {
      const out: Record<string, number> = {};
      for (const e of rec.evicts) out[e.reason] = (out[e.reason] ?? 0) + 1;
      return out;
    },
  };
  pool.on('connection', (conn: RawConnection) => {
    conn.on('error', () => undefined); // a late error on a killed connection must never crash the test process
    rec.connections.push(conn);
  });
  pool.on('evict', (conn: PoolConnection, reason: string) => rec.evicts.push({ threadId: conn.threadId ?? null, reason }));
  pool.on('retry', (info: RetryInfo) => rec.retries.push(info));
  pool.on('warn', (err: Error & Record<string, unknown>) => rec.warns.push(err));
  pool.on('acquire', () => rec.acquires++);
  pool.on('release', () => rec.releases++);
  pool.on('enqueue', () => rec.enqueues++);
  if (listenForErrors) pool.on('error', (err: Error) => rec.errors.push(err));
  return rec;
}

/**
 * Resolves with the argument lists of the next `count` `name` events of `emitter`; rejects, naming what was awaited
 * and how many came, if they have not all come within `ms`. Subscribe before causing the events.
 */
export function nextEvents(emitter: EventEmitter, name: string, count: number, ms: number): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const got: unknown[][] = [];
    const onEvent = (...args: unknown[]) => {
      got.push(args);
      if (got.length < count) return;
      clearTimeout(timer);
      emitter.removeListener(name, onEvent);
      resolve(got);
    };
    const timer = setTimeout(() => {
      emitter.removeListener(name, onEvent);
      reject(new Error(`expected ${count} '${name}' event(s) within ${ms} ms, got ${got.length}: ${JSON.stringify(got.map((a) => a.slice(1)))}`));
    }, ms);
    emitter.on(name, onEvent);
  });
}

/** After the current macrotask: releases settle on the next tick, so counts read after this are stable. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Resolves once every connection's socket has emitted 'close' (what the pool sees of a KILL), bounded by `ms`. Call it
 * BEFORE causing the close. (Polling `socket.closed` is not the same: it turns true when the socket is destroyed, before
 * the 'close' event in which mysql2 reports the loss, so a poll can see it while the pool has not yet heard.) mysql2's
 * own 'close' handler was registered first, so when this resolves the pool has handled every loss.
 */
export function socketsClosing(conns: readonly RawConnection[], ms: number): Promise<void> {
  const closes = conns.map((c) => new Promise<void>((resolve) => c.stream.once('close', () => resolve())));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${conns.length} socket(s) not closed within ${ms} ms`)), ms);
  });
  const all = Promise.race([Promise.all(closes).then(() => undefined), timeout]).finally(() => clearTimeout(timer));
  all.catch(() => undefined); // awaited by the caller after it has caused the close; never an unhandled rejection
  return all;
}

/**
 * The server thread running exactly `sql` for at least `runningMs` (so the statement is certainly on the wire and
 * executing when it is killed); fails after `ms`. Works with the server's `admin()` or a raw promise connection.
 */
export async function threadRunning(
  query: (sql: string, values: unknown[]) => Promise<Array<{ ID: number | string }>>,
  flavor: 'mariadb' | 'mysql',
  sql: string,
  runningMs = 100,
  ms = 5_000,
): Promise<number> {
  const running = flavor === 'mariadb' ? 'TIME_MS >= ?' : 'TIME * 1000 >= ?';
  let id: number | undefined;
  await until(
    async () => {
      const rows = await query(`SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = ? AND ${running}`, [sql, runningMs]);
      id = rows[0] === undefined ? undefined : Number(rows[0].ID);
      return id !== undefined;
    },
    ms,
    `a thread running ${JSON.stringify(sql)}`,
    10,
  );
  return id!;
}

export function adminQuery(server: TestServer) {
  return (sql: string, values: unknown[]) => server.admin<Array<{ ID: number }>>(sql, values);
}

// ---------------------------------------------------------------------------------------------------------------
// The child process of the debug-namespaces test

/** What the child reports on stdout (one JSON line) for the parent to check the log against. */
export interface DebugChildReport {
  readThread: number;
  readRows: unknown;
  writeThread: number;
  writeError: { code?: unknown; outcomeUnknown?: unknown; attempts?: unknown };
  wrongPasswordError: { code?: unknown };
}

/**
 * Run in a child process with DEBUG=resilient-mysql-pool:* (stderr is the log): a read killed mid-flight (retried),
 * a write killed mid-flight (not retried), a checkout ping that succeeds, pools configured with the password as an option, inside a `uri` and as a
 * URI string, and a connect refused for a wrong password. `OBS_TARGET` holds `{ host, port, database, flavor }`; the
 * KILLs are issued as root (no password) over a separate plain mysql2 connection.
 */
export async function debugChildMain(): Promise<void> {
  const { createResilientPool } = await import('../../src/index.js');
  const target = JSON.parse(process.env.OBS_TARGET ?? '{}') as { host: string; port: number; database: string; flavor: 'mariadb' | 'mysql' };
  const { host, port, database, flavor } = target;
  const admin = await mysqlPromise.createConnection({ host, port, user: 'root', database });
  const adminRows = async (sql: string, values: unknown[]) => (await admin.query(sql, values))[0] as Array<{ ID: number }>;
  const pool = createResilientPool({ host, port, database, user: OBS_USER, password: OBS_PASSWORD, connectionLimit: 2 });
  const ask = (sql: string) =>
    new Promise<unknown>((resolve, reject) => pool.query(sql, (err: Error | null, rows: unknown) => (err ? reject(err) : resolve(rows))));
  try {
    const read = 'SELECT SLEEP(1) AS s';
    const pendingRead = ask(read);
    const readThread = await threadRunning(adminRows, flavor, read);
    await admin.query(`KILL ${readThread}`);
    const readRows = await pendingRead;

    const write = `INSERT INTO ${DEBUG_TABLE} (v) SELECT SLEEP(1)`;
    const pendingWrite = ask(write).then(
      () => ({}),
      (err: Record<string, unknown>) => ({ code: err.code, outcomeUnknown: err.outcomeUnknown, attempts: err.attempts }),
    );
    const writeThread = await threadRunning(adminRows, flavor, write);
    await admin.query(`KILL ${writeThread}`);
    const writeError = await pendingWrite;

    const uri = `mysql://${OBS_USER}:${OBS_PASSWORD}@${host}:${port}/${database}`;
    for (const other of [createResilientPool({ uri, connectionLimit: 1 }), createResilientPool(`${uri}?connectionLimit=1`)]) {
      await new Promise<void>((resolve, reject) => other.query('SELECT 1', (err: Error | null) => (err ? reject(err) : resolve())));
      await new Promise((resolve) => other.end(resolve));
    }

    // pingSkipWindow 0: the second checkout pings, and a successful ping is logged too.
    const pinged = createResilientPool({ host, port, database, user: OBS_USER, password: OBS_PASSWORD, connectionLimit: 1, pingSkipWindow: 0 });
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve, reject) => pinged.query('SELECT 1', (err: Error | null) => (err ? reject(err) : resolve())));
    }
    await new Promise((resolve) => pinged.end(resolve));

    const wrong = createResilientPool({ host, port, database, user: OBS_USER, password: WRONG_PASSWORD, connectionLimit: 1 });
    const wrongPasswordError = await new Promise<{ code?: unknown }>((resolve) =>
      wrong.query('SELECT 1', (err: (Error & { code?: unknown }) | null) => resolve({ code: err?.code })),
    );
    await new Promise((resolve) => wrong.end(resolve));

    const report: DebugChildReport = { readThread, readRows, writeThread, writeError, wrongPasswordError };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await new Promise((resolve) => pool.end(resolve));
    await admin.end();
  }
}
