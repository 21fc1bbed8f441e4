// Reads Stryker's JSON report (reports/mutation/mutation.json), prints the score of each retry-contract module and
// the list of "dangerous" survivors, and exits non-zero if any module is below MIN_SCORE or any survivor is
// dangerous. Run by scripts/mutation.mjs; on its own: node scripts/mutation-report.mjs [module ...] (names of
// stryker.config.mjs MODULE_FILES; a module's score is over all of its files, and its survivors are probed through
// its entry file, src/<module>.ts)
//
// A survivor (Survived or NoCoverage) is dangerous when scripts/mutation-probe.mjs finds an input on which the
// mutated module answers on the unsafe side where the original answers safe (a text becomes a plain read or a
// single atomic statement, an error becomes "did not run" or retryable, a retry is allowed or outcomeUnknown lost,
// a transaction is ended or its start missed), when the mutated module hangs on the probe's inputs, or when the
// probe cannot classify it (the module exports nothing it knows how to call). Mutants listed in
// test/mutation-equivalent.json (id-free: file, mutator, the source line, the replaced text, and a reason) are
// reported as equivalent and count as killed; docs/testing.md explains each.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCorpus } from './mutation-corpus.mjs';
import { MODULE_FILES } from '../stryker.config.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// MUTATION_REPORT: check another report (e.g. a saved one of an earlier --only run).
const REPORT = process.env.MUTATION_REPORT ? path.resolve(process.env.MUTATION_REPORT) : path.join(root, 'reports', 'mutation', 'mutation.json');
const EQUIVALENT = path.join(root, 'test', 'mutation-equivalent.json');
const PROBE_DIR = path.join(root, '.tmp', 'mutation-probe');
const MIN_SCORE = 95;
const PROBE_TIMEOUT_MS = 60_000; // per mutant
const PROBE_CONCURRENCY = 2;

const wanted = process.argv.slice(2);
if (!existsSync(REPORT)) {
  console.error(`mutation-report: no report at ${path.relative(root, REPORT)}; run npm run test:mutation first`);
  process.exit(2);
}
const report = JSON.parse(readFileSync(REPORT, 'utf8'));
const equivalents = existsSync(EQUIVALENT) ? JSON.parse(readFileSync(EQUIVALENT, 'utf8')) : [];
/** Module name of a file of the report, or undefined (a file no module lists). */
const moduleOf = (file) => Object.keys(MODULE_FILES).find((name) => MODULE_FILES[name].includes(file));
const unknownModules = wanted.filter((w) => !MODULE_FILES[w]);
if (unknownModules.length) {
  console.error(`mutation-report: unknown module(s) ${unknownModules.join(', ')}; known: ${Object.keys(MODULE_FILES).join(', ')}`);
  process.exit(2);
}
const modules = wanted.length ? wanted : [...new Set(Object.keys(report.files).map(moduleOf).filter(Boolean))];
/** The files of the wanted modules that the report holds (a run restricted by --mutate may hold only some). */
const files = modules.flatMap((name) => MODULE_FILES[name].filter((f) => report.files[f]));

/** The source lines of a mutant's location, 1-based lines and columns, end exclusive. */
function offsets(source, loc) {
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === '\n') lineStarts.push(i + 1);
  return [lineStarts[loc.start.line - 1] + loc.start.column - 1, lineStarts[loc.end.line - 1] + loc.end.column - 1];
}

function mutatedSource(source, mutant) {
  const [from, to] = offsets(source, mutant.location);
  return source.slice(0, from) + mutant.replacement + source.slice(to);
}

function originalText(source, mutant) {
  const [from, to] = offsets(source, mutant.location);
  return source.slice(from, to);
}

/** The trimmed source line a mutant starts on: how test/mutation-equivalent.json finds it again after edits above it. */
function lineText(source, mutant) {
  return source.split('\n')[mutant.location.start.line - 1].trim();
}

function isEquivalent(file, mutant, source) {
  return equivalents.find(
    (e) =>
      e.file === file &&
      e.mutator === mutant.mutatorName &&
      e.lineText === lineText(source, mutant) &&
      e.original === originalText(source, mutant) &&
      e.replacement === mutant.replacement,
  );
}

/** Writes src/ as the report saw it (the mutated modules from the report, the rest from the working tree). */
function writeSrc(dir, overrides) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(path.join(root, 'src'))) copyFileSync(path.join(root, 'src', f), path.join(dir, f));
  for (const [file, text] of Object.entries(overrides)) writeFileSync(path.join(dir, path.basename(file)), text);
}

/**
 * Runs the probe over `dirs` (mutated copies of src/ for one module) in one process, one JSON line per copy. A copy
 * that gives no answer within PROBE_TIMEOUT_MS hangs: the process is killed, that copy is marked, and a new process
 * takes the rest.
 */
async function runProbes(moduleName, dirs) {
  const verdicts = new Map();
  let rest = dirs;
  while (rest.length) {
    const lines = await new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(root, 'scripts', 'mutation-probe.mjs'), moduleName, path.join(PROBE_DIR, 'original'), ...rest],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const got = [];
      let buffer = '';
      let err = '';
      let timer;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
      };
      arm();
      child.stdout.on('data', (d) => {
        buffer += d;
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          got.push(JSON.parse(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
          arm();
        }
      });
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ got, killed: signal === 'SIGKILL', error: code !== 0 && !signal ? err.trim().split('\n').slice(0, 3).join(' | ') : '' });
      });
    });
    for (const v of lines.got) verdicts.set(v.dir, v);
    rest = rest.slice(lines.got.length);
    if (!rest.length) break;
    if (lines.killed) {
      verdicts.set(rest[0], { probed: true, dangerous: true, hang: true });
    } else {
      // The probe itself failed: every remaining copy is unclassified (and so counted dangerous).
      for (const d of rest) verdicts.set(d, { probed: false, error: lines.error || 'probe ended early' });
      break;
    }
    rest = rest.slice(1);
  }
  return verdicts;
}

