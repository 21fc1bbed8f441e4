/**
 * Pins the private mysql2 fields and behaviours src/mysql2-internals.ts relies on, against the installed mysql2,
 * without a MySQL server: a TCP server that accepts and never answers keeps the connection in its handshake.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as genericPool from 'generic-pool';
import * as mysqlPromise from 'mysql2/promise';
import {
  Connection,
  ConnectionConfigClass,
  MYSQL2_OPTION_NAMES,
  PoolClass,
  PoolConnection,
  PromisePoolClass,
  cloneConnectionConfig,
  createQuery,
  queryOptionsOf,
  parseUrl,
  newGenericPool,
  runGenericPoolEviction,
  setGenericPoolMax,
  connectionExecute,
  connectionQuery,
  createPoolConnection,
  destroySocket,
  lastCommand,
  hasPendingCommand,
  isBroken,
  isMariaDB,
  isOnTheWire,
  markCheckedOut,
  onLastResult,
  serverVersion,
  socketOf,
} from '../../src/mysql2-internals.js';
import type { PoolConnectionHost } from '../../src/mysql2-internals.js';
import { until } from '../support/wait.js';

interface Internals {
  _command: object | null;
  _commands: { length: number };
  _fatalError: unknown;
  _protocolError: unknown;
  _closing?: boolean;
  _released: boolean;
  _pool: unknown;
  _isMariaDB: unknown;
  _handshakePacket: unknown;
  stream: unknown;
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function parseVersion(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  assert.ok(m, `not a version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function compare(a: [number, number, number], b: [number, number, number]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Just enough of a semver range: space-separated comparators `>=x.y.z`, `<x`, `<x.y.z`, `>x`, `<=x`, `=x`. */
function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  return range
    .trim()
    .split(/\s+/)
    .every((comparator) => {
      const m = /^(>=|<=|>|<|=)?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(comparator);
      assert.ok(m, `unsupported comparator ${comparator}`);
      const bound: [number, number, number] = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
      const c = compare(v, bound);
      switch (m[1] ?? '=') {
        case '>=':
          return c >= 0;
        case '<=':
          return c <= 0;
        case '>':
          return c > 0;
        case '<':
          return c < 0;
        default:
          return c === 0;
      }
    });
}

describe('mysql2 version', () => {
  test('the range parser itself', () => {
    assert.equal(satisfies('3.24.0', '>=3.24.0 <4'), true);
    assert.equal(satisfies('3.99.9', '>=3.24.0 <4'), true);
    assert.equal(satisfies('3.23.9', '>=3.24.0 <4'), false);
    assert.equal(satisfies('4.0.0', '>=3.24.0 <4'), false);
  });

  test('the installed mysql2 satisfies peerDependencies', () => {
    const ours = readJson(path.join(__dirname, '..', '..', 'package.json'));
    const range = (ours.peerDependencies as Record<string, string>).mysql2;
    assert.equal(typeof range, 'string');
    const installed = readJson(require.resolve('mysql2/package.json')).version as string;
    assert.ok(satisfies(installed, range!), `mysql2 ${installed} is outside ${range}`);
  });
});

describe('mysql2 prototypes', () => {
  test('PoolConnection overrides end() (so quit() calls Connection.prototype.end)', () => {
    assert.equal(typeof Connection.prototype.end, 'function');
    assert.notEqual(PoolConnection.prototype.end, Connection.prototype.end);
    assert.ok(Object.prototype.isPrototypeOf.call(Connection.prototype, PoolConnection.prototype));
  });

  test('connectionQuery/connectionExecute call whatever Connection.prototype holds at call time', () => {
    // As an APM instrumentation does: wrap the prototype's method after this module has loaded, then unwrap it.
    const proto = Object.getPrototypeOf(Connection.prototype).query === Connection.prototype.query
      ? Object.getPrototypeOf(Connection.prototype)
      : Connection.prototype;
    for (const [name, call] of [['query', connectionQuery], ['execute', connectionExecute]] as const) {
      const original = proto[name];
      const self = {} as never;
      const seen: unknown[] = [];
      proto[name] = function (this: unknown, ...args: unknown[]) {
        seen.push(this, ...args);
        return 'wrapped';
      };
      try {
        assert.equal(call.call(self, 'SELECT 1', 'cb'), 'wrapped', name);
        assert.deepEqual(seen, [self, 'SELECT 1', 'cb']);
      } finally {
        proto[name] = original;
      }
      assert.equal(Connection.prototype[name], original);
    }
  });

  test('the Pool class has the methods ResilientPool overrides', () => {
    for (const name of ['getConnection', 'releaseConnection', '_removeConnection', 'query', 'execute', 'end', 'promise']) {
      assert.equal(typeof (PoolClass.prototype as unknown as Record<string, unknown>)[name], 'function', name);
    }
  });

  test('cloneConnectionConfig: same class, same values, independent', () => {
    const config = new ConnectionConfigClass({ host: '127.0.0.1', port: 3307, user: 'u', database: 'd' });
    const clone = cloneConnectionConfig(config);
    assert.notEqual(clone, config);
    assert.equal(Object.getPrototypeOf(clone), Object.getPrototypeOf(config));
    assert.equal(clone.host, '127.0.0.1');
    assert.equal(clone.port, 3307);
    assert.equal(clone.user, 'u');
    clone.user = 'other';
    assert.equal(config.user, 'u');
  });
});

