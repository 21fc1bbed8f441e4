import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clampMessage, clampReports } from '../../src/clamp-warnings.js';
import { computeLimits, withoutCompatPrefix, type ServerInfo } from '../../src/limits.js';
import { resolveOptions } from '../../src/options.js';

const server = (waitTimeoutS: number): ServerInfo => ({ flavor: 'mariadb', version: '10.11.6', waitTimeout: waitTimeoutS * 1000 });

/** The clamps and reports for these options against a server with this wait_timeout, as the pool computes them. */
function reportFor(options: Parameters<typeof resolveOptions>[0], waitTimeoutS: number) {
  const { resolved, userSet } = resolveOptions(options);
  return clampReports(computeLimits(resolved, server(waitTimeoutS)).clamps, userSet);
}

describe('clamp reports: a warning only for what the user set', () => {
  test('defaults above wait_timeout are clamped silently (debug lines only)', () => {
    const { warnings, quiet } = reportFor({}, 30);
    assert.deepEqual(warnings, []);
    assert.equal(quiet.length, 2);
    assert.ok(quiet.every((line) => line.endsWith('[the default: no warning]')), quiet.join('\n'));
  });

  test('a value the user set above wait_timeout is a warn payload with code and fields; the default beside it is not', () => {
    const { warnings, quiet } = reportFor({ maxLifetime: 600_000 }, 30);
    assert.equal(warnings.length, 1);
    const w = warnings[0]!;
    assert.ok(w instanceof Error);
    assert.deepEqual([w.code, w.option, w.requested, w.applied], ['OPTION_CLAMPED', 'maxLifetime', 600_000, 27_000]);
    assert.match(quiet.join('\n'), /^idleTimeout 60000 ms/);
  });

  test('set through the URI counts as set; set to the default value counts as set', () => {
    assert.deepEqual(reportFor('mysql://u@h/db?idleTimeout=60000', 30).warnings.map((w) => w.option), ['idleTimeout']);
    assert.deepEqual(reportFor({ idleTimeout: 60_000, maxLifetime: 1_800_000 }, 30).warnings.map((w) => w.option), ['idleTimeout', 'maxLifetime']);
  });

  test('networkIdleTimeout set: the clamps of the defaults below it are still silent', () => {
    const { warnings, quiet } = reportFor({ networkIdleTimeout: 10_000 }, 28_800);
    assert.deepEqual(warnings, []);
    assert.match(quiet.join('\n'), /networkIdleTimeout \(10000 ms\)/);
  });

  test('one unit per message: every number is in ms', () => {
    const { warnings } = reportFor({ idleTimeout: 120_000, maxLifetime: 600_000 }, 30);
    for (const w of warnings) {
      assert.equal(w.message, clampMessage(w));
      const units = [...w.message.matchAll(/\d+ ?([a-z]+)\b/g)].map((m) => m[1]);
      assert.deepEqual([...new Set(units)], ['ms'], w.message);
    }
    assert.equal(
      warnings[0]!.message,
      "idleTimeout 120000 ms is above the server's wait_timeout (30000 ms); using 27000 ms (connections idle longer would be closed by the server or network)",
    );
  });
});

describe('withoutCompatPrefix: the server version without MariaDB handshake prefix', () => {
  test('strips 5.5.5- from a MariaDB handshake version, and nothing else', () => {
    assert.equal(withoutCompatPrefix('5.5.5-10.11.6-MariaDB-0+deb12u1'), '10.11.6-MariaDB-0+deb12u1');
    assert.equal(withoutCompatPrefix('5.5.5-11.4.2-MariaDB'), '11.4.2-MariaDB');
    assert.equal(withoutCompatPrefix('8.0.36'), '8.0.36');
    assert.equal(withoutCompatPrefix('5.5.5'), '5.5.5');
    assert.equal(withoutCompatPrefix('5.5.5-log'), '5.5.5-log');
    assert.equal(withoutCompatPrefix(''), '');
  });
});
