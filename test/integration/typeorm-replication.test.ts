/**
 * TypeORM's `replication` config on resilient-mysql-pool/mysql2, on two private plain MariaDB servers (standing in
 * for Galera nodes: no replication between them, each has the table): `master` is the ordered host list (a
 * comma-separated host, which TypeORM forwards unchanged to the cluster's MASTER pool), the slaves one server each.
 * A slave killed: reads through slave query runners go on with 0 errors. The first master host killed: writes
 * succeed again on the second.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DataSource } from 'typeorm';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { requireControl } from '../support/server.js';
import * as resilientMysql2 from '../../src/mysql2.js';

const USER = 'rmp_typeorm_repl';
const T = { timeout: 60_000 };
const setup = { users: [USER], setup: (s: { admin(sql: string): Promise<unknown> }) => s.admin('CREATE TABLE test.repl (id INT AUTO_INCREMENT PRIMARY KEY, v INT)') };
const first = usePrivateServer(setup);
const second = usePrivateServer(setup);

function dataSource(): DataSource {
  const creds = { username: USER, password: '', database: 'test' };
  return new DataSource({
    type: 'mysql',
    driver: resilientMysql2,
    replication: {
      master: { ...creds, host: `127.0.0.1:${first.port},127.0.0.1:${second.port}` },
      slaves: [
        { ...creds, host: '127.0.0.1', port: first.port },
        { ...creds, host: '127.0.0.1', port: second.port },
      ],
    },
  } as never);
}

async function slaveRead(ds: DataSource): Promise<number> {
  const runner = ds.createQueryRunner('slave');
  try {
    const rows = (await runner.query('SELECT @@port AS port')) as { port: number }[];
    return Number(rows[0]!.port);
  } finally {
    await runner.release();
  }
}

test('TypeORM replication: a slave killed, reads go on with 0 errors; the first master host killed, writes go on on the next', T, async (t) => {
  if (!requireControl(t, first)) return;
  const ds = await dataSource().initialize();
  try {
    assert.equal(Number(((await ds.query('SELECT @@port AS port')) as { port: number }[])[0]!.port), first.port, 'master: the first host');
    const ports = new Set<number>();
    for (let i = 0; i < 6; i++) ports.add(await slaveRead(ds));
    assert.deepEqual([...ports].sort(), [first.port, second.port].sort(), 'reads spread over both slaves');

    await second.kill();
    const errors: unknown[] = [];
    const after: number[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        after.push(await slaveRead(ds));
      } catch (err) {
        errors.push(err);
      }
    }
    assert.deepEqual(errors, [], 'no read failed with a slave down');
    assert.deepEqual([...new Set(after)], [first.port]);
    await second.start();

    await ds.query('INSERT INTO test.repl (v) VALUES (1)');
    await first.kill();
    const started = performance.now();
    await ds.query('INSERT INTO test.repl (v) VALUES (2)');
    t.diagnostic(`write after the master's first host died: ${(performance.now() - started).toFixed(0)} ms`);
    const onSecond = await second.admin<{ n: number }[]>('SELECT COUNT(*) AS n FROM test.repl WHERE v = 2');
    assert.equal(Number(onSecond[0]!.n), 1, 'the write landed on the second host');
    // And keeps working while the first stays down (the cluster's health probe of MASTER must not take it offline).
    const end = performance.now() + 3_000;
    let n = 0;
    while (performance.now() < end) {
      await ds.query('INSERT INTO test.repl (v) VALUES (3)');
      n++;
      await new Promise((r) => setTimeout(r, 50));
    }
    const later = await second.admin<{ n: number }[]>('SELECT COUNT(*) AS n FROM test.repl WHERE v = 3');
    assert.equal(Number(later[0]!.n), n);
    await first.start();
  } finally {
    await ds.destroy();
  }
});

after(async () => {
  await assertNoHandlesLeft();
});
