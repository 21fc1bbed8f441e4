/**
 * Callers are never left without an answer, and a finished script is never kept alive: small scripts run in plain
 * `node` child processes (the built package from dist/, no tsx), so nothing but the pool can keep them alive or let
 * them exit. Each runs against mysql2's pool and against this one; their exit codes must match.
 *
 * - A script whose query meets a server that is down gets the error (exit code as with mysql2), whatever its style:
 *   CommonJS callback, ESM top-level await, promise `.catch`. The pool's retry and acquire timers used to be unref'd,
 *   so the callback never ran and the process exited 0 (or 13, an unsettled top-level await).
 * - A script whose query failed fast exits at once: the shared acquire-deadline timer lets go of the process.
 * - A script that ends the pool exits; `end()` with a connection still checked out settles by itself after
 *   `endTimeout`, every socket closed.
 *
 * Needs dist/: `npm test` builds it (pretest); otherwise run `npm run build` first.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { childEnv, runChild, type ChildRun } from '../support/readme.js';
import { freePort } from '../support/server.js';

const root = join(__dirname, '..', '..');
/** Generous: the scripts below finish in about a second; a hang is what this bound catches. */
const CHILD_MS = 30_000;
const T = { timeout: 90_000 };

interface Impl {
  name: 'mysql2' | 'resilient';
  /** Absolute paths of the entries: callback API, promise API for require() and for import(). */
  callback: string;
  promiseCjs: string;
  promiseEsm: string;
}

const IMPLS: Impl[] = [
  {
    name: 'mysql2',
    callback: require.resolve('mysql2'),
    promiseCjs: require.resolve('mysql2/promise'),
    promiseEsm: require.resolve('mysql2/promise'),
  },
  {
    name: 'resilient',
    callback: join(root, 'dist', 'index.js'),
    promiseCjs: join(root, 'dist', 'promise.js'),
    promiseEsm: join(root, 'dist', 'esm', 'promise.mjs'),
  },
];

let work: string;
let downPort: number;
/** For the scripts that need a server (the down-server ones use downPort). */
const server = usePrivateServer({
  setup: async () => {
    work = mkdtempSync(join(tmpdir(), 'never-silent-'));
    downPort = await freePort();
  },
});

/** Writes `source` (with MODULE, MYSQL2 and OPTIONS replaced) to a file and runs it in a plain node. */
async function runScript(name: string, ext: 'cjs' | 'mjs', source: string, modulePath: string, options: object): Promise<ChildRun> {
  const specifier = ext === 'mjs' ? pathToFileURL(modulePath).href : modulePath;
  const file = join(work, `${name}.${ext}`);
  const text = source
    .replaceAll('MODULE', JSON.stringify(specifier))
    .replaceAll('MYSQL2', JSON.stringify(require.resolve('mysql2')))
    .replaceAll('OPTIONS', JSON.stringify(options));
  writeFileSync(file, text);
  return runChild(process.execPath, [file], { cwd: work, env: childEnv(), timeoutMs: CHILD_MS });
}

