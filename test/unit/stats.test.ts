import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVICT_REASONS, type CloseReason, type EvictReason } from '../../src/pooled-connection.js';
import { Stats } from '../../src/stats.js';

const NOW = { total: 0, idle: 0, busy: 0, waiting: 0 };
const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, '+Inf'] as const;

/** The histogram as { le: count } for the non-empty buckets. */
function nonEmpty(histogram: { le: number | '+Inf'; count: number }[]): Record<string, number> {
  return Object.fromEntries(histogram.filter((b) => b.count > 0).map((b) => [String(b.le), b.count]));
}

function acquiredMany(s: Stats, waitMs: number, n: number): void {
  for (let i = 0; i < n; i++) s.acquired(waitMs);
}

describe('Stats counters', () => {
  test('fresh: all zero', () => {
    const r = new Stats().read(NOW);
    assert.deepEqual(r, {
      total: 0,
      idle: 0,
      inUse: 0,
      waiting: 0,
      created: 0,
      destroyed: {},
      connectFailures: 0,
      pings: 0,
      pingFailures: 0,
      retries: {},
      errorsSurfaced: 0,
      acquires: 0,
      acquireFailures: 0,
      acquireTimeouts: 0,
      leaks: 0,
      acquireWait: { p50: 0, p99: 0, max: 0, sum: 0, histogram: BUCKETS.map((le) => ({ le, count: 0 })) },
    });
  });

  test('the live counts are passed through (busy as inUse)', () => {
    const r = new Stats().read({ total: 7, idle: 3, busy: 4, waiting: 2 });
    assert.deepEqual([r.total, r.idle, r.inUse, r.waiting], [7, 3, 4, 2]);
  });

  test('each event counts once, per reason and per kind', () => {
    const s = new Stats();
    for (let i = 0; i < 3; i++) s.created(1);
    s.destroyed('idle');
    s.destroyed('idle');
    s.destroyed('broken');
    s.connectFailed();
    for (let i = 0; i < 4; i++) s.pinged();
    s.pingFailed();
    s.retried('not-sent');
    s.retried('not-sent');
    s.retried('read-after-send');
    s.surfaced();
    s.acquireFailed();
    s.acquireFailed();
    const r = s.read(NOW);
    assert.equal(r.created, 3);
    assert.deepEqual(r.destroyed, { idle: 2, broken: 1 });
    assert.equal(r.connectFailures, 1);
    assert.equal(r.pings, 4);
    assert.equal(r.pingFailures, 1);
    assert.deepEqual(r.retries, { 'not-sent': 2, 'read-after-send': 1 });
    assert.equal(r.errorsSurfaced, 1);
    assert.equal(r.acquireFailures, 2);
    assert.equal(r.acquires, 0);
  });

  test('read() returns copies', () => {
    const s = new Stats();
    s.destroyed('lifetime');
    s.retried('idempotent-after-send');
    s.acquired(1);
    const first = s.read(NOW);
    first.destroyed.lifetime = 99;
    first.retries['idempotent-after-send'] = 99;
    first.acquireWait.histogram[4]!.count = 99;
    const second = s.read(NOW);
    assert.deepEqual(second.destroyed, { lifetime: 1 });
    assert.deepEqual(second.retries, { 'idempotent-after-send': 1 });
    assert.equal(second.acquireWait.histogram[4]!.count, 1);
  });
});

describe('stats() as JSON', () => {
  test('every value survives JSON.stringify (no Infinity or NaN turned into null)', () => {
    const s = new Stats();
    s.acquired(60_000);
    s.acquired(0.01);
    s.created(3);
    s.destroyed('idle');
    const r = s.read(NOW);
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
    assert.equal(r.acquireWait.histogram.at(-1)!.le, '+Inf');
  });
});

describe('docs/options.md', () => {
  test("the `evict` row lists exactly the evict reasons (EVICT_REASONS), and CloseReason adds only 'connect-failed'", () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'options.md'), 'utf8');
    const row = doc.split('\n').find((l) => l.startsWith('| `evict`'));
    assert.ok(row, 'docs/options.md has no `evict` row in its events table');
    const listed = [...row.split('|')[2]!.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
    assert.deepEqual(listed, [...EVICT_REASONS]);
    const extra: Exclude<CloseReason, EvictReason> = 'connect-failed';
    assert.equal(extra, 'connect-failed');
  });
});

describe('Stats acquire-wait quantiles', () => {
  test('known mix: p50, p99, max and buckets', () => {
    const s = new Stats();
    acquiredMany(s, 0.03, 50);
    acquiredMany(s, 3, 49);
    s.acquired(7_000);
    const r = s.read(NOW);
    assert.equal(r.acquires, 100);
    assert.equal(r.acquireWait.p50, 0.05);
    assert.equal(r.acquireWait.p99, 5);
    assert.equal(r.acquireWait.max, 7_000);
    assert.deepEqual(nonEmpty(r.acquireWait.histogram), { '0.05': 50, '5': 49, '10000': 1 });
    assert.equal(
      r.acquireWait.histogram.reduce((n, b) => n + b.count, 0),
      100,
    );
  });

  test('p99 moves to the tail once more than 1% is slow', () => {
    const s = new Stats();
    acquiredMany(s, 1, 99);
    s.acquired(800);
    assert.equal(s.read(NOW).acquireWait.p99, 1, 'exactly 1% slow: p99 is still the fast bucket');
    s.acquired(800);
    const r = s.read(NOW);
    assert.equal(r.acquireWait.p50, 1);
    // The bucket's upper bound (1000), capped at the largest wait seen.
    assert.equal(r.acquireWait.p99, 800);
    assert.equal(r.acquireWait.max, 800);
    assert.deepEqual(nonEmpty(r.acquireWait.histogram), { '1': 99, '1000': 2 });
  });

  test('a quantile never exceeds the largest wait seen', () => {
    const s = new Stats();
    s.acquired(0.3); // bucket le 0.5
    const r = s.read(NOW);
    assert.equal(r.acquireWait.p50, 0.3);
    assert.equal(r.acquireWait.p99, 0.3);
    assert.equal(r.acquireWait.max, 0.3);
  });

  test('bucket bounds are inclusive (le)', () => {
    const s = new Stats();
    s.acquired(0.05);
    s.acquired(1);
    s.acquired(1.0001);
    s.acquired(10_000);
    assert.deepEqual(nonEmpty(s.read(NOW).acquireWait.histogram), { '0.05': 1, '1': 1, '2.5': 1, '10000': 1 });
  });

  test("waits above the last finite bucket land in the '+Inf' bucket; quantile reports max", () => {
    const s = new Stats();
    s.acquired(60_000);
    const r = s.read(NOW);
    assert.deepEqual(nonEmpty(r.acquireWait.histogram), { '+Inf': 1 });
    assert.equal(r.acquireWait.p50, 60_000);
    assert.equal(r.acquireWait.p99, 60_000);
  });

  test('zero wait counts in the first bucket', () => {
    const s = new Stats();
    acquiredMany(s, 0, 3);
    const r = s.read(NOW);
    assert.deepEqual(nonEmpty(r.acquireWait.histogram), { '0.05': 3 });
    assert.equal(r.acquireWait.p50, 0);
    assert.equal(r.acquireWait.max, 0);
  });
});
