// npm test: every unit and integration test file, in one `node --test` run (one process per file, one at a time;
// the unit files all in one process through test/unit/all.ts, which saves a Node + tsx start-up per file).
//
// No force-exit flag: the exit hang it used to hide (chaos-network.test.ts, about one run in six) was a TCP
// handle the fault proxy left behind, now fixed (docs/testing.md); every integration file checks in its last
// after() hook that no socket or timer is left (test/support/handles.ts).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const files = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => `${dir}/${f}`);
const all = ['test/unit/all.ts', ...files('test/integration')];

const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...all], { stdio: 'inherit' });
process.exit(r.status ?? 1);
