/**
 * Compile-time test (never run): the pools this library returns are what mysql2's typings say they replace, and
 * this library's own options are type-checked. Compiled by `tsc -p test/types/tsconfig.json`
 * (test/integration/types.test.ts) and by the root type check. Every `@ts-expect-error` below must stay an error:
 * if the types collapsed to `any`, those lines would stop erroring and the compile would fail.
 *
 * Imports src so it needs no build; test/integration/package.test.ts checks the built declarations.
 */
import type * as mysql from 'mysql2';
import type * as mysqlPromise from 'mysql2/promise';
import { ResilientPool, ResilientPromisePool, createPool, createResilientPool } from '../../src/index.js';
import type { ResilientPoolOptions } from '../../src/index.js';
import * as promiseApi from '../../src/promise.js';

/** True when A and B are the same type (not merely mutually assignable; `any` equals only `any`). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** `exactly<T>()(value)` compiles only when the type of `value` is exactly T. */
const exactly =
  <Expected>() =>
  <Actual>(_value: Actual, ..._typesDiffer: Equals<Actual, Expected> extends true ? [] : [never]): void => {};
/** `assignable<T>(value)` compiles when `value` is assignable to T. */
const assignable = <T>(_value: T): void => {};

const options: ResilientPoolOptions = {
  host: '127.0.0.1',
  user: 'app',
  connectionLimit: 5,
  acquireTimeout: 5_000,
  pingTimeout: 250,
  pingSkipWindow: 500,
  maxLifetime: 600_000,
  networkIdleTimeout: 350_000,
  minConnections: 1,
  queryTimeout: 30_000,
  maxAttempts: 3,
  assumeIdempotent: false,
  endTimeout: 10_000,
  classifyError: (_err, action) => action,
};

// ---------------------------------------------------------------- callback API (mysql2)

export const pool: mysql.Pool = createResilientPool(options);
export const fromUri: mysql.Pool = createResilientPool('mysql://app@127.0.0.1/db');
export const viaAlias: mysql.Pool = createPool({ host: '127.0.0.1' });
export const resilient = createResilientPool({ host: '127.0.0.1' });
exactly<ResilientPool>()(resilient);
export const asMysqlPool: mysql.Pool = resilient;

pool.getConnection((err, conn) => {
  exactly<NodeJS.ErrnoException | null>()(err);
  exactly<mysql.PoolConnection>()(conn);
  conn.release();
});
resilient.getConnection((err, conn) => {
  exactly<NodeJS.ErrnoException | null>()(err);
  exactly<mysql.PoolConnection>()(conn);
  const promiseConn: mysqlPromise.PoolConnection = conn.promise();
  promiseConn.release();
});

pool.query('SELECT 1', (err, rows) => {
  exactly<mysql.QueryError | null>()(err);
  assignable<mysql.QueryResult>(rows);
});
pool.query<mysql.RowDataPacket[]>('SELECT ? AS n', [1], (err, rows, fields) => {
  exactly<mysql.QueryError | null>()(err);
  exactly<mysql.RowDataPacket[]>()(rows);
  exactly<mysql.FieldPacket[]>()(fields);
});
pool.execute<mysql.ResultSetHeader>('UPDATE t SET a = ?', [1], (err, result) => {
  exactly<mysql.QueryError | null>()(err);
  exactly<mysql.ResultSetHeader>()(result);
});

// The same calls on the ResilientPool type itself (what `const pool = createResilientPool(...)` gives).
// mysql2's overloads are kept on the class, so callback parameters are typed.
resilient.query('SELECT 1', (err, rows) => { exactly<mysql.QueryError | null>()(err); assignable<mysql.QueryResult>(rows); });
resilient.execute<mysql.ResultSetHeader>('UPDATE t SET a = ?', [1], (err, result) => { exactly<mysql.QueryError | null>()(err); exactly<mysql.ResultSetHeader>()(result); });
resilient.end((err) => assignable<NodeJS.ErrnoException | null>(err));

