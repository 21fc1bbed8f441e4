/**
 * Primary/replica roles in a cluster (issue 11, item 8), on two private MariaDB servers whose roles come from
 * `read_only` (the application user `app` has no SUPER, so read_only binds it): a writer namespace
 * (`of('*', 'ORDER', { role: 'writer' })`) finds the writable server whatever the add order; the roles swap under
 * keyed write loops and read loops (no replication, the new writer promoted first): every acknowledged write present
 * exactly once across both, writes refused as read-only by the old writer moved to the new one, 0 read errors; with
 * no writable node (demoted, not yet promoted) writes fail fast (1290 or POOL_NOWRITER, nothing ran); mysql2's
 * createPoolCluster, which has no roles, keeps writing to the node the application named and fails with 1290; last,
 * a switchover with MariaDB's own asynchronous replication (demote, catch up, promote, point the old primary at the
 * new one) under load: the new writer, and the old one once it replicated back, hold exactly the acknowledged keys.
 * The figures are printed as diagnostics.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import mysql2 from 'mysql2';
import type { PoolNamespace } from 'mysql2';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { requireControl } from '../support/server.js';
import { bounded } from '../support/wait.js';
import { createResilientPoolCluster } from '../../src/index.js';
import type { ResilientPoolCluster } from '../../src/index.js';

const T = { timeout: 90_000 };
const setup = { users: ['app'], setup: (s: { admin(sql: string): Promise<unknown> }) => s.admin('CREATE TABLE test.w (k INT PRIMARY KEY)') };
// Binary logs and distinct server ids: the last scenario replicates between the two.
const a = usePrivateServer({ ...setup, args: ['--log-bin=mysql-bin', '--server-id=1'] });
const b = usePrivateServer({ ...setup, args: ['--log-bin=mysql-bin', '--server-id=2'] });
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

function clusterOf(healthCheckInterval = 1000): ResilientPoolCluster {
  const cluster = createResilientPoolCluster({ healthCheckInterval });
  // A first: ORDER would pick it, the role must not.
  cluster.add('A', { ...app, host: a.host, port: a.port, connectionLimit: 4 });
  cluster.add('B', { ...app, host: b.host, port: b.port, connectionLimit: 4 });
  return cluster;
}

function end(cluster: { end(cb: () => void): void }): Promise<void> {
  return new Promise((resolve) => cluster.end(() => resolve()));
}

/**
 * Two keyed write loops on the cluster's writer namespace (`of('*', 'ORDER', { role: 'writer' })`) and two read loops
 * on its reader namespace, until stop() (or 40 s); the `role` events seen meanwhile.
 */
class Load {
  readonly roleEvents: string[] = [];
  readonly acked: Array<{ k: number; startedAt: number; ackedAt: number; ms: number }> = [];
  readonly writeErrors: Array<{ k: number; at: number; e: AnyError }> = [];
  readonly readErrors: AnyError[] = [];
  reads = 0;
  private next = 1;
  private stopped = false;
  private readonly deadline = performance.now() + 40_000;
  private waiter: { n: number; resolve: () => void } | undefined;
  private readonly loops: Promise<void>[];

  private readonly writer: PoolNamespace;
  private readonly reader: PoolNamespace;

  constructor(cluster: ResilientPoolCluster) {
    this.writer = cluster.of('*', 'ORDER', { role: 'writer' });
    this.reader = cluster.of('*', 'RR', { role: 'reader' });
    cluster.on('role', (id: string, role: string, previous: string) => this.roleEvents.push(`${id} ${previous}->${role}`));
    this.loops = [this.writeLoop(), this.writeLoop(), this.readLoop(), this.readLoop()];
  }

  /** Resolves once `n` writes are acknowledged in all (bounded by the caller). */
  whenAcked(n: number): Promise<void> {
    return new Promise<void>((resolve) => (this.acked.length >= n ? resolve() : (this.waiter = { n, resolve })));
  }

  stop(): Promise<unknown> {
    this.stopped = true;
    return Promise.allSettled(this.loops);
  }

  private get going(): boolean {
    return !this.stopped && performance.now() < this.deadline;
  }

