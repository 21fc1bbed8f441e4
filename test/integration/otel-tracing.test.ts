/**
 * OpenTelemetry's @opentelemetry/instrumentation-mysql2 with this pool: one CLIENT span per query, as with mysql2's
 * own pool. The instrumentation patches mysql2's connection prototype when `mysql2/lib/connection.js` is loaded, and
 * this library captures nothing of mysql2 it would miss: its connections look `query`/`execute` up at call time.
 *
 * Each case runs in its own child process (a fresh module cache): the instrumentation registered BEFORE the library
 * (or mysql2) is first required, and AFTER. Every case runs against mysql2's pool too, as the reference: the
 * instrumentation (OpenTelemetry's rule, and its own warning) must be registered before mysql2 is loaded, so AFTER
 * gives no span with either pool; the test pins that both pools behave the same in both orders.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';

const root = join(__dirname, '..', '..');
const server = usePrivateServer();

// Last, with the server closed (usePrivateServer's after() runs first): no socket or timer is left.
after(() => assertNoHandlesLeft());

/**
 * The child: registers the instrumentation before or after requiring the pool's module, runs one query of each
 * shape (pool.query, pool.execute, the promise pool's query, a held connection's query) each tagged with a unique
 * comment, and prints the spans whose query text carries a tag.
 */
const CHILD = String.raw`
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { order, which, dist, options } = JSON.parse(process.env.OTEL_CASE);
let exporter;
let warnings = [];
function register() {
  const { diag, DiagLogLevel } = require('@opentelemetry/api');
  const note = (...a) => warnings.push(a.map(String).join(' '));
  diag.setLogger({ warn: note, error: note, info() {}, debug() {}, verbose() {} }, DiagLogLevel.WARN);
  const { MySQL2Instrumentation } = require('@opentelemetry/instrumentation-mysql2');
  exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  instrumentation = new MySQL2Instrumentation(); // enabled on construction
  instrumentation.setTracerProvider(provider);
}
let instrumentation;
if (order !== 'after') register();
const lib = which === 'resilient' ? require(dist) : require('mysql2');
if (order === 'after') register();
(async () => {
  const pool = lib.createPool({ ...options, connectionLimit: 2 });
  const cb = (f) => new Promise((resolve, reject) => f((e, r) => (e ? reject(e) : resolve(r))));
  const queries = async (phase) => {
    await cb((done) => pool.query('SELECT 1 /* tag:' + phase + 'pool.query */', done));
    await cb((done) => pool.execute('SELECT ? /* tag:' + phase + 'pool.execute */', [2], done));
    await pool.promise().query('SELECT 3 /* tag:' + phase + 'promise.query */');
    const conn = await cb((done) => pool.getConnection(done));
    await cb((done) => conn.query('SELECT 4 /* tag:' + phase + 'conn.query */', done));
    conn.release();
  };
  await queries('');
  if (order === 'toggle') {
    // disable() unwraps the prototype's methods, enable() wraps them again (mysql2 is loaded by now).
    instrumentation.disable();
    await queries('off.');
    instrumentation.enable();
    await queries('on.');
  }
  await cb((done) => pool.end(done));
  const spans = exporter.getFinishedSpans()
    .map((s) => ({ name: s.name, kind: s.kind, text: s.attributes['db.query.text'], system: s.attributes['db.system.name'] }))
    .filter((s) => typeof s.text === 'string' && s.text.includes('tag:'))
    .map((s) => ({ ...s, tag: /tag:([a-z.]+)/.exec(s.text)[1] }));
  console.log(JSON.stringify({ spans, warnings }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

interface Span {
  name: string;
  kind: number;
  text: string;
  system: string;
  tag: string;
}

function runCase(order: 'before' | 'after' | 'toggle', which: 'resilient' | 'mysql2'): Promise<{ spans: Span[]; warnings: string[] }> {
  const env = { ...process.env, OTEL_CASE: JSON.stringify({ order, which, dist: join(root, 'dist', 'index.js'), options: server.connectionOptions() }) };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', CHILD], { cwd: root, env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${order}/${which}: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout) as { spans: Span[]; warnings: string[] });
    });
  });
}

const TAGS = ['conn.query', 'pool.execute', 'pool.query', 'promise.query'];
const T = { timeout: 60_000 };

describe('@opentelemetry/instrumentation-mysql2 and this pool', () => {
  test('registered before the library is loaded: one CLIENT span per query, as with mysql2', T, async () => {
    for (const which of ['mysql2', 'resilient'] as const) {
      const { spans } = await runCase('before', which);
      assert.deepEqual(spans.map((s) => s.tag).sort(), TAGS, `${which}: one span per tagged query\n${JSON.stringify(spans)}`);
      for (const s of spans) {
        assert.equal(s.kind, 2, `${which}: ${s.tag} is a CLIENT span`); // SpanKind.CLIENT
        assert.equal(s.system, 'mysql');
      }
    }
  });

  test('registered after: neither pool gets spans (the instrumentation must come before mysql2 is loaded)', T, async () => {
    const mysql2 = await runCase('after', 'mysql2');
    const ours = await runCase('after', 'resilient');
    assert.deepEqual(mysql2.spans, [], 'mysql2 itself gets no span: the reference');
    assert.deepEqual(ours.spans, [], 'nor this pool');
    // The instrumentation says why, for both.
    for (const r of [mysql2, ours]) assert.ok(r.warnings.some((w) => /mysql2.*loaded before/i.test(w)), JSON.stringify(r.warnings));
  });

  test('disabled, then enabled again, after the library loaded: spans stop and resume, as with mysql2', T, async () => {
    const expected = [...TAGS, ...TAGS.map((t) => `on.${t}`)].sort();
    for (const which of ['mysql2', 'resilient'] as const) {
      const { spans } = await runCase('toggle', which);
      assert.deepEqual(spans.map((s) => s.tag).sort(), expected, `${which}: no span while disabled, one per query otherwise`);
    }
  });
});
