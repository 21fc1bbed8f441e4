/**
 * Primary/replica roles in a cluster (issue 11, item 8), on two private MariaDB servers whose roles come from
 * `read_only` (the application user `app` has no SUPER, so read_only binds it): a writer namespace
 * (`of('*', 'ORDER', { role: 'writer' })`) finds the writable server whatever the add order; the roles swap under
 * keyed write loops and read loops: every acknowledged write present exactly once, writes refused as read-only by the
 * old writer moved to the new one, 0 read errors, the time until writes land on the new writer printed. mysql2's
 * createPoolCluster, which has no roles, keeps writing to the node the application named and fails with 1290. With
 * no writable node (demoted, not yet promoted) writes fail fast (1290 or POOL_NOWRITER, nothing ran).
 * No replication between the two: each write lands on exactly one server, so "exactly once" is checked by key across
 * both.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import mysql2 from 'mysql2';
import type { PoolNamespace } from 'mysql2';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { bounded } from '../support/wait.js';
import { createResilientPoolCluster } from '../../src/index.js';
import type { ResilientPoolCluster } from '../../src/index.js';

const T = { timeout: 90_000 };
const setup = { users: ['app'], setup: (s: { admin(sql: string): Promise<unknown> }) => s.admin('CREATE TABLE test.w (k INT PRIMARY KEY)') };
const a = usePrivateServer(setup);
const b = usePrivateServer(setup);
const app = { user: 'app', password: '', database: 'test' };
type AnyError = Error & { errno?: number; code?: string; outcomeUnknown?: boolean; nodeId?: string };

function run(ns: PoolNamespace, sql: string, values?: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => ns.query(sql, values ?? [], (err: Error | null, rows: unknown) => (err ? reject(err) : resolve(rows))));
}

async function keysOn(server: typeof a): Promise<Set<number>> {
  const rows = await server.admin<{ k: number }[]>('SELECT k FROM test.w');
  return new Set(rows.map((r) => Number(r.k)));
}

/** The roles: `writer` writable, the other read-only; the table emptied. */
async function roles(writer: typeof a, reader: typeof a): Promise<void> {
  await writer.admin('SET GLOBAL read_only = 0');
  await reader.admin('SET GLOBAL read_only = 1');
  await a.admin('DELETE FROM test.w');
  await b.admin('DELETE FROM test.w');
}

function clusterOf(): ResilientPoolCluster {
  const cluster = createResilientPoolCluster({ healthCheckInterval: 1000 });
  // A first: ORDER would pick it, the role must not.
  cluster.add('A', { ...app, host: a.host, port: a.port, connectionLimit: 4 });
  cluster.add('B', { ...app, host: b.host, port: b.port, connectionLimit: 4 });
  return cluster;
}

function end(cluster: { end(cb: () => void): void }): Promise<void> {
  return new Promise((resolve) => cluster.end(() => resolve()));
}

test('a writer namespace finds the writable server, whatever the add order; a reader namespace the read-only one', T, async () => {
  await roles(b, a);
  const cluster = clusterOf();
  try {
    const writer = cluster.of('*', 'ORDER', { role: 'writer' });
    for (let k = 1; k <= 5; k++) await run(writer, 'INSERT INTO test.w (k) VALUES (?)', [k]);
    assert.equal((await keysOn(b)).size, 5);
    assert.equal((await keysOn(a)).size, 0);
    const reader = cluster.of('*', 'RR', { role: 'reader' });
    for (let i = 0; i < 4; i++) {
      const [row] = (await run(reader, 'SELECT @@port AS port')) as { port: number }[];
      assert.equal(Number(row!.port), a.port);
    }
    assert.deepEqual(cluster.nodeStates().map((n) => [n.id, n.role]), [['A', 'reader'], ['B', 'writer']]);
  } finally {
    await end(cluster);
  }
});

