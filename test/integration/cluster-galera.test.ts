/**
 * Cluster chaos on a real 3-node MariaDB Galera cluster (issue 11, items 3-6). Each scenario runs the same load
 * through mysql2's `createPoolCluster` (with `restoreNodeTimeout: 1000`, to show the failure is real) and through ours (defaults, plus the
 * same `connectTimeout`), at the same time, against the same fault. The scenarios run in order on one cluster; each
 * leaves three Synced nodes behind. Measured figures are printed as diagnostics (docs/clusters.md quotes them).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test, type TestContext } from 'node:test';
import mysql from 'mysql2/promise';
import type { PoolCluster as PromisePoolCluster } from 'mysql2/promise';
import { createPoolCluster } from '../../src/promise.js';
import type { ResilientPromisePoolCluster } from '../../src/promise.js';
import { startGaleraCluster, type GaleraCluster } from '../support/galera.js';
import { assertNoHandlesLeft } from '../support/handles.js';
import { bounded, delay, pendingAfter, until } from '../support/wait.js';

type AnyError = Error & { code?: string; errno?: number; outcomeUnknown?: boolean; nodeId?: string };

interface Load {
  ok: number;
  errors: AnyError[];
  /** Longest single call, ms. */
  maxMs: number;
  /** Acknowledgement times (Date.now()) of successful calls. */
  acks: number[];
}

/** Runs `call` from `workers` loops until `stop.done` (or `cap` calls each), pacing each loop by `gapMs`. */
function runLoad(call: (i: number) => Promise<unknown>, stop: { done: boolean }, workers = 4, gapMs = 10, cap = 20_000): Promise<Load> {
  const load: Load = { ok: 0, errors: [], maxMs: 0, acks: [] };
  let seq = 0;
  const worker = async () => {
    for (let n = 0; n < cap && !stop.done; n++) {
      const begin = Date.now();
      try {
        await call(seq++);
        load.ok++;
        load.acks.push(Date.now());
      } catch (err) {
        load.errors.push(err as AnyError);
      }
      load.maxMs = Math.max(load.maxMs, Date.now() - begin);
      await delay(gapMs);
    }
  };
  return Promise.all(Array.from({ length: workers }, worker)).then(() => load);
}

function summary(load: Load): string {
  const codes = new Map<string, number>();
  for (const e of load.errors) codes.set(String(e.code ?? e.errno), (codes.get(String(e.code ?? e.errno)) ?? 0) + 1);
  return `${load.ok} ok, ${load.errors.length} errors ${JSON.stringify(Object.fromEntries(codes))}, slowest ${load.maxMs} ms`;
}

