/**
 * Helpers for test/integration/readme.test.ts, which runs the README's examples: fenced-block extraction, a bounded
 * `node` child runner, a Prometheus text-format checker, and the sources of two files written next to the generated
 * example programs (a stub `@opentelemetry/api` and a preload that sends the examples' default port to the private
 * server).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';

// ---------------------------------------------------------------------------------------------------------------
// Fenced blocks

export interface Block {
  /** The document it is in, relative to the repository (README.md, docs/....md). */
  file: string;
  /** 0-based position among the document's fenced blocks. */
  index: number;
  /** The info string after the opening fence ('' for a bare fence). */
  lang: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The block's first line, trimmed: its key in the test's table. */
  first: string;
  code: string;
}

/** Every fenced (```) block of a Markdown text, in order. Throws on an unclosed fence. */
export function fencedBlocks(markdown: string, file = 'README.md'): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*([^`\s]*)/.exec(lines[i]!.trimStart());
    if (!open) continue;
    const fence = open[1]!;
    // A closing fence: the same character, at least as long, nothing else on the line.
    const closes = (line: string) => line.trim().startsWith(fence) && new RegExp(`^\\${fence[0]}+$`).test(line.trim());
    let j = i + 1;
    while (j < lines.length && !closes(lines[j]!)) j++;
    if (j >= lines.length) throw new Error(`${file} line ${i + 1}: fenced block is never closed`);
    const body = lines.slice(i + 1, j);
    blocks.push({ file, index: blocks.length, lang: open[2]!, line: i + 1, first: (body.find((l) => l.trim()) ?? '').trim(), code: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** Replaces each `from` (which must occur exactly once) by its `to`. */
export function edit(code: string, edits: ReadonlyArray<readonly [string, string]>): string {
  let out = code;
  for (const [from, to] of edits) {
    const count = out.split(from).length - 1;
    assert.equal(count, 1, `expected ${JSON.stringify(from)} exactly once in the README block, found it ${count} times`);
    out = out.replace(from, () => to);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes

/** A plain Node environment: no loader hooks or test-runner context inherited from this process. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['NODE_OPTIONS', 'NODE_DEBUG', 'DEBUG', 'NODE_TEST_CONTEXT', 'NODE_CHANNEL_FD']) delete env[key];
  return { ...env, ...extra };
}

export interface ChildRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
  /** Values the program printed as `RESULT_MARK + JSON` lines, in order. */
  results: unknown[];
}

/** Lines starting with this (then JSON) are results reported by a generated program. */
export const RESULT_MARK = '@@readme-result ';

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Opens an IPC channel; called with the child and each result as it arrives. */
  onResult?: (child: ChildProcess, result: unknown) => void;
}

/** Runs `command args` and resolves when it has exited: SIGTERM at the timeout, SIGKILL 5 s later. */
export function runChild(command: string, args: string[], opts: RunOptions): Promise<ChildRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: opts.onResult ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const results: unknown[] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith(RESULT_MARK)) continue;
        const result: unknown = JSON.parse(line.slice(RESULT_MARK.length));
        results.push(result);
        opts.onResult?.(child, result);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timedOut = false;
    const term = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, opts.timeoutMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs + 5_000);
    child.on('error', (err) => {
      clearTimeout(term);
      clearTimeout(kill);
      reject(err);
    });
    child.on('close', (status, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started, timedOut, results });
    });
  });
}

export function describeRun(r: ChildRun): string {
  const how = r.timedOut ? `killed after ${r.ms} ms (timeout)` : `exit ${r.status}${r.signal ? ` (${r.signal})` : ''} after ${r.ms} ms`;
  return `${how}\n--- stdout ---\n${r.stdout.slice(-6000)}\n--- stderr ---\n${r.stderr.slice(-6000)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Prometheus text exposition format (0.0.4)

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: string;
  help: string | undefined;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, where: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  assert.match(text, /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `${where}: ${JSON.stringify(text)} is not a Prometheus float`);
  return Number(text);
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
    assert.ok(m, `${where}: malformed labels {${text}}`);
    const [all, name, value] = m as unknown as [string, string, string];
    assert.match(name, LABEL_NAME, `${where}: bad label name ${JSON.stringify(name)}`);
    assert.ok(!(name in labels), `${where}: label ${name} repeated`);
    labels[name] = value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(all.length);
  }
  return labels;
}

/**
 * Parses and checks a Prometheus text exposition: HELP/TYPE lines before their family's samples and at most once,
 * sample names belonging to the declared family (`_bucket`/`_sum`/`_count` for histograms), no repeated series, and
 * histograms whose `le` buckets ascend to `+Inf` with cumulative (non-decreasing) counts ending at `_count`.
 * Throws an AssertionError naming the line at the first problem.
 */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  assert.ok(text.endsWith('\n'), 'the exposition must end with a newline');
  const families = new Map<string, PromFamily>();
  const seriesSeen = new Set<string>();
  const typed = new Set<string>();
  const family = (name: string): PromFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: undefined, samples: [] }));
    return f;
  };
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line)})`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // other comments are allowed
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      assert.match(name, METRIC_NAME, `${where}: bad metric name`);
      const f = family(name);
      assert.equal(f.samples.length, 0, `${where}: ${kind} after the family's samples`);
      if (kind === 'HELP') {
        assert.equal(f.help, undefined, `${where}: second HELP for ${name}`);
        f.help = rest;
      } else {
        assert.ok(TYPES.has(rest), `${where}: unknown type ${JSON.stringify(rest)}`);
        assert.ok(!typed.has(name), `${where}: second TYPE for ${name}`);
        typed.add(name);
        f.type = rest;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    assert.ok(m, `${where}: not a sample line`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const labels = parseLabels(labelText ?? '', where);
    const value = parseValue(valueText, where);
    const series = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`;
    assert.ok(!seriesSeen.has(series), `${where}: series ${series} appears twice`);
    seriesSeen.add(series);
    const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
    const owner = families.get(name) ?? (base !== undefined && families.get(base)?.type === 'histogram' ? families.get(base) : undefined);
    assert.ok(owner, `${where}: sample of a family with no TYPE line`);
    if (owner.type === 'histogram') assert.notEqual(name, owner.name, `${where}: a histogram sample needs _bucket, _sum or _count`);
    if (owner.type === 'counter' || owner.type === 'histogram') assert.ok(!(value < 0), `${where}: negative ${owner.type} value`);
    owner.samples.push({ name, labels, value });
  });
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    const buckets = f.samples.filter((s) => s.name === `${f.name}_bucket`);
    const count = f.samples.find((s) => s.name === `${f.name}_count`);
    assert.ok(f.samples.some((s) => s.name === `${f.name}_sum`), `${f.name}: no _sum`);
    assert.ok(count, `${f.name}: no _count`);
    assert.ok(buckets.length > 0, `${f.name}: no buckets`);
    let prevLe = -Infinity;
    let prevCount = 0;
    for (const b of buckets) {
      assert.ok('le' in b.labels, `${f.name}: bucket without le`);
      const le = parseValue(b.labels.le!, `${f.name} le`);
      assert.ok(le > prevLe, `${f.name}: bucket le=${b.labels.le} does not ascend`);
      assert.ok(b.value >= prevCount, `${f.name}: bucket le=${b.labels.le} (${b.value}) below the previous one (${prevCount}): not cumulative`);
      prevLe = le;
      prevCount = b.value;
    }
    assert.equal(buckets.at(-1)!.labels.le, '+Inf', `${f.name}: the last bucket must be le="+Inf"`);
    assert.equal(buckets.at(-1)!.value, count.value, `${f.name}: the +Inf bucket must equal _count`);
  }
  return families;
}

// ---------------------------------------------------------------------------------------------------------------
// Files written next to the generated programs

/**
 * `@opentelemetry/api` stand-in: `metrics.getMeter()` returns a meter whose observable instruments and batch callbacks
 * are recorded; `globalThis.__readmeOtel.collect()` runs the batch callbacks the way an SDK's collection does and
 * returns what was observed, plus every misuse the real API would reject or drop (a bad instrument name, observing
 * an instrument not registered with the callback, a non-numeric value, a non-primitive attribute).
 */
export const OTEL_API_STUB = String.raw`'use strict';
const NAME = /^[a-zA-Z][-_./a-zA-Z0-9]{0,254}$/;
const state = { meters: [], instruments: [], callbacks: [], problems: [] };
function instrument(kind, name, options) {
  if (!NAME.test(name)) state.problems.push('invalid instrument name ' + JSON.stringify(name));
  if (options !== undefined && (typeof options !== 'object' || options === null)) state.problems.push(name + ': options must be an object');
  const inst = { kind, name, unit: options && options.unit, description: options && options.description,
    addCallback() { state.problems.push(name + ': addCallback not expected'); }, removeCallback() {} };
  state.instruments.push(inst);
  return inst;
}
function getMeter(name, version, options) {
  if (typeof name !== 'string' || name === '') state.problems.push('getMeter needs a name');
  const meter = {
    name,
    createObservableGauge: (n, o) => instrument('ObservableGauge', n, o),
    createObservableCounter: (n, o) => instrument('ObservableCounter', n, o),
    createObservableUpDownCounter: (n, o) => instrument('ObservableUpDownCounter', n, o),
    addBatchObservableCallback(callback, observables) {
      if (typeof callback !== 'function') state.problems.push('addBatchObservableCallback: callback is not a function');
      if (!Array.isArray(observables)) state.problems.push('addBatchObservableCallback: observables is not an array');
      for (const o of observables || []) if (!state.instruments.includes(o)) state.problems.push('addBatchObservableCallback: unknown observable');
      state.callbacks.push({ callback, observables: observables || [] });
    },
    removeBatchObservableCallback() {},
  };
  state.meters.push({ name, version, options });
  return meter;
}
async function collect() {
  const observations = [];
  for (const { callback, observables } of state.callbacks) {
    const result = {
      observe(metric, value, attributes) {
        if (!observables.includes(metric)) { state.problems.push('observed an instrument not registered with the callback'); return; }
        if (typeof value !== 'number' || !Number.isFinite(value)) state.problems.push(metric.name + ': value ' + String(value) + ' is not a finite number');
        for (const [k, v] of Object.entries(attributes || {})) {
          if (!['string', 'number', 'boolean'].includes(typeof v)) state.problems.push(metric.name + ': attribute ' + k + ' is not a primitive');
        }
        observations.push({ instrument: metric.name, kind: metric.kind, value, attributes: { ...(attributes || {}) } });
      },
    };
    await callback(result);
  }
  return observations;
}
globalThis.__readmeOtel = { state, collect };
exports.metrics = { getMeter };
`;

/**
 * Preloaded (`node --import`) into every example program: a connection to `from` (the examples' host with mysql2's
 * default port, which they do not spell out) goes to `to` (the private server), like a hosts-file entry. Any other
 * destination is untouched, so a host that is not redirected fails to resolve instead of reaching some other server.
 */
export const REDIRECT_PRELOAD = String.raw`import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';
const { from, to } = JSON.parse(process.env.README_REDIRECT);
const original = net.connect;
function redirected(...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (Number(args[0]) === from.port && args[1] === from.host) { args[0] = to.port; args[1] = to.host; }
  } else if (args[0] && typeof args[0] === 'object' && !Array.isArray(args[0]) && args[0].path === undefined) {
    const o = args[0];
    if (Number(o.port) === from.port && o.host === from.host) args[0] = { ...o, host: to.host, port: to.port };
  }
  return original.apply(this, args);
}
net.connect = redirected;
net.createConnection = redirected;
syncBuiltinESMExports();
`;
