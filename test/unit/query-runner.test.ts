/**
 * The query runner's retry decisions end to end over the wire, against a scripted server on loopback (no real
 * MySQL): what text the decision reads, what an error proves, what a read-only refusal does to the pool, and what
 * the caller is told (also the holder of a connection). Each test counts how many times a statement reached the
 * server.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import mysql from 'mysql2';
import { ResilientPool } from '../../src/pool.js';
import type { ResilientPoolOptions } from '../../src/options.js';
import type { AnnotatedError } from '../../src/errors.js';
import { ScriptedMysql, drop, err, ok } from '../support/scripted-mysql.js';
import type { Answer } from '../support/scripted-mysql.js';

let server: ScriptedMysql;
const pools: ResilientPool[] = [];

before(async () => {
  server = await ScriptedMysql.start();
});
const ending: Promise<void>[] = [];
after(async () => {
  await Promise.all(ending);
  await server.close();
});
// Each test's pools end in the background (their sockets close at once; end() then waits out generic-pool).
afterEach(() => {
  for (const p of pools.splice(0)) ending.push(new Promise<void>((resolve) => p.end(() => resolve())));
});
beforeEach(() => server.reset());

function pool(options: Partial<ResilientPoolOptions> = {}): ResilientPool {
  const p = new ResilientPool({
    host: server.host,
    port: server.port,
    user: 'u',
    connectionLimit: 2,
    acquireTimeout: 5_000,
    ...options,
  });
  pools.push(p);
  return p;
}

function checkout(p: ResilientPool): Promise<mysql.PoolConnection> {
  return new Promise((resolve, reject) => p.getConnection((e, c) => (e ? reject(e) : resolve(c))));
}

interface Outcome {
  err: AnnotatedError | null;
  rows?: unknown;
}

function run(p: ResilientPool, kind: 'query' | 'execute', ...args: unknown[]): Promise<Outcome> {
  return new Promise((resolve) => {
    (p[kind] as (...a: unknown[]) => unknown)(...args, (e: AnnotatedError | null, rows: unknown) => resolve({ err: e, rows }));
  });
}

/** Drops the connection every time a query matching `pattern` arrives; answers everything else with OK. */
function dropOn(pattern: RegExp): void {
  server.script = (sql) => (pattern.test(sql) ? drop : ok);
}

describe('the retry decision reads the final SQL, not the template', () => {
  test('control: a plain read whose connection died after send is retried', async () => {
    let drops = 2;
    server.script = (sql) => (sql === 'SELECT 1' && drops-- > 0 ? drop : ok);
    const p = pool();
    const r = await run(p, 'query', 'SELECT ?', [1]);
    assert.equal(r.err, null);
    assert.equal(server.count('SELECT 1'), 3);
  });

  test("raw('NEXTVAL(s)') in a 'SELECT ?' is sent once, and the caller told it may have run", async () => {
    dropOn(/NEXTVAL/);
    const p = pool();
    const r = await run(p, 'query', 'SELECT ?', [mysql.raw('NEXTVAL(s)')]);
    assert.equal(server.count('SELECT NEXTVAL(s)'), 1);
    assert.equal(r.err?.code, 'PROTOCOL_CONNECTION_LOST');
    assert.equal(r.err?.outcomeUnknown, true);
    assert.equal(r.err?.attempts, 1);
  });

  test("a raw('1; INSERT ...') value with multipleStatements is sent once", async () => {
    dropOn(/INSERT/);
    const p = pool({ multipleStatements: true });
    const r = await run(p, 'query', { sql: 'SELECT ?' }, [mysql.raw('1; INSERT INTO t VALUES (1)')]);
    assert.equal(server.count('SELECT 1; INSERT INTO t VALUES (1)'), 1);
    assert.equal(r.err?.outcomeUnknown, true);
  });

  test('named placeholders: the converted, formatted text is classified', async () => {
    dropOn(/GET_LOCK/);
    const p = pool({ namedPlaceholders: true });
    const r = await run(p, 'query', 'SELECT :v', { v: mysql.raw("GET_LOCK('x', 0)") });
    assert.equal(server.count("SELECT GET_LOCK('x', 0)"), 1);
    assert.equal(r.err?.outcomeUnknown, true);
  });

  test("a user queryFormat's output is classified", async () => {
    dropOn(/SETVAL/);
    const p = pool({ queryFormat: (sql: string) => sql.replace('{seq}', 'SETVAL(s, 10)') });
    const r = await run(p, 'query', 'SELECT {seq}');
    assert.equal(server.count('SELECT SETVAL(s, 10)'), 1);
    assert.equal(r.err?.outcomeUnknown, true);
  });

  test('a query with no callback is classified on its final text too (and its error annotated)', async () => {
    dropOn(/NEXTVAL/);
    const p = pool();
    const q = p.query('SELECT ?', [mysql.raw('NEXTVAL(s)')]) as unknown as NodeJS.EventEmitter;
    const e = await new Promise<AnnotatedError>((resolve) => q.on('error', resolve));
    assert.equal(server.count('SELECT NEXTVAL(s)'), 1);
    assert.equal(e.outcomeUnknown, true);
    assert.equal(e.attempts, 1);
  });
});