test('the roles swap under keyed writes and reads: every acknowledged write once, refused writes moved, 0 read errors', T, async (t) => {
  await roles(b, a);
  const cluster = clusterOf();
  const writer = cluster.of('*', 'ORDER', { role: 'writer' });
  const reader = cluster.of('*', 'RR', { role: 'reader' });
  const roleEvents: string[] = [];
  cluster.on('role', (id: string, role: string, previous: string) => roleEvents.push(`${id} ${previous}->${role}`));
  const moved: AnyError[] = [];
  cluster.on('warn', (e: AnyError) => void (e.errno === 1290 && moved.push(e)));
  const acked: Array<{ k: number; startedAt: number; ackedAt: number; ms: number }> = [];
  const writeErrors: AnyError[] = [];
  const readErrors: AnyError[] = [];
  let reads = 0;
  let next = 1;
  let stop = false;
  const deadline = performance.now() + 30_000;
  let waiter: { n: number; resolve: () => void } | undefined;
  /** Resolves once `n` writes are acknowledged (bounded by the caller). */
  const whenAcked = (n: number) => new Promise<void>((resolve) => (acked.length >= n ? resolve() : (waiter = { n, resolve })));
  const writeLoop = async () => {
    while (!stop && performance.now() < deadline) {
      const k = next++;
      const startedAt = performance.now();
      try {
        await run(writer, 'INSERT INTO test.w (k) VALUES (?)', [k]);
        acked.push({ k, startedAt, ackedAt: performance.now(), ms: performance.now() - startedAt });
        if (waiter && acked.length >= waiter.n) waiter.resolve();
      } catch (e) {
        writeErrors.push(e as AnyError);
      }
    }
  };
  const readLoop = async () => {
    while (!stop && performance.now() < deadline) {
      try {
        await run(reader, 'SELECT COUNT(*) AS n FROM test.w');
        reads++;
      } catch (e) {
        readErrors.push(e as AnyError);
      }
    }
  };
  const loops = [writeLoop(), writeLoop(), readLoop(), readLoop()];
  try {
    // Writes flowing on B first.
    await bounded(whenAcked(20), 20_000, '20 writes on B');
    // The swap: A promoted, then B demoted (a moment with two writers; no replication here, so harmless).
    await a.admin('SET GLOBAL read_only = 0');
    await b.admin('SET GLOBAL read_only = 1');
    const swappedAt = performance.now();
    const ackedBefore = acked.length;
    await bounded(whenAcked(ackedBefore + 100), 20_000, '100 writes after the swap');
    stop = true;
    await bounded(Promise.all(loops), 30_000, 'the loops');

    const onA = await keysOn(a);
    const onB = await keysOn(b);
    for (const { k } of acked) assert.equal(Number(onA.has(k)) + Number(onB.has(k)), 1, `key ${k} acknowledged: present exactly once`);
    assert.deepEqual(writeErrors.map((e) => `${e.code}: ${e.message}`), [], 'no write failed: refused ones moved');
    assert.deepEqual(readErrors.map((e) => `${e.code}: ${e.message}`), [], '0 read errors');
    // Every write started after the swap landed on the new writer.
    const after = acked.filter((w) => w.startedAt > swappedAt);
    assert.ok(after.length >= 50, `writes after the swap: ${after.length}`);
    for (const w of after) assert.ok(onA.has(w.k), `key ${w.k}, started after the swap, on A`);
    assert.deepEqual([...roleEvents].sort(), ['A reader->writer', 'B writer->reader']);
    assert.ok(moved.length >= 1, 'at least one write was refused by the old writer and moved');
    for (const e of moved) assert.equal(e.nodeId, 'B');
    const firstOnA = Math.min(...acked.filter((w) => onA.has(w.k)).map((w) => w.ackedAt));
    const movedLatency = Math.max(...acked.filter((w) => w.startedAt <= swappedAt + 5 && onA.has(w.k)).map((w) => w.ms), 0);
    t.diagnostic(
      `swap: ${acked.length} writes acknowledged (${after.length} after the swap), ${moved.length} refused by the old writer and moved, ` +
        `first write on the new writer ${(firstOnA - swappedAt).toFixed(0)} ms after the swap, slowest moved write ${movedLatency.toFixed(0)} ms; ` +
        `${reads} reads, ${readErrors.length} errors`,
    );
  } finally {
    stop = true;
    await Promise.allSettled(loops);
    await end(cluster);
  }
});

test('between demotion and promotion no node is writable: writes fail fast, nothing ran; the promoted node serves at once', T, async () => {
  await roles(b, a);
  const cluster = clusterOf();
  try {
    const writer = cluster.of('*', 'ORDER', { role: 'writer' });
    await run(writer, 'INSERT INTO test.w (k) VALUES (1)');
    await b.admin('SET GLOBAL read_only = 1');
    // The old writer refuses (1290, did not run); probed at once, neither node is writable: the refusal is passed on.
    const refused = await run(writer, 'INSERT INTO test.w (k) VALUES (2)').then(() => undefined, (e: AnyError) => e);
    assert.equal(refused?.errno, 1290);
    assert.equal(refused?.outcomeUnknown, false);
    assert.equal(refused?.nodeId, 'B');
    // The next write finds no writer known, probes both at once, and fails naming each node's reason.
    const none = await run(writer, 'INSERT INTO test.w (k) VALUES (3)').then(() => undefined, (e: AnyError) => e);
    assert.equal(none?.code, 'POOL_NOWRITER');
    assert.equal(none?.message, 'Pool does Not have a writable node. (A: read-only; B: read-only)');
    await a.admin('SET GLOBAL read_only = 0');
    const started = performance.now();
    await run(writer, 'INSERT INTO test.w (k) VALUES (4)');
    const ms = performance.now() - started;
    assert.deepEqual([...(await keysOn(a))], [4]);
    assert.deepEqual([...(await keysOn(b))], [1], 'the refused writes did not run');
    assert.ok(ms < 5_000, `the first write after the promotion took ${ms.toFixed(0)} ms`);
  } finally {
    await end(cluster);
  }
});

test("mysql2's createPoolCluster has no roles: after the swap, writes to the node the application named fail with 1290", T, async () => {
  await roles(b, a);
  const cluster = mysql2.createPoolCluster({ restoreNodeTimeout: 1000 });
  cluster.add('A', { ...app, host: a.host, port: a.port, connectionLimit: 2 });
  cluster.add('B', { ...app, host: b.host, port: b.port, connectionLimit: 2 });
  try {
    const writer = cluster.of('B');
    await run(writer, 'INSERT INTO test.w (k) VALUES (1)');
    await a.admin('SET GLOBAL read_only = 0');
    await b.admin('SET GLOBAL read_only = 1');
    const e = await run(writer, 'INSERT INTO test.w (k) VALUES (2)').then(
      () => undefined,
      (err: AnyError) => err,
    );
    assert.equal(e?.errno, 1290, 'refused as read-only until the application changes its config');
  } finally {
    await end(cluster);
  }
});

after(async () => {
  await assertNoHandlesLeft();
});
