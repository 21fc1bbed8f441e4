/**
 * Runs the compile-time type test (test/types/assignability.ts) under `npm test`, so CI fails when the pools stop
 * being assignable to mysql2's types or bad options stop being compile errors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test, after } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';

const root = join(__dirname, '..', '..');

test('test/types compiles: pools are assignable to mysql2 types, bad options are compile errors', () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join('test', 'types', 'tsconfig.json')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.error, undefined, `could not run tsc: ${run.error}`);
  assert.equal(run.status, 0, `tsc -p test/types/tsconfig.json failed:\n${run.stdout}${run.stderr}`);
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
