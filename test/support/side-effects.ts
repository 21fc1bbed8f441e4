/**
 * A private server set up to count side effects, for the "never twice" tests: whatever a statement did on the server
 * is counted there, not inferred from what the client saw.
 *
 * - `log_hit(tag)`: a stored function that inserts a row into `hits` and returns 1 (a "read" that writes);
 * - `s`: a sequence created NOCACHE, so `next_not_cached_value` moves by exactly one per NEXTVAL;
 * - `p_hit_then_1290(tag)`: a procedure that inserts into `hits`, then fails with 1290 (secure_file_priv);
 * - the general log (log_output=TABLE): every statement the server received from the app user, with its text, so a
 *   statement is counted even when its side effect cannot be (GET_LOCK, INTO OUTFILE) or was rolled back.
 *
 * The server runs with `--secure-file-priv=<dir>`: `INTO OUTFILE` inside `outfileDir` works, anywhere else it is
 * refused with 1290 (ER_OPTION_PREVENTS_STATEMENT), the error that was taken for "the server is read-only".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { AdminSession, IMPLS, createAppUser, type Impl, type QueryError } from './chaos-server.js';
import { FaultProxy, type ReplyDrop } from './proxy.js';
import { startServer, type TestServer } from './server.js';

export const APP_USER = 'nt';
export const APP_PASSWORD = 'nt-pw';

export interface SideEffectServer {
  server: TestServer;
  admin: AdminSession;
  /** The only directory INTO OUTFILE may write to. */
  outfileDir: string;
  /** A path outside `outfileDir`: INTO OUTFILE there fails with 1290. */
  forbiddenFile: string;
  /** Rows `log_hit(tag)` / the procedure / a test's INSERT put into `hits` with this tag. */
  hits(tag: string): Promise<number>;
  /** The value the next NEXTVAL(s) would return; the difference across a call is how often it ran. */
  sequence(): Promise<number>;
  /** Statements (queries and executes) the app user sent whose text contains `marker`. */
  received(marker: string): Promise<number>;
  close(): Promise<void>;
}