describe('mysql2 statics and private tables', () => {
  test('createQuery is the static Connection.createQuery, and sets the fields the runner reads', () => {
    assert.equal(createQuery, (Connection as unknown as { createQuery: unknown }).createQuery);
    const config = new ConnectionConfigClass({});
    const cb = () => {};
    const cmd = createQuery('SELECT ?', [1], cb, config);
    assert.equal(cmd.onResult, cb);
    assert.equal(cmd.sql, 'SELECT ?', 'the template until the command formats it on start()');
    assert.ok('namedPlaceholders' in cmd);
    assert.equal(cmd.namedPlaceholders, undefined, 'undefined unless the options set it (the runner fills in the config)');
    assert.equal(cmd.timeout, undefined);
    const timed = createQuery({ sql: 'DO 0', timeout: 5, namedPlaceholders: true }, undefined, undefined, config);
    assert.equal(timed.timeout, 5);
    assert.equal(timed.namedPlaceholders, true);
    assert.equal(timed.onResult, undefined, 'no callback: an event query');
    for (const m of ['once', 'prependListener', 'emit', 'listenerCount'] as const) assert.equal(typeof timed[m], 'function', m);
  });

  test('queryOptionsOf: the sql and values as given, kept when mysql2 formats the command; a fresh command from them', () => {
    const config = new ConnectionConfigClass({});
    const values = [1];
    const cmd = createQuery('SELECT ?', values, () => {}, config);
    assert.equal(queryOptionsOf(cmd).sql, 'SELECT ?');
    assert.equal(queryOptionsOf(cmd).values, values);
    // What Connection.prototype.query does to the command itself when it starts it.
    cmd.sql = 'SELECT 1';
    assert.equal(queryOptionsOf(cmd).sql, 'SELECT ?', 'the options keep the text as given');
    const options = createQuery({ sql: 'SELECT :a', values: { a: 1 }, nestTables: true, timeout: 7 }, undefined, undefined, config);
    const again = createQuery(queryOptionsOf(options), undefined, undefined, config);
    assert.equal(again.sql, 'SELECT :a');
    assert.deepEqual(queryOptionsOf(again).values, { a: 1 });
    assert.equal(again.timeout, 7);
    assert.equal((queryOptionsOf(again) as { nestTables?: unknown }).nestTables, true);
    assert.equal(again.onResult, undefined);
  });

  test('parseUrl is ConnectionConfig.parseUrl: a URI as options, query parameters included', () => {
    assert.equal(parseUrl, (ConnectionConfigClass as unknown as { parseUrl: unknown }).parseUrl);
    const o = parseUrl('mysql://u:p%40ss@db.example:3307/app?connectionLimit=5');
    assert.equal(o.host, 'db.example');
    assert.equal(o.port, 3307);
    assert.equal(o.user, 'u');
    assert.equal(o.password, 'p@ss');
    assert.equal(o.database, 'app');
    assert.equal(o.connectionLimit, 5);
  });

  test("MYSQL2_OPTION_NAMES is exactly mysql2's private validOptions", () => {
    const source = readFileSync(path.join(path.dirname(require.resolve('mysql2/package.json')), 'lib', 'connection_config.js'), 'utf8');
    const block = /const validOptions = \{([\s\S]*?)\n\};/.exec(source);
    assert.ok(block, 'validOptions not found in lib/connection_config.js');
    const names = [...block[1]!.matchAll(/^\s*(\w+):\s*1,?\s*$/gm)].map((m) => m[1]!);
    assert.ok(names.length > 40);
    assert.deepEqual([...MYSQL2_OPTION_NAMES].sort(), names.sort());
  });

  test("PromisePoolClass is mysql2/promise's PromisePool, the class createPool returns", () => {
    const pool = mysqlPromise.createPool({ host: '127.0.0.1' });
    assert.ok(pool instanceof PromisePoolClass);
    pool.pool.end();
  });
});

