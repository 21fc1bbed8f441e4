/**
 * TypeORM's `replication` config on resilient-mysql-pool/mysql2, on a real 3-node Galera cluster (issue 11, "Done
 * when"): `master` is the three nodes as an ordered host list (a comma-separated `host`, which TypeORM forwards
 * unchanged to the cluster's MASTER pool; `preferFirstHost` through `extra`), the slaves one node each. Every query
 * TypeORM runs is on a held connection (its query runners take one from the cluster), so nothing here is retried
 * behind TypeORM's back: what keeps it going is that dead connections are never handed out, a dead slave goes out
 * of rotation and the MASTER pool moves to the next host (and back, once the first is Synced again). The slave and
 * writer scenarios start from a whole cluster (size 3 on every node, all Synced and Primary); the last one goes on
 * from the writer's kill. Measured figures are printed as diagnostics (docs/clusters.md quotes them).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import * as mysql2 from 'mysql2';
import { DataSource, QueryFailedError } from 'typeorm';
import { startGaleraCluster, type GaleraCluster } from '../support/galera.js';
import { assertNoHandlesLeft } from '../support/handles.js';
import { bounded, delay } from '../support/wait.js';
import * as resilientMysql2 from '../../src/mysql2.js';

type DriverError = Error & { code?: string; errno?: number; outcomeUnknown?: boolean };

/** One call through TypeORM: when it ran, on which node (port), and how it failed. */
interface Call {
  began: number;
  ended: number;
  port: number | undefined;
  err?: QueryFailedError & { outcomeUnknown?: boolean; driverError: DriverError };
  key?: number;
}

