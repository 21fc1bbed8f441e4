/**
 * The first five minutes of a user who installs the package: a fresh clone (the files git tracks, copied to a
 * temporary directory: no dist/, no build output, nothing untracked), `npm pack` there (the `prepare` script builds
 * dist/), the tarball installed into a new application next to mysql2 from the npm registry (the npm cache first:
 * --prefer-offline), and then, in that application: `require` and `import` of both entries, a query through the
 * installed package, `tsc --strict` against the installed declarations, and `npx resilient-mysql-pool doctor <url>`
 * against this file's private server.
 *
 * The clone gets this repo's node_modules as a symlink instead of its own `npm ci` (what `prepare` needs is the
 * devDependencies, the same ones); the application installs everything it uses itself, except TypeScript, which
 * is run from this repo (tsc resolves the types from the application's node_modules either way).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { startServer, type TestServer } from '../support/server.js';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  files: string[];
  devDependencies: Record<string, string>;
};
const NAME = pkg.name;
/** A bound on every step that runs npm (a registry or cache stall must fail the test, not hang the suite). */
const NPM_MS = 180_000;

let server: TestServer;
let work = '';
let clone = '';
let app = '';
let tarball = '';
let packed: string[] = [];

/** A plain environment: no loader hooks (tsx), no test-runner context, no npm lifecycle variables of a parent npm. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  for (const key of ['NODE_OPTIONS', 'NODE_DEBUG', 'DEBUG', 'NODE_TEST_CONTEXT', 'NODE_CHANNEL_FD', 'INIT_CWD']) delete env[key];
  return env;
}

function run(cmd: string, args: string[], cwd: string, timeout = NPM_MS): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: childEnv(), encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}\n${r.stdout}${r.stderr}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(cmd: string, args: string[], cwd: string, timeout?: number): string {
  const r = run(cmd, args, cwd, timeout);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The exact version of a devDependency this repo has installed (what the application installs beside the package). */
function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

before(
  async () => {
    server = await startServer();
    work = mkdtempSync(join(tmpdir(), 'rmp-install-'));
    // A fresh clone: git's tracked files only, as they are in the working tree.
    clone = join(work, 'clone');
    const tracked = ok('git', ['ls-files', '-z'], root).split('\0').filter(Boolean);
    for (const file of tracked) {
      mkdirSync(dirname(join(clone, file)), { recursive: true });
      try {
        copyFileSync(join(root, file), join(clone, file));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted in the working tree
      }
    }
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');

    const out = ok('npm', ['pack', '--json', '--pack-destination', work], clone);
    // `prepare` prints the build's output before npm's JSON.
    const json = JSON.parse(out.slice(out.indexOf('[\n'))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, json[0]!.filename);
    packed = json[0]!.files.map((f) => f.path);

    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'install-test-app', version: '1.0.0', private: true }));
    ok(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--no-update-notifier',
        tarball,
        `mysql2@${installedVersion('mysql2')}`,
        `@types/node@${installedVersion('@types/node')}`,
      ],
      app,
    );
  },
  { timeout: 3 * NPM_MS + 60_000 },
);

after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

test('npm pack on a fresh clone builds dist/ (prepare) and packs it with the bin, README, CHANGELOG and LICENSE', () => {
  for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/promise.js', 'dist/esm/index.mjs', pkg.bin[NAME]!.replace(/^\.\//, '')]) {
    assert.ok(packed.includes(f), `${f} is packed (${packed.length} files: ${packed.join(', ')})`);
  }
  assert.deepEqual(packed.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.map')), []);
});

test('the installed package: runtime dependencies from the registry, no devDependencies, the bin linked', () => {
  const installed = JSON.parse(readFileSync(join(app, 'node_modules', NAME, 'package.json'), 'utf8')) as { version: string };
  assert.equal(installed.version, pkg.version);
  const ls = JSON.parse(ok('npm', ['ls', '--all', '--json'], app)) as {
    dependencies: Record<string, { dependencies?: Record<string, unknown> }>;
  };
  const tree = JSON.stringify(ls);
  for (const dep of ['debug', 'generic-pool']) assert.ok(tree.includes(`"${dep}"`), `${dep} is installed`);
  for (const dev of ['typescript', 'tsx', 'eslint', 'knex', 'typeorm']) assert.ok(!tree.includes(`"${dev}"`), `${dev} is not installed`);
  const bin = ok('npm', ['exec', '--no', '--', 'which', NAME], app).trim();
  assert.equal(bin, join(app, 'node_modules', '.bin', NAME));
});

