/**
 * The built package, consumed the way users consume it: `require` and `import` of both entries resolved through the
 * package's `exports` map into dist/ (plain Node child processes: no tsx, no src/), its declarations compiled by a
 * TypeScript consumer, and the file list `npm pack` would publish.
 *
 * Needs dist/: `npm test` builds it (pretest); otherwise run `npm run build` first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  main: string;
  types: string;
  exports: Record<string, unknown>;
};
const NAME = pkg.name;

/** Names both entries must export (others may be added freely). */
const REQUIRED_INDEX = ['createResilientPool', 'createPool', 'ResilientPool', 'ResilientPromisePool', 'PoolError', 'ErrorCodes'];
const REQUIRED_PROMISE = ['createResilientPool', 'createPool', 'ResilientPool', 'ResilientPromisePool', 'PoolError', 'ErrorCodes'];
const MYSQL2_WARNING = 'Ignoring invalid configuration option';

/** Every file the package.json points at (main, types, every `exports` target). */
function exportTargets(): string[] {
  const out = new Set<string>([pkg.main, pkg.types]);
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.add(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(pkg.exports);
  return [...out].map((p) => p.replace(/^\.\//, ''));
}

/** A plain Node environment: no loader hooks from the test runner (tsx), no debug output. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['NODE_OPTIONS', 'NODE_DEBUG', 'DEBUG', 'NODE_TEST_CONTEXT', 'NODE_CHANNEL_FD']) delete env[key];
  return env;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `code` in a fresh `node` (CommonJS `-e`, or ESM with `esm`) with `cwd`, so the package resolves by its name. */
function runNode(code: string, opts: { esm?: boolean; cwd?: string } = {}): Run {
  const args = opts.esm ? ['--input-type=module', '-e', code] : ['-e', code];
  const r = spawnSync(process.execPath, args, { cwd: opts.cwd ?? root, env: childEnv(), encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `code`, expects exit 0, returns the JSON it printed last. */
function runJson<T>(code: string, opts: { esm?: boolean; cwd?: string } = {}): { out: T; stderr: string } {
  const r = runNode(code, opts);
  assert.equal(r.status, 0, `child exited ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { out: JSON.parse(last) as T, stderr: r.stderr };
}

// Every own option of this library (except the internal `clock`), with a valid value. minConnections 0 and an unused
// port: nothing connects, the pools are created and ended.
const OWN_OPTIONS = `{
  host: '127.0.0.1', port: 1, user: 'app',
  acquireTimeout: 1000, pingTimeout: 200, pingSkipWindow: 100, maxLifetime: 60000, networkIdleTimeout: 300000,
  minConnections: 0, queryTimeout: 5000, maxAttempts: 2, assumeIdempotent: false, endTimeout: 0,
  classifyError: () => undefined,
}`;

before(() => {
  const missing = exportTargets().filter((f) => !existsSync(join(root, f)));
  if (missing.length > 0) {
    throw new Error(
      `dist/ is not built (missing ${missing.join(', ')}): run \`npm run build\` first (\`npm test\` does it as pretest)`,
    );
  }
});

describe('require() (CommonJS), resolved by package name', () => {
  test('both entries load from dist/, export the API, and print nothing', () => {
    const { out, stderr } = runJson<{
      resolved: string;
      resolvedPromise: string;
      index: string[];
      promise: string[];
      sameClass: boolean;
      sameError: boolean;
      aliasIndex: boolean;
      aliasPromise: boolean;
    }>(`
      const lib = require('${NAME}');
      const promiseLib = require('${NAME}/promise');
      console.log(JSON.stringify({
        resolved: require.resolve('${NAME}'),
        resolvedPromise: require.resolve('${NAME}/promise'),
        index: Object.keys(lib),
        promise: Object.keys(promiseLib),
        sameClass: lib.ResilientPool === promiseLib.ResilientPool,
        sameError: lib.PoolError === promiseLib.PoolError,
        aliasIndex: lib.createPool === lib.createResilientPool,
        aliasPromise: promiseLib.createPool === promiseLib.createResilientPool,
      }));
    `);
    assert.equal(stderr, '', 'loading the package must print nothing on stderr');
    assert.equal(out.resolved, join(root, 'dist', 'index.js'));
    assert.equal(out.resolvedPromise, join(root, 'dist', 'promise.js'));
    for (const name of REQUIRED_INDEX) assert.ok(out.index.includes(name), `index exports ${name}: ${out.index}`);
    for (const name of REQUIRED_PROMISE) assert.ok(out.promise.includes(name), `promise exports ${name}: ${out.promise}`);
    assert.ok(out.sameClass, 'both entries export the same ResilientPool');
    assert.ok(out.sameError, 'both entries export the same PoolError');
    assert.ok(out.aliasIndex && out.aliasPromise, 'createPool is createResilientPool in both entries');
  });

  test('the pools are mysql2 pools: callback pool, .promise(), promise entry with getConnection/query/execute/end/.pool', () => {
    const { out, stderr } = runJson<Record<string, unknown>>(`
      const mysql = require('mysql2');
      const mysqlPromise = require('mysql2/promise');
      const lib = require('${NAME}');
      const promiseLib = require('${NAME}/promise');
      const pool = lib.createResilientPool({ host: '127.0.0.1', port: 1, user: 'app' });
      const pp = promiseLib.createResilientPool({ host: '127.0.0.1', port: 1, user: 'app' });
      const viaPromise = pool.promise();
      const methods = (o) => Object.fromEntries(['getConnection', 'query', 'execute', 'end'].map((k) => [k, typeof o[k]]));
      const out = {
        poolIsResilient: pool instanceof lib.ResilientPool,
        poolIsMysqlPool: pool instanceof mysql.Pool,
        poolMethods: methods(pool),
        promiseMethods: methods(pp),
        promiseIsResilient: pp instanceof lib.ResilientPromisePool,
        promiseIsMysqlPromisePool: pp instanceof mysqlPromise.PromisePool,
        promisePoolIsResilient: pp.pool instanceof lib.ResilientPool,
        promisePoolIsMysqlPool: pp.pool instanceof mysql.Pool,
        dotPromiseIsResilient: viaPromise instanceof lib.ResilientPromisePool,
        dotPromisePool: viaPromise.pool === pool,
        endReturnsPromise: null,
      };
      const ended = pp.end();
      out.endReturnsPromise = typeof ended.then === 'function';
      Promise.all([ended, new Promise((ok, fail) => pool.end((err) => (err ? fail(err) : ok())))]).then(
        () => console.log(JSON.stringify(out)),
        (err) => { console.error(err); process.exit(1); },
      );
    `);
    assert.equal(stderr, '');
    const fns = { getConnection: 'function', query: 'function', execute: 'function', end: 'function' };
    assert.deepEqual(out, {
      poolIsResilient: true,
      poolIsMysqlPool: true,
      poolMethods: fns,
      promiseMethods: fns,
      promiseIsResilient: true,
      promiseIsMysqlPromisePool: true,
      promisePoolIsResilient: true,
      promisePoolIsMysqlPool: true,
      dotPromiseIsResilient: true,
      dotPromisePool: true,
      endReturnsPromise: true,
    });
  });

  test('only the exported subpaths resolve; dist internals are not importable', () => {
    const { out } = runJson<{ pkgName: string; deep: string; deepSrc: string }>(`
      const code = (id) => { try { require(id); return 'loaded'; } catch (e) { return e.code; } };
      console.log(JSON.stringify({
        pkgName: require('${NAME}/package.json').name,
        deep: code('${NAME}/dist/pool.js'),
        deepSrc: code('${NAME}/src/index.ts'),
      }));
    `);
    assert.equal(out.pkgName, NAME);
    assert.equal(out.deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
    assert.equal(out.deepSrc, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});

describe('import (ESM)', () => {
  test('both entries give the same names and the same objects as require (one copy of every class)', () => {
    const { out, stderr } = runJson<{
      esmIndex: string[];
      esmPromise: string[];
      cjsIndex: string[];
      cjsPromise: string[];
      differentIndex: string[];
      differentPromise: string[];
      defaultIsCjs: boolean;
      defaultPromiseIsCjs: boolean;
      staticSame: boolean;
      resolved: string;
    }>(
      `
      import { createRequire } from 'node:module';
      import { ResilientPool, createResilientPool, createPool } from '${NAME}';
      import { ResilientPool as PromiseEntryPool, createResilientPool as createPromisePool } from '${NAME}/promise';
      const require = createRequire(process.cwd() + '/consumer.js');
      const esm = await import('${NAME}');
      const esmPromise = await import('${NAME}/promise');
      const cjs = require('${NAME}');
      const cjsPromise = require('${NAME}/promise');
      const named = (ns) => Object.keys(ns).filter((n) => n !== 'default').sort();
      const different = (ns, mod) => Object.keys(mod).filter((n) => ns[n] !== mod[n]);
      console.log(JSON.stringify({
        esmIndex: named(esm),
        esmPromise: named(esmPromise),
        cjsIndex: Object.keys(cjs).sort(),
        cjsPromise: Object.keys(cjsPromise).sort(),
        differentIndex: different(esm, cjs),
        differentPromise: different(esmPromise, cjsPromise),
        defaultIsCjs: esm.default === cjs,
        defaultPromiseIsCjs: esmPromise.default === cjsPromise,
        staticSame: ResilientPool === cjs.ResilientPool && PromiseEntryPool === cjs.ResilientPool &&
          createResilientPool === cjs.createResilientPool && createPool === cjs.createPool &&
          createPromisePool === cjsPromise.createResilientPool,
        resolved: import.meta.resolve('${NAME}'),
      }));
    `,
      { esm: true },
    );
    assert.equal(stderr, '', 'importing the package must print nothing on stderr');
    assert.ok(out.resolved.endsWith('/dist/esm/index.mjs'), `import resolves to the ESM wrapper: ${out.resolved}`);
    assert.deepEqual(out.esmIndex, out.cjsIndex, 'import and require of the main entry export the same names');
    assert.deepEqual(out.esmPromise, out.cjsPromise, 'import and require of /promise export the same names');
    for (const name of REQUIRED_INDEX) assert.ok(out.esmIndex.includes(name), `index exports ${name}`);
    for (const name of REQUIRED_PROMISE) assert.ok(out.esmPromise.includes(name), `promise exports ${name}`);
    assert.deepEqual(out.differentIndex, [], 'every export of import is the very object require gives');
    assert.deepEqual(out.differentPromise, []);
    assert.ok(out.defaultIsCjs && out.defaultPromiseIsCjs, 'the default export is the CommonJS module');
    assert.ok(out.staticSame, 'static named imports are the CommonJS objects');
  });
});

describe('no mysql2 warnings', () => {
  const create = (requireOrImport: string) => `
    ${requireOrImport}
    const pool = lib.createResilientPool(${OWN_OPTIONS});
    const fromUri = lib.createResilientPool('mysql://app@127.0.0.1:1/db');
    const pp = promiseLib.createResilientPool(${OWN_OPTIONS});
    await Promise.all([pp.end(), ...[pool, fromUri].map((p) => new Promise((ok) => p.end(ok)))]);
    console.log(JSON.stringify({ ok: true }));
  `;

  test('require: pools created with every own option print nothing on stderr', () => {
    const code = create(`const lib = require('${NAME}'); const promiseLib = require('${NAME}/promise');`);
    const { stderr } = runJson(`(async () => { ${code} })().catch((e) => { console.error(e); process.exit(1); });`);
    assert.ok(!stderr.includes(MYSQL2_WARNING), stderr);
    assert.equal(stderr, '');
  });

  test('import: pools created with every own option print nothing on stderr', () => {
    const code = create(`const lib = await import('${NAME}'); const promiseLib = await import('${NAME}/promise');`);
    const { stderr } = runJson(code, { esm: true });
    assert.ok(!stderr.includes(MYSQL2_WARNING), stderr);
    assert.equal(stderr, '');
  });

  test('control: an option neither library knows does reach mysql2, which warns (the check above can fail)', () => {
    const { stderr } = runJson(`
      const pool = require('${NAME}').createResilientPool({ host: '127.0.0.1', port: 1, user: 'app', notAnOption: 1 });
      pool.end(() => console.log(JSON.stringify({ ok: true })));
    `);
    assert.match(stderr, new RegExp(`${MYSQL2_WARNING}.*notAnOption`));
  });
});

describe('installed in a consumer project', () => {
  // node_modules/<name> -> the repo root (as `npm install <path>`/`npm link` lays it out), mysql2 (the peer dependency)
  // and @types next to it.
  let consumer = '';
  before(() => {
    consumer = mkdtempSync(join(tmpdir(), 'rmp-consumer-'));
    const nm = join(consumer, 'node_modules');
    mkdirSync(nm);
    symlinkSync(root, join(nm, NAME), 'dir');
    symlinkSync(join(root, 'node_modules', 'mysql2'), join(nm, 'mysql2'), 'dir');
    symlinkSync(join(root, 'node_modules', '@types'), join(nm, '@types'), 'dir');
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  });
  after(() => {
    if (consumer) rmSync(consumer, { recursive: true, force: true });
  });

  test('require and import resolve from outside the package', () => {
    const cjs = runJson<{ names: string[]; promiseNames: string[] }>(
      `console.log(JSON.stringify({ names: Object.keys(require('${NAME}')), promiseNames: Object.keys(require('${NAME}/promise')) }));`,
      { cwd: consumer },
    );
    assert.equal(cjs.stderr, '');
    for (const name of REQUIRED_INDEX) assert.ok(cjs.out.names.includes(name), name);
    for (const name of REQUIRED_PROMISE) assert.ok(cjs.out.promiseNames.includes(name), name);
    const esm = runJson<{ same: boolean }>(
      `
      import { createRequire } from 'node:module';
      import { ResilientPool } from '${NAME}';
      import { ResilientPool as FromPromise } from '${NAME}/promise';
      const require = createRequire(process.cwd() + '/consumer.js');
      console.log(JSON.stringify({ same: ResilientPool === require('${NAME}').ResilientPool && FromPromise === ResilientPool }));
    `,
      { esm: true, cwd: consumer },
    );
    assert.equal(esm.stderr, '');
    assert.ok(esm.out.same);
  });

  test('the built declarations type-check for CommonJS (.cts) and ESM (.mts) TypeScript consumers', () => {
    const body = (imports: string) => `${imports}
import type * as mysql from 'mysql2';
import type * as mysqlPromise from 'mysql2/promise';
export const pool: mysql.Pool = lib.createResilientPool({ host: 'h', pingTimeout: 250, maxAttempts: 2 });
export const alias: mysql.Pool = lib.createPool('mysql://h/db');
export const resilient: InstanceType<typeof lib.ResilientPool> = lib.createResilientPool({ host: 'h' });
export const promised: mysqlPromise.Pool = pool.promise();
export const promisePool: mysqlPromise.Pool = promiseLib.createResilientPool({ host: 'h', acquireTimeout: 1000 });
export const inner: mysql.Pool = promiseLib.createResilientPool({ host: 'h' }).pool;
export const sameClass: typeof lib.ResilientPool = promiseLib.ResilientPool;
pool.query('SELECT 1', (err, rows) => console.log(err?.code, rows));
export async function use(): Promise<void> {
  const conn: mysqlPromise.PoolConnection = await promisePool.getConnection();
  conn.release();
}
// @ts-expect-error -- own options are typed in the published declarations
lib.createResilientPool({ host: 'h', pingTimeout: 'x' });
// @ts-expect-error -- and in the promise entry's
promiseLib.createResilientPool({ host: 'h', assumeIdempotent: 'yes' });
`;
    writeFileSync(
      join(consumer, 'esm.mts'),
      body(`import * as lib from '${NAME}';\nimport * as promiseLib from '${NAME}/promise';\nimport def from '${NAME}';\nexport const d: typeof lib.createResilientPool = def.createResilientPool;`),
    );
    writeFileSync(
      join(consumer, 'cjs.cts'),
      body(`import lib = require('${NAME}');\nimport promiseLib = require('${NAME}/promise');`),
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'Node16',
          moduleResolution: 'Node16',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          // Check the published .d.ts/.d.mts files too, not just their use.
          skipLibCheck: false,
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {
      cwd: consumer,
      env: childEnv(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, `tsc in a consumer project failed:\n${r.stdout}${r.stderr}`);
  });

  // `moduleResolution: node` (node10) ignores `exports`, so `<name>/promise` needs `typesVersions` (or a root
  // promise.d.ts, as mysql2 ships) to find its declarations. Runtime resolution is unaffected.
  test(
    'the built declarations resolve for TypeScript consumers on moduleResolution node10 (CommonJS projects)',
    () => {
      mkdirSync(join(consumer, 'node10'), { recursive: true });
      writeFileSync(
        join(consumer, 'node10', 'app.ts'),
        `import { createResilientPool } from '${NAME}';
import * as promiseLib from '${NAME}/promise';
import type * as mysql from 'mysql2';
import type * as mysqlPromise from 'mysql2/promise';
export const pool: mysql.Pool = createResilientPool({ host: 'h', pingTimeout: 250 });
export const promisePool: mysqlPromise.Pool = promiseLib.createResilientPool({ host: 'h' });
`,
      );
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const args = ['--noEmit', '--strict', '--module', 'commonjs', '--moduleResolution', 'node10', '--types', 'node'];
      const r = spawnSync(process.execPath, [tsc, ...args, join('node10', 'app.ts')], {
        cwd: consumer,
        env: childEnv(),
        encoding: 'utf8',
        timeout: 120_000,
      });
      if (r.error) throw r.error;
      assert.equal(r.status, 0, `tsc (moduleResolution node10) failed:\n${r.stdout}${r.stderr}`);
    },
  );
});

describe('npm pack', () => {
  test('publishes only dist/ (no source maps), README.md, CHANGELOG.md, LICENSE and package.json; every export target is included', () => {
    // npm when run by npm (npm test), else the npm on PATH. --ignore-scripts: no prepack output in the JSON.
    const execpath = process.env.npm_execpath;
    const viaCli = execpath && /npm-cli\.c?js$/.test(basename(execpath));
    const args = ['pack', '--dry-run', '--json', '--ignore-scripts'];
    const r = viaCli
      ? spawnSync(process.execPath, [execpath, ...args], { cwd: root, env: childEnv(), encoding: 'utf8', timeout: 120_000 })
      : spawnSync('npm', args, {
          cwd: root,
          env: childEnv(),
          encoding: 'utf8',
          timeout: 120_000,
          shell: process.platform === 'win32',
        });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, `npm pack failed:\n${r.stdout}${r.stderr}`);
    let files: string[];
    try {
      files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    } catch (err) {
      throw new Error(`npm pack --json printed no JSON (${err}):\n${r.stdout}`, { cause: err });
    }

    const allowed = (f: string) =>
      (f.startsWith('dist/') && !f.endsWith('.map')) || f === 'README.md' || f === 'CHANGELOG.md' || f === 'LICENSE' || f === 'package.json';
    assert.deepEqual(files.filter((f) => !allowed(f)), [], 'files outside dist/**, README.md, CHANGELOG.md, LICENSE, package.json');
    for (const f of ['package.json', 'LICENSE', ...exportTargets()]) {
      assert.ok(files.includes(f), `${f} is published (${files.length} files: ${files.join(', ')})`);
    }
  });
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
