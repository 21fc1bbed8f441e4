/**
 * Failover of pool-level calls across nodes (src/cluster-call.ts), on scripted MySQL-protocol servers as nodes: a call
 * moves to another node only when running it again cannot run it twice, each node at most once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { drop, err } from '../support/scripted-mysql.js';
import { failure as failed, useScriptedCluster } from '../support/scripted-cluster.js';

type AnyError = Error & { errno?: number; code?: string; outcomeUnknown?: boolean; nodeId?: string };

const failure = (p: Promise<unknown>) => failed<AnyError>(p);

const NOT_READY = 'WSREP has not yet prepared node for application use';
const INSERT = 'INSERT INTO t VALUES (1)';

describe('cluster failover of pool-level calls', () => {
  const offline: string[] = [];
  // maxAttempts 1: no retry inside a node, so each count below is the cluster's own doing.
  const nodes = useScriptedCluster(3, { healthCheckInterval: 0, defaultSelector: 'ORDER' }, { maxAttempts: 1 }, (c) => {
    offline.length = 0;
    c.on('offline', (id: string) => offline.push(id));
  });
  const { servers } = nodes;

  function run(sql: string | { sql: string; idempotent?: boolean }, values?: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const cb = (e: Error | null, rows: unknown) => (e ? reject(e) : resolve(rows));
      if (values) nodes.cluster.of('*').query(sql as string, values, cb);
      else nodes.cluster.of('*').query(sql as string, cb);
    });
  }

  test('1047 on a single atomic write: it did not run, so it runs on the next node, once; the node goes offline', async () => {
    servers[0]!.script = (sql) => (sql === INSERT ? err(1047, NOT_READY) : { ok: true });
    await run(INSERT);
    assert.deepEqual(servers.map((s) => s.count(INSERT)), [1, 1, 0]);
    assert.deepEqual(offline, ['N1']);
  });

  test('1047 on a CALL: it may have run in part, so it is not moved (outcomeUnknown, nodeId)', async () => {
    servers[0]!.script = (sql) => (sql === 'CALL p()' ? err(1047, NOT_READY) : { ok: true });
    const e = await failure(run('CALL p()'));
    assert.equal(e.errno, 1047);
    assert.equal(e.outcomeUnknown, true);
    assert.equal(e.nodeId, 'N1');
    assert.deepEqual(servers.map((s) => s.count('CALL p()')), [1, 0, 0]);
  });

  test('a write whose connection died after it was sent is never moved', async () => {
    servers[0]!.script = (sql) => (sql === INSERT ? drop : { ok: true });
    const e = await failure(run(INSERT));
    assert.equal(e.outcomeUnknown, true);
    assert.equal(e.nodeId, 'N1');
    assert.deepEqual(servers.map((s) => s.count(INSERT)), [1, 0, 0]);
  });

  test('a plain read whose connection died after it was sent moves to the next node', async () => {
    const read = 'SELECT a FROM t';
    servers[0]!.script = (sql) => (sql === read ? drop : { ok: true });
    servers[1]!.script = (sql) => (sql === read ? { rows: [[['a', 1]]] } : { ok: true });
    assert.deepEqual(await run(read), [{ a: 1 }]);
    assert.deepEqual(servers.map((s) => s.count(read)), [1, 1, 0]);
  });

  test('a read declared idempotent: false is not moved', async () => {
    const read = 'SELECT a FROM t';
    servers[0]!.script = (sql) => (sql === read ? drop : { ok: true });
    const e = await failure(run({ sql: read, idempotent: false }));
    assert.equal(e.outcomeUnknown, true);
    assert.deepEqual(servers.map((s) => s.count(read)), [1, 0, 0]);
  });

  test('a write declared idempotent: true is moved after its connection died', async () => {
    servers[0]!.script = (sql) => (sql === INSERT ? drop : { ok: true });
    await run({ sql: INSERT, idempotent: true });
    assert.deepEqual(servers.map((s) => s.count(INSERT)), [1, 1, 0]);
  });

  test('after a lost connection the node is suspect: the next call goes to another node first', async () => {
    servers[0]!.script = (sql) => (sql === INSERT ? drop : { ok: true });
    await failure(run(INSERT));
    await run(INSERT);
    assert.deepEqual(servers.map((s) => s.count(INSERT)), [1, 1, 0]);
  });

  test('each node at most once: every node refusing gives the last node\'s error after three attempts', async () => {
    for (const s of servers) s.script = (sql) => (sql === INSERT ? err(1047, NOT_READY) : { ok: true });
    const e = await failure(run(INSERT));
    assert.equal(e.errno, 1047);
    assert.equal(e.outcomeUnknown, false, 'it never ran anywhere');
    assert.equal(e.nodeId, 'N3');
    assert.deepEqual(servers.map((s) => s.count(INSERT)), [1, 1, 1]);
  });

  test('plain SQL errors are the application\'s: not moved', async () => {
    servers[0]!.script = (sql) => (sql === INSERT ? err(1062, 'Duplicate entry') : { ok: true });
    const e = await failure(run(INSERT));
    assert.equal(e.errno, 1062);
    assert.deepEqual(servers.map((s) => s.count(INSERT)), [1, 0, 0]);
    assert.deepEqual(offline, []);
  });

  test('canRetry: false turns failover off', async () => {
    await nodes.rebuild({ healthCheckInterval: 0, defaultSelector: 'ORDER', canRetry: false });
    servers[0]!.script = (sql) => (sql === INSERT ? err(1047, NOT_READY) : { ok: true });
    const e = await failure(run(INSERT));
    assert.equal(e.errno, 1047);
    assert.deepEqual(servers.map((s) => s.count(INSERT)), [1, 0, 0]);
  });
});