function describeRun(impl: string, r: ChildRun): string {
  return `${impl}: status ${r.status} signal ${r.signal} in ${r.ms} ms${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

after(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

// ---------------------------------------------------------------------------------------------------------------
// A server that is down

/** The three ways a script waits for a query; each must end with the error and the same exit code as mysql2's. */
const DOWN_SCRIPTS: ReadonlyArray<{ name: string; ext: 'cjs' | 'mjs'; entry: 'callback' | 'promise'; status: number; source: string }> = [
  {
    name: 'CommonJS callback that throws the error',
    ext: 'cjs',
    entry: 'callback',
    status: 1,
    source: `
const { createPool } = require(MODULE);
const pool = createPool(OPTIONS);
pool.query('SELECT 1', (err) => {
  if (err) throw err;
  console.log('answered');
  pool.end();
});
`,
  },
  {
    name: 'ESM top-level await',
    ext: 'mjs',
    entry: 'promise',
    status: 1,
    source: `
const { createPool } = await import(MODULE);
const pool = createPool(OPTIONS);
await pool.query('SELECT 1');
console.log('answered');
await pool.end();
`,
  },
  {
    name: 'promise with .catch setting the exit code',
    ext: 'cjs',
    entry: 'promise',
    status: 2,
    source: `
const { createPool } = require(MODULE);
const pool = createPool(OPTIONS);
pool.query('SELECT 1').then(
  () => { console.log('answered'); return pool.end(); },
  (err) => { console.error('failed:', err.code); process.exitCode = 2; },
);
`,
  },
];

function entryOf(impl: Impl, script: { ext: 'cjs' | 'mjs'; entry: 'callback' | 'promise' }): string {
  if (script.entry === 'callback') return impl.callback;
  return script.ext === 'mjs' ? impl.promiseEsm : impl.promiseCjs;
}

describe('a script whose query meets a server that is down gets the error', () => {
  for (const script of DOWN_SCRIPTS) {
    test(script.name, T, async () => {
      const runs = await Promise.all(
        IMPLS.map((impl) =>
          runScript(`${impl.name}-${script.ext}-${script.entry}-${script.status}`, script.ext, script.source, entryOf(impl, script), {
            host: '127.0.0.1',
            port: downPort,
            user: 'nobody',
          }),
        ),
      );
      runs.forEach((r, i) => {
        const what = describeRun(IMPLS[i]!.name, r);
        assert.equal(r.timedOut, false, what);
        assert.equal(r.status, script.status, what);
        assert.match(r.stderr, /ECONNREFUSED/, what);
        assert.doesNotMatch(r.stdout, /answered/, what);
      });
    });
  }

  test('a query that failed fast exits at once, long before its acquire deadline', T, async () => {
    // acquireTimeout 10 minutes: the shared deadline timer is armed that far out. If it held the process after the
    // caller had its answer, the script would outlive CHILD_MS and be killed. The script catches the error (a throw
    // would end the process whatever holds it) and does not end the pool.
    const impl = IMPLS[1]!;
    const r = await runScript('fail-fast', 'cjs', DOWN_SCRIPTS[2]!.source, impl.promiseCjs, {
      host: '127.0.0.1',
      port: downPort,
      user: 'nobody',
      acquireTimeout: 600_000,
      maxAttempts: 1,
    });
    const what = describeRun(impl.name, r);
    assert.equal(r.timedOut, false, what);
    assert.equal(r.status, 2, what);
    assert.match(r.stderr, /ECONNREFUSED/, what);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Scripts that end the pool

describe('a script that ends the pool exits', () => {
  test('after queries, a checkout and its release, with leak detection on', T, async () => {
    const source = `
const { createPool } = require(MODULE);
const pool = createPool(OPTIONS);
pool.query('SELECT 1 AS one', (err, rows) => {
  if (err) throw err;
  pool.getConnection((err, conn) => {
    if (err) throw err;
    conn.query('SELECT 2', (err) => {
      if (err) throw err;
      conn.release();
      pool.end((err) => {
        if (err) throw err;
        console.log('ended', rows[0].one);
      });
    });
  });
});
`;
    for (const impl of IMPLS) {
      const options = { ...server.connectionOptions(), ...(impl.name === 'resilient' ? { leakDetectionThreshold: 60_000 } : {}) };
      const r = await runScript(`${impl.name}-ends`, 'cjs', source, impl.callback, options);
      const what = describeRun(impl.name, r);
      assert.equal(r.timedOut, false, what);
      assert.equal(r.status, 0, what);
      assert.match(r.stdout, /ended 1/, what);
    }
  });

  test('end() with a connection still checked out settles by itself after endTimeout, every socket closed', T, async () => {
    // Nothing but the pool can keep this process alive: the connection is held and never released.
    const source = `
const { createPool } = require(MODULE);
const pool = createPool(OPTIONS);
pool.getConnection((err, conn) => {
  if (err) throw err;
  conn.query('SELECT 1', (err) => {
    if (err) throw err;
    pool.end((err) => {
      if (err) throw err;
      const sockets = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      console.log('ended; open sockets: ' + sockets);
    });
  });
});
`;
    const impl = IMPLS[1]!;
    const r = await runScript('end-held', 'cjs', source, impl.callback, { ...server.connectionOptions(), endTimeout: 300 });
    const what = describeRun(impl.name, r);
    assert.equal(r.timedOut, false, what);
    assert.equal(r.status, 0, what);
    assert.match(r.stdout, /ended; open sockets: 0/, what);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// User code that throws

/** Script prelude: uncaught exceptions collected, an unhandled rejection fails the script, bounded waits. */
const COLLECT = `
const uncaught = [];
process.on('uncaughtException', (e) => uncaught.push(e.message));
process.on('unhandledRejection', (e) => { console.log('UNHANDLED ' + (e && e.message)); process.exit(3); });
const within = (promise, ms, what) => new Promise((resolve) => {
  const t = setTimeout(() => resolve('no answer: ' + what), ms);
  promise.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); resolve('rejected: ' + e.message); });
});
const ask = (pool, sql, values) => within(new Promise((resolve) => {
  try {
    pool.query(sql, values, (err, rows) => resolve(err ? 'error ' + err.code + ' after ' + err.attempts : 'ok ' + JSON.stringify(rows[0])));
  } catch (e) {
    resolve('threw ' + e.message);
  }
}), 8000, sql);
const report = (result) => { console.log('@@result ' + JSON.stringify({ ...result, uncaught })); process.exit(0); };
`;

function resultOf(r: ChildRun): { uncaught: string[]; [k: string]: unknown } {
  const line = r.stdout.split('\n').find((l) => l.startsWith('@@result '));
  assert.ok(line, `no result line\n${describeRun('child', r)}`);
  return JSON.parse(line.slice('@@result '.length)) as { uncaught: string[] };
}

describe('user code that throws never changes the pool or a caller\'s answer', () => {
  test('an acquire listener that throws once: the next caller is still served (connectionLimit 1)', T, async () => {
    const source = `
