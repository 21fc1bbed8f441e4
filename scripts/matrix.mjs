// The Node matrix (npm run test:matrix; .ci/run runs it after the full suite on the machine's Node 20): the unit
// tests, the parity suite and the core chaos tests on Node 18, 22 and 24, and the Kysely tests against Kysely 0.29
// (installed under the npm alias kysely-0.29; it needs Node 22) on Node 22. The Node binaries come from the npm
// registry (scripts/node-binary.mjs: exact versions, installed into .tmp/ once).
//
// Each file runs in its own `node --test` process, one at a time (Node 18's test runner has no --test-concurrency,
// and every integration file starts its own private server); test/unit/all.ts loads every unit test file. The
// directory of the Node under test goes first on PATH, so a test that spawns `node` gets the same version.
//
// Usage: node scripts/matrix.mjs [--node 18,22,24] [--suite unit,parity,chaos,kysely-0.29]
// Needs dist/ (npm run build) for the files that load the built package.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_VERSIONS, nodeBinary } from './node-binary.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What each suite runs, one `node --test` process per file; `env` for them. */
const SUITES = {
  // Every test/unit/*.test.ts, in one process (as npm test runs them).
  unit: { files: ['test/unit/all.ts'] },
  parity: { files: ['test/integration/parity.test.ts'] },
  // Each failure mode against both pools. chaos-outage.test.ts (many pools through an outage, bounds on recovery
  // times) is a load test, run on Node 20 only: under a load average of 30 its time bounds failed on Node 24.
  chaos: { files: ['test/integration/chaos-server.test.ts', 'test/integration/chaos-network.test.ts'] },
  'kysely-0.29': { files: ['test/integration/kysely.test.ts'], env: { KYSELY_PACKAGE: 'kysely-0.29' } },
};

const PLAN = [
  { major: 18, suites: ['unit', 'parity', 'chaos'] },
  { major: 22, suites: ['unit', 'parity', 'chaos', 'kysely-0.29'] },
  { major: 24, suites: ['unit', 'parity', 'chaos'] },
];

/** A hung file fails its step instead of holding the whole CI run. */
const FILE_TIMEOUT_MS = 10 * 60_000;

function parseArgs(argv) {
  const opts = { node: undefined, suite: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--node') opts.node = value().split(',').map(Number);
    else if (flag === '--suite') opts.suite = value().split(',');
    else {
      console.error(`matrix: unknown argument ${argv[i]}`);
      process.exit(2);
    }
  }
  for (const s of opts.suite ?? []) {
    if (!SUITES[s]) {
      console.error(`matrix: unknown suite ${s}; known: ${Object.keys(SUITES).join(', ')}`);
      process.exit(2);
    }
  }
  for (const n of opts.node ?? []) {
    if (!NODE_VERSIONS[n]) {
      console.error(`matrix: no Node ${n}; known: ${Object.keys(NODE_VERSIONS).join(', ')}`);
      process.exit(2);
    }
  }
  return opts;
}

function runStep(node, label, file, env) {
  const started = Date.now();
  console.log(`\n--- matrix: node ${label}: ${file}`);
  const r = spawnSync(node, ['--import', 'tsx', '--test', file], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}` },
    timeout: FILE_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const seconds = (Date.now() - started) / 1000;
  const ok = r.status === 0;
  const why = r.error ? `${r.error.message}` : r.signal ? `signal ${r.signal}` : `exit ${r.status}`;
  return { label, what: file, ok, why, seconds };
}

const opts = parseArgs(process.argv.slice(2));
const results = [];
const started = Date.now();
for (const { major, suites } of PLAN) {
  if (opts.node && !opts.node.includes(major)) continue;
  let node;
  try {
    node = nodeBinary(major, (msg) => console.log(`matrix: ${msg}`));
  } catch (err) {
    results.push({ label: `${major}`, what: 'install', ok: false, why: err.message, seconds: 0 });
    continue;
  }
  const label = NODE_VERSIONS[major];
  for (const name of suites) {
    if (opts.suite && !opts.suite.includes(name)) continue;
    const suite = SUITES[name];
    const env = suite.env ?? {};
    for (const file of suite.files) results.push({ ...runStep(node, label, file, env), suite: name });
  }
}

console.log('\nmatrix summary');
for (const r of results) {
  console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} node ${r.label.padEnd(8)} ${(r.suite ?? '').padEnd(12)} ${r.what.padEnd(42)} ${r.seconds.toFixed(0).padStart(4)} s${r.ok ? '' : `  (${r.why})`}`);
}
console.log(`matrix: ${((Date.now() - started) / 60_000).toFixed(1)} min`);
if (results.length === 0) {
  console.error('matrix: nothing selected');
  process.exit(2);
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
