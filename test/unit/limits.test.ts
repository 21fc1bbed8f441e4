import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeLimits, jitter, limitWithMargin } from '../../src/limits.js';
import type { ServerInfo } from '../../src/limits.js';

const DEFAULT_REQUEST = { idleTimeout: 60_000, maxLifetime: 1_800_000, networkIdleTimeout: 0 };

function server(waitTimeoutSeconds: number | undefined): ServerInfo {
  return { flavor: 'mysql', version: '8.0.36', waitTimeout: waitTimeoutSeconds === undefined ? undefined : waitTimeoutSeconds * 1000 };
}

describe('limitWithMargin', () => {
  test('10% below the limit, at most 5 s', () => {
    assert.equal(limitWithMargin(1_000), 900);
    assert.equal(limitWithMargin(10_000), 9_000);
    assert.equal(limitWithMargin(50_000), 45_000); // exactly 5 s either way
    assert.equal(limitWithMargin(60_000), 55_000); // 10% would be 6 s: capped at 5 s
    assert.equal(limitWithMargin(350_000), 345_000);
    assert.equal(limitWithMargin(28_800_000), 28_795_000);
  });

  test('rounds down to whole milliseconds', () => {
    assert.equal(limitWithMargin(1_234), 1_110); // 1234 - 123.4 = 1110.6
    assert.equal(limitWithMargin(1), 0); // 0.9
  });
});

describe('computeLimits', () => {
  test("wait_timeout 28800 s: the defaults fit, nothing clamped", () => {
    const { limits, clamps } = computeLimits(DEFAULT_REQUEST, server(28_800));
    assert.deepEqual(limits, { idleTimeout: 60_000, maxLifetime: 1_800_000, idleLimit: 28_795_000 });
    assert.deepEqual(clamps, []);
  });

  test('wait_timeout 60 s: idleTimeout and maxLifetime clamped, each with a record', () => {
    const { limits, clamps } = computeLimits(DEFAULT_REQUEST, server(60));
    assert.deepEqual(limits, { idleTimeout: 55_000, maxLifetime: 55_000, idleLimit: 55_000 });
    assert.equal(clamps.length, 2);
    const [idle, life] = clamps;
    assert.deepEqual({ ...idle, because: undefined }, { option: 'idleTimeout', requested: 60_000, applied: 55_000, because: undefined });
    assert.deepEqual({ ...life, because: undefined }, { option: 'maxLifetime', requested: 1_800_000, applied: 55_000, because: undefined });
    // The record names its source.
    assert.match(idle!.because, /wait_timeout/);
    assert.match(life!.because, /wait_timeout/);
  });

  test('a value already below the limit is not clamped', () => {
    const { limits, clamps } = computeLimits({ idleTimeout: 30_000, maxLifetime: 50_000, networkIdleTimeout: 0 }, server(60));
    assert.deepEqual(limits, { idleTimeout: 30_000, maxLifetime: 50_000, idleLimit: 55_000 });
    assert.deepEqual(clamps, []);
  });

  test('a value exactly at the limit is not clamped', () => {
    const { clamps } = computeLimits({ idleTimeout: 55_000, maxLifetime: 55_000, networkIdleTimeout: 0 }, server(60));
    assert.deepEqual(clamps, []);
  });

  test('networkIdleTimeout tighter than wait_timeout wins', () => {
    const { limits, clamps } = computeLimits({ ...DEFAULT_REQUEST, networkIdleTimeout: 350_000 }, server(28_800));
    assert.deepEqual(limits, { idleTimeout: 60_000, maxLifetime: 345_000, idleLimit: 345_000 });
    assert.equal(clamps.length, 1);
    assert.equal(clamps[0]!.option, 'maxLifetime');
    assert.equal(clamps[0]!.requested, 1_800_000);
    assert.equal(clamps[0]!.applied, 345_000);
    assert.match(clamps[0]!.because, /networkIdleTimeout/);
  });

  test('wait_timeout tighter than networkIdleTimeout wins', () => {
    const { limits, clamps } = computeLimits({ ...DEFAULT_REQUEST, networkIdleTimeout: 350_000 }, server(60));
    assert.equal(limits.idleLimit, 55_000);
    assert.ok(clamps.every((c) => /wait_timeout/.test(c.because)));
  });

  test('networkIdleTimeout applies without server info', () => {
    const { limits } = computeLimits({ ...DEFAULT_REQUEST, networkIdleTimeout: 240_000 }, undefined);
    assert.deepEqual(limits, { idleTimeout: 60_000, maxLifetime: 235_000, idleLimit: 235_000 });
  });

  test('no server info, no network limit: idleLimit Infinity, nothing clamped', () => {
    for (const info of [undefined, server(undefined)]) {
      const { limits, clamps } = computeLimits(DEFAULT_REQUEST, info);
      assert.deepEqual(limits, { idleTimeout: 60_000, maxLifetime: 1_800_000, idleLimit: Infinity });
      assert.deepEqual(clamps, []);
    }
  });

  test('maxLifetime 0 means no age limit: Infinity when nothing clamps it', () => {
    const { limits, clamps } = computeLimits({ ...DEFAULT_REQUEST, maxLifetime: 0 }, undefined);
    assert.equal(limits.maxLifetime, Infinity);
    assert.deepEqual(clamps, []);
  });

  test('maxLifetime 0 under wait_timeout 28800 s: clamped below it, without a record', () => {
    const { limits, clamps } = computeLimits({ ...DEFAULT_REQUEST, maxLifetime: 0 }, server(28_800));
    assert.equal(limits.maxLifetime, 28_795_000);
    assert.deepEqual(clamps, []);
  });

  test('maxLifetime 0 under a short wait_timeout: clamped, without a record (nothing finite was asked)', () => {
    const { limits, clamps } = computeLimits({ ...DEFAULT_REQUEST, maxLifetime: 0 }, server(60));
    assert.equal(limits.maxLifetime, 55_000);
    assert.deepEqual(
      clamps.map((c) => c.option),
      ['idleTimeout'],
    );
  });

  test('idleTimeout 0 is no idle eviction: Infinity unless clamped', () => {
    assert.equal(computeLimits({ ...DEFAULT_REQUEST, idleTimeout: 0 }, undefined).limits.idleTimeout, Infinity);
    assert.equal(computeLimits({ ...DEFAULT_REQUEST, idleTimeout: 0 }, server(60)).limits.idleTimeout, 55_000);
  });
});

describe('jitter', () => {
  test('random 0: unchanged', () => {
    assert.equal(jitter(1_800_000, () => 0), 1_800_000);
  });

  test('random 1: 2.5% shorter', () => {
    assert.equal(jitter(1_800_000, () => 1), 1_755_000);
    assert.equal(jitter(55_000, () => 1), 53_625);
  });

  test('never longer, never more than 2.5% shorter', () => {
    for (const lifetime of [1, 999, 55_000, 1_800_000]) {
      for (let i = 0; i <= 100; i++) {
        const r = i / 100;
        const j = jitter(lifetime, () => r);
        assert.ok(j <= lifetime, `${lifetime} @${r}: ${j}`);
        assert.ok(j >= Math.floor(lifetime * 0.975), `${lifetime} @${r}: ${j}`);
        assert.ok(Number.isInteger(j));
      }
    }
  });

  test('Infinity stays Infinity', () => {
    assert.equal(jitter(Infinity, () => 1), Infinity);
  });

  test('defaults to Math.random', () => {
    const j = jitter(1_000_000);
    assert.ok(j <= 1_000_000 && j >= 975_000, String(j));
  });
});
