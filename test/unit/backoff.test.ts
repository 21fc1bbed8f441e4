import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff } from '../../src/backoff.js';

const one = () => 1;
const zero = () => 0;

function delays(random: () => number, n: number): number[] {
  const b = new Backoff();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(b.failed(new Error(`fail ${i}`), 0, random));
  return out;
}

describe('Backoff delays', () => {
  test('random 1: the full ceiling, 100 ms doubling to a 2 s cap', () => {
    assert.deepEqual(delays(one, 8), [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  });

  test('random 0: half the ceiling', () => {
    assert.deepEqual(delays(zero, 7), [50, 100, 200, 400, 800, 1000, 1000]);
  });

  test('random 0.5: three quarters, rounded', () => {
    assert.deepEqual(delays(() => 0.5, 3), [75, 150, 300]);
  });

  test('stays capped after many failures (no overflow)', () => {
    const d = delays(one, 100);
    assert.equal(d[99], 2000);
    assert.ok(d.every((x) => x >= 50 && x <= 2000));
  });
});

describe('Backoff windows', () => {
  test('fresh: no wait, nothing blocking, no last error', () => {
    const b = new Backoff();
    assert.equal(b.waitFor(0), 0);
    assert.equal(b.waitFor(1e9), 0);
    assert.equal(b.blocking(0), undefined);
    assert.equal(b.lastError(0, 1e9), undefined);
  });

  test('waitFor counts down to the next attempt', () => {
    const b = new Backoff();
    assert.equal(b.failed(new Error('x'), 1_000, one), 100);
    assert.equal(b.waitFor(1_000), 100);
    assert.equal(b.waitFor(1_060), 40);
    assert.equal(b.waitFor(1_100), 0);
    assert.equal(b.waitFor(5_000), 0);
  });

  test('blocking returns the error until the next attempt is due', () => {
    const b = new Backoff();
    const err = new Error('ECONNREFUSED');
    b.failed(err, 1_000, one);
    assert.equal(b.blocking(1_000), err);
    assert.equal(b.blocking(1_099), err);
    assert.equal(b.blocking(1_100), undefined);
  });

  test('lastError within the window only', () => {
    const b = new Backoff();
    const err = new Error('x');
    b.failed(err, 1_000, one);
    assert.equal(b.lastError(1_000, 0), err);
    assert.equal(b.lastError(1_500, 500), err);
    assert.equal(b.lastError(1_501, 500), undefined);
  });

  test('a later failure replaces the error and extends the wait', () => {
    const b = new Backoff();
    const first = new Error('first');
    const second = new Error('second');
    b.failed(first, 0, one);
    assert.equal(b.failed(second, 100, one), 200);
    assert.equal(b.waitFor(100), 200);
    assert.equal(b.blocking(250), second);
    assert.equal(b.lastError(250, 1_000), second);
  });

  test('succeeded() resets the wait and the growth', () => {
    const b = new Backoff();
    for (let i = 0; i < 5; i++) b.failed(new Error('x'), 0, one);
    assert.equal(b.waitFor(0), 1600);
    b.succeeded();
    assert.equal(b.waitFor(0), 0);
    assert.equal(b.blocking(0), undefined);
    // The next failure starts from the bottom again.
    assert.equal(b.failed(new Error('y'), 10, one), 100);
    assert.equal(b.waitFor(10), 100);
  });
});