describe('outcomeUnknown is remembered between attempts', () => {
  test('a read that may have run, then a checkout that fails: the final error still says outcomeUnknown', async () => {
    dropOn(/^SELECT 42$/);
    const p = pool({ connectionLimit: 1 });
    // The first attempt is sent and its connection dies (outcome unknown; a read, so retried). From then on every
    // new connection is refused at the handshake (1040, not retried).
    server.script = (sql) => {
      if (sql !== 'SELECT 42') return ok;
      server.refuseWith = 1040;
      return drop;
    };
    const r = await run(p, 'query', 'SELECT 42');
    assert.equal(server.count('SELECT 42'), 1);
    assert.equal(r.err?.errno ?? r.err?.code, 1040);
    assert.equal(r.err?.attempts, 2);
    assert.equal(r.err?.outcomeUnknown, true);
    // mysql2's fields are intact.
    assert.equal(r.err?.message, 'Too many connections');
  });

  test('event style: an ERR in reply is annotated before the caller sees it', async () => {
    server.script = (sql) => (sql === 'CALL p()' ? err(1152, 'Aborted connection', true) : ok);
    const p = pool();
    const q = p.query('CALL p()') as unknown as NodeJS.EventEmitter;
    const e = await new Promise<AnnotatedError>((resolve) => q.on('error', resolve));
    assert.equal(e.errno, 1152);
    assert.equal(e.outcomeUnknown, true);
    assert.equal(e.attempts, 1);
    assert.equal(e.retryable, true);
  });
});

describe('retryReadsAfterSend: false', () => {
  test('a plain read whose connection died after send is not retried', async () => {
    dropOn(/^SELECT 7$/);
    const p = pool({ retryReadsAfterSend: false });
    const r = await run(p, 'query', 'SELECT 7');
    assert.equal(server.count('SELECT 7'), 1);
    assert.equal(r.err?.outcomeUnknown, true);
  });

  test('a statement the server never read (ERR 4031, then close) is still retried', async () => {
    let refusals = 1;
    server.script = (sql) =>
      sql === 'INSERT INTO t VALUES (4031)' && refusals-- > 0
        ? ({ err: 4031, message: 'The client was disconnected by the server because of inactivity.', close: true, sequenceId: 0 } as Answer)
        : ok;
    const p = pool({ retryReadsAfterSend: false });
    const r = await run(p, 'query', 'INSERT INTO t VALUES (4031)');
    assert.equal(r.err, null);
    assert.equal(server.count('INSERT INTO t VALUES (4031)'), 2);
  });

  test('a statement declared idempotent is still retried after send', async () => {
    let drops = 1;
    server.script = (sql) => (sql === 'SELECT 8' && drops-- > 0 ? drop : ok);
    const p = pool({ retryReadsAfterSend: false });
    const r = await run(p, 'query', { sql: 'SELECT 8', idempotent: true });
    assert.equal(r.err, null);
    assert.equal(server.count('SELECT 8'), 2);
  });
});

