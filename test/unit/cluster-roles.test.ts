/**
 * Roles in a cluster (src/cluster-roles.ts), on scripted MySQL-protocol servers whose `read_only` the test sets: a
 * writer namespace serves only the writable node, fails with POOL_NOWRITER when none is, and follows a role swap (a
 * write refused as read-only moves, once, to the node now writable); a reader namespace prefers read-only nodes.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import type { PoolNamespace } from 'mysql2';
import { err, ok } from '../support/scripted-mysql.js';
import { failure, useScriptedCluster } from '../support/scripted-cluster.js';

type AnyError = Error & { errno?: number; code?: string; outcomeUnknown?: boolean; nodeId?: string };

const INSERT = 'INSERT INTO t VALUES (1)';
const READ = 'SELECT 1';

describe('cluster roles', () => {
  const nodes = useScriptedCluster(2, { healthCheckInterval: 0, defaultSelector: 'ORDER' });
  const { servers } = nodes;

  /** Server i reports read_only = `readOnly[i]` (to probes and to the pool's own check) and refuses writes when on. */
  function setRoles(...readOnly: boolean[]): void {
    servers.forEach((s, i) => {
      s.readOnly = readOnly[i] ? 1 : 0;
      s.script = (sql) => {
        if (sql.startsWith('SHOW GLOBAL VARIABLES')) return { rows: [[['Variable_name', 'read_only'], ['Value', s.readOnly ? 'ON' : 'OFF']]] };
        if (sql === INSERT && s.readOnly) return err(1290, 'The MariaDB server is running with the --read-only option so it cannot execute this statement');
        return ok;
      };
    });
  }

  function run(ns: PoolNamespace, sql: string): Promise<unknown> {
    return new Promise((resolve, reject) => ns.query(sql, (e: Error | null, rows: unknown) => (e ? reject(e) : resolve(rows))));
  }

  test('a writer namespace serves the writable node, though ORDER lists a read-only one first', async () => {
    setRoles(true, false);
    const writer = nodes.cluster.of('*', 'ORDER', { role: 'writer' });
    for (let i = 0; i < 3; i++) await run(writer, INSERT);
    assert.deepEqual(servers.map((s) => s.count(INSERT)), [0, 3]);
    assert.deepEqual(nodes.cluster.nodeStates().map((n) => n.role), ['reader', 'writer']);
    // mysql2's two-argument form is unchanged: ORDER over every node, the read-only one first.
    const e = await failure<AnyError>(run(nodes.cluster.of('N1', 'ORDER'), INSERT));
    assert.equal(e.errno, 1290);
  });

  test('no writable node: probed at once, then POOL_NOWRITER naming each node\'s reason', async () => {
    setRoles(true, true);
    const e = await failure<AnyError>(run(nodes.cluster.of('*', 'RR', { role: 'writer' }), INSERT));
    assert.equal(e.code, 'POOL_NOWRITER');
    assert.match(e.message, /^Pool does Not have a writable node\. \(N1: read-only; N2: read-only\)$/);
    assert.deepEqual(servers.map((s) => s.count(INSERT)), [0, 0]);
    // getConnection of a writer fails the same way; a reader namespace still serves.
    const connErr = await new Promise<AnyError>((resolve) =>
      nodes.cluster.getConnection('*', 'ORDER', { role: 'writer' }, (ge) => resolve(ge as AnyError)),
    );
    assert.equal(connErr.code, 'POOL_NOWRITER');
    // A query with no callback (events) runs on one node chosen now, without probing: the same error, as an event.
    const streamed = nodes.cluster.of('*', 'RR', { role: 'writer' }).query(INSERT);
    const [evErr] = (await once(streamed, 'error')) as [AnyError];
    assert.equal(evErr.code, 'POOL_NOWRITER');
    await run(nodes.cluster.of('*', 'RR', { role: 'reader' }), READ);
  });

  test('a role swap: the refused write moves to the new writer once, the role event fires, nothing runs twice', async () => {
    setRoles(false, true);
    const writer = nodes.cluster.of('*', 'ORDER', { role: 'writer' });
    await run(writer, INSERT);
    assert.deepEqual(servers.map((s) => s.count(INSERT)), [1, 0]);
    const events: string[] = [];
    nodes.cluster.on('role', (id: string, role: string, previous: string) => events.push(`${id} ${previous}->${role}`));
    setRoles(true, false);
    await run(writer, INSERT);
    // N1 refused it (once per attempt of its pool: it certainly did not run), N2 ran it once.
    assert.equal(servers[1]!.count(INSERT), 1);
    assert.ok(servers[0]!.count(INSERT) >= 2, 'the refused write reached the old writer');
    assert.deepEqual(events.sort(), ['N1 writer->reader', 'N2 reader->writer']);
    await run(writer, INSERT);
    assert.equal(servers[1]!.count(INSERT), 2, 'later writes go straight to the new writer');
  });

  test('a read-only refusal on a node still writable is the application\'s: not moved', async () => {
    setRoles(false, false);
    servers[0]!.script = (sql) =>
      sql.startsWith('SHOW GLOBAL VARIABLES') ? { rows: [[['Variable_name', 'read_only'], ['Value', 'OFF']]] } : sql === INSERT ? err(1290, 'secure_file_priv') : ok;
    const e = await failure<AnyError>(run(nodes.cluster.of('*', 'ORDER', { role: 'writer' }), INSERT));
    assert.equal(e.errno, 1290);
    assert.equal(e.nodeId, 'N1');
    assert.equal(servers[1]!.count(INSERT), 0);
  });

  test('a reader namespace prefers read-only nodes, and falls back to the writer when none serves', async () => {
    setRoles(false, true);
    const reader = nodes.cluster.of('*', 'ORDER', { role: 'reader' });
    for (let i = 0; i < 3; i++) await run(reader, READ);
    assert.deepEqual(servers.map((s) => s.count(READ)), [0, 3]);
    setRoles(false, false);
    // A writer namespace of N2 alone finds it not known writable, probes it at once, and writes there.
    await run(nodes.cluster.of('N2', 'ORDER', { role: 'writer' }), INSERT);
    assert.deepEqual(nodes.cluster.nodeStates().map((n) => n.role), ['writer', 'writer']);
    await run(reader, READ);
    assert.deepEqual(servers.map((s) => s.count(READ)), [1, 3], 'no reader left: any serving node, by the selector');
    assert.throws(() => nodes.cluster.of('*', 'ORDER', { role: 'primary' as 'writer' }), /role must be 'writer' or 'reader'/);
  });
});
