/**
 * Compile-time test (never run): the clusters this library returns are what mysql2's typings say they replace.
 * Compiled by `tsc -p test/types/tsconfig.json` and by the root type check.
 */
import type * as mysql from 'mysql2';
import type * as mysqlPromise from 'mysql2/promise';
import { createPoolCluster, createResilientPoolCluster } from '../../src/index.js';
import * as promiseApi from '../../src/promise.js';
import * as driver from '../../src/mysql2.js';

const assignable = <T>(_value: T): void => {};

const cluster = createResilientPoolCluster({ restoreNodeTimeout: 1_000, healthCheckInterval: 1_000 });
assignable<mysql.PoolCluster>(cluster);
assignable<mysql.PoolCluster>(createPoolCluster());
assignable<mysql.PoolCluster>(driver.createPoolCluster());
assignable<mysql.PoolNamespace>(cluster.of('SLAVE*', 'RR'));
cluster.of('*').query('SELECT 1', (err: mysql.QueryError | null, rows: mysql.RowDataPacket[]) => void [err, rows]);
cluster.getConnection('MASTER', (err, conn) => {
  assignable<NodeJS.ErrnoException | null>(err);
  conn.release();
});
// @ts-expect-error: a cluster option is type-checked
createResilientPoolCluster({ healthCheckInterval: 'often' });

const promiseCluster = promiseApi.createPoolCluster();
assignable<mysqlPromise.PoolCluster>(promiseCluster);
assignable<mysqlPromise.PoolNamespace>(promiseCluster.of('*'));
async function usesPromise(): Promise<void> {
  const conn: mysqlPromise.PoolConnection = await promiseCluster.getConnection('MASTER');
  conn.release();
}
void usesPromise;

// Roles (ours): a third argument to of() and getConnection(), on both APIs; mysql2's two-argument forms unchanged.
const writer: mysql.PoolNamespace = cluster.of('*', 'ORDER', { role: 'writer' });
writer.query('INSERT INTO t VALUES (1)', (err: mysql.QueryError | null) => void err);
cluster.of('*', 'RR', { role: 'reader' });
cluster.getConnection('*', 'ORDER', { role: 'writer' }, (err, conn) => {
  assignable<NodeJS.ErrnoException | null>(err);
  conn.release();
});
// @ts-expect-error: a role is 'writer' or 'reader'
cluster.of('*', 'ORDER', { role: 'primary' });
cluster.on('role', (id: string, role: string, previous: string) => void [id, role, previous]);
const roles: Array<'writer' | 'reader' | undefined> = cluster.nodeStates().map((n) => n.role);
void roles;
async function usesPromiseRoles(): Promise<void> {
  const w: mysqlPromise.PoolNamespace = promiseCluster.of('*', 'ORDER', { role: 'writer' });
  await w.query('INSERT INTO t VALUES (1)');
  const conn: mysqlPromise.PoolConnection = await promiseCluster.getConnection('*', 'ORDER', { role: 'writer' });
  conn.release();
  const states = promiseCluster.nodeStates();
  void states[0]?.role;
}
void usesPromiseRoles;