describe('a read-only refusal', () => {
  /** Opens `n` connections and leaves them idle; returns the server ids of the pool's connections. */
  async function warm(p: ResilientPool, n: number): Promise<void> {
    const held = await Promise.all(
      Array.from({ length: n }, () => checkout(p)),
    );
    for (const c of held) c.release();
    // Let the releases settle (next tick).
    await new Promise((resolve) => setImmediate(resolve));
  }

  test('on a writable server (an application error): not retried, nothing retired, the connection kept', async () => {
    server.script = (sql) => (sql === 'CALL p()' ? err(1290, 'The MySQL server is running with the --secure-file-priv option') : ok);
    const p = pool({ connectionLimit: 3 });
    await warm(p, 2);
    const before = server.connections.length;
    const r = await run(p, 'query', 'CALL p()');
    assert.equal(server.count('CALL p()'), 1, 'not replayed');
    assert.equal(r.err?.errno, 1290);
    assert.equal(r.err?.attempts, 1);
    // A CALL may have written before the refusal: the caller is told it may have run.
    assert.equal(r.err?.outcomeUnknown, true);
    // The server was asked, once, on a connection of the pool.
    assert.equal(server.queries.filter((q) => /@@global\.read_only/.test(q)).length, 1);
    // Nothing retired or destroyed: the next queries reuse the same connections.
    await run(p, 'query', 'SELECT 1');
    assert.equal(server.connections.length, before);
    assert.deepEqual(p.stats().destroyed, {});
  });

  test('on a read-only server (a failover): the others are retired; a CALL is still not replayed', async () => {
    server.script = (sql) => (sql === 'CALL q()' ? err(1290, 'The MySQL server is running with the --read-only option') : ok);
    const p = pool({ connectionLimit: 3 });
    await warm(p, 2);
    server.readOnly = 1;
    const r = await run(p, 'query', 'CALL q()');
    assert.equal(server.count('CALL q()'), 1);
    assert.equal(r.err?.errno, 1290);
    assert.equal(r.err?.outcomeUnknown, true);
    server.readOnly = 0;
    const before = server.connections.length;
    await run(p, 'query', 'SELECT 1');
    assert.ok(server.connections.length > before, 'the next query ran on a new connection');
    const destroyed = p.stats().destroyed;
    assert.equal(destroyed.error, 1, JSON.stringify(destroyed));
    assert.ok((destroyed.retired ?? 0) >= 1, JSON.stringify(destroyed));
  });

  test('a statement declared idempotent is retried only once the server confirmed it is read-only', async () => {
    let refusals = 1;
    server.script = (sql) => (sql === 'UPDATE t SET a = 1' && refusals-- > 0 ? err(1836, 'Running in read-only mode') : ok);
    const writable = pool();
    const r1 = await run(writable, 'query', { sql: 'UPDATE t SET a = 1', idempotent: true });
    assert.equal(r1.err?.errno, 1836, 'not confirmed: the application error is passed on');
    assert.equal(server.count('UPDATE t SET a = 1'), 1);

    refusals = 1;
    server.readOnly = 1;
    const failover = pool();
    const r2 = await run(failover, 'query', { sql: 'UPDATE t SET a = 1', idempotent: true });
    assert.equal(r2.err, null);
    assert.equal(server.count('UPDATE t SET a = 1'), 3);
  });

  /**
   * A held connection's statement is refused with `errno`; the server reports `readOnly`. Returns what became of
   * the held connection once released: 'release' (back in the pool) or its 'evict' reason.
   */
  async function refusedOnHeld(errno: number, readOnly: number): Promise<{ fate: string; p: ResilientPool; tid: number }> {
    const sql = `INSERT INTO t VALUES (${errno})`;
    server.script = (q) => (q === sql ? err(errno, 'refused') : ok);
    const p = pool({ connectionLimit: 3 });
    await warm(p, 2);
    const conn = await checkout(p);
    const tid = conn.threadId!;
    server.readOnly = readOnly;
    const e = await new Promise<AnnotatedError | null>((resolve) => conn.query(sql, (qe) => resolve(qe as AnnotatedError)));
    assert.equal(e?.errno, errno);
    // Its release settles once the server has answered the check: back to the pool, or retired.
    const fate = new Promise<string>((resolve) => {
      p.on('release', (c) => c === conn && resolve('release'));
      p.on('evict', (c, reason: string) => c === conn && resolve(reason));
    });
    conn.release();
    const result = { fate: await fate, p, tid };
    const held = server.connections.find((c) => c.id === tid)!;
    assert.equal(held.queries.filter((q) => /@@global/.test(q)).length, 0, 'never asked on the held connection');
    assert.equal(server.queries.filter((q) => /@@global\.read_only/.test(q)).length, 1, 'asked once');
    return result;
  }

  test('on a held connection, writable server: the check runs on another connection; the held one is kept', async () => {
    const { fate, p } = await refusedOnHeld(1792, 0);
    assert.equal(fate, 'release');
    assert.deepEqual(p.stats().destroyed, {});
  });

  test('on a held connection, read-only server: the held one is retired on release, with the others', async () => {
    const { fate, p, tid } = await refusedOnHeld(1290, 1);
    assert.equal(fate, 'retired');
    server.readOnly = 0;
    const again = await checkout(p);
    assert.notEqual(again.threadId, tid);
    assert.ok(!server.connections.slice(0, 2).some((c) => c.id === again.threadId), 'a connection opened after the failover');
    again.release();
  });

  test('the question per flavour: MariaDB has read_only; MySQL also super_read_only and innodb_read_only', async () => {
    const questions: Record<string, string[]> = {};
    for (const version of ['8.0.36', '10.11.6-MariaDB']) {
      const flavoured = await ScriptedMysql.start(version);
      try {
        flavoured.script = (sql) => (sql === 'DELETE FROM t' ? err(1836, 'Running in read-only mode') : ok);
        const p = new ResilientPool({ host: flavoured.host, port: flavoured.port, user: 'u', connectionLimit: 1 });
        pools.push(p);
        const r = await run(p, 'query', 'DELETE FROM t');
        assert.equal(r.err?.errno, 1836);
        questions[version] = flavoured.queries.filter((q) => /@@global/.test(q));
      } finally {
        await flavoured.close();
      }
    }
    assert.deepEqual(questions, {
      '8.0.36': ['SELECT @@global.read_only, @@global.super_read_only, @@global.innodb_read_only'],
      '10.11.6-MariaDB': ['SELECT @@global.read_only'],
    });
  });

  test('any one of the variables on is read-only; all off is writable', async () => {
    const answers: Array<[Array<number | string>, boolean]> = [
      [[0, 0, 0], false],
      [['0', 'OFF', 'off'], false],
      [[0, 1, 0], true],
      [[0, 0, 'ON'], true],
      [['NO_LOCK', 0, 0], true],
    ];
    for (const [values, readOnly] of answers) {
      server.reset();
      server.readOnly = values;
      server.script = (sql) => (sql === 'UPDATE t SET a = 2' ? err(1290, 'read-only') : ok);
      const p = pool({ connectionLimit: 1 });
      const r = await run(p, 'query', { sql: 'UPDATE t SET a = 2', idempotent: true });
      // Confirmed read-only: the idempotent statement is retried (and refused again, until attempts run out).
      assert.equal(server.count('UPDATE t SET a = 2'), readOnly ? 3 : 1, JSON.stringify(values));
      assert.equal(r.err?.errno, 1290);
    }
  });

  test('no connection free for the check: no answer within pingTimeout, nothing retired, nothing leaked', async () => {
    server.script = (sql) => (sql === 'INSERT INTO t VALUES (0)' ? err(1290, 'read-only') : ok);
    server.readOnly = 1;
    const p = pool({ connectionLimit: 1, pingTimeout: 50 });
    const conn = await checkout(p);
    await new Promise((resolve) => conn.query('INSERT INTO t VALUES (0)', resolve));
    const fate = new Promise<string>((resolve) => p.on('release', (c) => c === conn && resolve('release')));
    conn.release();
    assert.equal(await fate, 'release', 'not confirmed: kept');
    // The check's own request for a connection is answered later and given back: the pool still serves.
    server.readOnly = 0;
    for (let i = 0; i < 3; i++) assert.equal((await run(p, 'query', 'SELECT 1')).err, null);
    assert.deepEqual(p.stats().destroyed, {});
    assert.equal(server.queries.filter((q) => /@@global/.test(q)).length, 0, 'never asked on the held connection');
  });
});

