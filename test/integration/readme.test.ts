/**
 * README.md's examples, run. Every fenced block of the README must be in TABLE below, which says how it is run or
 * checked; a block the table does not know (or a table entry whose block is gone) fails the suite, so a new example
 * cannot go untested.
 *
 * ```js blocks are run as real programs: the block verbatim (placeholder comments such as `entities: [/* ... *\/]`
 * filled in, each edit listed in the table and required to match exactly once), after a preamble that defines the
 * free variables it uses (`host`, `user`, `password`, `database`, `port`, `username`, `options`, `pool`, `orderId`,
 * ...) and before a postamble that uses what the example built and ends it. Each program is a .mjs (import style) or
 * .cjs (require style) file in a temporary directory under .tmp/, so `resilient-mysql-pool` resolves by its own name
 * through package.json `exports` to the build in dist/ (`npm test` builds it first), and the ORMs to this repo's
 * devDependencies. It runs in a plain `node` child process against this file's private server, each in its own
 * database with the tables the example needs, and must exit 0 by itself within 60 s: a pool the example's own
 * clean-up does not end keeps the process alive and fails the test.
 *
 * The examples leave the port at mysql2's default; they get a host name (`mysql.readme-example.invalid`) that
 * exists nowhere, and a preload in each child connects host:3306 to the private server, like a hosts-file entry.
 *
 * ```sh blocks: the commands they name exist (package.json name, scripts, bin, lockfile); `npm run demo` and the
 * doctor CLI are run. Bare ``` blocks are output samples: the error messages are reproduced with mysql2 and Node,
 * and the demo table is compared with what `npm run demo` prints.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { bounded, until } from '../support/wait.js';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import { FaultProxy } from '../support/proxy.js';
import {
  OTEL_API_STUB,
  REDIRECT_PRELOAD,
  childEnv,
  describeRun,
  edit,
  fencedBlocks,
  parsePrometheusText,
  runChild,
  type Block,
  type ChildRun,
} from '../support/readme.js';

const root = join(__dirname, '..', '..');
/** The documents whose fenced blocks run here: the README and every page of docs/. */
const DOCS = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const BLOCKS = DOCS.flatMap((file) => fencedBlocks(readFileSync(join(root, file), 'utf8'), file));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

/** What the examples' `host` is; with mysql2's default port it reaches the private server through the preload. */
const EXAMPLE_HOST = 'mysql.readme-example.invalid';
const DEFAULT_PORT = 3306;
const CHILD_MS = 60_000;
const T = { timeout: CHILD_MS + 30_000 };
/** For entries that run more than one child. */
const T3 = { timeout: 3 * CHILD_MS + 30_000 };
const MYSQL2_WARNING = 'Ignoring invalid configuration option';

let work: string;
let preload: string;
let programs = 0;
const server = usePrivateServer({
  setup: async () => {
    mkdirSync(join(root, '.tmp'), { recursive: true });
    work = mkdtempSync(join(root, '.tmp', 'readme-'));
    preload = join(work, 'redirect-default-port.mjs');
    writeFileSync(preload, REDIRECT_PRELOAD);
    const otel = join(work, 'node_modules', '@opentelemetry', 'api');
    mkdirSync(otel, { recursive: true });
    writeFileSync(join(otel, 'package.json'), JSON.stringify({ name: '@opentelemetry/api', version: '0.0.0-readme-stub', main: 'index.js' }));
    writeFileSync(join(otel, 'index.js'), OTEL_API_STUB);
  },
});

