/**
 * The Galera test bed (test/support/galera.ts) on a real 3-node MariaDB Galera cluster: the facts the cluster chaos
 * tests rely on (issue 11, item 5), and that a run leaves nothing behind. The tests run in order on one cluster;
 * each leaves the cluster as the next expects it. Measured timings are printed as diagnostics.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, test, type TestContext } from 'node:test';
import mysql from 'mysql2/promise';
import { startGaleraCluster, type GaleraCluster } from '../support/galera.js';
import { assertNoHandlesLeft } from '../support/handles.js';
import { delay, sweepRunDirs } from '../support/server.js';

type QueryError = Error & { errno?: number; code?: string; sqlState?: string };

const GALERA_TS = path.resolve(__dirname, '../support/galera.ts');

const opened: mysql.Connection[] = [];
afterEach(() => {
  for (const conn of opened.splice(0)) conn.destroy();
});

async function connect(cluster: GaleraCluster, node: number): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({ ...cluster.connectionOptions(node), connectTimeout: 10_000 });
  conn.on('error', () => undefined); // a killed node must not crash the test process
  opened.push(conn);
  return conn;
}

async function rows<T = Record<string, unknown>>(conn: mysql.Connection, sql: string, values?: unknown[]): Promise<T[]> {
  const [result] = await conn.query({ sql, values, timeout: 30_000 });
  return result as T[];
}

async function queryError(conn: mysql.Connection, sql: string): Promise<QueryError> {
  try {
    await conn.query({ sql, timeout: 30_000 });
  } catch (err) {
    return err as QueryError;
  }
  throw new Error(`${sql}: succeeded, expected an error`);
}

/** Reads on `node` after every write the cluster has committed (a survivor may not have applied them yet). */
async function syncedRead(cluster: GaleraCluster, node: number, sql: string): Promise<Array<Record<string, unknown>>> {
  const conn = await connect(cluster, node);
  await conn.query('SET SESSION wsrep_sync_wait = 1');
  return rows(conn, sql);
}

/** The 1047 a node answers while it cannot serve statements that touch tables. */
function assertNotPrepared(err: QueryError): void {
  assert.equal(err.errno, 1047, err.message);
  assert.equal(err.sqlState, '08S01');
  assert.equal(err.code, 'ER_UNKNOWN_COM_ERROR');
}

/** Whether a process is gone (a zombie counts as gone: it runs nothing and holds no port). */
function processGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
  } catch {
    return true;
  }
}

/** Pids whose command line mentions `text` (a run directory: the servers and any helper they forked). */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(text) && !processGone(Number(entry))) found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** mariadbd processes whose parent is this test process. */
function childServers(): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (comm === 'mariadbd' && Number(ppid) === process.pid && state !== 'Z') found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/**
 * Ports something listens on (/proc/net/tcp and tcp6, state 0A). Not a bind test: a port the kernel has since handed
 * out as the local end of some unrelated outgoing connection cannot be bound either, yet nothing of ours holds it.
 */
function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local) ports.add(parseInt(local.split(':')[1]!, 16));
    }
  }
  return ports;
}

function assertNotListening(ports: number[]): void {
  const listening = listeningPorts();
  assert.deepEqual(ports.filter((port) => listening.has(port)), [], 'no server listens on these ports any more');
}