describe('a server that never sets the status flags (OK packets with status 0)', () => {
  // mysql2's createServer() answers writeOk() with status 0, and so do test doubles built on it: a pool-level call must
  // not read that as "left a transaction open". Nothing was pending (a write would have set IN_TRANS); the connection
  // is closed after the call so no later call can meet autocommit off on it.
  test('pool-level writes succeed, each on a connection closed after it; SET autocommit = 0 still fails', async () => {
    server.okStatus = 0;
    const p = pool({ connectionLimit: 1 });
    const evicted: string[] = [];
    p.on('evict', (_c: unknown, reason: string) => evicted.push(reason));
    const first = await run(p, 'query', 'INSERT INTO t VALUES (1)');
    assert.equal(first.err, null);
    const second = await run(p, 'query', 'INSERT INTO t VALUES (2)');
    assert.equal(second.err, null);
    assert.equal(server.count('INSERT INTO t VALUES (1)'), 1);
    assert.equal(server.count('INSERT INTO t VALUES (2)'), 1);
    const users = server.connections.filter((c) => c.queries.some((q) => q.startsWith('INSERT')));
    assert.equal(users.length, 2, 'each call on a connection of its own');
    assert.deepEqual(evicted, ['in-transaction', 'in-transaction']);
    const off = await run(p, 'query', 'SET autocommit = 0');
    assert.equal(off.err?.code, 'POOL_TRANSACTION_LEFT_OPEN');
  });
});