describe('generic-pool internals', () => {
  test('setGenericPoolMax changes how many it may create', async () => {
    let made = 0;
    const gp = genericPool.createPool({ create: async () => ({ n: ++made }), destroy: async () => {} }, { max: 1 });
    const a = await gp.acquire();
    let second = false;
    const waiting = gp.acquire().then((r) => ((second = true), r));
    await new Promise((r) => setImmediate(r));
    assert.equal(second, false, 'max 1: the second waits');
    setGenericPoolMax(gp, 2);
    // generic-pool reads max when it next dispenses: a release or a new acquire.
    const third = gp.acquire();
    await waiting;
    assert.equal(made, 2);
    await gp.release(a);
    await gp.release(await third);
    await gp.clear();
  });

  test('newGenericPool: a generic-pool Pool (acquire, release, min, max) whose Evictor is ours', async () => {
    const gp = newGenericPool(genericPool, () => false, { create: async () => ({}), destroy: async () => {} }, { max: 1, min: 1 });
    assert.ok(gp instanceof genericPool.Pool);
    // min 1: one create starts at once. (Not gp.ready(): it polls every 100 ms; the pool never calls it.)
    await until(() => gp.size === 1, 2_000, 'the min 1 resource', 1);
    assert.equal(gp.size, 1, 'min honoured');
    assert.equal(gp.max, 1);
    const r = await gp.acquire();
    assert.equal(gp.isBorrowedResource(r), true);
    await gp.release(r);
    assert.equal(gp.available, 1);
    await gp.clear();
  });

  test('runGenericPoolEviction asks the Evictor about idle resources and destroys those it names', async () => {
    const destroyed: unknown[] = [];
    const asked: unknown[] = [];
    const gp = newGenericPool<object>(
      genericPool,
      (resource, available) => {
        asked.push([resource, available]);
        return true;
      },
      { create: async () => ({}), destroy: async (r: object) => void destroyed.push(r) },
      { max: 2, evictionRunIntervalMillis: 0, numTestsPerEvictionRun: 1_000 },
    );
    const r = await gp.acquire();
    await gp.release(r);
    assert.deepEqual(asked, [], 'generic-pool runs no eviction of its own (evictionRunIntervalMillis 0)');
    runGenericPoolEviction(gp);
    assert.deepEqual(asked, [[r, 1]]);
    assert.deepEqual(destroyed, [r]);
    assert.equal(gp.size, 0);
    await gp.clear();
  });
});

describe('a command without a callback keeps its results (onLastResult)', () => {
  const createCommand = createQuery as (...a: unknown[]) => Record<string, any>;
  const config = new ConnectionConfigClass({});

  test('an OK packet: done() runs last, with _rows/_fields in the multi-result shape, before the command ends', () => {
    const cmd = createCommand('DO 0', [], undefined, config);
    assert.equal(cmd.onResult, undefined);
    const seen: Array<[unknown[], unknown[]]> = [];
    const events: string[] = [];
    cmd.on('end', () => events.push('end'));
    onLastResult(cmd, (rows, fields) => {
      seen.push([rows, fields]);
      events.push('last');
    });
    const rs = { fieldCount: 0, serverStatus: 3 };
    // doneInsert is what resultsetHeader() calls for an OK packet; it calls this.done() when no more results follow.
    assert.equal(cmd.doneInsert(rs), null);
    assert.deepEqual(seen, [[[rs], [undefined]]]);
    assert.deepEqual(events, ['last'], "'end' comes after (Command.execute emits it once the state machine returns null)");
  });

  test('more results follow: done() waits for the last one', () => {
    const cmd = createCommand('CALL p()', [], undefined, config);
    const seen: unknown[][] = [];
    onLastResult(cmd, (rows) => seen.push(rows));
    assert.equal(typeof cmd.doneInsert({ fieldCount: 0, serverStatus: 0x8 | 0x2 }), 'function', 'SERVER_MORE_RESULTS_EXISTS: next header');
    assert.deepEqual(seen, []);
    cmd.doneInsert({ fieldCount: 0, serverStatus: 0x3 });
    const results = seen as unknown as Array<Array<{ serverStatus: number }>>;
    assert.equal(results.length, 1);
    assert.deepEqual(
      results[0]!.map((r) => r.serverStatus),
      [0xa, 0x3],
    );
  });

  test('the row state ends in this.done() too (read from the prototype)', () => {
    assert.match(String(Object.getPrototypeOf(createCommand('SELECT 1', [], undefined, config)).row), /this\.done\(\)/);
  });
});