describe('cluster chaos on a real 3-node Galera cluster: mysql2 PoolCluster vs ours', { timeout: 600_000 }, () => {
  let galera: GaleraCluster;
  let theirs: PromisePoolCluster;
  let ours: ResilientPromisePoolCluster;

  const node = (i: number) => ({ ...galera.connectionOptions(i), connectTimeout: 2_000 });

  before(async () => {
    galera = await startGaleraCluster();
    await galera.admin(1, 'CREATE TABLE r (id INT PRIMARY KEY, v INT)');
    await galera.admin(1, 'INSERT INTO r VALUES (1, 1), (2, 2), (3, 3)');
    await galera.admin(1, 'CREATE TABLE w (id INT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, impl VARCHAR(8) NOT NULL, KEY (k))');
  });

  after(async () => {
    await Promise.allSettled([theirs?.end(), ours?.end()]);
    await galera?.close();
    await assertNoHandlesLeft();
  });

  /** Fresh clusters of the three nodes for a scenario (mysql2's forgets removed nodes for good). */
  async function freshClusters(): Promise<void> {
    await Promise.allSettled([theirs?.end(), ours?.end()]);
    // Each scenario starts from a whole cluster: all three nodes in one primary view, synced. A node that has just
    // rejoined is Synced before every other node's view counts it; a kill in that moment left the two survivors a
    // minority of the view they knew (both non-Primary, every scenario after it failing), as seen once in CI.
    await galera.waitClusterSize(3, { timeoutMs: 60_000 });
    for (const i of [1, 2, 3]) await galera.waitSynced(i);
    // restoreNodeTimeout: 1000, the setting mysql2 users are told to use: with its default (0) it removes a node for
    // good (test/integration/cluster-parity.test.ts shows that), and removing one with connects pending throws an
    // 'error' nobody can catch, which ends this test process.
    theirs = mysql.createPoolCluster({ restoreNodeTimeout: 1_000 });
    theirs.on('warn', () => undefined);
    ours = createPoolCluster({ healthCheckInterval: 500 });
    ours.on('warn', () => undefined);
    for (const i of [1, 2, 3]) {
      theirs.add(`node${i}`, node(i));
      ours.add(`node${i}`, node(i));
    }
    // Warm both: every node has a connection.
    for (let i = 0; i < 6; i++) {
      await theirs.of('*').query('SELECT 1');
      await ours.of('*').query('SELECT 1');
    }
  }

  const read = (c: PromisePoolCluster | ResilientPromisePoolCluster) => () => c.of('*').query('SELECT v FROM r WHERE id = 1');

  /** Reads through both clusters while `fault` runs, and for `settleMs` after it. */
  async function readsDuring(fault: () => Promise<void>, settleMs = 1_000): Promise<{ theirs: Load; ours: Load }> {
    const stop = { done: false };
    const loads = Promise.all([runLoad(read(theirs), stop), runLoad(read(ours), stop)]);
    try {
      await delay(300);
      await fault();
      await delay(settleMs);
    } finally {
      stop.done = true;
    }
    const [t, o] = await loads;
    return { theirs: t, ours: o };
  }

  function report(t: TestContext, loads: { theirs: Load; ours: Load }): void {
    t.diagnostic(`mysql2 PoolCluster: ${summary(loads.theirs)}`);
    t.diagnostic(`resilient cluster: ${summary(loads.ours)}`);
  }

  test('a node rejecting queries (wsrep_reject_queries=ALL): routed around at once, back when it serves again', async (t) => {
    await freshClusters();
    const offline = once(ours, 'offline');
    const loads = await readsDuring(async () => {
      await galera.rejectQueries(2, 'ALL');
      await bounded(offline, 5_000, 'node2 offline');
      await delay(1_000);
      const online = once(ours, 'online');
      await galera.rejectQueries(2, 'NONE');
      await bounded(online, 5_000, 'node2 online again');
    });
    report(t, loads);
    assert.equal(loads.ours.errors.length, 0, summary(loads.ours));
    assert.ok(loads.theirs.errors.some((e) => e.errno === 1047), `mysql2 passes the 1047s on: ${summary(loads.theirs)}`);
    assert.equal(ours.nodeStates().find((n) => n.id === 'node2')?.health, 'up');
  });

  test('a desynced node (Donor/Desynced) serves only when no synced node does; back in rotation when synced', async (t) => {
    await freshClusters();
    await galera.desync(2, true);
    try {
      const health = () => ours.nodeStates().find((n) => n.id === 'node2')?.health;
      await until(() => health() === 'degraded', 5_000, 'node2 degraded');
      const ids = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const conn = await ours.getConnection('*', 'RR');
        ids.add((conn.connection as unknown as { _clusterId: string })._clusterId);
        conn.release();
      }
      assert.deepEqual([...ids].sort(), ['node1', 'node3'], 'RR skips the desynced node while synced ones serve');
      const only = await ours.getConnection('node2');
      only.release();
      t.diagnostic('a pattern whose only node is desynced still gets it');
    } finally {
      await galera.desync(2, false);
    }
    await until(() => ours.nodeStates().find((n) => n.id === 'node2')?.health === 'up', 5_000, 'node2 up again');
  });

  test('a node SIGKILLed under reads, restarted and rejoined: 0 read errors, it serves again without a restart of the app', async (t) => {
    await freshClusters();
    let rejoinMs = 0;
    const loads = await readsDuring(async () => {
      await galera.kill(3);
      const online = once(ours, 'online');
      const begin = Date.now();
      const timings = await galera.restart(3);
      await bounded(online, 10_000, 'node3 online again');
      rejoinMs = Date.now() - begin;
      t.diagnostic(`node3: dropped after ${timings.leftMs} ms, rejoined by ${timings.transfer} in ${timings.joinMs} ms`);
    });
    report(t, loads);
    t.diagnostic(`ours had node3 online again ${rejoinMs} ms after the restart began`);
    assert.equal(loads.ours.errors.length, 0, summary(loads.ours));
    assert.ok(loads.theirs.errors.length > 0, `mysql2 passes errors on: ${summary(loads.theirs)}`);
    // Ours serves from node3 again.
    const conn = await ours.getConnection('node3');
    conn.release();
  });

  test('the writer SIGKILLed under keyed inserts: acknowledged exactly once, only in-flight failures (outcomeUnknown), writes back with Galera', async (t) => {
    await freshClusters();
    const stop = { done: false };
    const inserts = (c: PromisePoolCluster | ResilientPromisePoolCluster, impl: string, keys: Set<number>, failed: Map<number, AnyError>) =>
      (i: number) =>
        c
          .of('*', 'ORDER')
          .query('INSERT INTO w (k, impl) VALUES (?, ?)', [i, impl])
          .then(
            () => keys.add(i),
            (err: AnyError) => {
              failed.set(i, err);
              throw err;
            },
          );
    const ackOurs = new Set<number>();
    const failOurs = new Map<number, AnyError>();
    const ackTheirs = new Set<number>();
    const failTheirs = new Map<number, AnyError>();
    const loads = Promise.all([
      runLoad(inserts(theirs, 'mysql2', ackTheirs, failTheirs), stop, 2, 5),
      runLoad(inserts(ours, 'ours', ackOurs, failOurs), stop, 2, 5),
    ]);
    const at = { killed: 0, dropped: 0 };
    try {
      await delay(500);
      await galera.kill(1);
      at.killed = Date.now();
      await galera.waitClusterSize(2, { nodes: [2, 3] });
      at.dropped = Date.now();
      await delay(1_500);
    } finally {
      stop.done = true;
    }
    const [lt, lo] = await loads;
    report(t, { theirs: lt, ours: lo });
    const firstAckAfterKill = lo.acks.filter((ack) => ack > at.killed).sort((a, b) => a - b)[0] ?? Infinity;
    t.diagnostic(`Galera dropped node1 ${at.dropped - at.killed} ms after the kill (writes stall until then)`);
    t.diagnostic(`ours acknowledged a write again ${firstAckAfterKill - at.killed} ms after the kill`);

    // Every acknowledged write is there exactly once, read on a survivor after every committed write (sync_wait).
    const conn = await mysql.createConnection(galera.connectionOptions(2));
    try {
      await conn.query('SET SESSION wsrep_sync_wait = 1');
      const [rows] = await conn.query("SELECT k, COUNT(*) AS n FROM w WHERE impl = 'ours' GROUP BY k");
      const counts = new Map((rows as Array<{ k: number; n: number }>).map((r) => [r.k, Number(r.n)]));
      for (const k of ackOurs) assert.equal(counts.get(k), 1, `acknowledged key ${k} present exactly once`);
      for (const [k, n] of counts) assert.ok(n === 1, `key ${k} written ${n} times`);
    } finally {
      await conn.end();
    }
    // Ours: failures only for writes in flight at the kill (at most one per worker), each flagged outcomeUnknown.
    assert.ok(failOurs.size <= 2, `${failOurs.size} failed: ${[...failOurs.values()].map((e) => e.code).join()}`);
    for (const [k, err] of failOurs) assert.equal(err.outcomeUnknown, true, `key ${k}: ${err.code} flagged outcomeUnknown`);
    // Writes come back within about a second of Galera's own stall ending.
    assert.ok(firstAckAfterKill - at.dropped < 1_500, `first write after the stall: ${firstAckAfterKill - at.dropped} ms after it ended`);
    assert.ok(ackOurs.size > 0 && lo.ok > 0);
    t.diagnostic(`mysql2 failed ${failTheirs.size} writes (${[...failTheirs.values()].map((e) => e.code).join(', ')})`);

    await galera.restart(1);
    await galera.waitClusterSize(3);
  });

  test('a rolling restart of all three nodes under reads: 0 read errors', async (t) => {
    await freshClusters();
    const loads = await readsDuring(async () => {
      for (const i of [1, 2, 3]) {
        const online = once(ours, 'online');
        await galera.restart(i);
        await bounded(online, 10_000, `node${i} online again`);
      }
    });
    report(t, loads);
    assert.equal(loads.ours.errors.length, 0, summary(loads.ours));
    assert.ok(loads.theirs.errors.length > 0, `mysql2: ${summary(loads.theirs)}`);
  });

  test('a SIGSTOPped node: out of rotation within interval + probe timeout; calls after that do not wait for it', async (t) => {
    await freshClusters();
    const at = { paused: 0, offline: 0 };
    const offline = once(ours, 'offline').then(() => (at.offline = Date.now()));
    const latencies: number[] = [];
    let theirReads: Promise<unknown> | undefined;
    try {
      galera.pause(2);
      at.paused = Date.now();
      await bounded(offline, 5_000, 'node2 offline');
      for (let i = 0; i < 20; i++) {
        const begin = Date.now();
        await ours.of('*').query('SELECT v FROM r WHERE id = 1');
        latencies.push(Date.now() - begin);
      }
      // mysql2 keeps routing to the paused node (RR over three: one of three reads lands there) and waits for it.
      theirReads = Promise.all([1, 2, 3].map(() => theirs.of('*').query('SELECT v FROM r WHERE id = 1')));
      assert.equal(await pendingAfter(theirReads, 1_500), 'pending', 'a mysql2 read waits for the paused node');
    } finally {
      galera.resume(2);
    }
    await bounded(theirReads!, 30_000, 'mysql2 reads after resume');
    t.diagnostic(`ours took node2 offline ${at.offline - at.paused} ms after SIGSTOP; the next 20 reads took at most ${Math.max(...latencies)} ms`);
    assert.ok(at.offline - at.paused < 3_000, `offline after ${at.offline - at.paused} ms`);
    assert.ok(Math.max(...latencies) < 1_000, `reads after detection: slowest ${Math.max(...latencies)} ms`);
    await galera.waitSynced(2, 60_000);
    await galera.waitClusterSize(3, { timeoutMs: 60_000 });
  });
});