/** ORMs (TypeORM, Knex, Kysely) run every query on a held connection: nothing is retried, but the holder is told. */
describe('a held connection: its holder is told outcomeUnknown by the same rule', () => {
  const query = (conn: mysql.PoolConnection, sql: string) =>
    new Promise<AnnotatedError | null>((resolve) => conn.query(sql, (e) => resolve(e as AnnotatedError | null)));

  test("a write whose connection died after send: mysql2's error, outcomeUnknown true, sent once", async () => {
    dropOn(/INSERT/);
    const conn = await checkout(pool());
    const e = await query(conn, 'INSERT INTO t VALUES (1)');
    assert.equal(e?.code, 'PROTOCOL_CONNECTION_LOST');
    assert.equal(e?.fatal, true, "mysql2's fields untouched");
    assert.equal(e?.outcomeUnknown, true);
    assert.equal(server.count('INSERT INTO t VALUES (1)'), 1);
    conn.release();
  });

  test("the promise API rejects with the same object, flagged (what TypeORM's QueryFailedError copies)", async () => {
    dropOn(/INSERT/);
    const conn = await checkout(pool());
    await assert.rejects(conn.promise().query('INSERT INTO t VALUES (2)'), (e: AnnotatedError) => e.outcomeUnknown === true);
    conn.release();
  });

  test('a statement refused on a connection already closed did not run: outcomeUnknown false', async () => {
    dropOn(/INSERT/);
    const conn = await checkout(pool());
    await query(conn, 'INSERT INTO t VALUES (3)');
    const e = await query(conn, 'INSERT INTO t VALUES (4)');
    assert.match(String(e?.message), /closed state/);
    assert.equal(e?.outcomeUnknown, false);
    assert.equal(server.count('INSERT INTO t VALUES (4)'), 0);
    conn.release();
  });

  test("Galera's 1047 on a single statement did not run; a plain SQL error's outcome is known: both false", async () => {
    const answers: Record<string, Answer> = {
      'INSERT INTO t VALUES (5)': err(1047, 'WSREP has not yet prepared node for application use'),
      'INSERT INTO t VALUES (6)': err(1062, 'Duplicate entry'),
    };
    server.script = (sql) => answers[sql] ?? ok;
    const conn = await checkout(pool());
    const refused = await query(conn, 'INSERT INTO t VALUES (5)');
    assert.equal(refused?.errno, 1047);
    assert.equal(refused?.outcomeUnknown, false);
    const duplicate = await query(conn, 'INSERT INTO t VALUES (6)');
    assert.equal(duplicate?.errno, 1062);
    assert.equal(duplicate?.outcomeUnknown, false);
    conn.release();
  });
});