after(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

// ---------------------------------------------------------------------------------------------------------------
// Databases for the examples

const FIXTURES = {
  users: ['CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL)', "INSERT INTO users VALUES (42, 'Ada Lovelace')"],
  orders: ['CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2) NOT NULL)', 'INSERT INTO orders VALUES (1, 1.00)'],
  payments: [
    // UNIQUE: a write that ran twice fails loudly instead of leaving two rows.
    'CREATE TABLE payments (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT NOT NULL, amount DECIMAL(10,2) NOT NULL, UNIQUE KEY (order_id))',
  ],
  counters: [
    'CREATE TABLE counters (id INT PRIMARY KEY, n INT NOT NULL)',
    'INSERT INTO counters VALUES (1, 0)',
    'CREATE TABLE function_calls (n INT NOT NULL)',
    'INSERT INTO function_calls VALUES (0)',
    'CREATE FUNCTION my_function_that_writes() RETURNS INT MODIFIES SQL DATA BEGIN UPDATE function_calls SET n = n + 1; RETURN 1; END',
  ],
} as const;

/** A fresh database with the given fixtures; its name. */
async function database(fixtures: Array<keyof typeof FIXTURES>): Promise<string> {
  const name = `readme_${++programs}`;
  await server.admin(`DROP DATABASE IF EXISTS ${name}`);
  await server.admin(`CREATE DATABASE ${name}`);
  const conn = await mysqlPromise.createConnection({ ...server.connectionOptions(), database: name });
  try {
    for (const f of fixtures) for (const sql of FIXTURES[f]) await conn.query(sql);
  } finally {
    await conn.end();
  }
  return name;
}

async function rowsIn<T>(db: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const conn = await mysqlPromise.createConnection({ ...server.connectionOptions(), database: db });
  try {
    const [rows] = await conn.query(sql, values);
    return rows as T[];
  } finally {
    await conn.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Example programs

const VARIABLES = `const { host, port, user, password, database } = JSON.parse(process.env.README_DB);
const username = user;
const options = { host, port, user, password, database };
/** The options of a pool the preamble creates for an example that uses \`pool\` without creating it. */
const __poolOptions = process.env.README_POOL ? JSON.parse(process.env.README_POOL) : options;
const __report = (value) => console.log('@@readme-result ' + JSON.stringify(value));
`;

/** The same free variables, typed, for ```ts blocks (an ES module type-checked with `tsc --strict`, then run). */
const TS_VARIABLES = `interface __Db { host: string; port: number; user: string; password: string; database: string }
const { host, port, user, password, database } = JSON.parse(process.env.README_DB ?? '') as __Db;
const options = { host, port, user, password, database };
const __report = (value: unknown): void => console.log('@@readme-result ' + JSON.stringify(value));
`;

/** CommonJS postamble: an async function whose failure sets a non-zero exit status. */
const cjsAsync = (body: string): string =>
  `(async () => {\n${body}\n})().catch((err) => {\n  console.error(err);\n  process.exitCode = 1;\n});\n`;

interface Program {
  /** `ts`: an ES module (.mts) compiled by `tsc --strict` against the built declarations (errors fail), run as .mjs. */
  kind: 'esm' | 'cjs' | 'ts';
  /** Preamble after the free variables (imports, a pool, helpers). */
  pre?: string;
  /** Edits to the README block: each `from` must occur exactly once. */
  edits?: ReadonlyArray<readonly [string, string]>;
  /** Wrap the block in `async function __example() { ... }` (for fragments that `throw`). */
  wrap?: boolean;
  post: string;
}

interface Run {
  run: ChildRun;
  results: unknown[];
  db: string;
}

interface RunOptions {
  fixtures?: Array<keyof typeof FIXTURES>;
  env?: Record<string, string>;
  pool?: Record<string, unknown>;
  onResult?: (child: ChildProcess, result: unknown, db: string) => void;
  /** Called once the child is running (for faults injected from here); awaited before the exit is checked. */
  during?: (db: string) => Promise<void>;
}

/** Writes the block as a program, runs it in `node` against a fresh database, and asserts a clean exit. */
async function runExample(block: Block, program: Program, opts: RunOptions = {}): Promise<Run> {
  const db = await database(opts.fixtures ?? []);
  const code = edit(block.code, program.edits ?? []);
  const text = [
    `// Generated by test/integration/readme.test.ts from the ${block.file} block at line ${block.line}.`,
    program.kind === 'ts' ? TS_VARIABLES : VARIABLES,
    program.pre ?? '',
    `// ---- ${block.file}, line ${block.line} ----`,
    program.wrap ? `async function __example() {\n${code}\n}` : code,
    '// ---- end of the README block ----',
    program.post,
  ].join('\n');
  const ext = { esm: 'mjs', cjs: 'cjs', ts: 'mts' }[program.kind];
  let file = join(work, `example-${programs}-line${block.line}.${ext}`);
  writeFileSync(file, text);
  if (program.kind === 'ts') file = compileTs(file);
  const env = childEnv({
    README_DB: JSON.stringify({ host: EXAMPLE_HOST, port: DEFAULT_PORT, user: server.user, password: server.password, database: db }),
    README_REDIRECT: JSON.stringify({ from: { host: EXAMPLE_HOST, port: DEFAULT_PORT }, to: { host: server.host, port: server.port } }),
    ...(opts.pool ? { README_POOL: JSON.stringify({ user: server.user, password: server.password, database: db, ...opts.pool }) } : {}),
    ...opts.env,
  });
  const running = runChild(process.execPath, ['--import', pathToFileURL(preload).href, file], {
    cwd: work,
    env,
    timeoutMs: CHILD_MS,
    ...(opts.onResult ? { onResult: (child: ChildProcess, result: unknown) => opts.onResult!(child, result, db) } : {}),
  });
  let faultError: unknown;
  if (opts.during) await opts.during(db).catch((err: unknown) => (faultError = err));
  const run = await running;
  const shown = `${relative(root, file)}: ${describeRun(run)}`;
  if (faultError) throw new Error(`injecting the fault failed: ${String(faultError)}\n${shown}`, { cause: faultError });
  assert.equal(run.timedOut, false, `did not exit by itself within ${CHILD_MS} ms (a pool or server left open?)\n${shown}`);
  assert.equal(run.status, 0, shown);
  assert.ok(!run.stderr.includes(MYSQL2_WARNING), `mysql2 warned about an option it was given\n${shown}`);
  return { run, results: run.results, db };
}

/**
 * Type-checks and compiles a .mts example next to itself (.mjs) with the repo's TypeScript, strict, resolving
 * `resilient-mysql-pool` to the built declarations in dist/ (the package's own name, through `exports`) and mysql2
 * to this repo's copy, as an application's tsc would. Returns the .mjs; a type error fails the test with tsc's output.
 */
function compileTs(file: string): string {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node', '--skipLibCheck'];
  const r = spawnSync(process.execPath, [tsc, ...args, file], { cwd: work, env: childEnv(), encoding: 'utf8', timeout: CHILD_MS });
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.status, 0, `tsc --strict ${relative(root, file)} failed:\n${r.stdout}${r.stderr}`);
  return file.replace(/\.mts$/, '.mjs');
}

/** The single result a program reported. */
function only(r: Run): unknown {
  assert.equal(r.results.length, 1, `expected one result, got ${JSON.stringify(r.results)}\n${describeRun(r.run)}`);
  return r.results[0];
}

/** The check of an entry that only runs its block as `program`: the program reports `expected`, once. */
function reports(program: Program, expected: unknown, opts?: RunOptions): Entry['check'] {
  return async (block) => assert.deepEqual(only(await runExample(block, program, opts)), expected);
}

/** Preamble of an ES module whose block calls `require`. */
const ESM_REQUIRE = "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n";

/** Postamble: report `rows`, then end the promise pool or cluster named `what`. */
const reportRowsThenEnd = (what: 'pool' | 'cluster'): string => `__report({ rows });\nawait ${what}.end();\n`;

/** Ends the callback pool (or client) named `what`, mysql2's end(cb): its error fails the program. */
const endCallbackPool = (what: string): string => `await new Promise((resolve, reject) => ${what}.end((e) => (e ? reject(e) : resolve())));`;

const ADA = [{ id: 42, name: 'Ada Lovelace' }];

// ---------------------------------------------------------------------------------------------------------------
// `npm run demo`, shared by the ```sh block that runs it and the output sample it prints

let demoRun: Promise<ChildRun> | undefined;
function demo(): Promise<ChildRun> {
  demoRun ??= runChild('npm', ['run', 'demo'], { cwd: root, env: childEnv(), timeoutMs: CHILD_MS });
  return demoRun;
}

/** The table lines (header, optional rule, rows) of a demo-style table. */
function tableOf(text: string): { header: string[]; rule: boolean; rows: string[][] } {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => /^scenario\s+\|/.test(l));
  assert.ok(at >= 0, `no table header in:\n${text}`);
  const cells = (l: string) => l.split(' | ').map((c) => c.trim());
  const rule = /^-+(-\+-+)+$/.test(lines[at + 1] ?? '');
  const rows: string[][] = [];
  for (const l of lines.slice(at + (rule ? 2 : 1))) {
    if (!l.includes(' | ')) break;
    rows.push(cells(l));
  }
  return { header: cells(lines[at]!), rule, rows };
}

/** `6/6 ok (3 retried, slowest 0.5 s)` → status `6/6 ok`, details `['3 retried', 'slowest # s']`. */
function cellParts(cell: string): { status: string; details: string[] } {
  const m = /^(\d+\/\d+ (?:ok|failed))(?::? ?)(.*)$/.exec(cell);
  assert.ok(m, `cell ${JSON.stringify(cell)} does not start with "N/M ok" or "N/M failed"`);
  const rest = m[2]!.replace(/^\((.*)\)$/, '$1').replace(/\s*\.\.\.$/, '');
  const details = rest
    .split(/, /)
    .map((d) => d.trim().replace(/\d+(\.\d+)? s\b/g, '# s'))
    .filter(Boolean);
  return { status: m[1]!, details };
}

// ---------------------------------------------------------------------------------------------------------------
// The table: every fenced block of README.md, keyed by its language and first line, and how it is checked

interface Entry {
  lang: string;
  first: string;
  how: string;
  check: (block: Block) => Promise<void>;
  /** Runs several children. */
  long?: boolean;
}

const TABLE: Entry[] = [
  {
    lang: '',
    first: 'Error: Connection lost: The server closed the connection.            (PROTOCOL_CONNECTION_LOST)',
    how: 'output sample: each message (and code) is reproduced with mysql2 against the server, or with Node sockets',
    check: async (block) => {
      const lines = block.code.split('\n').filter((l) => l.trim());
      const quoted = lines.map((l) => {
        const m = /^Error: (.*?)(?:\s{2,}\(([A-Z_]+)\))?$/.exec(l.trimEnd());
        assert.ok(m, `unexpected line in the error sample: ${l}`);
        return { message: m[1]!, code: m[2] };
      });
      const seen = await reproduceErrors();
      for (const q of quoted) {
        const real = seen.find((e) => e.message === q.message);
        assert.ok(real, `README quotes ${JSON.stringify(q.message)}, but the errors reproduced were ${JSON.stringify(seen)}`);
        assert.equal(real.text, `Error: ${q.message}`);
        if (q.code) assert.equal(real.code, q.code, `code of ${JSON.stringify(q.message)}`);
      }
    },
  },
  {
    lang: 'sh',
    first: 'npm install resilient-mysql-pool mysql2',
    how: 'the package is named resilient-mysql-pool and takes mysql2 (3.24+, 3.x) as its peer; Node 18+',
    check: async (block) => {
      assert.equal(block.code.trim(), `npm install ${pkg.name} mysql2`);
      assert.equal(pkg.name, 'resilient-mysql-pool');
      assert.equal(pkg.peerDependencies.mysql2, '>=3.24.0 <4', 'the sentence under the block says mysql2 3.24 or later (3.x)');
      assert.equal(pkg.engines.node, '>=18', 'the sentence under the block says Node 18 or later');
    },
  },
  {
    lang: 'js',
    first: "// const pool = require('mysql2').createPool({ host, user, password, database });",
    how: 'CommonJS program; the callback body `/* ... */` reports (err, rows); then pool.end(cb)',
    check: reports(
      {
        kind: 'cjs',
        pre: 'let __called;\nconst __done = new Promise((resolve) => (__called = resolve));\n',
        edits: [['(err, rows) => { /* ... */ }', '(err, rows) => { __called({ err, rows }); }']],
        post: cjsAsync(`  const { err, rows } = await __done;
  if (err) throw err;
  __report({ rows, resilient: pool instanceof require('resilient-mysql-pool').ResilientPool, mysql2: pool instanceof require('mysql2').Pool });
  ${endCallbackPool('pool')}`),
      },
      { rows: ADA, resilient: true, mysql2: true },
      { fixtures: ['users'] },
    ),
  },
  {
    lang: 'js',
    first: "// import mysql from 'mysql2/promise'; const pool = mysql.createPool(options);",
    how: 'ES module with top-level await, `options` from the server; then pool.end()',
    check: reports({ kind: 'esm', post: reportRowsThenEnd('pool') }, { rows: ADA }, { fixtures: ['users'] }),
  },
  {
    lang: 'ts',
    first: "import { createResilientPool, isOutcomeUnknown, type RetryEvent } from 'resilient-mysql-pool/promise';",
    how:
      'TypeScript: type-checked by tsc --strict against the built declarations, then run with `orderId` in scope: the ' +
      'typed row is read, the transaction commits the payment and the counter, the second INSERT succeeds',
    check: async (block) => {
      const r = await runExample(
        block,
        { kind: 'ts', pre: 'const orderId = 7001;\n', post: '__report({ names: users.map((u) => u.name) });\n' },
        { fixtures: ['users', 'payments', 'counters'] },
      );
      assert.deepEqual(only(r), { names: ['Ada Lovelace'] });
      assert.deepEqual(await rowsIn(r.db, 'SELECT order_id, amount FROM payments ORDER BY order_id'), [
        { order_id: 7001, amount: '9.50' },
        { order_id: 7002, amount: '2.50' },
      ]);
      assert.deepEqual(await rowsIn(r.db, 'SELECT n FROM counters WHERE id = 1'), [{ n: 1 }]);
      assert.match(r.run.stdout, /^payment 1$/m);
    },
  },
  {
    lang: 'sh',
    first: 'npm ci && npm run demo',
    how: 'package-lock.json matches package.json (npm ci); `npm run demo` is run and exits 0',
    check: async (block) => {
      assert.equal(block.code.trim(), 'npm ci && npm run demo');
      checkLockfile();
      assert.ok(pkg.scripts.demo, 'package.json has no demo script');
      const r = await demo();
      assert.equal(r.status, 0, describeRun(r));
      tableOf(r.stdout);
    },
  },
  {
    lang: '',
    first: 'scenario               | with mysql2                                  | with resilient-mysql-pool',
    how:
      'output sample: compared with the table `npm run demo` prints (same header, layout, scenarios and outcomes; ' +
      "each detail the README shows is in the demo's cell)",
    check: async (block) => {
      const r = await demo();
      assert.equal(r.status, 0, describeRun(r));
      const real = tableOf(r.stdout);
      const shown = tableOf(block.code);
      const context = `README:\n${block.code}\n\nnpm run demo:\n${r.stdout}`;
      assert.deepEqual(shown.header, real.header, `header differs\n${context}`);
      const ruleNote = `the demo's table ${real.rule ? 'has' : 'has no'} a rule line under the header; the README's ${shown.rule ? 'has' : 'has not'}`;
      assert.equal(shown.rule, real.rule, `${ruleNote}\n${context}`);
      assert.deepEqual(shown.rows.map((c) => c[0]), real.rows.map((c) => c[0]), `scenarios differ\n${context}`);
      shown.rows.forEach((row, i) => {
        assert.equal(row.length, 3, `README row ${i + 1} has ${row.length} cells`);
        for (const col of [1, 2]) {
          const readme = cellParts(row[col]!);
          const demoCell = cellParts(real.rows[i]![col]!);
          const where = `${row[0]}, column ${col + 1}`;
          assert.equal(readme.status, demoCell.status, `${where}: README ${JSON.stringify(row[col])}, demo ${JSON.stringify(real.rows[i]![col])}`);
          for (const d of readme.details) {
            const ok = demoCell.details.some((x) => x === d || x.startsWith(`${d} `));
            assert.ok(ok, `${where}: README says ${JSON.stringify(d)}, the demo printed ${JSON.stringify(real.rows[i]![col])}`);
          }
        }
      });
    },
  },
  {
    lang: 'sh',
    first: 'npx resilient-mysql-pool doctor mysql://user:password@host:3306/db     # add --json for a machine-readable report',
    how: 'the bin exists (named like the package, for npx); `node dist/cli.js doctor <private server URL>` and with --json',
    long: true,
    check: async (block) => {
      const m = /^npx (\S+) doctor (mysql:\/\/\S+)\s+# add (--json) /.exec(block.code.trim());
      assert.ok(m, `unexpected doctor command: ${block.code}`);
      const bin = pkg.bin[m[1]!];
      assert.ok(bin, `package.json bin has no ${m[1]}`);
      const cli = join(root, bin);
      assert.match(readFileSync(cli, 'utf8'), /^#!\/usr\/bin\/env node\n/, `${bin} needs a node shebang to run as a bin`);
      const plain = await runChild(process.execPath, [cli, 'doctor', server.url], { cwd: root, env: childEnv(), timeoutMs: CHILD_MS });
      assert.equal(plain.status, 0, describeRun(plain));
      assert.match(plain.stdout, /wait_timeout/, describeRun(plain));
      const json = await runChild(process.execPath, [cli, 'doctor', server.url, m[3]!], { cwd: root, env: childEnv(), timeoutMs: CHILD_MS });
      assert.equal(json.status, 0, describeRun(json));
      const report = JSON.parse(json.stdout) as { server: { waitTimeout: { session: number } } };
      assert.equal(typeof report.server.waitTimeout.session, 'number', json.stdout);
    },
  },
  {
    lang: 'js',
    first: '// Kysely',
    how: 'ES module; a Kysely query through the pool, then db.destroy() (which must end the pool: the program must exit)',
    check: reports(
      {
        kind: 'esm',
        post: "const found = await db.selectFrom('users').selectAll().where('id', '=', 42).execute();\n__report({ found });\nawait db.destroy();\n",
      },
      { found: ADA },
      { fixtures: ['users'] },
    ),
  },
  {
    lang: 'js',
    first: "// Drizzle (the callback pool from 'resilient-mysql-pool' works too)",
    how: 'ES module as written (promise pool), then client.end(); again with the callback pool its first line mentions',
    long: true,
    check: async (block) => {
      const pre = "import { sql as __sql } from 'drizzle-orm';\n";
      const query = 'const [found] = await db.execute(__sql`SELECT id, name FROM users WHERE id = ${42}`);\n__report({ found });\n';
      const promise = await runExample(block, { kind: 'esm', pre, post: `${query}await client.end();\n` }, { fixtures: ['users'] });
      assert.deepEqual(only(promise), { found: ADA });
      const callback = await runExample(
        block,
        {
          kind: 'esm',
          pre,
          edits: [["from 'resilient-mysql-pool/promise';", "from 'resilient-mysql-pool';"]],
          post: `${query}${endCallbackPool('client')}\n`,
        },
        { fixtures: ['users'] },
      );
      assert.deepEqual(only(callback), { found: ADA });
    },
  },
  {
    lang: 'js',
    first: '// Knex 3.3+: hand Knex the pool with `connectionPool` (instead of `connection`)',
    how: 'ES module; a Knex query, db.destroy() (the pool must still work: Knex does not end it), then pool.end()',
    check: reports(
      {
        kind: 'esm',
        post: `const found = await db('users').where({ id: 42 });
await db.destroy();
const [[still]] = await pool.query('SELECT 1 AS one');
await pool.end();
__report({ found, still });
`,
      },
      { found: ADA, still: { one: 1 } },
      { fixtures: ['users'] },
    ),
  },
  {
    lang: 'js',
    first: "// TypeORM: give it this library's mysql2 module; TypeORM builds the (resilient) pool itself",
    how: 'ES module, `entities: []`; initialize() runs in the example; a query, the pool TypeORM built is a ResilientPool with `extra`, then destroy()',
    check: reports(
      {
        kind: 'esm',
        pre: "import { ResilientPool as __ResilientPool } from 'resilient-mysql-pool';\n",
        edits: [['entities: [/* ... */],', 'entities: [],']],
        post: `const found = await dataSource.query('SELECT id, name FROM users WHERE id = ?', [42]);
const __pool = dataSource.driver.pool;
__report({ found, resilient: __pool instanceof __ResilientPool, pingTimeout: __pool.config.resilience.pingTimeout });
await dataSource.destroy();
`,
      },
      { found: ADA, resilient: true, pingTimeout: 500 },
      { fixtures: ['users'] },
    ),
  },
  {
    lang: 'js',
    first: 'try {',
    how:
      'fragment, wrapped in an async function with a promise `pool`, `orderId`, `amount` in scope; run three times: the INSERT ' +
      'succeeds; its answer is lost after it committed (the catch finds the row and carries on); the connection closes ' +
      'on the INSERT before the server gets it (the catch finds nothing and rethrows the outcomeUnknown error)',
    long: true,
    check: async (block) => {
      await checkOutcomeUnknownExample(block);
    },
  },
  {
    lang: 'js',
    first: "await pool.query({ sql: 'UPDATE counters SET n = 5 WHERE id = 1', idempotent: true });",
    how:
      'fragment, ES module with a promise `pool`, `options` and `createResilientPool` in scope (every pool it creates ' +
      'is ended); `my_function_that_writes()` exists and counts its calls',
    check: reports(
      {
        kind: 'esm',
        pre: `import { createResilientPool as __create } from 'resilient-mysql-pool/promise';
const __pools = [];
const createResilientPool = (o) => {
  const p = __create(o);
  __pools.push(p);
  return p;
};
const pool = createResilientPool(__poolOptions);
`,
        post: `const [[counter]] = await pool.query('SELECT n FROM counters WHERE id = 1');
const [[calls]] = await pool.query('SELECT n FROM function_calls');
const assumed = __pools[1] && __pools[1].pool.config.resilience.assumeIdempotent;
for (const p of __pools) await p.end();
__report({ counter: counter.n, calls: calls.n, pools: __pools.length, assumed });
`,
      },
      { counter: 5, calls: 1, pools: 2, assumed: true },
      { fixtures: ['counters'], pool: { host: EXAMPLE_HOST, port: DEFAULT_PORT } },
    ),
  },
  {
    lang: 'js',
    first: "const { MeterProvider, PeriodicExportingMetricReader, ConsoleMetricExporter } = require('@opentelemetry/sdk-metrics');",
    how:
      'CommonJS program with a callback `pool` that has run queries (some concurrent) and destroyed a connection, one ' +
      'connection held; the real SDK, its console exporter swapped for an in-memory one and flushed once; every ' +
      'instrument (name, unit, kind) and value compared with stats(); provider shut down, pool closed',
    check: async (block) => {
      const r = await runExample(
        block,
        {
          kind: 'cjs',
          pre: `${CALLBACK_POOL}${WARM_UP}const { InMemoryMetricExporter: __Memory, AggregationTemporality: __Temporality } = require('@opentelemetry/sdk-metrics');
const __exporter = new __Memory(__Temporality.CUMULATIVE);
`,
          edits: [['new ConsoleMetricExporter()', '__exporter']],
          post: cjsAsync(`  await __warmUp();
  const held = await __checkout();
  await meterProvider.forceFlush();
  const stats = pool.stats();
  held.release();
  const metrics = __exporter.getMetrics().at(-1).scopeMetrics.flatMap((s) => s.metrics.map((m) => ({
    scope: s.scope.name, name: m.descriptor.name, unit: m.descriptor.unit, type: m.dataPointType, monotonic: m.isMonotonic,
    points: m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
  })));
  __report({ metrics, stats });
  poolMetrics.stop();
  await meterProvider.shutdown();
  ${endCallbackPool('pool')}`),
        },
        { pool: { host: EXAMPLE_HOST, port: DEFAULT_PORT } },
      );
      type Point = { attributes: Record<string, string>; value: number | { count: number; sum: number; min: number; max: number } };
      const { metrics, stats } = only(r) as {
        metrics: Array<{ scope: string; name: string; unit: string; type: number; monotonic?: boolean; points: Point[] }>;
        stats: Stats;
      };
      const SUM = 3; // DataPointType.SUM
      const HISTOGRAM = 0; // DataPointType.HISTOGRAM
      const expected: Record<string, [string, number, boolean | undefined]> = {
        'db.client.connection.count': ['{connection}', SUM, false],
        'db.client.connection.idle.max': ['{connection}', SUM, false],
        'db.client.connection.idle.min': ['{connection}', SUM, false],
        'db.client.connection.max': ['{connection}', SUM, false],
        'db.client.connection.pending_requests': ['{request}', SUM, false],
        'db.client.connection.timeouts': ['{timeout}', SUM, true],
        'db.client.connection.create_time': ['s', HISTOGRAM, undefined],
        'db.client.connection.wait_time': ['s', HISTOGRAM, undefined],
        'db.client.connection.use_time': ['s', HISTOGRAM, undefined],
        'resilient_mysql_pool.connection.closed': ['{connection}', SUM, true],
      };
      const byName = new Map(metrics.map((m) => [m.name, m]));
      for (const [name, [unit, type, monotonic]] of Object.entries(expected)) {
        const m = byName.get(name);
        assert.ok(m, `${name} not exported: ${[...byName.keys()].join(', ')}`);
        assert.deepEqual([m.scope, m.unit, m.type, m.monotonic], ['resilient-mysql-pool', unit, type, monotonic], name);
        for (const p of m.points) assert.equal(p.attributes['db.client.connection.pool.name'], 'orders', name);
      }
      const value = (name: string, attrs: Record<string, string> = {}) =>
        byName.get(name)!.points.find((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))?.value;
      const hist = (name: string) => value(name) as { count: number; sum: number; min: number; max: number };
      assert.equal(value('db.client.connection.count', { 'db.client.connection.state': 'used' }), 1);
      assert.equal(value('db.client.connection.count', { 'db.client.connection.state': 'idle' }), stats.idle);
      assert.equal(value('db.client.connection.pending_requests'), 0);
      assert.equal(value('db.client.connection.timeouts'), 0);
      assert.equal(value('resilient_mysql_pool.connection.closed', { reason: 'user-destroy' }), 1);
      assert.ok(stats.acquires >= WARM_UP_ACQUIRES, `acquires: ${stats.acquires}`);
      assert.equal(hist('db.client.connection.wait_time').count, stats.acquires);
      assert.ok(Math.abs(hist('db.client.connection.wait_time').sum - stats.acquireWait.sum / 1000) < 1e-6);
      assert.equal(hist('db.client.connection.use_time').count, stats.acquires - 1, 'all but the held checkout ended');
      // The concurrent SELECT SLEEP(0.05)s held their connections at least 50 ms.
      assert.ok(hist('db.client.connection.use_time').max >= 0.05, `use_time max ${hist('db.client.connection.use_time').max}`);
      assert.equal(hist('db.client.connection.create_time').count, stats.created);
      assert.ok(hist('db.client.connection.create_time').min > 0);
    },
  },
  {
    lang: 'js',
    first: "const client = require('prom-client');",
    how:
      'CommonJS program with a callback `pool` that has run queries and destroyed a connection, one connection held; ' +
      "prom-client's registry scraped once (client.register.metrics()), parsed as Prometheus text and compared with stats(); pool closed",
    check: async (block) => {
      const r = await runExample(
        block,
        {
          kind: 'cjs',
          pre: `${CALLBACK_POOL}${WARM_UP}`,
          post: cjsAsync(`  await __warmUp();
  const held = await __checkout();
  const text = await client.register.metrics();
  const stats = pool.stats();
  held.release();
  __report({ text, stats, contentType: client.register.contentType });
  ${endCallbackPool('pool')}`),
        },
        { pool: { host: EXAMPLE_HOST, port: DEFAULT_PORT } },
      );
      const { text, stats, contentType } = only(r) as { text: string; stats: Stats; contentType: string };
      assert.match(contentType, /^text\/plain; version=0\.0\.4/);
      const families = parsePrometheusText(text);
      const pool = { db_client_connection_pool_name: 'orders' };
      const value = (family: string, name: string, labels: Record<string, string> = {}): number | undefined =>
        families
          .get(family)
          ?.samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify({ ...pool, ...labels }))?.value;
      const type = (name: string) => families.get(name)?.type;
      const count = 'db_client_connection_count';
      assert.equal(type(count), 'gauge', text);
      assert.equal(value(count, count, { db_client_connection_state: 'idle' }), stats.idle);
      assert.equal(value(count, count, { db_client_connection_state: 'used' }), 1);
      assert.equal(value('db_client_connection_pending_requests', 'db_client_connection_pending_requests'), 0);
      assert.equal(type('db_client_connection_timeouts_total'), 'counter');
      assert.equal(value('db_client_connection_timeouts_total', 'db_client_connection_timeouts_total'), 0);
      const closed = 'resilient_mysql_pool_connection_closed_total';
      assert.equal(value(closed, closed, { reason: 'user-destroy' }), 1, text);
      const wait = 'db_client_connection_wait_time_seconds';
      assert.equal(type(wait), 'histogram');
      assert.ok(stats.acquires >= WARM_UP_ACQUIRES, `acquires: ${stats.acquires}`);
      assert.equal(value(wait, `${wait}_count`), stats.acquires);
      assert.ok(Math.abs(value(wait, `${wait}_sum`)! - stats.acquireWait.sum / 1000) < 1e-6);
      const buckets = families.get(wait)!.samples.filter((s) => s.name === `${wait}_bucket`);
      assert.equal(buckets.length, stats.acquireWait.histogram.length, 'the same bounds as stats(), 50 µs to 10 s and +Inf');
      const use = 'db_client_connection_use_time_seconds';
      assert.equal(value(use, `${use}_count`), stats.acquires - 1, 'all but the held checkout ended');
      const create = 'db_client_connection_create_time_seconds';
      assert.equal(value(create, `${create}_count`), stats.created);
    },
  },
  {
    lang: 'sh',
    first: 'npm ci',
    how: 'package-lock.json matches package.json (npm ci); `npm test` is a script that builds first (pretest); not run here (it runs this file)',
    check: async (block) => {
      assert.deepEqual(block.code.trim().split('\n'), ['npm ci', 'npm test']);
      checkLockfile();
      assert.ok(pkg.scripts.test, 'package.json has no test script');
      assert.match(pkg.scripts.pretest ?? '', /\bnpm run build\b/, 'npm test must build the package first (pretest)');
      // npm test runs scripts/test.mjs, which must take every file of both test folders.
      assert.equal(pkg.scripts.test, 'node scripts/test.mjs');
      const runner = readFileSync(join(root, 'scripts', 'test.mjs'), 'utf8');
      // The unit files through test/unit/all.ts, which loads every test/unit/*.test.ts.
      assert.match(runner, /'test\/unit\/all\.ts'/);
      assert.match(readFileSync(join(root, 'test', 'unit', 'all.ts'), 'utf8'), /readdirSync\(__dirname\)\s*\.filter\(\(f\) => f\.endsWith\('\.test\.ts'\)\)/);
      assert.match(runner, /files\('test\/integration'\)/);
    },
  },
  {
    lang: 'js',
    first: "const { createPoolCluster } = require('resilient-mysql-pool/promise');",
    how: 'docs/clusters.md: ES module (require through createRequire); the three nodes are the private server under three ids; an insert through ORDER, a read through RR, then cluster.end()',
    check: reports(
      {
        kind: 'esm',
        pre: `${ESM_REQUIRE}const id = 7, total = 12.5;\n`,
        edits: [["{ host, user: 'app', password: process.env.DB_PASSWORD, database: 'app', connectTimeout: 2000 }", '{ ...options, connectTimeout: 2000 }']],
        post: reportRowsThenEnd('cluster'),
      },
      { rows: [{ id: 7, total: '12.50' }] },
      { fixtures: ['orders'] },
    ),
  },
  {
    lang: 'js',
    first: '// A read-write split by role: writes follow the writable node, reads go to the read-only ones.',
    how: 'docs/clusters.md: ES module (require through createRequire); the three nodes are the private server (writable) under three ids: the UPDATE through the writer namespace, the read through the reader one (no read-only node: any), every node a writer, then cluster.end()',
    check: reports(
      {
        kind: 'esm',
        pre: `${ESM_REQUIRE}const id = 1, total = 3.25;\n`,
        edits: [["{ host, user: 'app', password: process.env.DB_PASSWORD, database: 'app' }", '{ ...options }']],
        post: '__report({ rows, roles: cluster.nodeStates().map((n) => n.role) });\nawait cluster.end();\n',
      },
      { rows: [{ id: 1, total: '3.25' }], roles: ['writer', 'writer', 'writer'] },
      { fixtures: ['orders'] },
    ),
  },
  {
    lang: 'js',
    first: '// One pool, several hosts: the first healthy one serves, the next takes over when it fails.',
    how: 'docs/clusters.md: ES module (require through createRequire); the first host a closed port, the second the private server: the query is answered, then pool.end()',
    check: reports(
      {
        kind: 'esm',
        pre: ESM_REQUIRE,
        edits: [
          ["host: 'db1:3306,db2:3306'", 'host: `127.0.0.1:1,${options.host}:${options.port}`'],
          ["user: 'app', password: process.env.DB_PASSWORD, database: 'app',", 'user: options.user, password: options.password, database: options.database,'],
        ],
        post: reportRowsThenEnd('pool'),
      },
      { rows: [{ one: 1 }] },
    ),
  },
  {
    lang: 'js',
    first: "cluster.add('PRIMARY', { host: 'primary', ...common });",
    how: 'docs/clusters.md fragment: ES module with `cluster` and `common` from the server; the three nodes are the private server; the UPDATE through PRIMARY, the read through REPLICA*, then cluster.end()',
    check: reports(
      {
        kind: 'esm',
        pre: "import { createPoolCluster } from 'resilient-mysql-pool/promise';\nconst cluster = createPoolCluster();\nconst { host: __host, ...common } = options;\n",
        edits: [
          ["host: 'primary'", 'host: __host'],
          ["host: 'replica1'", 'host: __host'],
          ["host: 'replica2'", 'host: __host'],
          ["'UPDATE ...'", "'UPDATE orders SET total = 2.50 WHERE id = 1'"],
          ["await cluster.of('REPLICA*').query('SELECT ...')", "const [rows] = await cluster.of('REPLICA*').query('SELECT * FROM orders')"],
        ],
        post: reportRowsThenEnd('cluster'),
      },
      { rows: [{ id: 1, total: '2.50' }] },
      { fixtures: ['orders'] },
    ),
  },
  {
    lang: 'ts',
    first: 'const options = { clock, connectionLimit: 2, [CONNECTION_FACTORY]: { create: (host, config) => fake(host, config) } };',
    how: 'docs/testing.md sketch of an internal seam: the names it uses exist (CONNECTION_FACTORY, ResilientPool, a factory with create(host, config) in test/support/fake-connection.ts)',
    check: async (block) => {
      const factory = readFileSync(join(root, 'src', 'connection-factory.ts'), 'utf8');
      assert.match(factory, /export const CONNECTION_FACTORY\b/);
      assert.match(factory, /create\(host: [^,]+, config: [^)]+\)/, 'ConnectionFactory.create(host, config)');
      assert.match(readFileSync(join(root, 'src', 'pool.ts'), 'utf8'), /export class ResilientPool\b/);
      assert.match(readFileSync(join(root, 'test', 'support', 'fake-connection.ts'), 'utf8'), /implements ConnectionFactory/);
      assert.match(block.code, /new ResilientPool\(options\)/);
    },
  },
  {
    lang: 'sh',
    first: 'npm run test:mutation                      # all four modules, then the check below',
    how: 'docs/testing.md: test:mutation is a script of package.json running scripts/mutation.mjs, which takes each flag the block shows',
    check: async (block) => {
      assert.equal(pkg.scripts['test:mutation'], 'node scripts/mutation.mjs');
      const script = readFileSync(join(root, 'scripts', 'mutation.mjs'), 'utf8');
      for (const flag of block.code.match(/--[a-z-]+/g) ?? []) {
        assert.ok(script.includes(`a === '${flag}'`), `scripts/mutation.mjs does not know ${flag}`);
      }
    },
  },
];