  private async writeLoop(): Promise<void> {
    while (this.going) {
      const k = this.next++;
      const startedAt = performance.now();
      try {
        await run(this.writer, 'INSERT INTO test.w (k) VALUES (?)', [k]);
        this.acked.push({ k, startedAt, ackedAt: performance.now(), ms: performance.now() - startedAt });
        if (this.waiter && this.acked.length >= this.waiter.n) this.waiter.resolve();
      } catch (e) {
        this.writeErrors.push({ k, at: performance.now(), e: e as AnyError });
      }
    }
  }

  private async readLoop(): Promise<void> {
    while (this.going) {
      try {
        await run(this.reader, 'SELECT COUNT(*) AS n FROM test.w');
        this.reads++;
      } catch (e) {
        this.readErrors.push(e as AnyError);
      }
    }
  }
}

test('a writer namespace finds the writable server, whatever the add order; a reader namespace the read-only one', T, async (t) => {
  if (!requireControl(t, a)) return;
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
  if (!requireControl(t, a)) return;
  await roles(b, a);
  // No periodic probe: only the old writer's refusals tell the cluster of the swap (a probe that fell between the
  // promotion and the demotion would find both writable and move the writes before any refusal).
  const cluster = clusterOf(0);
  const moved: AnyError[] = [];
  cluster.on('warn', (e: AnyError) => void (e.errno === 1290 && moved.push(e)));
  const load = new Load(cluster);
  const { acked, writeErrors, readErrors } = load;
  try {
    // Writes flowing on B first.
    await bounded(load.whenAcked(20), 20_000, '20 writes on B');
    // The swap: A promoted, then B demoted (a moment with two writers; no replication here, so harmless).
    await a.admin('SET GLOBAL read_only = 0');
    await b.admin('SET GLOBAL read_only = 1');
    const swappedAt = performance.now();
    const ackedBefore = acked.length;
    await bounded(load.whenAcked(ackedBefore + 100), 20_000, '100 writes after the swap');
    await bounded(load.stop(), 30_000, 'the loops');

    const onA = await keysOn(a);
    const onB = await keysOn(b);
    for (const { k } of acked) assert.equal(Number(onA.has(k)) + Number(onB.has(k)), 1, `key ${k} acknowledged: present exactly once`);
    assert.deepEqual(writeErrors.map(({ e }) => `${e.code}: ${e.message}`), [], 'no write failed: refused ones moved');
    assert.deepEqual(readErrors.map((e) => `${e.code}: ${e.message}`), [], '0 read errors');
    // Every write started after the swap landed on the new writer.
    const after = acked.filter((w) => w.startedAt > swappedAt);
    assert.ok(after.length >= 50, `writes after the swap: ${after.length}`);
    for (const w of after) assert.ok(onA.has(w.k), `key ${w.k}, started after the swap, on A`);
    assert.deepEqual([...load.roleEvents].sort(), ['A reader->writer', 'B writer->reader']);
    assert.ok(moved.length >= 1, 'at least one write was refused by the old writer and moved');
    for (const e of moved) assert.equal(e.nodeId, 'B');
    const firstOnA = Math.min(...acked.filter((w) => onA.has(w.k)).map((w) => w.ackedAt));
    const movedLatency = Math.max(...acked.filter((w) => w.startedAt <= swappedAt + 5 && onA.has(w.k)).map((w) => w.ms), 0);
    t.diagnostic(
      `swap: ${acked.length} writes acknowledged (${after.length} after the swap), ${moved.length} refused by the old writer and moved, ` +
        `first write on the new writer ${(firstOnA - swappedAt).toFixed(0)} ms after the swap, slowest moved write ${movedLatency.toFixed(0)} ms; ` +
        `${load.reads} reads, ${readErrors.length} errors`,
    );
  } finally {
    await load.stop();
    await end(cluster);
  }
});