const { createPool } = require(MODULE);
${COLLECT}
const pool = createPool({ ...OPTIONS, connectionLimit: 1 });
let thrown = 0;
pool.on('acquire', () => { if (thrown++ === 0) throw new Error('acquire listener threw'); });
(async () => {
  const first = await ask(pool, 'SELECT ? AS n', [1]);
  const second = await ask(pool, 'SELECT ? AS n', [2]);
  report({ first, second });
})();
`;
    const results = [];
    for (const impl of IMPLS) {
      // acquireTimeout: a slot left in use shows as POOL_ACQUIRE_TIMEOUT in 3 s, not 10 (mysql2 ignores it, warning).
      const options = { ...server.connectionOptions(), ...(impl.name === 'resilient' ? { acquireTimeout: 3_000 } : {}) };
      const r = await runScript(`${impl.name}-acquire-throws`, 'cjs', source, impl.callback, options);
      const what = describeRun(impl.name, r);
      assert.equal(r.status, 0, what);
      const result = resultOf(r);
      assert.equal(result.second, 'ok {"n":2}', what);
      results.push(result);
    }
    // This pool: the first caller's answer is unchanged too, and the exception surfaces once, as uncaught.
    // (mysql2 leaves that first caller without an answer, and its exception is lost.)
    assert.deepEqual(results[1], { first: 'ok {"n":1}', second: 'ok {"n":2}', uncaught: ['acquire listener threw'] });
  });

  test('every event listener and classifyError throwing: the same answers, each exception surfaces as uncaught', T, async () => {
    const EVENTS = ['acquire', 'release', 'connection', 'enqueue', 'evict', 'warn', 'leak', 'error', 'retry'];
    const source = `