async function pool(items, n, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const summary = [];
const survivors = [];
for (const name of modules) {
  const parts = [];
  for (const file of MODULE_FILES[name]) {
    const entry = report.files[file];
    if (!entry) continue;
    let detected = 0;
    let undetected = 0;
    let equivalent = 0;
    for (const m of entry.mutants) {
      if (DETECTED.has(m.status)) detected++;
      else if (UNDETECTED.has(m.status)) {
        const eq = isEquivalent(file, m, entry.source);
        if (eq) equivalent++;
        else {
          undetected++;
          survivors.push({ file, module: name, source: entry.source, mutant: m });
        }
      }
    }
    parts.push({ file, total: entry.mutants.length, detected, undetected, equivalent });
  }
  if (!parts.length) {
    summary.push({ file: name, missing: true });
    continue;
  }
  const sum = (k) => parts.reduce((a, p) => a + p[k], 0);
  const score = (p) => {
    const valid = p.detected + p.undetected + p.equivalent;
    return valid ? (100 * (p.detected + p.equivalent)) / valid : 100;
  };
  for (const p of parts) p.score = score(p);
  const total = { file: name, total: sum('total'), detected: sum('detected'), undetected: sum('undetected'), equivalent: sum('equivalent') };
  summary.push({ ...total, score: score(total), parts: parts.length > 1 ? parts : undefined });
}

// Probe every survivor against the sources the report was made from.
const originals = Object.fromEntries(files.map((f) => [f, report.files[f].source]));
writeSrc(path.join(PROBE_DIR, 'original'), originals);
writeFileSync(
  path.join(PROBE_DIR, 'corpus.json'),
  JSON.stringify(buildCorpus(root, path.join(PROBE_DIR, 'original', 'error-table.ts'))),
);
const byModule = new Map();
for (const s of survivors) {
  s.dir = path.join(PROBE_DIR, `m${s.mutant.id}`);
  writeSrc(s.dir, { ...originals, [s.file]: mutatedSource(s.source, s.mutant) });
  const name = s.module; // the probe calls the module's entry file, which imports the mutated one
  byModule.set(name, [...(byModule.get(name) ?? []), s.dir]);
}
const probed = await pool([...byModule], PROBE_CONCURRENCY, ([name, dirs]) => runProbes(name, dirs));
const verdictOf = new Map(probed.flatMap((m) => [...m]));
const verdicts = survivors.map((s) => verdictOf.get(s.dir) ?? { probed: false, error: 'no verdict' });

/** Non-ASCII escaped, so a witness with U+00A0 reads as such. */
const ascii = (text) => text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const describe = (s) => {
  const loc = s.mutant.location.start;
  const orig = originalText(s.source, s.mutant).replace(/\s+/g, ' ').slice(0, 70);
  const repl = s.mutant.replacement.replace(/\s+/g, ' ').slice(0, 70);
  return `${s.file}:${loc.line}:${loc.column} ${s.mutant.mutatorName} [${s.mutant.status}] ${orig}  ->  ${repl}`;
};

const dangerous = [];
const other = [];
survivors.forEach((s, i) => {
  const v = verdicts[i];
  s.verdict = v;
  if (!v.probed || v.dangerous) dangerous.push(s);
  else other.push(s);
});

console.log('\nMutation score per retry-contract module (equivalent mutants count as detected):');
let failed = false;
for (const s of summary) {
  if (s.missing) {
    console.log(`  ${s.file}: not in the report`);
    failed = true;
    continue;
  }
  const below = s.score < MIN_SCORE;
  if (below) failed = true;
  console.log(
    `  ${s.file.padEnd(24)} ${s.score.toFixed(2).padStart(6)} %  ${s.total} mutants, ${s.undetected} undetected, ${s.equivalent} equivalent${below ? `  BELOW ${MIN_SCORE} %` : ''}`,
  );
  for (const p of s.parts ?? []) {
    console.log(`    ${p.file.padEnd(26)} ${p.score.toFixed(2).padStart(6)} %  ${p.total} mutants, ${p.undetected} undetected, ${p.equivalent} equivalent`);
  }
}

console.log(`\nDangerous survivors: ${dangerous.length}`);
for (const s of dangerous) {
  const v = s.verdict;
  const why = v.hang ? 'hangs on the probe inputs' : !v.probed ? `unclassified${v.error ? ` (${v.error})` : ''}` : 'witness';
  console.log(`  ${describe(s)}\n      ${why}${v.witness ? `: ${ascii(JSON.stringify(v.witness)).slice(0, 400)}` : ''}`);
}
console.log(`\nOther survivors: ${other.length} (no unsafe answer found by the probe)`);
for (const s of other) console.log(`  ${describe(s)}${s.verdict.differs ? '' : '   (no difference found: equivalent?)'}`);

writeFileSync(
  path.join(root, 'reports', 'mutation', 'survivors.json'),
  JSON.stringify(
    survivors.map((s) => ({
      file: s.file,
      id: s.mutant.id,
      mutator: s.mutant.mutatorName,
      status: s.mutant.status,
      line: s.mutant.location.start.line,
      lineText: lineText(s.source, s.mutant),
      column: s.mutant.location.start.column,
      original: originalText(s.source, s.mutant),
      replacement: s.mutant.replacement,
      verdict: s.verdict,
    })),
    null,
    2,
  ),
);
rmSync(PROBE_DIR, { recursive: true, force: true });
if (dangerous.length) failed = true;
console.log(failed ? '\nmutation: FAILED' : '\nmutation: OK');
process.exit(failed ? 1 : 0);