// ---------------------------------------------------------------- .promise()

export const promised: mysqlPromise.Pool = resilient.promise();
export const promisedWithImpl: mysqlPromise.Pool = pool.promise(Promise);
exactly<ResilientPromisePool>()(resilient.promise());
exactly<ResilientPool>()(resilient.promise().pool);

// ---------------------------------------------------------------- promise API (mysql2/promise)

export const promisePool: mysqlPromise.Pool = promiseApi.createResilientPool(options);
export const promiseViaAlias: mysqlPromise.Pool = promiseApi.createPool('mysql://app@127.0.0.1/db');
export const resilientPromise = promiseApi.createResilientPool({ host: '127.0.0.1' });
exactly<ResilientPromisePool>()(resilientPromise);
exactly<ResilientPool>()(resilientPromise.pool);
assignable<mysql.Pool>(resilientPromise.pool);
// Both entries export the same class.
exactly<typeof ResilientPool>()(promiseApi.ResilientPool);

export async function promiseUsage(): Promise<void> {
  const conn = await promisePool.getConnection();
  exactly<mysqlPromise.PoolConnection>()(conn);
  conn.release();

  const conn2 = await resilientPromise.getConnection();
  exactly<mysqlPromise.PoolConnection>()(conn2);
  conn2.release();

  const [rows, fields] = await resilientPromise.query<mysqlPromise.RowDataPacket[]>('SELECT 1 AS n');
  exactly<mysqlPromise.RowDataPacket[]>()(rows);
  exactly<mysqlPromise.FieldPacket[]>()(fields);

  const [header] = await resilientPromise.execute<mysqlPromise.ResultSetHeader>('UPDATE t SET a = ?', [1]);
  exactly<mysqlPromise.ResultSetHeader>()(header);

  assignable<object>(resilientPromise.stats());
  await resilientPromise.end();
}

// ---------------------------------------------------------------- rejected at compile time

// @ts-expect-error -- pingTimeout is a number of milliseconds
createResilientPool({ host: 'h', pingTimeout: 'x' });
// @ts-expect-error -- acquireTimeout is a number
createResilientPool({ host: 'h', acquireTimeout: '10s' });
// @ts-expect-error -- assumeIdempotent is a boolean
createResilientPool({ host: 'h', assumeIdempotent: 'yes' });
// @ts-expect-error -- classifyError is a function
createResilientPool({ host: 'h', classifyError: 42 });
// @ts-expect-error -- classifyError returns an action, null or undefined
createResilientPool({ host: 'h', classifyError: () => 'retry-please' });
// @ts-expect-error -- a typo of an own option is an unknown property
createResilientPool({ host: 'h', pingTimout: 500 });
// @ts-expect-error -- the promise entry checks options the same way
promiseApi.createResilientPool({ host: 'h', maxAttempts: '3' });
// @ts-expect-error -- options are an object or a URI string
createResilientPool(3306);
// @ts-expect-error -- the callback pool is not a promise pool
export const notPromise: mysqlPromise.Pool = createResilientPool({ host: 'h' });
// @ts-expect-error -- the promise pool is not a callback pool
export const notCallback: mysql.Pool = promiseApi.createResilientPool({ host: 'h' });
// @ts-expect-error -- the promise pool's getConnection takes no callback
promisePool.getConnection((_err: unknown, _conn: unknown) => {});
// @ts-expect-error -- `exactly` itself must reject a mismatch (here: any is not QueryError | null)
exactly<mysql.QueryError | null>()(JSON.parse('null'));

// The per-call `idempotent` flag type-checks on mysql2's QueryOptions (module augmentation).
resilient.query({ sql: 'UPDATE t SET a = 1', idempotent: true }, () => {});
const asMysqlOptions: mysql.QueryOptions = { sql: 'SELECT f()', idempotent: false };
void asMysqlOptions;