const { createPool } = require(MODULE);
const mysql = require(MYSQL2);
${COLLECT}
const EVENTS = ${JSON.stringify(EVENTS)};
const heard = new Set();
const throwing = (pool) => {
  for (const ev of EVENTS) pool.on(ev, () => { heard.add(ev); throw new Error(ev + ' listener threw'); });
};
const classifyError = () => { throw new Error('classifyError threw'); };
// networkIdleTimeout below the maxLifetime set here: a 'warn' (OPTION_CLAMPED) on the first connection (a default
// would be clamped without one).
const pool = createPool({ ...OPTIONS, connectionLimit: 1, acquireTimeout: 3000, networkIdleTimeout: 60000, maxLifetime: 600000, leakDetectionThreshold: 50, classifyError });
throwing(pool);
const heardNext = (ev) => within(new Promise((resolve) => pool.once(ev, resolve)), 8000, ev);
(async () => {
  const answers = {};
  // connection, acquire, enqueue (limit 1, two callers), release; a SQL error through classifyError.
  [answers.first, answers.second] = await Promise.all([ask(pool, 'SELECT 1 AS n'), ask(pool, 'SELECT 2 AS n')]);
  answers.sqlError = await ask(pool, 'SELECT * FROM no_such_table');
  // leak, then evict (destroyed by its holder).
  const conn = await within(new Promise((resolve, reject) => pool.getConnection((e, c) => (e ? reject(e) : resolve(c)))), 8000, 'getConnection');
  await heardNext('leak');
  conn.destroy();
  // error: the server kills the idle connection (MariaDB tells it, ERR 1927).
  answers.third = await ask(pool, 'SELECT CONNECTION_ID() AS id');
  const id = JSON.parse(answers.third.slice(3)).id;
  const admin = mysql.createConnection(OPTIONS);
  const killed = heardNext('error');
  await within(admin.promise().query('KILL ' + id), 8000, 'KILL');
  await killed;
  admin.destroy();
  answers.fourth = await ask(pool, 'SELECT 4 AS n');
  // retry: a pool whose server is down retries (its classifyError throws too) and gives the real error.
  const down = createPool({ host: '127.0.0.1', port: ${'${DOWN_PORT}'}, user: 'nobody', classifyError });
  throwing(down);
  answers.down = await ask(down, 'SELECT 1');
  report({ answers, heard: [...heard].sort() });
})();
`.replace('${DOWN_PORT}', String(downPort));
    const impl = IMPLS[1]!;
    const r = await runScript('every-listener-throws', 'cjs', source, impl.callback, server.connectionOptions());
    const what = describeRun(impl.name, r);
    assert.equal(r.status, 0, what);
    const result = resultOf(r) as unknown as { answers: Record<string, string>; heard: string[]; uncaught: string[] };
    assert.deepEqual(result.answers, {
      first: 'ok {"n":1}',
      second: 'ok {"n":2}',
      sqlError: 'error ER_NO_SUCH_TABLE after 1',
      third: result.answers.third,
      fourth: 'ok {"n":4}',
      // The table's answer (retry ECONNREFUSED) stands when the override throws: three attempts, as without it.
      down: 'error ECONNREFUSED after 3',
    }, what);
    assert.match(result.answers.third!, /^ok \{"id":\d+\}$/, what);
    assert.deepEqual(result.heard, [...EVENTS].sort(), what);
    for (const ev of EVENTS) assert.ok(result.uncaught.includes(`${ev} listener threw`), `${ev}: ${what}`);
    assert.ok(result.uncaught.includes('classifyError threw'), what);
    assert.deepEqual([...new Set(result.uncaught)].sort(), [...EVENTS.map((e) => `${e} listener threw`), 'classifyError threw'].sort(), what);
  });
});