test('require and import both entries in the application, and run a query through the installed package', () => {
  const cjs = `
    const { createResilientPool, isOutcomeUnknown } = require('${NAME}');
    const promiseLib = require('${NAME}/promise');
    const pool = createResilientPool(process.env.URL);
    pool.query('SELECT 1 + 1 AS two', (err, rows) => {
      if (err) throw err;
      const pp = promiseLib.createResilientPool(process.env.URL);
      pp.query('SELECT VERSION() AS v').then(async ([r]) => {
        console.log(JSON.stringify({ two: rows[0].two, version: r[0].v, guard: typeof isOutcomeUnknown,
          resolved: require.resolve('${NAME}') }));
        await pp.end();
        pool.end(() => {});
      });
    });`;
  const r = spawnSync(process.execPath, ['-e', cjs], { cwd: app, env: { ...childEnv(), URL: server.url }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const out = JSON.parse(r.stdout.trim()) as { two: number; version: string; guard: string; resolved: string };
  assert.equal(out.two, 2);
  assert.match(out.version, /^\d+\.\d+/);
  assert.equal(out.guard, 'function');
  assert.equal(out.resolved, join(app, 'node_modules', NAME, 'dist', 'index.js'));

  const esm = `
    import { createResilientPool } from '${NAME}/promise';
    import * as lib from '${NAME}';
    const pool = createResilientPool(process.env.URL);
    const [rows] = await pool.query('SELECT 40 + 2 AS n');
    await pool.end();
    console.log(JSON.stringify({ n: rows[0].n, same: lib.ResilientPool === pool.pool.constructor, url: import.meta.resolve('${NAME}') }));`;
  const e = spawnSync(process.execPath, ['--input-type=module', '-e', esm], {
    cwd: app,
    env: { ...childEnv(), URL: server.url },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(e.status, 0, e.stderr);
  assert.equal(e.stderr, '');
  const eout = JSON.parse(e.stdout.trim()) as { n: number; same: boolean; url: string };
  assert.deepEqual({ n: eout.n, same: eout.same }, { n: 42, same: true });
  assert.ok(eout.url.endsWith(`/node_modules/${NAME}/dist/esm/index.mjs`), eout.url);
});

test('tsc --strict type-checks an application against the installed declarations (and rejects misuse)', () => {
  const source = `import { createResilientPool, isOutcomeUnknown, type RetryEvent } from '${NAME}/promise';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';

interface User extends RowDataPacket { id: number; name: string }

export async function main(url: string): Promise<number> {
  const pool = createResilientPool(url);
  pool.on('retry', (e: RetryEvent) => console.log(e.kind, e.attempt));
  pool.on('evict', (_conn, reason) => console.log(reason));
  const [users] = await pool.query<User[]>('SELECT id, name FROM users');
  try {
    const [header] = await pool.execute<ResultSetHeader>('UPDATE users SET name = ? WHERE id = ?', ['Ada', 1]);
    return header.affectedRows + users.length;
  } catch (err) {
    if (isOutcomeUnknown(err)) return err.attempts ?? 0;
    throw err;
  } finally {
    await pool.end();
  }
}
`;
  writeFileSync(join(app, 'app.ts'), source);
  // The same program with one misuse; tsc must reject it (so a pass above is not tsc seeing \`any\`).
  writeFileSync(join(app, 'bad.ts'), source.replace("console.log(reason)", 'reason.toFixed()'));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node'];
  // The installed .d.ts files are checked too (skipLibCheck false), once.
  const good = run(process.execPath, [tsc, ...flags, '--skipLibCheck', 'false', 'app.ts'], app, 120_000);
  assert.equal(good.status, 0, `tsc app.ts:\n${good.stdout}${good.stderr}`);
  const bad = run(process.execPath, [tsc, ...flags, '--skipLibCheck', 'true', 'bad.ts'], app, 120_000);
  assert.equal(bad.status, 2, `tsc bad.ts must fail:\n${bad.stdout}${bad.stderr}`);
  assert.match(bad.stdout, /bad\.ts\(\d+,\d+\): error TS\d+: Property 'toFixed' does not exist on type 'CloseReason'/);
});

test('npx resilient-mysql-pool doctor <url> from the application reports on the private server', () => {
  const r = run('npx', ['--no', NAME, 'doctor', server.url, '--json'], app, 60_000);
  assert.equal(r.status, 0, `doctor exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(r.stdout) as { server: { version: string; flavor: string } };
  assert.equal(report.server.flavor, server.flavor);
  assert.match(report.server.version, /^\d+\.\d+\.\d+/);
  const usage = run('npx', ['--no', NAME, 'help'], app, 60_000);
  assert.equal(usage.status, 0);
  assert.match(usage.stdout, /Usage: resilient-mysql-pool <command>/);
});
