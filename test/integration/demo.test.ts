/**
 * `npm run demo` (demo/demo.ts) as a user runs it: a child process that starts its own private server (or uses
 * MYSQL_URL), must exit 0 within its budget, print a row for every scenario, and show no failure in the
 * resilient-mysql-pool column.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test, after } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';

const root = join(__dirname, '..', '..');
const SCENARIOS = ['idle past wait_timeout', 'killed (KILL)', 'server restart', 'dropped flow (LB/NAT)'];
const LIMIT_MS = 120_000;

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runDemo(): Promise<Run> {
  const env = { ...process.env };
  // A plain Node environment: no loader hooks or test-runner context inherited (MYSQL_URL and CI are kept).
  for (const key of ['NODE_OPTIONS', 'NODE_TEST_CONTEXT', 'NODE_CHANNEL_FD', 'DEBUG']) delete env[key];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('demo', 'demo.ts')], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // SIGTERM first: the demo's server helper then kills its private server and removes the datadir.
    const term = setTimeout(() => child.kill('SIGTERM'), LIMIT_MS);
    const kill = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS + 10_000);
    child.on('error', (err) => {
      clearTimeout(term);
      clearTimeout(kill);
      reject(err);
    });
    child.on('close', (status, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

test('npm run demo: exits 0, a row per scenario, no failure with resilient-mysql-pool', { timeout: LIMIT_MS + 20_000 }, async (t) => {
  const r = await runDemo();
  const shown = `exit ${r.status}${r.signal ? ` (${r.signal})` : ''} after ${r.ms} ms\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.status, 0, shown);
  assert.ok(r.ms < LIMIT_MS, shown);

  const lines = r.stdout.split('\n');
  const header = lines.findIndex((l) => /^scenario\s+\|/.test(l));
  assert.ok(header >= 0, `no table header in the output\n${shown}`);
  const cells = lines
    .slice(header + 2)
    .filter((l) => l.includes(' | '))
    .map((l) => l.split(' | ').map((c) => c.trim()));
  assert.match(lines[header]!, /mysql2/);
  assert.match(lines[header]!, /resilient-mysql-pool/);
  const table = lines.slice(header, header + 2 + cells.length);
  const wide = table.filter((l) => l.length > 120);
  assert.deepEqual(wide, [], `the table fits a 120-column terminal\n${shown}`);

  for (const name of SCENARIOS) {
    const row = cells.find((c) => c[0] === name);
    assert.ok(row, `no row for ${JSON.stringify(name)}\n${shown}`);
    assert.equal(row.length, 3, `row ${JSON.stringify(name)} has ${row.length} columns`);
    const [, plain, resilient] = row as [string, string, string];
    t.diagnostic(`${name}: mysql2 "${plain}" / resilient "${resilient}"`);
    if (/^skipped/.test(resilient)) {
      // Only with MYSQL_URL, and only the scenarios that need a server the demo may restart or reconfigure.
      assert.ok(process.env.MYSQL_URL, `${name} skipped without MYSQL_URL\n${shown}`);
      assert.ok(['idle past wait_timeout', 'server restart'].includes(name), `${name} skipped\n${shown}`);
      continue;
    }
    const m = /^(\d+)\/(\d+) ok\b/.exec(resilient);
    assert.ok(m, `resilient-mysql-pool column for ${JSON.stringify(name)} is not all ok: ${resilient}\n${shown}`);
    assert.equal(m[1], m[2]);
    assert.equal(Number(m[2]), 6);
    assert.doesNotMatch(resilient, /failed|error/i);
    assert.match(plain, /^\d+\/\d+ (ok|failed)/, `mysql2 column for ${JSON.stringify(name)}: ${plain}`);
  }

  // Progress lines went to stderr, one per scenario.
  SCENARIOS.forEach((name, i) => assert.ok(r.stderr.includes(`[${i + 1}/${SCENARIOS.length}] ${name}…`), `no progress line for ${name}\n${shown}`));
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
