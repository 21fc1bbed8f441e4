// npm test: every unit and integration test file, in two `node --test` runs.
//
// chaos-network.test.ts alone runs with --test-force-exit: in about one run in six its process finished every
// test and then spun forever in Node 20's exit-time handle cleanup (docs/testing.md). Force-exit ends a test
// process with process.exit(), which can cut off the end of its piped report, so it is used only where needed:
// a run of the whole suite with it once reported 609 of 623 tests (all had run; the last lines were lost).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const FORCE_EXIT = ['test/integration/chaos-network.test.ts'];
const files = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => `${dir}/${f}`);
const all = [...files('test/unit'), ...files('test/integration')];
const rest = all.filter((f) => !FORCE_EXIT.includes(f));

function run(extra, list) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...extra, ...list], {
    stdio: 'inherit',
  });
  return r.status ?? 1;
}

const first = run([], rest);
const second = run(['--test-force-exit'], FORCE_EXIT);
process.exit(first || second);
