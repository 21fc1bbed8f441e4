/**
 * Self-tests for the test bed: each tool in test/support must do what it claims, or every test built on it proves
 * nothing.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, afterEach, before, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { until } from '../support/wait.js';
import mysql from 'mysql2';
import { FakeMysql8 } from '../support/fake-mysql8.js';
import { FaultProxy, resetSocket } from '../support/proxy.js';
import { requireControl, serverAvailable, startServer } from '../support/server.js';

type Conn = mysql.Connection;
type QueryError = Error & { code?: string | number; errno?: number; fatal?: boolean; sqlState?: string };

// Every connection a test opens is destroyed after it, whatever the outcome.
const opened: Conn[] = [];
afterEach(() => {
  for (const conn of opened.splice(0)) conn.destroy();
});

function connect(opts: mysql.ConnectionOptions): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const conn = mysql.createConnection({ connectTimeout: 5_000, ...opts });
    opened.push(conn);
    conn.connect((err) => (err ? reject(err) : resolve(conn)));
  });
}

/** Connects, expecting failure; resolves with the error. */
async function connectError(opts: mysql.ConnectionOptions): Promise<QueryError> {
  const conn = mysql.createConnection({ connectTimeout: 5_000, ...opts });
  opened.push(conn);
  conn.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    conn.connect((err) => (err ? resolve(err) : reject(new Error('connected, expected an error'))));
  });
}

function query<T = any>(conn: Conn, sql: string | mysql.QueryOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    conn.query(sql as mysql.QueryOptions, (err, rows) => (err ? reject(err) : resolve(rows as T)));
  });
}

async function queryError(conn: Conn, sql: string | mysql.QueryOptions): Promise<QueryError> {
  try {
    await query(conn, sql);
  } catch (err) {
    return err as QueryError;
  }
  throw new Error('query succeeded, expected an error');
}

/** The next 'error' event of `conn`, failing after `ms`. */
async function nextError(conn: Conn, ms = 5_000): Promise<QueryError> {
  const [err] = await once(conn, 'error', { signal: AbortSignal.timeout(ms) });
  return err as QueryError;
}

async function selectOne(conn: Conn): Promise<number> {
  const rows = await query<Array<{ v: number }>>(conn, 'SELECT 1 AS v');
  return rows[0]!.v;
}

const T = { timeout: 20_000 };

const server = usePrivateServer();