test('between demotion and promotion no node is writable: writes fail fast, nothing ran; the promoted node serves at once', T, async (t) => {
  if (!requireControl(t, a)) return;
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

test("mysql2's createPoolCluster has no roles: after the swap, writes to the node the application named fail with 1290", T, async (t) => {
  if (!requireControl(t, a)) return;
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

type Server = typeof a;

type BinlogPosition = { File: string; Position: number };

/** `replica` replicates `primary` from `from` (default: the primary's current binlog position; earlier is not replayed). */
async function replicate(replica: Server, primary: Server, from?: BinlogPosition): Promise<void> {
  const st = from ?? (await primary.admin<BinlogPosition[]>('SHOW MASTER STATUS'))[0];
  await replica.admin(
    `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='root', MASTER_PASSWORD='', ` +
      `MASTER_LOG_FILE='${st!.File}', MASTER_LOG_POS=${st!.Position}, MASTER_CONNECT_RETRY=1`,
  );
  await replica.admin('START SLAVE');
}

/** Waits (at most 20 s) until `replica` has applied everything `primary` has written so far. */
async function caughtUp(replica: Server, primary: Server): Promise<void> {
  const [st] = await primary.admin<{ File: string; Position: number }[]>('SHOW MASTER STATUS');
  const [r] = await replica.admin<{ r: number | null }[]>(`SELECT MASTER_POS_WAIT('${st!.File}', ${st!.Position}, 20) AS r`);
  assert.ok(r!.r !== null && Number(r!.r) >= 0, `replica caught up (MASTER_POS_WAIT: ${r!.r})`);
}

test('a switchover with MariaDB replication under load: writes fail fast only between demotion and promotion, nothing twice', T, async (t) => {
  if (!requireControl(t, a)) return;
  await roles(a, b);
  await replicate(b, a);
  const cluster = clusterOf();
  const load = new Load(cluster);
  const { acked, writeErrors: failed, readErrors } = load;
  try {
    await bounded(load.whenAcked(20), 20_000, '20 writes on A');
    // The switchover as a DBA does it: demote A, let B catch up, promote B, point A at B.
    const demotedAt = performance.now();
    await a.admin('SET GLOBAL read_only = 1');
    const demotedDoneAt = performance.now();
    await caughtUp(b, a);
    await b.admin('STOP SLAVE');
    await b.admin('RESET SLAVE ALL');
    // Where A will start replicating from: B's binlog before its first write as the writer.
    const [fromB] = await b.admin<BinlogPosition[]>('SHOW MASTER STATUS');
    const promotedAt = performance.now();
    await b.admin('SET GLOBAL read_only = 0');
    await replicate(a, b, fromB);
    const ackedBefore = acked.length;
    await bounded(load.whenAcked(ackedBefore + 100), 20_000, '100 writes after the switchover');
    await bounded(load.stop(), 30_000, 'the loops');
    await caughtUp(a, b);

    const onB = await keysOn(b);
    const onA = await keysOn(a);
    const ackedKeys = new Set(acked.map((w) => w.k));
    assert.deepEqual([...onB].sort((x, y) => x - y), [...ackedKeys].sort((x, y) => x - y), 'the new writer holds exactly the acknowledged keys');
    assert.deepEqual([...onA].sort((x, y) => x - y), [...onB].sort((x, y) => x - y), 'the old writer, now a replica, the same');
    for (const { k, e } of failed) {
      assert.ok(e.errno === 1290 || e.code === 'POOL_NOWRITER', `key ${k}: ${e.code} ${e.message}`);
      assert.notEqual(e.outcomeUnknown, true, `key ${k} refused: it did not run`);
    }
    // Failures only between the demotion and a little after the promotion (the call that was probing then).
    for (const { k, at } of failed) assert.ok(at >= demotedAt && at <= promotedAt + 2_000, `key ${k} failed at +${(at - demotedAt).toFixed(0)} ms`);
    assert.deepEqual(readErrors.map((e) => `${e.code}: ${e.message}`), [], '0 read errors');
    assert.deepEqual([...load.roleEvents].sort(), ['A writer->reader', 'B reader->writer']);
    // A write started once A was read-only can only have landed on B.
    const firstOnB = Math.min(...acked.filter((w) => w.startedAt > demotedDoneAt).map((w) => w.ackedAt));
    assert.ok(firstOnB >= promotedAt, 'no write acknowledged between demotion and promotion');
    t.diagnostic(
      `switchover: demotion to promotion ${(promotedAt - demotedAt).toFixed(0)} ms; ${failed.length} writes refused meanwhile (none ran), ` +
        `first write on the new writer ${(firstOnB - promotedAt).toFixed(0)} ms after the promotion was sent; ${acked.length} acknowledged, ` +
        `all on both servers once; ${load.reads} reads, ${readErrors.length} errors`,
    );
  } finally {
    await load.stop();
    await end(cluster);
    for (const s of [a, b]) {
      await s.admin('STOP SLAVE').catch(() => undefined);
      await s.admin('RESET SLAVE ALL').catch(() => undefined);
    }
  }
});

after(async () => {
  await assertNoHandlesLeft();
});