describe('a PoolConnection in its handshake', () => {
  let server: net.Server;
  let port: number;
  const accepted = new Set<net.Socket>();
  let host: PoolConnectionHost & { released: number; removed: number };
  let conn: PoolConnection;
  let internals: Internals;
  const errors: unknown[] = [];
  let connectResult: Promise<unknown>;

  before(async () => {
    server = net.createServer((socket) => {
      accepted.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
    host = {
      released: 0,
      removed: 0,
      releaseConnection() {
        this.released++;
      },
      _removeConnection() {
        this.removed++;
      },
      _closed: false,
    };
    const serverSawIt = new Promise((resolve) => server.once('connection', resolve));
    conn = createPoolConnection(host, new ConnectionConfigClass({ host: '127.0.0.1', port, connectTimeout: 2000 }));
    internals = conn as unknown as Internals;
    // Permanent: mysql2's own error listener is `once`.
    conn.on('error', (err) => errors.push(err));
    connectResult = new Promise((resolve) => conn.connect((err) => resolve(err)));
    await serverSawIt;
  });

  after(async () => {
    destroySocket(conn);
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('is a real mysql2 PoolConnection', () => {
    assert.ok(conn instanceof PoolConnection);
    assert.ok(conn instanceof Connection);
    const promised = conn.promise();
    assert.equal(typeof promised.query, 'function');
    assert.equal(typeof promised.release, 'function');
    assert.equal((promised as unknown as { connection: unknown }).connection, conn);
  });

  test('private fields exist with their initial types', () => {
    assert.ok(internals._command !== null && typeof internals._command === 'object', '_command is the handshake');
    assert.equal(internals._command.constructor.name, 'ClientHandshake');
    assert.equal(typeof internals._commands.length, 'number');
    assert.equal(internals._commands.length, 0);
    assert.equal(internals._fatalError, null);
    assert.equal(internals._protocolError, null);
    assert.notEqual(internals._closing, true);
    assert.equal(internals._released, false);
    assert.equal(internals._pool, host);
    assert.equal(internals._isMariaDB, false);
    assert.equal(internals._handshakePacket, null);
    assert.ok(internals.stream instanceof net.Socket);
    assert.equal(socketOf(conn), internals.stream);
  });

  test('helpers read them', () => {
    assert.equal(isBroken(conn), false);
    assert.equal(hasPendingCommand(conn), true);
    // Nothing queued: the last command is the one on the wire (a queued one is read with the queue's get()).
    assert.equal(lastCommand(conn), internals._command);
    assert.equal(typeof (internals as unknown as { _commands: { get?: unknown } })._commands.get, 'function');
    assert.equal(hasPendingCommand(conn, internals._command!), false);
    assert.equal(hasPendingCommand(conn, {}), true);
    assert.equal(isOnTheWire(conn, undefined), false);
    assert.equal(isOnTheWire(conn, {}), false);
    assert.equal(isOnTheWire(conn, internals._command!), true);
    assert.equal(isMariaDB(conn), false);
    assert.equal(serverVersion(conn), '');
  });

  test('release() reports to the host once until markCheckedOut()', () => {
    conn.release();
    assert.equal(host.released, 1);
    assert.equal(internals._released, true);
    conn.release();
    assert.equal(host.released, 1);
    markCheckedOut(conn);
    assert.equal(internals._released, false);
    conn.release();
    assert.equal(host.released, 2);
  });

  test('destroySocket breaks it, and mysql2 reports PROTOCOL_CONNECTION_LOST', async () => {
    destroySocket(conn);
    assert.equal(isBroken(conn), true);
    assert.equal((internals.stream as net.Socket).destroyed, true);
    const err = (await connectResult) as { code?: unknown; fatal?: unknown } | null;
    assert.ok(err, 'connect callback got an error');
    assert.equal(err.code, 'PROTOCOL_CONNECTION_LOST');
    assert.equal(err.fatal, true);
    assert.equal(isBroken(conn), true);
    // Idempotent.
    destroySocket(conn);
    assert.equal(isBroken(conn), true);
  });
});