after(async () => {
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

describe('startServer', () => {
  test('reports a usable server', T, async () => {
    assert.deepEqual(serverAvailable(), { ok: true });
    assert.match(server.url, /^mysql:\/\//);
    const conn = await connect(server.connectionOptions());
    assert.equal(await selectOne(conn), 1);
    const rows = await server.admin<Array<{ db: string; v: string }>>('SELECT DATABASE() AS db, VERSION() AS v');
    assert.equal(rows[0]!.db, server.database);
    assert.equal(/mariadb/i.test(rows[0]!.v), server.flavor === 'mariadb');
  });

  test('admin() passes values', T, async () => {
    const rows = await server.admin<Array<{ n: number }>>('SELECT ? + 1 AS n', [41]);
    assert.equal(Number(rows[0]!.n), 42);
  });

  test('kill() breaks connections; start() brings it back on the same port', T, async (t) => {
    if (!requireControl(t, server)) return;
    const port = server.port;
    const conn = await connect(server.connectionOptions());
    conn.on('error', () => undefined);
    await server.kill();
    const err = await queryError(conn, 'SELECT 1');
    assert.equal(err.fatal, true);
    const refused = await connectError(server.connectionOptions());
    assert.equal(refused.code, 'ECONNREFUSED');

    await server.start();
    assert.equal(server.port, port);
    assert.equal(await selectOne(await connect(server.connectionOptions())), 1);
  });

  test('restart() replaces the process', T, async (t) => {
    if (!requireControl(t, server)) return;
    const conn = await connect(server.connectionOptions());
    conn.on('error', () => undefined);
    await server.restart();
    assert.equal((await queryError(conn, 'SELECT 1')).fatal, true);
    assert.equal(await selectOne(await connect(server.connectionOptions())), 1);
  });

  test('pause() hangs the server; resume() recovers it', T, async (t) => {
    if (!requireControl(t, server)) return;
    const conn = await connect(server.connectionOptions());
    conn.on('error', () => undefined);
    server.pause();
    try {
      const started = Date.now();
      const err = await queryError(conn, { sql: 'SELECT 1', timeout: 300 });
      assert.equal(err.code, 'PROTOCOL_SEQUENCE_TIMEOUT');
      assert.ok(Date.now() - started >= 290);
    } finally {
      server.resume();
    }
    assert.equal(await selectOne(await connect(server.connectionOptions())), 1);
  });

  test('stop() shuts down gracefully, even when paused', T, async (t) => {
    if (!requireControl(t, server)) return;
    server.pause();
    await server.stop();
    assert.equal((await connectError(server.connectionOptions())).code, 'ECONNREFUSED');
    await server.start();
    assert.equal(await selectOne(await connect(server.connectionOptions())), 1);
  });

  test('close() is idempotent and frees the port', T, async (t) => {
    const other = await startServer({ args: ['--max-connections=12'] });
    try {
      const rows = await other.admin<Array<{ m: number }>>('SELECT @@max_connections AS m');
      if (other.controllable) assert.equal(Number(rows[0]!.m), 12);
    } finally {
      await other.close();
      await other.close();
    }
    if (!requireControl(t, other)) return;
    assert.equal((await connectError(other.connectionOptions())).code, 'ECONNREFUSED');
  });
});

const HANDLES_CHECK = /after\((?:async \(\) => \{[^]*?await assertNoHandlesLeft\(\);\n\s*\}|\(\) => assertNoHandlesLeft\(\))\);/;

test('every integration file ends with the no-socket-no-timer check (test/support/handles.ts)', () => {
  const missing = readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.ts'))
    // `after(async () => { ...; await assertNoHandlesLeft(); });` (at file level or in the file's one describe), or
    // `after(() => assertNoHandlesLeft());` registered after usePrivateServer() (its after() runs first).
    .filter((f) => !HANDLES_CHECK.test(readFileSync(join(__dirname, f), 'utf8')));
  assert.deepEqual(missing, [], 'these files have no after() hook ending with await assertNoHandlesLeft()');
});

describe('FaultProxy', () => {
  let proxy: FaultProxy;
  const viaProxy = () => ({ ...server.connectionOptions(), host: proxy.host, port: proxy.port });

  before(async () => {
    proxy = await FaultProxy.start(server);
  });
  after(async () => {
    await proxy?.close();
  });
  afterEach(() => {
    proxy.latency = 0;
    proxy.blackholeNew(false);
  });

  test('passes queries through and counts flows', T, async () => {
    const conn = await connect(viaProxy());
    assert.equal(await selectOne(conn), 1);
    await until(() => proxy.activeFlows >= 1, 2_000, 'a flow');
    conn.end();
    await until(() => proxy.activeFlows === 0, 5_000, 'flows to close');
  });

  test('latency is added in both directions', T, async () => {
    const conn = await connect(viaProxy());
    await selectOne(conn);
    proxy.latency = 100;
    const started = Date.now();
    await selectOne(conn);
    const elapsed = Date.now() - started;
    // One round trip = one delayed chunk each way.
    assert.ok(elapsed >= 195, `round trip took ${elapsed} ms with 100 ms latency each way`);
    assert.ok(elapsed < 2_000, `round trip took ${elapsed} ms`);
  });

  test('blackholeExisting(): existing flows go silent, new ones work', T, async () => {
    const conn = await connect(viaProxy());
    conn.on('error', () => undefined);
    await selectOne(conn);
    let closed = false;
    conn.on('end', () => (closed = true));
    proxy.blackholeExisting();
    const err = await queryError(conn, { sql: 'SELECT 1', timeout: 300 });
    assert.equal(err.code, 'PROTOCOL_SEQUENCE_TIMEOUT');
    assert.equal(closed, false, 'a blackholed flow must not deliver FIN');
    assert.equal(await selectOne(await connect(viaProxy())), 1);
  });

  test('resetExisting(): the client gets ECONNRESET', T, async () => {
    const conn = await connect(viaProxy());
    await selectOne(conn);
    const errored = nextError(conn);
    proxy.resetExisting();
    const err = await errored;
    assert.equal(err.code, 'ECONNRESET');
    assert.equal(err.fatal, true);
    assert.equal(await selectOne(await connect(viaProxy())), 1);
  });

  test('closeExistingOnNextWrite(): the next query fails, the connection closes', T, async () => {
    const conn = await connect(viaProxy());
    conn.on('error', () => undefined);
    await selectOne(conn);
    proxy.closeExistingOnNextWrite();
    // Idle flows stay open until the client writes.
    assert.equal(await selectOne(await connect(viaProxy())), 1);
    const ended = once(conn, 'end', { signal: AbortSignal.timeout(5_000) });
    const err = await queryError(conn, 'SELECT 1');
    assert.equal(err.code, 'PROTOCOL_CONNECTION_LOST');
    await ended; // a graceful FIN, not a reset
  });

  test('refuseNew(): connects are refused, then accepted again on the same port', T, async () => {
    const existing = await connect(viaProxy());
    const port = proxy.port;
    await proxy.refuseNew(true);
    assert.equal((await connectError(viaProxy())).code, 'ECONNREFUSED');
    assert.equal(await selectOne(existing), 1, 'existing flows are unaffected');
    await proxy.refuseNew(false);
    assert.equal(proxy.port, port);
    assert.equal(await selectOne(await connect(viaProxy())), 1);
  });

  test('blackholeNew(): connects hang until the connect timeout', T, async () => {
    proxy.blackholeNew(true);
    const started = Date.now();
    const err = await connectError({ ...viaProxy(), connectTimeout: 300 });
    assert.equal(err.code, 'ETIMEDOUT');
    assert.ok(Date.now() - started >= 290);
    proxy.blackholeNew(false);
    assert.equal(await selectOne(await connect(viaProxy())), 1);
  });

  test('resetSocket() right after end(): the socket still closes', T, async () => {
    // Node 20's own resetAndDestroy() here fails (EINVAL: the shutdown end() started is in flight) and leaves a TCP
    // handle that is never closed; the process then spins at exit (the chaos-network exit hang).
    const target = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const client = net.connect((target.address() as net.AddressInfo).port, '127.0.0.1');
      client.on('error', () => undefined);
      await once(client, 'connect', { signal: AbortSignal.timeout(5_000) });
      const closed = once(client, 'close', { signal: AbortSignal.timeout(2_000) });
      client.end();
      resetSocket(client);
      await closed;
    } finally {
      await new Promise((resolve) => target.close(resolve));
    }
  });

  test('close() ends every flow and is idempotent', T, async () => {
    const own = await FaultProxy.start(server);
    const conn = await connect({ ...server.connectionOptions(), host: own.host, port: own.port });
    conn.on('error', () => undefined);
    await selectOne(conn);
    const lost = once(conn, 'end', { signal: AbortSignal.timeout(5_000) });
    await Promise.all([own.close(), own.close()]);
    await lost;
    assert.equal(own.activeFlows, 0);
  });
});

describe('FakeMysql8', () => {
  let fake: FakeMysql8;
  const opts = () => ({ host: fake.host, port: fake.port, user: 'app', password: 'secret', database: 'app' });

  before(async () => {
    fake = await FakeMysql8.start({ waitTimeout: 7 });
  });
  after(async () => {
    await fake?.close();
  });

  test('connects, queries and pings like MySQL 8.0.36', T, async () => {
    const conn = await connect(opts());
    assert.equal(await selectOne(conn), 1);
    assert.deepEqual(await query(conn, 'SELECT 1'), [{ 1: 1 }]);
    const rows = await query(conn, 'SELECT @@SESSION.wait_timeout AS wait_timeout, VERSION() AS version');
    assert.deepEqual(rows, [{ wait_timeout: 7, version: '8.0.36' }]);
    assert.deepEqual(await query(conn, 'SELECT @@wait_timeout'), [{ '@@wait_timeout': 7 }]);
    const ok = await query<{ affectedRows: number }>(conn, 'UPDATE t SET x = 1');
    assert.equal(ok.affectedRows, 0);
    await new Promise<void>((resolve, reject) => conn.ping((err) => (err ? reject(err) : resolve())));
    assert.equal(fake.connections, 1);
    assert.ok(fake.queries.includes('UPDATE t SET x = 1'));
  });

  test('idleTimeoutAll(): idle connections get error 4031 and are closed', T, async () => {
    const conn = await connect(opts());
    const errored = nextError(conn);
    fake.idleTimeoutAll();
    const err = await errored;
    assert.equal(err.code, 4031); // mysql2 reports an unsolicited ERR with the numeric code
    assert.equal(err.fatal, true);
    await until(() => fake.connections === 0, 5_000, 'the fake to drop its connections');
  });

  test('timeoutOnNextQuery(): the next query gets ER_CLIENT_INTERACTION_TIMEOUT', T, async () => {
    const conn = await connect(opts());
    conn.on('error', () => undefined);
    await selectOne(conn);
    fake.timeoutOnNextQuery();
    const err = await queryError(conn, 'SELECT 1');
    assert.equal(err.code, 'ER_CLIENT_INTERACTION_TIMEOUT');
    assert.equal(err.errno, 4031);
    assert.equal(err.sqlState, 'HY000');
    await until(() => fake.connections === 0, 5_000, 'the fake to drop its connections');
    // Only the connections open at the time were affected.
    assert.equal(await selectOne(await connect(opts())), 1);
  });
});
