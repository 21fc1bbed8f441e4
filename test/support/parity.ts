/**
 * Helpers for the parity suite (test/integration/parity.test.ts): promise wrappers around the callback pool API
 * that work the same on mysql2's Pool and on ResilientPool, a bounded poll, and a bounded race.
 */
import type { FieldPacket, Pool, PoolConnection, QueryError, QueryOptions } from 'mysql2';

/** The loose call signature of query/execute, overloads aside. */
type Call = (...args: unknown[]) => unknown;

export type AnyError = Error & {
  code?: string | number;
  errno?: number;
  sqlState?: string;
  sqlMessage?: string;
  fatal?: boolean;
};

/** `pool.query` (or `conn.query`) as a promise of `[rows, fields]`. */
export function query<T = unknown>(
  target: Pool | PoolConnection,
  sql: string | QueryOptions,
  values?: unknown,
): Promise<[T, FieldPacket[]]> {
  return new Promise((resolve, reject) => {
    const cb = (err: QueryError | null, rows: unknown, fields: FieldPacket[]) =>
      err ? reject(err) : resolve([rows as T, fields]);
    if (values === undefined) (target.query as Call)(sql, cb);
    else (target.query as Call)(sql, values, cb);
  });
}

/** `pool.execute` (or `conn.execute`) as a promise of `[rows, fields]`. */
export function execute<T = unknown>(
  target: Pool | PoolConnection,
  sql: string | QueryOptions,
  values?: unknown,
): Promise<[T, FieldPacket[]]> {
  return new Promise((resolve, reject) => {
    const cb = (err: QueryError | null, rows: unknown, fields: FieldPacket[]) =>
      err ? reject(err) : resolve([rows as T, fields]);
    try {
      if (values === undefined) (target.execute as Call)(sql, cb);
      else (target.execute as Call)(sql, values, cb);
    } catch (err) {
      // A connection's execute throws synchronously for bad bind parameters; a pool's calls back.
      reject(Object.assign(err as Error, { thrownSynchronously: true }));
    }
  });
}

/** Resolves with the error a promise rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<AnyError> {
  try {
    await promise;
  } catch (err) {
    return err as AnyError;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** `pool.getConnection` as a promise. */
export function getConnection(pool: Pool): Promise<PoolConnection> {
  return new Promise((resolve, reject) => {
    pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn)));
  });
}

