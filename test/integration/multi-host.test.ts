/**
 * One pool, several hosts (src/hosts.ts), on two private MariaDB servers: the three ways to give the list reach the
 * first host; the first SIGKILLed under read load, reads go on against the second with 0 errors (pool-level reads
 * retried under the retry contract), a write in flight fails flagged outcomeUnknown and the next write succeeds on
 * the second; the first back, `preferFirstHost` moves the pool back to it, and no connection to the second is
 * handed out after that. Each server says which one it is (`SELECT @@port`).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { requireControl } from '../support/server.js';
import { endPool } from '../support/pools.js';
import { until } from '../support/wait.js';
import { createResilientPool, isOutcomeUnknown } from '../../src/index.js';
import type { ResilientPool } from '../../src/pool.js';

const T = { timeout: 60_000 };
const setup = { users: ['app'], setup: (s: { admin(sql: string): Promise<unknown> }) => s.admin('CREATE TABLE test.w (id INT AUTO_INCREMENT PRIMARY KEY, v INT)') };
const first = usePrivateServer(setup);
const second = usePrivateServer(setup);

function portOf(pool: ResilientPool): Promise<number> {
  return new Promise((resolve, reject) => {
    pool.query('SELECT @@port AS port', (err: Error | null, rows: unknown) => {
      if (err) reject(err);
      else resolve(Number((rows as { port: number }[])[0]!.port));
    });
  });
}

function run(pool: ResilientPool, sql: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    pool.query(sql, (err: Error | null, rows: unknown) => (err ? reject(err) : resolve(rows)));
  });
}

test('a multi-host URL, a comma-separated host and the hosts option all connect to the first host', T, async () => {
  const { user, password, database } = first.connectionOptions();
  const forms = [
    `mysql://${user}${password ? `:${password}` : ''}@127.0.0.1:${first.port},127.0.0.1:${second.port}/${database}`,
    { user, password, database, host: `127.0.0.1:${first.port},127.0.0.1:${second.port}` },
    { user, password, database, hosts: [`127.0.0.1:${first.port}`, { host: '127.0.0.1', port: second.port }] },
  ];
  for (const form of forms) {
    const pool = createResilientPool(form as never);
    try {
      assert.equal(await portOf(pool), first.port, JSON.stringify(form));
    } finally {
      await endPool(pool);
    }
  }
});

test('first host down at start: the pool connects to the second', T, async (t) => {
  if (!requireControl(t, first)) return;
  await first.kill();
  try {
    const pool = createResilientPool({ ...first.connectionOptions(), host: undefined, port: undefined, hosts: [`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`] } as never);
    try {
      assert.equal(await portOf(pool), second.port);
      assert.equal(await portOf(pool), second.port);
    } finally {
      await endPool(pool);
    }
  } finally {
    await first.start();
  }
});

test('first host killed under load: reads go on on the second (0 errors), the write in flight is outcomeUnknown; back to the first with preferFirstHost', T, async (t) => {
  if (!requireControl(t, first)) return;
  const pool = createResilientPool({
    ...first.connectionOptions(),
    host: `127.0.0.1:${first.port},127.0.0.1:${second.port}`,
    port: undefined,
    connectionLimit: 6,
    preferFirstHost: true,
    hostRecheckInterval: 200,
  } as never);
  try {
    assert.equal(await portOf(pool), first.port);
    let stop = false;
    const errors: unknown[] = [];
    const seen: number[] = [];
    const readers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          seen.push(await portOf(pool));
        } catch (err) {
          errors.push(err);
        }
      }
    });
    await until(() => seen.length > 20, 5_000, 'reads on the first host');
    // A write in flight when the host dies: it may or may not have committed.
    const inFlight = run(pool, 'INSERT INTO test.w (v) SELECT SLEEP(3)').then(
      () => undefined,
      (err: unknown) => err,
    );
    await until(async () => {
      const rows = await first.admin<{ n: number }[]>("SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE 'INSERT INTO test.w%'");
      return Number(rows[0]!.n) > 0;
    }, 5_000, 'the insert running on the first host');
    const killedAt = performance.now();
    const before = seen.length;
    await first.kill();
    await until(() => seen.slice(before).includes(second.port), 10_000, 'a read answered by the second host');
    const failoverMs = performance.now() - killedAt;
    const writeError = await inFlight;
    assert.ok(writeError instanceof Error, 'the in-flight write failed');
    assert.equal(isOutcomeUnknown(writeError), true, `outcomeUnknown on ${String((writeError as { code?: unknown }).code)}`);
    const writeStarted = performance.now();
    await run(pool, 'INSERT INTO test.w (v) VALUES (1)');
    const writeMs = performance.now() - writeStarted;
    const onSecond = await second.admin<{ n: number }[]>('SELECT COUNT(*) AS n FROM test.w WHERE v = 1');
    assert.equal(Number(onSecond[0]!.n), 1, 'the write after failover landed on the second host');
    t.diagnostic(`first read on the second host ${failoverMs.toFixed(0)} ms after the kill; next write ${writeMs.toFixed(0)} ms`);

    // The first host back: preferFirstHost moves the pool back within a few recheck intervals.
    await first.start();
    const restartedAt = performance.now();
    const mark = seen.length;
    await until(() => seen.slice(mark).includes(first.port), 10_000, 'reads back on the first host');
    t.diagnostic(`back on the first host ${(performance.now() - restartedAt).toFixed(0)} ms after it accepted connections`);
    // Once moved back, no connection to the second is handed out any more.
    await until(() => seen.length > mark + 40, 10_000, 'more reads');
    const settled = seen.length;
    await until(() => seen.length > settled + 40, 10_000, 'reads after the move back');
    assert.deepEqual([...new Set(seen.slice(settled))], [first.port]);
    stop = true;
    await Promise.all(readers);
    assert.deepEqual(errors, [], 'no read failed');
  } finally {
    await endPool(pool);
  }
});

test('without preferFirstHost the pool stays on the second host after the first is back', T, async (t) => {
  if (!requireControl(t, first)) return;
  const pool = createResilientPool({
    ...first.connectionOptions(),
    host: undefined,
    port: undefined,
    hosts: [`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`],
  } as never);
  try {
    assert.equal(await portOf(pool), first.port);
    await first.kill();
    assert.equal(await portOf(pool), second.port);
    await first.start();
    for (let i = 0; i < 10; i++) assert.equal(await portOf(pool), second.port);
  } finally {
    await endPool(pool);
  }
});

test('skipReadOnlyHosts: a read-only first host is passed over, and the pool follows a role swap', T, async (t) => {
  const app = { user: 'app', password: '', database: 'test' };
  // `app` has no SUPER privilege, so read_only applies to it.
  await second.admin('SET GLOBAL read_only = 1');
  const pool = createResilientPool({ ...app, hosts: [`127.0.0.1:${second.port}`, `127.0.0.1:${first.port}`], skipReadOnlyHosts: true, connectionLimit: 3 });
  const count = async (s: typeof first, v: number) => Number((await s.admin<{ n: number }[]>(`SELECT COUNT(*) AS n FROM test.w WHERE v = ${v}`))[0]!.n);
  try {
    await run(pool, 'INSERT INTO test.w (v) VALUES (10)');
    assert.equal(await count(first, 10), 1, 'written on the writable host');
    assert.equal(await count(second, 10), 0);
    // The roles swap: the writer becomes read-only, the other writable.
    await first.admin('SET GLOBAL read_only = 1');
    await second.admin('SET GLOBAL read_only = 0');
    const started = performance.now();
    await run(pool, 'INSERT INTO test.w (v) VALUES (11)');
    t.diagnostic(`first write after the swap succeeded in ${(performance.now() - started).toFixed(0)} ms`);
    for (let i = 0; i < 5; i++) await run(pool, 'INSERT INTO test.w (v) VALUES (11)');
    assert.equal(await count(second, 11), 6, 'every write after the swap on the new writer');
    assert.equal(await count(first, 11), 0);
  } finally {
    await endPool(pool);
    await first.admin('SET GLOBAL read_only = 0');
    await second.admin('SET GLOBAL read_only = 0');
  }
});

after(async () => {
  await assertNoHandlesLeft();
});