interface Stats {
  total: number;
  idle: number;
  inUse: number;
  waiting: number;
  created: number;
  acquires: number;
  errorsSurfaced: number;
  destroyed: Record<string, number>;
  acquireWait: { sum: number; histogram: Array<{ le: number | '+Inf'; count: number }> };
}

/** A callback pool for the metrics examples, which use `pool` without creating it. */
const CALLBACK_POOL = `const { createResilientPool: __createPool } = require('resilient-mysql-pool');
const pool = __createPool(__poolOptions);
`;

const WARM_UP_ACQUIRES = 10;
/** Work for the metrics examples to show: queries, some concurrent (a second connection), one connection destroyed. */
const WARM_UP = `const __q = (sql) => new Promise((resolve, reject) => pool.query(sql, (e, rows) => (e ? reject(e) : resolve(rows))));
const __checkout = () => new Promise((resolve, reject) => pool.getConnection((e, c) => (e ? reject(e) : resolve(c))));
async function __warmUp() {
  for (let i = 0; i < 5; i++) await __q('SELECT ' + i);
  await Promise.all([__q('SELECT SLEEP(0.05)'), __q('SELECT SLEEP(0.05)'), __q('SELECT 1'), __q('SELECT 2')]);
  (await __checkout()).destroy();
}
`;