describe('TypeORM replication on a real 3-node Galera cluster', { timeout: 600_000 }, () => {
  let galera: GaleraCluster;
  let ds: DataSource | undefined;
  const port = (i: number) => galera.connectionOptions(i).port;

  function options(driver: unknown): ConstructorParameters<typeof DataSource>[0] {
    const { user, password, database } = galera.connectionOptions(1);
    const creds = { username: user, password, database };
    return {
      type: 'mysql',
      driver,
      // Bounds a connect to a node that stopped answering (as in cluster-galera.test.ts).
      connectTimeout: 2_000,
      replication: {
        master: { ...creds, host: [1, 2, 3].map((i) => `127.0.0.1:${port(i)}`).join(',') },
        slaves: [1, 2, 3].map((i) => ({ ...creds, host: '127.0.0.1', port: port(i) })),
      },
      extra: { preferFirstHost: true },
    } as never;
  }

  before(async () => {
    galera = await startGaleraCluster();
    await galera.admin(1, 'CREATE TABLE r (id INT PRIMARY KEY, v INT)');
    await galera.admin(1, 'INSERT INTO r VALUES (1, 1)');
    // k is not unique: a write run twice would show as two rows.
    await galera.admin(1, 'CREATE TABLE w (id INT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, KEY (k))');
  });

  after(async () => {
    await ds?.destroy().catch(() => undefined);
    await galera?.close();
    await assertNoHandlesLeft();
  });

  /** Each scenario starts from a whole cluster: all three nodes in one primary view, synced (a node an earlier
   * scenario left dead, e.g. after a failed assertion, rejoins first). */
  async function wholeCluster(): Promise<void> {
    for (const node of galera.nodes) if (!node.running) await galera.restart(node);
    await galera.waitClusterSize(3, { timeoutMs: 60_000 });
    for (const i of [1, 2, 3]) await galera.waitSynced(i);
  }

  /** Runs `call` from `workers` loops until `stop.done` (each loop bounded by `cap` calls), `gapMs` apart. */
  async function loops(workers: number, gapMs: number, stop: { done: boolean }, call: (c: Call) => Promise<void>, cap = 50_000): Promise<Call[]> {
    const calls: Call[] = [];
    const worker = async () => {
      for (let n = 0; n < cap && !stop.done; n++) {
        const c: Call = { began: Date.now(), ended: 0, port: undefined };
        calls.push(c);
        try {
          await call(c);
        } catch (err) {
          c.err = err as Call['err'];
        }
        c.ended = Date.now();
        await delay(gapMs);
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    return calls;
  }

  /** A read through a 'slave' query runner; notes the node it ran on, also when it failed. */
  async function slaveRead(c: Call): Promise<void> {
    const runner = ds!.createQueryRunner('slave');
    try {
      const rows = (await runner.query('SELECT @@port AS port, v FROM r WHERE id = 1')) as { port: number; v: number }[];
      c.port = Number(rows[0]!.port);
      assert.equal(Number(rows[0]!.v), 1);
    } catch (err) {
      c.port = (runner as unknown as { databaseConnection?: { config?: { port?: number } } }).databaseConnection?.config?.port;
      throw err;
    } finally {
      await runner.release();
    }
  }

  const errorsOf = (calls: Call[]) => calls.filter((c) => c.err);
  /** Inserts through the master, one key per call from `first` on (the call notes its key). */
  const keyedInserts = (first: number) => {
    let next = first;
    return async (c: Call) => {
      c.key = next++;
      await ds!.query('INSERT INTO w (k) VALUES (?)', [c.key]);
    };
  };
  /** The port of the node the master's writes go to now. */
  const masterPort = async () => Number(((await ds!.query('SELECT @@port AS port')) as { port: number }[])[0]!.port);
  const describeErr = (c: Call) =>
    `${c.err!.driverError?.code ?? c.err!.message}${c.port ? ` on ${c.port}` : ''} (${c.began}-${c.ended})`;

  test('plain mysql2 cannot take the host list at all (the same config)', async () => {
    const theirs = new DataSource(options(mysql2));
    await assert.rejects(
      (async () => {
        await theirs.initialize();
        await theirs.query('SELECT 1');
      })(),
      (err: DriverError & { driverError?: DriverError }) => ['ENOTFOUND', 'EAI_AGAIN'].includes(String(err.driverError?.code ?? err.code)),
      'mysql2 resolves the whole comma-separated list as one host name',
    );
    if (theirs.isInitialized) await theirs.destroy();
  });

  test('a slave node SIGKILLed under reads through slave query runners: reads go on; it rejoins', async (t) => {
    await wholeCluster();
    ds = await new DataSource(options(resilientMysql2)).initialize();
    assert.equal(await masterPort(), port(1), 'master: the first host');
    const warm: Call[] = [];
    for (let i = 0; i < 9; i++) {
      const c: Call = { began: 0, ended: 0, port: undefined };
      await slaveRead(c);
      warm.push(c);
    }
    assert.deepEqual([...new Set(warm.map((c) => c.port))].sort(), [1, 2, 3].map(port).sort(), 'reads spread over the three slaves');

    const stop = { done: false };
    const reads = loops(4, 10, stop, slaveRead);
    const at = { kill: 0, killed: 0 };
    try {
      await delay(500);
      at.kill = Date.now();
      await galera.kill(3);
      at.killed = Date.now();
      await delay(2_000);
    } finally {
      stop.done = true;
    }
    const calls = await reads;
    const failed = errorsOf(calls);
    const afterKill = calls.filter((c) => c.began > at.killed);
    t.diagnostic(
      `kill ${at.kill}-${at.killed}: ${calls.length} reads, ${failed.length} errors${failed.length ? `: ${failed.map(describeErr).join('; ')}` : ''}; ` +
        `${afterKill.length} began after the kill, on ports ${[...new Set(afterKill.map((c) => c.port))].join(',')}`,
    );
    // TypeORM runs every read on a held connection, which is never retried behind its back: a read in flight on
    // node3 at the kill fails (a connection-level error, flagged outcomeUnknown). Every other read succeeds.
    const inFlight = (c: Call) => c.port === port(3) && c.began <= at.killed && c.ended >= at.kill;
    for (const c of failed) {
      assert.ok(inFlight(c), `${describeErr(c)}: only a read in flight on node3 at the kill (${at.kill}-${at.killed}) may fail`);
      assert.equal(c.err!.driverError.outcomeUnknown, true, `${describeErr(c)}: outcomeUnknown`);
    }
    assert.equal(afterKill.filter((c) => c.err).length, 0, 'no read that began after the kill failed');
    assert.ok(!afterKill.some((c) => c.port === port(3)), 'no read served by the dead node');
    assert.ok(afterKill.length > 20);

    const timings = await galera.restart(3);
    t.diagnostic(`node3 dropped ${timings.leftMs} ms after the restart began, rejoined by ${timings.transfer} in ${timings.joinMs} ms`);
    // Back in rotation by itself (the cluster's probe): a slave read lands on it again.
    const seen = new Set<number>();
    for (let i = 0; i < 300 && !seen.has(port(3)); i++) {
      const c: Call = { began: 0, ended: 0, port: undefined };
      await slaveRead(c);
      seen.add(c.port!);
      await delay(50);
    }
    assert.ok(seen.has(port(3)), 'node3 serves slave reads again');
  });

  test('the writer (first master host) SIGKILLed under keyed inserts: in-flight writes outcomeUnknown, none lost or doubled, writes back on the next host right after Galera\'s stall', async (t) => {
    await wholeCluster();
    assert.equal(await masterPort(), port(1), 'master: the first host');
    const stop = { done: false };
    const writes = loops(4, 5, stop, keyedInserts(0));
    const at = { kill: 0, killed: 0, dropped: 0 };
    try {
      await delay(500);
      at.kill = Date.now();
      await galera.kill(1);
      at.killed = Date.now();
      // Galera's stall: writes on the survivors block until they drop node1 from the view.
      await galera.waitClusterSize(2, { nodes: [2, 3], timeoutMs: 30_000 });
      at.dropped = Date.now();
      await delay(1_500);
    } finally {
      stop.done = true;
    }
    const calls = await bounded(writes, 30_000, 'the insert loops');
    const acked = calls.filter((c) => !c.err);
    const failed = errorsOf(calls);
    const firstAck = Math.min(...acked.filter((c) => c.ended > at.killed).map((c) => c.ended));
    const stallMs = at.dropped - at.kill;
    const afterStallMs = firstAck - at.dropped;
    t.diagnostic(`${acked.length} writes acknowledged, ${failed.length} failed: ${failed.map(describeErr).join('; ')}`);
    t.diagnostic(`Galera's stall: node1 dropped (size 2 on both survivors) ${stallMs} ms after the kill`);
    t.diagnostic(`first write acknowledged after the kill: ${firstAck - at.kill} ms after it, ${afterStallMs} ms after the stall ended`);

    // Only the writes in flight at the kill failed, each flagged outcomeUnknown: on the error TypeORM throws
    // (QueryFailedError copies the driver error's own fields) and on its driverError (mysql2's error object).
    assert.ok(failed.length <= 4, `at most one in flight per loop: ${failed.length}`);
    for (const c of failed) {
      assert.ok(c.err instanceof QueryFailedError, describeErr(c));
      assert.ok(c.began <= at.killed, `${describeErr(c)}: began before the kill`);
      assert.equal(c.err.driverError.outcomeUnknown, true, `${describeErr(c)}: driverError.outcomeUnknown`);
      assert.equal(c.err.outcomeUnknown, true, `${describeErr(c)}: outcomeUnknown on the QueryFailedError`);
    }
    // Every acknowledged key exactly once, nothing that was not attempted, read on a survivor after every commit.
    const conn = await mysql.createConnection(galera.connectionOptions(2));
    try {
      await conn.query('SET SESSION wsrep_sync_wait = 1');
      const [rows] = await conn.query('SELECT k, COUNT(*) AS n FROM w GROUP BY k');
      const counts = new Map((rows as Array<{ k: number; n: number }>).map((r) => [Number(r.k), Number(r.n)]));
      for (const c of acked) assert.equal(counts.get(c.key!), 1, `acknowledged key ${c.key} present exactly once`);
      const unknown = new Set(failed.map((c) => c.key));
      for (const [k, n] of counts) {
        assert.equal(n, 1, `key ${k} written ${n} times`);
        assert.ok(acked.some((c) => c.key === k) || unknown.has(k), `key ${k} was neither acknowledged nor in flight`);
      }
    } finally {
      await conn.end();
    }
    // Writes succeed again on the next host within about a second of the stall ending. The bound is 1.5 s: the
    // stall's end is seen by polling both survivors (every 100 ms, each poll a fresh connection), and on a 2-core
    // machine at load ~10 the insert loops' timers and the reply to a write released by the view change can each
    // run a few hundred ms late; a master pool that waited for its own health check (2 s) or a connect timeout
    // (2 s) to move would miss it.
    assert.ok(Number.isFinite(firstAck), 'a write was acknowledged after the kill');
    assert.ok(afterStallMs < 1_500, `first write ${afterStallMs} ms after the stall ended`);
    assert.equal(await masterPort(), port(2), 'master: now the second host');
  });

  test('the first host rejoins under keyed inserts: 0 write errors, and the master moves back to it (preferFirstHost)', async (t) => {
    // Starts where the writer scenario ended: node1 dead, the master on node2.
    if (galera.node(1).running) await galera.kill(1);
    await galera.waitClusterSize(2, { nodes: [2, 3], timeoutMs: 60_000 });
    const stop = { done: false };
    const writes = loops(2, 20, stop, keyedInserts(1_000_000));
    const at = { synced: 0, back: 0 };
    try {
      // A joining node accepts connections before it is Synced (and answers 1047 there): the master must not move
      // back before the probe finds it Synced in the primary component.
      const timings = await galera.restart(1);
      at.synced = Date.now();
      t.diagnostic(`node1 rejoined by ${timings.transfer} in ${timings.joinMs} ms`);
      // hostRecheckInterval (default 5 s) plus one probe (bounded by 2 s), with room for a loaded machine.
      const deadline = at.synced + 20_000;
      while (Date.now() < deadline && (await masterPort()) !== port(1)) await delay(100);
      at.back = Date.now();
      await delay(500);
    } finally {
      stop.done = true;
    }
    const calls = await bounded(writes, 30_000, 'the insert loops');
    t.diagnostic(`${calls.length} writes during the rejoin, ${errorsOf(calls).length} failed; the master back on node1 ${at.back - at.synced} ms after it was Synced`);
    assert.deepEqual(errorsOf(calls).map(describeErr), [], 'no write failed while node1 rejoined');
    assert.equal(await masterPort(), port(1), 'master: the first host again');
    const conn = await mysql.createConnection(galera.connectionOptions(1));
    try {
      await conn.query('SET SESSION wsrep_sync_wait = 1');
      const [rows] = await conn.query('SELECT k, COUNT(*) AS n FROM w WHERE k >= 1000000 GROUP BY k');
      const counts = new Map((rows as Array<{ k: number; n: number }>).map((r) => [Number(r.k), Number(r.n)]));
      assert.equal(counts.size, calls.length, 'every write of the rejoin present on node1');
      for (const c of calls) assert.equal(counts.get(c.key!), 1, `key ${c.key} exactly once`);
    } finally {
      await conn.end();
    }
  });
});