/** Polls `check` every 50 ms until it is true; fails after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(50);
  }
}

function report(t: TestContext, what: string, ms: number): void {
  t.diagnostic(`${what}: ${(ms / 1000).toFixed(1)} s`);
}

describe('Galera test bed: a real 3-node cluster', { timeout: 300_000 }, () => {
  let cluster: GaleraCluster;
  // The safety net: whatever fails, the servers and the run directory go (the last test checks close() itself).
  after(() => cluster?.close());

  before(async () => {
    cluster = await startGaleraCluster();
  });

  test('three nodes come up Synced in one primary component, each on its own ports and directories', async (t) => {
    report(t, 'cluster start (node 1 bootstrap to 3 nodes Synced)', cluster.startMs);
    for (const node of cluster.nodes) {
      const s = await cluster.status(node);
      assert.equal(s.wsrep_cluster_size, 3, node.name);
      assert.equal(s.wsrep_cluster_status, 'Primary', node.name);
      assert.equal(s.wsrep_local_state_comment, 'Synced', node.name);
      assert.equal(s.wsrep_ready, 'ON', node.name);
    }
    const ports = cluster.nodes.flatMap((node) => Object.values(node.ports));
    assert.equal(new Set(ports).size, 12, 'client, gmcast, IST and SST ports are all distinct');
    assert.equal(new Set(cluster.nodes.map((node) => node.pid)).size, 3);
    const joinerLog = fs.readFileSync(cluster.nodes[1]!.logFile, 'utf8');
    assert.match(joinerLog, /rsync SST completed on joiner/, 'node 2 joined by rsync SST');
  });

  test('a write on node 1 is read on nodes 2 and 3 (wsrep_sync_wait=1)', async () => {
    await cluster.admin(1, 'CREATE TABLE kv (id INT PRIMARY KEY, v VARCHAR(20))');
    await cluster.admin(1, "INSERT INTO kv VALUES (1, 'one')");
    for (const node of [2, 3]) {
      assert.deepEqual(await syncedRead(cluster, node, 'SELECT id, v FROM kv'), [{ id: 1, v: 'one' }], `node ${node}`);
    }
  });

  test('wsrep_reject_queries=ALL: table statements fail with 1047, SELECT 1 answers; NONE serves again', async () => {
    const before = await connect(cluster, 2);
    await cluster.rejectQueries(2, 'ALL');
    assertNotPrepared(await queryError(before, 'SELECT * FROM kv'));
    assert.deepEqual(await rows(before, 'SELECT 1 AS v'), [{ v: 1 }]);
    // MariaDB 10.11 accepts new connections while rejecting (galera_var_reject_queries.test does the same).
    const fresh = await connect(cluster, 2);
    assertNotPrepared(await queryError(fresh, 'INSERT INTO kv VALUES (2, "two")'));
    await cluster.rejectQueries(2, 'NONE');
    assert.deepEqual(await rows(before, 'SELECT id FROM kv'), [{ id: 1 }]);
    assert.deepEqual(await rows(fresh, 'SELECT id FROM kv'), [{ id: 1 }]);
  });

  test('wsrep_desync: the node reports Donor/Desynced and still serves; OFF makes it Synced again', async () => {
    await cluster.desync(3);
    assert.equal((await cluster.status(3)).wsrep_local_state_comment, 'Donor/Desynced');
    assert.deepEqual(await syncedRead(cluster, 3, 'SELECT id FROM kv'), [{ id: 1 }]);
    await cluster.desync(3, false);
    assert.equal((await cluster.status(3)).wsrep_local_state_comment, 'Synced');
  });

  test('a SIGKILLed node leaves the cluster (3 -> 2); a write on a survivor waits for that, then succeeds', async (t) => {
    const writer = await connect(cluster, 1);
    const killed = cluster.nodes[2]!.pid!;
    const begin = Date.now();
    await cluster.kill(3);
    assert.ok(processGone(killed));
    // Sent while node 3 is still in the view: it cannot commit until the survivors have dropped node 3.
    const write = rows(writer, "INSERT INTO kv VALUES (3, 'three')").then(() => Date.now() - begin);
    await cluster.waitClusterSize(2, { nodes: [1, 2] });
    const leftMs = Date.now() - begin;
    const writeMs = await write;
    report(t, 'leave after SIGKILL (size 3 -> 2 on the survivors)', leftMs);
    report(t, 'a write on a survivor, sent at the kill, committed after', writeMs);
    assert.equal((await cluster.status(1)).wsrep_cluster_status, 'Primary');
    assert.deepEqual(await syncedRead(cluster, 2, 'SELECT id FROM kv WHERE id = 3'), [{ id: 3 }]);
  });

  test('the killed node restarts, rejoins by IST and serves again', async (t) => {
    const rejoin = await cluster.restart(3);
    report(t, '--wsrep-recover', rejoin.recoverMs);
    report(t, 'rejoin (spawn to Synced)', rejoin.joinMs);
    assert.equal(rejoin.transfer, 'IST');
    await cluster.waitClusterSize(3);
    assert.deepEqual(await syncedRead(cluster, 3, 'SELECT id FROM kv ORDER BY id'), [{ id: 1 }, { id: 3 }]);
    await cluster.admin(3, "INSERT INTO kv VALUES (4, 'four')");
    assert.deepEqual(await syncedRead(cluster, 1, 'SELECT id FROM kv WHERE id = 4'), [{ id: 4 }]);
  });

  test('a non-primary node answers table statements with 1047 while SELECT 1 succeeds', async (t) => {
    const held = await connect(cluster, 1);
    // A graceful stop leaves at once; pausing the other survivor then leaves node 1 alone: 1 of 2 is no majority.
    const stopBegin = Date.now();
    await cluster.stop(2);
    await cluster.waitClusterSize(2, { nodes: [1, 3] });
    report(t, 'leave after a graceful stop', Date.now() - stopBegin);
    const pauseBegin = Date.now();
    cluster.pause(3);
    await cluster.waitStatus(1, 'non-Primary', (s) => s.wsrep_cluster_status === 'non-Primary');
    report(t, 'non-primary after pausing the only other node', Date.now() - pauseBegin);
    const s = await cluster.status(1);
    assert.equal(s.wsrep_ready, 'OFF');
    for (const conn of [held, await connect(cluster, 1)]) {
      assertNotPrepared(await queryError(conn, 'SELECT * FROM kv'));
      assertNotPrepared(await queryError(conn, "INSERT INTO kv VALUES (5, 'five')"));
      assert.deepEqual(await rows(conn, 'SELECT 1 AS v'), [{ v: 1 }]);
    }
    // resume() continues the paused server: it answers again.
    cluster.resume(3);
    assert.deepEqual(await rows(await connect(cluster, 3), 'SELECT 1 AS v'), [{ v: 1 }]);
  });

  test('close() leaves nothing behind: no server process, every port free, the run directory gone', async () => {
    const pids = cluster.nodes.map((node) => node.pid).filter((pid): pid is number => pid !== undefined);
    assert.ok(pids.length >= 2, 'nodes 1 and 3 still run before close()');
    assert.ok(listeningPorts().has(cluster.nodes[0]!.port), 'node 1 listens before close()');
    await cluster.close();
    for (const pid of pids) assert.ok(processGone(pid), `pid ${pid} is gone`);
    assert.deepEqual(childServers(), []);
    assert.deepEqual(processesMentioning(cluster.dir), []);
    assertNotListening(cluster.nodes.flatMap((node) => Object.values(node.ports)));
    assert.equal(fs.existsSync(cluster.dir), false);
  });
});

describe('Galera test bed: a test process that dies', { timeout: 120_000 }, () => {
  test('killed by SIGKILL, it leaves no server running; the next run deletes its directory', async () => {
    // A child test process starts a one-node cluster, says where it is, and is SIGKILLed: no 'exit' handler runs.
    const script =
      `require(${JSON.stringify(GALERA_TS)}).startGaleraCluster({ nodes: 1 }).then((c) => {` +
      '  const n = c.nodes[0];' +
      '  process.stdout.write(JSON.stringify({ pid: n.pid, ports: Object.values(n.ports), dir: c.dir }) + "\\n");' +
      '  setInterval(() => undefined, 60_000);' +
      '}, (err) => { process.stdout.write(JSON.stringify({ error: String(err && err.message) }) + "\\n"); });';
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    let info: { pid: number; ports: number[]; dir: string; error?: string };
    try {
      await until(() => out.includes('\n') || child.exitCode !== null, 90_000, 'the child to start its cluster');
      info = JSON.parse(out.split('\n')[0] || '{"error":"no output"}') as typeof info;
      assert.equal(info.error, undefined);
      assert.ok(!processGone(info.pid) && fs.existsSync(info.dir), 'the child reported its running server');
      assert.ok(listeningPorts().has(info.ports[0]!), 'its client port listens');
    } finally {
      child.kill('SIGKILL');
    }
    const { pid, ports, dir } = info;
    // A killed multi-threaded process shows as a zombie while its other threads are still being torn down, and
    // its sockets close only after that: wait for all three, bounded.
    const gone = (): boolean => {
      const listening = listeningPorts();
      return processGone(pid) && processesMentioning(dir).length === 0 && !ports.some((port) => listening.has(port));
    };
    await until(gone, 15_000, `server pid ${pid} to die with its test process and release its ports`);
    assert.deepEqual(processesMentioning(dir), []);
    assertNotListening(ports);
    // The killed process could not delete its directory; the next test process to start a cluster does.
    assert.ok(fs.existsSync(dir));
    assert.ok(sweepRunDirs('galera').includes(dir));
    assert.equal(fs.existsSync(dir), false);
  });

  test('without a Galera provider it fails with a clear reason, and under CI=true says CI must provide it', async () => {
    const script =
      `const m = require(${JSON.stringify(GALERA_TS)});` +
      '(async () => {' +
      '  const messages = [];' +
      '  for (const ci of [undefined, "true"]) {' +
      '    if (ci) process.env.CI = ci; else delete process.env.CI;' +
      '    await m.startGaleraCluster().then(() => messages.push("started"), (err) => messages.push(err.message));' +
      '  }' +
      '  process.stdout.write(JSON.stringify(messages));' +
      '})();';
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, WSREP_PROVIDER: '/nonexistent/libgalera_smm.so' },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await until(() => child.exitCode !== null, 60_000, 'the child to finish');
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(child.exitCode, 0);
    const [local, ci] = JSON.parse(out) as string[];
    assert.match(local!, /^the Galera test bed could not run: WSREP_PROVIDER=\/nonexistent\/libgalera_smm\.so does not exist$/);
    assert.match(ci!, /WSREP_PROVIDER=.* does not exist \(CI must provide Galera: \.ci\/run installs galera-4 and rsync\)$/);
  });
});

after(async () => {
  await assertNoHandlesLeft();
});
