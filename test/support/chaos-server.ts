/**
 * Helpers for the chaos tests against a real server: the two pool implementations side by side, promise wrappers
 * over the callback API (so the error a test inspects is exactly the one the callback got), a persistent admin
 * session for processlist polling and KILL, and a bounded poll.
 */
import mysql from 'mysql2';
import { createResilientPool, type ResilientPool } from '../../src/index.js';
import type { ResilientPoolOptions } from '../../src/options.js';
import type { TestServer } from './server.js';
import { until } from './wait.js';

export type QueryError = Error & {
  code?: string | number;
  errno?: number;
  fatal?: boolean;
  sqlState?: string;
  attempts?: number;
  retryable?: boolean;
  outcomeUnknown?: boolean;
};

/** A pool or a connection: anything with mysql2's callback `query`. */
export interface Queryable {
  query(sql: string, values: unknown, cb: (err: QueryError | null, rows: unknown) => void): unknown;
}

export interface Impl {
  readonly name: 'mysql2' | 'resilient';
  /** mysql2's own pool, or the resilient one with default resilience options. */
  create(options: mysql.PoolOptions): mysql.Pool;
}

export const IMPLS: readonly Impl[] = [
  { name: 'mysql2', create: (options) => mysql.createPool(options) },
  { name: 'resilient', create: (options) => createResilientPool(options as ResilientPoolOptions) },
];

/** The resilient pool behind `pool` (for stats() and effectiveLimits()); throws for mysql2's. */
export function resilient(pool: mysql.Pool): ResilientPool {
  if (typeof (pool as Partial<ResilientPool>).stats !== 'function') throw new Error('not a resilient pool');
  return pool as unknown as ResilientPool;
}

/** Resolves with the rows or rejects with the error the callback got, unchanged. */
export function query<T = unknown>(target: Queryable, sql: string, values?: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    target.query(sql, values, (err, rows) => (err ? reject(err) : resolve(rows as T)));
  });
}

/** Never rejects: the callback's error or rows, and how long the call took. */
export async function attempt<T = unknown>(
  target: Queryable,
  sql: string,
  values?: unknown[],
): Promise<{ err: QueryError | null; rows: T | undefined; ms: number }> {
  const started = Date.now();
  try {
    const rows = await query<T>(target, sql, values);
    return { err: null, rows, ms: Date.now() - started };
  } catch (err) {
    return { err: err as QueryError, rows: undefined, ms: Date.now() - started };
  }
}

export function getConnection(pool: mysql.Pool): Promise<mysql.PoolConnection> {
  return new Promise((resolve, reject) => {
    pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn)));
  });
}

/** Opens one plain (non-pooled) connection; errors after connect are swallowed (these are kill targets). */
export function connectRaw(options: mysql.ConnectionOptions): Promise<mysql.Connection> {
  return new Promise((resolve, reject) => {
    const conn = mysql.createConnection({ connectTimeout: 5_000, ...options });
    conn.on('error', () => undefined);
    conn.connect((err) => {
      if (err) {
        conn.destroy();
        reject(err);
      } else resolve(conn);
    });
  });
}

/** Creates (or re-creates) a non-SUPER user with every privilege on the test database only. */
export async function createAppUser(server: TestServer, user: string, password: string): Promise<void> {
  await server.admin(`DROP USER IF EXISTS '${user}'@'%'`);
  await server.admin(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
  await server.admin(`GRANT ALL ON \`${server.database}\`.* TO '${user}'@'%'`);
}

export interface ProcessRow {
  id: number;
  user: string;
  command: string;
  info: string | null;
}

/**
 * One long-lived root connection for watching and killing: polling through server.admin() would open a connection
 * per poll, and those would show up in the very processlist being watched.
 */
export class AdminSession {
  private constructor(private readonly conn: mysql.Connection) {}

  static async open(server: TestServer): Promise<AdminSession> {
    return new AdminSession(await connectRaw(server.connectionOptions()));
  }

  get threadId(): number {
    return this.conn.threadId!;
  }

  query<T = unknown>(sql: string, values?: unknown[]): Promise<T> {
    return query<T>(this.conn, sql, values);
  }

  async processlist(where = '1', values: unknown[] = []): Promise<ProcessRow[]> {
    const rows = await this.query<Array<{ ID: number; USER: string; COMMAND: string; INFO: string | null }>>(
      `SELECT ID, USER, COMMAND, INFO FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND (${where})`,
      values,
    );
    return rows.map((r) => ({ id: Number(r.ID), user: r.USER, command: r.COMMAND, info: r.INFO }));
  }

  /** Thread ids of every connection of `user`. */
  async threadsOf(user: string): Promise<number[]> {
    return (await this.processlist('USER = ?', [user])).map((r) => r.id);
  }

  /** Whether a server thread is still there. */
  async alive(id: number): Promise<boolean> {
    return (await this.processlist('ID = ?', [id])).length > 0;
  }

  /**
   * Polls until a thread has been running exactly `sql` for at least `runningMs` (MariaDB's TIME_MS; whole seconds
   * on MySQL); resolves with its id.
   */
  async waitForStatement(sql: string, runningMs = 0, ms = 5_000): Promise<number> {
    let id: number | undefined;
    const mariadb = (await this.query<Array<{ v: string }>>('SELECT VERSION() AS v'))[0]!.v.includes('MariaDB');
    const running = mariadb ? 'TIME_MS >= ?' : 'TIME * 1000 >= ?';
    await until(
      async () => {
        id = (await this.processlist(`INFO = ? AND ${running}`, [sql, runningMs]))[0]?.id;
        return id !== undefined;
      },
      ms,
      `a thread running ${JSON.stringify(sql)}`,
    );
    return id!;
  }

  /** KILL (connection); false when the thread was already gone (ER_NO_SUCH_THREAD). */
  async kill(id: number): Promise<boolean> {
    try {
      await this.query(`KILL ${Number(id)}`);
      return true;
    } catch (err) {
      if ((err as QueryError).errno === 1094) return false;
      throw err;
    }
  }

  close(): void {
    this.conn.destroy();
  }
}