// ---------------------------------------------------------------------------------------------------------------
// The outcomeUnknown example, with and without a failure

const OUTCOME_POST = `if (process.env.README_HANDSHAKE) {
  // Prepare the INSERT on the pool's one connection, then wait until the test has armed its fault.
  const c = await pool.getConnection();
  await c.prepare('INSERT INTO payments (order_id, amount) VALUES (?, ?)');
  c.release();
  __report({ ready: true });
  await new Promise((resolve) => process.once('message', resolve));
  process.disconnect();
}
let __outcome;
try {
  await __example();
  __outcome = { completed: true };
} catch (err) {
  __outcome = { threw: { code: err.code, outcomeUnknown: err.outcomeUnknown } };
}
__report({ ...__outcome, errorsSurfaced: pool.stats().errorsSurfaced });
await pool.end();
`;

const OUTCOME_PRE = `import { createResilientPool as __createPromisePool } from 'resilient-mysql-pool/promise';
const pool = __createPromisePool(__poolOptions);
const { orderId, amount } = JSON.parse(process.env.README_ORDER);
`;

async function checkOutcomeUnknownExample(block: Block): Promise<void> {
  const program: Program = { kind: 'esm', pre: OUTCOME_PRE, wrap: true, post: OUTCOME_POST };
  const payments = (db: string, orderId: number) =>
    rowsIn<{ order_id: number; amount: string }>(db, 'SELECT order_id, amount FROM payments WHERE order_id = ?', [orderId]);

  // 1. The INSERT succeeds.
  {
    const r = await runExample(block, program, {
      fixtures: ['payments'],
      pool: { host: EXAMPLE_HOST, port: DEFAULT_PORT },
      env: { README_ORDER: JSON.stringify({ orderId: 1001, amount: 19.99 }) },
    });
    assert.deepEqual(only(r), { completed: true, errorsSurfaced: 0 });
    assert.deepEqual(await payments(r.db, 1001), [{ order_id: 1001, amount: '19.99' }]);
  }

  // 2. The INSERT commits but its answer never arrives: the connection is reset after the commit. The catch must
  //    find the row and carry on (no throw, no second INSERT: order_id is UNIQUE).
  {
    const proxy = await FaultProxy.start({ host: server.host, port: server.port });
    const blocker = await mysqlPromise.createConnection({ ...server.connectionOptions() });
    try {
      const r = await runExample(block, program, {
        fixtures: ['payments'],
        pool: { host: proxy.host, port: proxy.port },
        env: { README_ORDER: JSON.stringify({ orderId: 1002, amount: 5 }) },
        during: async (db) => {
          // Hold the unique key the example's INSERT needs, so it waits on the server, sent and not yet run.
          await blocker.query(`USE ${db}`);
          await blocker.beginTransaction();
          await blocker.query('INSERT INTO payments (order_id, amount) VALUES (1002, 0)');
          await until(
            async () =>
              (await rowsIn(db, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> ? AND INFO LIKE 'INSERT INTO payments%'", [
                db,
                blocker.threadId,
              ])).length > 0,
            CHILD_MS / 2,
            "the example's INSERT on the server",
          );
          proxy.blackholeExisting(); // its answer will go nowhere
          await blocker.rollback(); // the INSERT runs and commits
          await until(async () => (await payments(db, 1002)).length === 1, 10_000, 'the INSERT to commit');
          proxy.resetExisting(); // and the client learns only that its connection died
        },
      });
      assert.deepEqual(only(r), { completed: true, errorsSurfaced: 1 });
      assert.deepEqual(await payments(r.db, 1002), [{ order_id: 1002, amount: '5.00' }]);
    } finally {
      await blocker.end().catch(() => blocker.destroy());
      await proxy.close();
    }
  }

  // 3. The connection closes on the INSERT's write, which never reaches the server: the outcome is unknown to the
  //    client, the catch finds no row and rethrows the error.
  {
    const proxy = await FaultProxy.start({ host: server.host, port: server.port });
    try {
      const r = await runExample(block, program, {
        fixtures: ['payments'],
        // No checkout ping between the handshake and the INSERT: the INSERT is the connection's next write.
        pool: { host: proxy.host, port: proxy.port, pingSkipWindow: 60_000 },
        env: { README_ORDER: JSON.stringify({ orderId: 1003, amount: 7.5 }), README_HANDSHAKE: '1' },
        onResult: (child, result) => {
          if (!(result as { ready?: boolean }).ready) return;
          proxy.closeExistingOnNextWrite();
          child.send('go');
        },
      });
      assert.equal(r.results.length, 2, JSON.stringify(r.results));
      const outcome = r.results[1] as { threw?: { code: string; outcomeUnknown: boolean }; errorsSurfaced: number };
      assert.ok(outcome.threw, `the example should rethrow: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.threw.outcomeUnknown, true, JSON.stringify(outcome));
      assert.equal(outcome.errorsSurfaced, 1);
      assert.deepEqual(await payments(r.db, 1003), []);
    } finally {
      await proxy.close();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Error sample and lockfile

/** The errors the README's opening sample quotes, produced for real: message, code and `String(err)`. */
async function reproduceErrors(): Promise<Array<{ message: string; code: string | undefined; text: string }>> {
  const seen: Array<{ message: string; code: string | undefined; text: string }> = [];
  const note = (err: NodeJS.ErrnoException) => seen.push({ message: err.message, code: err.code, text: String(err) });

  // mysql2: the server kills an idle connection; then a query on the dead connection.
  const conn = mysql.createConnection(server.connectionOptions());
  try {
    await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
    const lost = new Promise<NodeJS.ErrnoException>((resolve) => conn.on('error', resolve));
    await server.admin(`KILL ${conn.threadId}`);
    note(await bounded(lost, 10_000, 'the error event of a killed connection'));
    note(await new Promise<NodeJS.ErrnoException>((resolve) => conn.query('SELECT 1', (err) => resolve(err as NodeJS.ErrnoException))));
  } finally {
    conn.destroy();
  }

  // Node: writing to a socket the other side has ended.
  const listener = net.createServer((s) => s.end());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  try {
    const socket = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('end', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    note(await new Promise<NodeJS.ErrnoException>((resolve) => socket.write('x', (err) => resolve(err as NodeJS.ErrnoException))));
    socket.destroy();
  } finally {
    await new Promise((resolve) => listener.close(resolve));
  }
  return seen;
}

/** What `npm ci` requires: a lockfile whose root entry has package.json's dependencies, exactly. */
function checkLockfile(): void {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    name: string;
    version: string;
    lockfileVersion: number;
    packages: Record<string, { name?: string; version?: string; dependencies?: object; devDependencies?: object; peerDependencies?: object }>;
  };
  const self = lock.packages[''];
  assert.ok(self, 'package-lock.json has no root package entry');
  assert.ok(lock.lockfileVersion >= 2);
  assert.equal(lock.name, pkg.name);
  assert.deepEqual(self.dependencies ?? {}, pkg.dependencies ?? {}, 'package-lock.json is out of date (dependencies): npm ci would fail');
  assert.deepEqual(self.devDependencies ?? {}, pkg.devDependencies ?? {}, 'package-lock.json is out of date (devDependencies): npm ci would fail');
  assert.deepEqual(self.peerDependencies ?? {}, pkg.peerDependencies ?? {}, 'package-lock.json is out of date (peerDependencies)');
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
    assert.ok(lock.packages[`node_modules/${dep}`], `package-lock.json has no node_modules/${dep}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tests

const key = (lang: string, first: string) => `${lang || '(bare)'}: ${first}`;

describe('README.md examples', () => {
  test('every fenced block is in the table, and every table entry is a block', () => {
    const keys = BLOCKS.map((b) => key(b.lang, b.first));
    assert.equal(new Set(keys).size, keys.length, `two blocks share a first line: ${keys.join('\n')}`);
    const known = new Set(TABLE.map((e) => key(e.lang, e.first)));
    const unknown = BLOCKS.filter((b) => !known.has(key(b.lang, b.first)));
    assert.deepEqual(
      unknown.map((b) => `${b.file} line ${b.line}: ${key(b.lang, b.first)}`),
      [],
      'README blocks that no test runs: add each to TABLE in test/integration/readme.test.ts',
    );
    const stale = TABLE.filter((e) => !keys.includes(key(e.lang, e.first)));
    assert.deepEqual(stale.map((e) => key(e.lang, e.first)), [], 'TABLE entries with no README block (changed or removed?)');
    for (const b of BLOCKS) assert.ok(['js', 'ts', 'sh', ''].includes(b.lang), `${b.file} line ${b.line}: no runner for \`\`\`${b.lang} blocks`);
  });

  test("the examples' package names resolve to the build in dist/", T, async () => {
    const file = join(work, 'resolve.mjs');
    writeFileSync(
      file,
      `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const names = ['resilient-mysql-pool', 'resilient-mysql-pool/promise', 'resilient-mysql-pool/mysql2'];
console.log('@@readme-result ' + JSON.stringify(names.map((n) => [import.meta.resolve(n), require.resolve(n)])));
`,
    );
    const r = await runChild(process.execPath, [file], { cwd: work, env: childEnv(), timeoutMs: CHILD_MS });
    assert.equal(r.status, 0, describeRun(r));
    const dist = pathToFileURL(join(root, 'dist')).href;
    for (const [esm, cjs] of r.results[0] as Array<[string, string]>) {
      assert.ok(esm.startsWith(`${dist}/esm/`), esm);
      assert.ok(cjs.startsWith(join(root, 'dist') + '/') && !cjs.includes('/esm/'), cjs);
    }
  });

  for (const entry of TABLE) {
    const block = BLOCKS.find((b) => key(b.lang, b.first) === key(entry.lang, entry.first));
    const where = block ? `${block.file} line ${block.line}` : 'missing';
    test(`${where} (\`\`\`${entry.lang}) ${entry.first.slice(0, 60)}: ${entry.how}`, entry.long ? T3 : T, async () => {
      assert.ok(block, `no README block starts with ${JSON.stringify(entry.first)}`);
      await entry.check(block);
    });
  }
});