export async function startSideEffectServer(): Promise<SideEffectServer> {
  const outfileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmp-outfile-'));
  let server: TestServer | undefined;
  let admin: AdminSession | undefined;
  try {
    server = await startServer({ args: [`--secure-file-priv=${outfileDir}`, '--general-log=1', '--log-output=TABLE'] });
    await createAppUser(server, APP_USER, APP_PASSWORD);
    await server.admin(`GRANT FILE ON *.* TO '${APP_USER}'@'%'`);
    admin = await AdminSession.open(server);
    await admin.query('CREATE TABLE hits (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(64) NOT NULL, KEY (tag)) ENGINE=InnoDB');
    await admin.query(
      'CREATE FUNCTION log_hit(t VARCHAR(64)) RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO hits (tag) VALUES (t); RETURN 1; END',
    );
    await admin.query('CREATE SEQUENCE s NOCACHE');
    const forbidden = path.join(os.tmpdir(), 'rmp-never-written.txt');
    await admin.query(
      `CREATE PROCEDURE p_hit_then_1290(t VARCHAR(64)) MODIFIES SQL DATA BEGIN INSERT INTO hits (tag) VALUES (t); ` +
        `SELECT 1 INTO OUTFILE ${mysql.escape(forbidden)}; END`,
    );
    // A table for the pool-level transaction scenarios, and a knob that sets how long SLEEP_READ sleeps.
    await admin.query('CREATE TABLE tx (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(64) NOT NULL) ENGINE=InnoDB');
    await admin.query('CREATE TABLE knob (id INT PRIMARY KEY, sleep_s DOUBLE NOT NULL) ENGINE=InnoDB');
    await admin.query('INSERT INTO knob VALUES (1, 0)');
    const a = admin;
    const s = server;
    return {
      server: s,
      admin: a,
      outfileDir,
      forbiddenFile: forbidden,
      async hits(tag) {
        const rows = await a.query<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM hits WHERE tag = ?', [tag]);
        return Number(rows[0]!.n);
      },
      async sequence() {
        const rows = await a.query<Array<{ v: number }>>('SELECT next_not_cached_value AS v FROM s');
        return Number(rows[0]!.v);
      },
      async received(marker) {
        // INSTR on the bytes: the marker is ASCII, the logged text may hold latin1 bytes that are not valid utf8.
        const rows = await a.query<Array<{ n: number }>>(
          "SELECT COUNT(*) AS n FROM mysql.general_log WHERE command_type IN ('Query', 'Execute') " +
            'AND user_host LIKE ? AND INSTR(CAST(argument AS BINARY), CAST(? AS BINARY)) > 0',
          [`${APP_USER}[%`, marker],
        );
        return Number(rows[0]!.n);
      },
      async close() {
        a.close();
        await s.close();
        fs.rmSync(outfileDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    admin?.close();
    await server?.close();
    fs.rmSync(outfileDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * For a test file: starts a side-effect server in before() (then runs `setup` on it) and closes it in after().
 * `bed` is valid inside tests; `pool(impl, extra)` makes a pool of the app user on it (default: the resilient one).
 */
export function useSideEffectServer(setup?: (bed: SideEffectServer) => Promise<void>): {
  readonly bed: SideEffectServer;
  pool(impl?: Impl, extra?: mysql.PoolOptions): mysql.Pool;
} {
  let bed: SideEffectServer | undefined;
  before(
    async () => {
      bed = await startSideEffectServer();
      await setup?.(bed);
    },
    { timeout: 90_000 },
  );
  after(async () => {
    await bed?.close();
  });
  return {
    get bed() {
      if (!bed) throw new Error('the side-effect server is not started (use it inside a test)');
      return bed;
    },
    pool(impl = IMPLS[1]!, extra = {}) {
      const { host, port } = this.bed.server;
      return impl.create({ host, port, user: APP_USER, password: APP_PASSWORD, database: 'test', ...extra });
    },
  };
}

/** A side-effect server behind a FaultProxy, for the dropped-reply cases. */
export interface DropBed {
  bed: SideEffectServer;
  proxy: FaultProxy;
  /** The app user's pool options, through the proxy. */
  poolOptions(extra?: mysql.PoolOptions): mysql.PoolOptions;
  /** Arms a one-shot drop for the first query/execute whose text contains `marker`. */
  dropWhenSent(marker: string): ReplyDrop;
  close(): Promise<void>;
}

export async function startDropBed(): Promise<DropBed> {
  const bed = await startSideEffectServer();
  let proxy: FaultProxy;
  try {
    proxy = await FaultProxy.start({ host: bed.server.host, port: bed.server.port });
  } catch (err) {
    await bed.close();
    throw err;
  }
  return {
    bed,
    proxy,
    poolOptions: (extra = {}) => ({
      host: proxy.host,
      port: proxy.port,
      user: APP_USER,
      password: APP_PASSWORD,
      database: 'test',
      ...extra,
    }),
    dropWhenSent: (marker) => proxy.dropReplyWhen((cmd) => cmd.text.includes(marker)),
    async close() {
      await proxy.close();
      await bed.close();
    },
  };
}

/** For a test file: startDropBed() in before(), close() in after(); the getter is valid inside tests. */
export function useDropBed(): { readonly drops: DropBed } {
  let drops: DropBed | undefined;
  before(
    async () => {
      drops = await startDropBed();
    },
    { timeout: 90_000 },
  );
  after(async () => {
    await drops?.close();
  });
  return {
    get drops() {
      if (!drops) throw new Error('the drop bed is not started (use it inside a test)');
      return drops;
    },
  };
}

/** `SELECT SLEEP(knob) ...`: a plain read whose duration the test sets, so a retry after a KILL can be quick. */
export const SLEEP_READ = 'SELECT SLEEP((SELECT sleep_s FROM knob WHERE id = 1)) AS slept';

/** What the caller saw, in one line, for assertion messages. */
export function seen(err: QueryError | null | undefined): string {
  if (!err) return 'success';
  const { code, errno, attempts, retryable, outcomeUnknown } = err;
  return JSON.stringify({ code, errno, attempts, retryable, outcomeUnknown, message: err.message });
}

/**
 * For a statement whose reply the proxy dropped after it ran: it ran once, and the caller must have been told so with
 * an error (outcome unknown, one attempt), never "success" (only a rerun could produce one). `effects` is how often
 * its side effect happened on the server.
 */
export function assertRanOnceAndSaid(what: string, drop: ReplyDrop, effects: number, err: QueryError | null): void {
  assert.equal(drop.fired, 1, `${what}: the proxy dropped the reply (the fault happened)`);
  assert.equal(effects, 1, `${what}: side effects on the server (caller saw ${seen(err)})`);
  assert.ok(err, `${what}: the reply was lost, so the caller cannot have been told "success" without a rerun`);
  assert.equal(err.outcomeUnknown, true, `${what}: outcomeUnknown (caller saw ${seen(err)})`);
  assert.equal(err.attempts, 1, `${what}: attempts (caller saw ${seen(err)})`);
}

/** pool.execute with a callback, as a promise that never rejects. */
export function executeOn(
  pool: mysql.Pool,
  sql: string,
  values: unknown[],
): Promise<{ err: QueryError | null; rows: unknown }> {
  return new Promise((resolve) =>
    pool.execute(sql, values as never, (err: QueryError | null, rows: unknown) => resolve({ err, rows })),
  );
}

/** pool.query with a callback (any sql/values shape mysql2 takes), as a promise that never rejects. */
export function queryOn(
  pool: mysql.Pool,
  sql: string | mysql.QueryOptions,
  values?: unknown,
): Promise<{ err: QueryError | null; rows: unknown }> {
  return new Promise((resolve) =>
    pool.query(sql as string, values as never, (err: QueryError | null, rows: unknown) => resolve({ err, rows })),
  );
}
