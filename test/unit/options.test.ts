import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { MYSQL2_OPTIONS, OWN_OPTIONS, type OptionSpec } from '../../src/option-spec.js';
import { DEFAULTS, OPTION_ERROR_CODES, checkConnectionLimit, describeConfig, resolveOptions } from '../../src/options.js';
import type { OptionError, ResilientPoolOptions } from '../../src/options.js';
import { docWithMarkers, generatedSections, sectionIn } from '../../scripts/options-table.js';
import { ResilientPool } from '../../src/pool.js';
import { FakeClock } from '../support/fake-clock.js';

const OWN_KEYS = Object.keys(OWN_OPTIONS);
const ROWS = [...Object.entries(MYSQL2_OPTIONS), ...Object.entries(OWN_OPTIONS)] as [string, OptionSpec][];

/** A valid value other than the row's default. */
function otherValue(spec: OptionSpec): unknown {
  switch (spec.type) {
    case 'integer':
      return typeof spec.default === 'number' ? spec.default + 2 : 2;
    case 'boolean':
      return !spec.default;
    case 'function':
      return () => undefined;
    case 'object':
      return new FakeClock();
  }
}

const HOSTS = ['h1:3306', 'h2:3307'];
const HOSTS_RESOLVED = [
  { host: 'h1', port: 3306 },
  { host: 'h2', port: 3307 },
];

/** Every own option set to a valid, non-default value (from the table). */
function allOwnOptions(): ResilientPoolOptions {
  // `hosts` is an object row whose value is a host list (resolved to { host, port } objects; the first goes to mysql2).
  return Object.fromEntries(
    Object.entries(OWN_OPTIONS).map(([name, spec]) => [name, name === 'hosts' ? HOSTS : otherValue(spec)]),
  ) as ResilientPoolOptions;
}

/**
 * Runs `fn`, expecting it to throw an instance of `type` whose message names `name`, with a documented `code` (the
 * given one if any), `option` naming the option, and `value` the value given.
 */
function throwsNaming(
  fn: () => unknown,
  type: typeof TypeError | typeof RangeError,
  name: string,
  expected: { code?: string; value?: unknown } = {},
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    const e = err as OptionError;
    assert.ok(e.message.includes(`'${name}'`), `message should name '${name}': ${e.message}`);
    assert.ok(Object.hasOwn(OPTION_ERROR_CODES, e.code), `undocumented code ${e.code}`);
    if (expected.code) assert.equal(e.code, expected.code, e.message);
    assert.equal(e.option, name);
    if ('value' in expected) assert.equal(e.value, expected.value);
    return true;
  });
}

describe('resolveOptions: defaults', () => {
  test('no options at all: every row of the table resolves to its default', () => {
    for (const input of [undefined, {}]) {
      const { resolved, mysql, userSet } = resolveOptions(input);
      for (const [name, spec] of ROWS) {
        if (spec.passThrough || name === 'clock') continue;
        if (name === 'maxIdle') assert.equal(resolved.maxIdle, resolved.connectionLimit);
        else assert.equal((resolved as unknown as Record<string, unknown>)[name], spec.default, name);
      }
      assert.equal(typeof resolved.clock.now, 'function');
      assert.deepEqual(mysql, { keepAliveInitialDelay: DEFAULTS.keepAliveInitialDelay });
      assert.deepEqual([...userSet], []);
    }
  });

  test('the resolved options are exactly the rows the pool reads (not the pass-through ones)', () => {
    const expected = ROWS.filter(([, spec]) => !spec.passThrough).map(([name]) => name).sort();
    assert.deepEqual(Object.keys(resolveOptions({}).resolved).sort(), expected);
  });

  test('DEFAULTS holds every numeric default of the table, and nothing else', () => {
    const numeric = ROWS.filter(([, spec]) => typeof spec.default === 'number');
    assert.deepEqual(Object.keys(DEFAULTS).sort(), numeric.map(([name]) => name).sort());
    for (const [name, spec] of numeric) assert.equal((DEFAULTS as Record<string, number>)[name], spec.default, name);
  });

  test('every row is complete: a doc, a unit for integers (ms for durations), a default that validates', () => {
    for (const [name, spec] of ROWS) {
      assert.ok(spec.doc.trim().length >= 5, name);
      if (spec.type === 'integer') assert.ok(spec.unit, `${name} needs a unit`);
      if (/Timeout|Lifetime|Window|Threshold|Delay/.test(name)) assert.equal(spec.unit, 'ms', name);
      if (spec.default !== undefined && !spec.passThrough) {
        const { resolved } = resolveOptions({ [name]: spec.default } as ResilientPoolOptions);
        assert.equal((resolved as unknown as Record<string, unknown>)[name], spec.default, name);
      }
    }
  });

  test('userSet names what the user set, in the object or in the URI', () => {
    assert.deepEqual([...resolveOptions({ idleTimeout: 60_000, maxLifetime: undefined, pingTimeout: null as unknown as number }).userSet], ['idleTimeout']);
    const fromUri = resolveOptions('mysql://u@h/db?maxLifetime=60000&connectionLimit=2');
    assert.deepEqual([...fromUri.userSet].sort(), ['connectionLimit', 'maxLifetime']);
    // mysql2's own connection options are not tracked: only the table's rows are.
    assert.equal(resolveOptions({ host: 'h' }).userSet.has('host'), false);
  });

  test('DEFAULTS is frozen and matches the documented values', () => {
    assert.ok(Object.isFrozen(DEFAULTS));
    assert.equal(DEFAULTS.keepAliveInitialDelay, 30_000);
    assert.equal(DEFAULTS.connectionLimit, 10);
    assert.equal(DEFAULTS.maxAttempts, 3);
  });

  test('maxIdle defaults to the (user-set) connectionLimit', () => {
    assert.equal(resolveOptions({ connectionLimit: 4 }).resolved.maxIdle, 4);
    assert.equal(resolveOptions({ connectionLimit: 4, maxIdle: 1 }).resolved.maxIdle, 1);
    assert.equal(resolveOptions({ connectionLimit: 0 }).resolved.maxIdle, 0);
  });

  test('own options are taken as given', () => {
    const opts = allOwnOptions();
    const { resolved, userSet } = resolveOptions(opts);
    for (const key of OWN_KEYS) {
      const given = key === 'hosts' ? HOSTS_RESOLVED : (opts as Record<string, unknown>)[key];
      assert.deepEqual((resolved as unknown as Record<string, unknown>)[key], given, key);
      assert.notEqual((opts as Record<string, unknown>)[key], OWN_OPTIONS[key as keyof typeof OWN_OPTIONS].default, key);
      assert.ok(userSet.has(key), key);
    }
  });

  test('boundary values that are allowed', () => {
    const { resolved } = resolveOptions({ acquireTimeout: 0, pingTimeout: 1, maxAttempts: 1, maxLifetime: 0, connectionLimit: 0, minConnections: 50 });
    assert.equal(resolved.acquireTimeout, 0);
    assert.equal(resolved.pingTimeout, 1);
    assert.equal(resolved.maxAttempts, 1);
    assert.equal(resolved.maxLifetime, 0);
    // connectionLimit 0 is "no limit": minConnections is not bounded by it.
    assert.equal(resolved.minConnections, 50);
    assert.equal(resolveOptions({ connectionLimit: 3, minConnections: 3 }).resolved.minConnections, 3);
  });

  test('waitForConnections and resetOnRelease follow mysql2 (Boolean())', () => {
    assert.equal(resolveOptions({ waitForConnections: false }).resolved.waitForConnections, false);
    assert.equal(resolveOptions({ resetOnRelease: true }).resolved.resetOnRelease, true);
  });
});

describe('resolveOptions: keepAliveInitialDelay', () => {
  test('defaulted to 30000 when keepalive is on and unset', () => {
    assert.equal(resolveOptions({}).mysql.keepAliveInitialDelay, 30_000);
    assert.equal(resolveOptions({ enableKeepAlive: true }).mysql.keepAliveInitialDelay, 30_000);
  });

  test('not added when keepalive is disabled', () => {
    const { mysql } = resolveOptions({ enableKeepAlive: false });
    assert.equal(Object.hasOwn(mysql, 'keepAliveInitialDelay'), false);
    assert.equal(mysql.enableKeepAlive, false);
  });

  test("the user's value is kept, including 0", () => {
    assert.equal(resolveOptions({ keepAliveInitialDelay: 5_000 }).mysql.keepAliveInitialDelay, 5_000);
    assert.equal(resolveOptions({ keepAliveInitialDelay: 0 }).mysql.keepAliveInitialDelay, 0);
    assert.equal(resolveOptions({ enableKeepAlive: false, keepAliveInitialDelay: 7 }).mysql.keepAliveInitialDelay, 7);
  });

  test('the input object is not mutated', () => {
    const input: ResilientPoolOptions = { host: 'db', acquireTimeout: 100 };
    const before = { ...input };
    resolveOptions(input);
    assert.deepEqual(input, before);
  });
});

describe('resolveOptions: what mysql2 gets', () => {
  test('a URI string is spread into options as mysql2 does, query parameters included', () => {
    const uri = 'mysql://app:pw@db.example:3307/shop?connectionLimit=3&waitForConnections=false&acquireTimeout=5000';
    const { mysql, resolved } = resolveOptions(uri);
    assert.equal(mysql.host, 'db.example');
    assert.equal(mysql.port, 3307);
    assert.equal(mysql.user, 'app');
    assert.equal(mysql.database, 'shop');
    assert.equal(resolved.connectionLimit, 3);
    assert.equal(resolved.waitForConnections, false);
    assert.equal(resolved.acquireTimeout, 5000);
    assert.equal(Object.hasOwn(mysql, 'acquireTimeout'), false);
  });

  test('a uri key fills in only what the object does not set', () => {
    const { mysql, resolved } = resolveOptions({ uri: 'mysql://app@db/shop?connectionLimit=3', user: 'other' });
    assert.equal(mysql.user, 'other');
    assert.equal(mysql.host, 'db');
    assert.equal(resolved.connectionLimit, 3);
  });

  test('own keys never reach mysql2', () => {
    const { mysql } = resolveOptions({ ...allOwnOptions(), user: 'app' });
    for (const key of OWN_KEYS) assert.equal(Object.hasOwn(mysql, key), false, key);
    // The host list's first host is mysql2's host and port.
    assert.deepEqual(Object.keys(mysql).sort(), ['host', 'keepAliveInitialDelay', 'port', 'user']);
  });

  test("mysql2's keys pass through untouched", () => {
    const typeCast = () => 'x';
    const ssl = { rejectUnauthorized: true };
    const input: ResilientPoolOptions = {
      host: '10.0.0.1',
      port: 3307,
      user: 'u',
      password: 'p',
      database: 'd',
      connectionLimit: 7,
      maxIdle: 3,
      idleTimeout: 1_000,
      queueLimit: 9,
      waitForConnections: false,
      charset: 'utf8mb4',
      connectTimeout: 2_000,
      typeCast,
      ssl,
      namedPlaceholders: true,
      enableKeepAlive: true,
      keepAliveInitialDelay: 1_500,
    };
    const { mysql, resolved } = resolveOptions(input);
    assert.deepEqual(mysql, input);
    assert.equal(mysql.typeCast, typeCast);
    assert.equal(mysql.ssl, ssl);
    assert.equal(resolved.connectionLimit, 7);
    assert.equal(resolved.maxIdle, 3);
    assert.equal(resolved.idleTimeout, 1_000);
    assert.equal(resolved.queueLimit, 9);
    assert.equal(resolved.waitForConnections, false);
  });

  test('an unrelated unknown key passes through (mysql2 warns about it itself)', () => {
    const { mysql } = resolveOptions({ foo: 1, host: 'h' } as ResilientPoolOptions);
    assert.equal((mysql as Record<string, unknown>).foo, 1);
    assert.equal(mysql.host, 'h');
  });

  test('numeric strings are accepted for mysql2 numeric options (as mysql2 does)', () => {
    const { resolved, mysql } = resolveOptions({
      connectionLimit: '5',
      maxIdle: '2',
      idleTimeout: ' 1000 ',
      queueLimit: '0',
    } as unknown as ResilientPoolOptions);
    assert.equal(resolved.connectionLimit, 5);
    assert.equal(resolved.maxIdle, 2);
    assert.equal(resolved.idleTimeout, 1000);
    assert.equal(resolved.queueLimit, 0);
    // mysql2 still gets what the user wrote.
    assert.equal(mysql.connectionLimit, '5' as unknown as number);
  });

  test('numeric strings are rejected for our own options', () => {
    const integers = Object.entries(OWN_OPTIONS).filter(([, spec]) => spec.type === 'integer').map(([name]) => name);
    assert.ok(integers.length >= 9);
    for (const key of integers) {
      throwsNaming(() => resolveOptions({ [key]: '100' } as ResilientPoolOptions), TypeError, key, { code: 'OPTION_INVALID_TYPE', value: '100' });
    }
  });
});

describe('resolveOptions: validation', () => {
  test('every row of the table is validated: wrong type, below the minimum, above the maximum, not an integer', () => {
    for (const [name, spec] of ROWS) {
      if (spec.passThrough || spec.type === 'object') continue;
      const own = Object.hasOwn(OWN_OPTIONS, name);
      const set = (value: unknown) => () => resolveOptions({ [name]: value } as ResilientPoolOptions);
      if (spec.type === 'integer') {
        throwsNaming(set('abc'), TypeError, name, { code: 'OPTION_INVALID_TYPE', value: 'abc' });
        throwsNaming(set({}), TypeError, name, { code: 'OPTION_INVALID_TYPE' });
        throwsNaming(set((spec.min ?? 0) - 1), RangeError, name, { code: 'OPTION_OUT_OF_RANGE', value: (spec.min ?? 0) - 1 });
        throwsNaming(set(2.5), RangeError, name, { code: 'OPTION_OUT_OF_RANGE', value: 2.5 });
        if (spec.min) throwsNaming(set(spec.min - 1), RangeError, name, { code: 'OPTION_OUT_OF_RANGE' });
        if (spec.max !== undefined) {
          throwsNaming(set(spec.max + 1), RangeError, name, { code: 'OPTION_OUT_OF_RANGE', value: spec.max + 1 });
          assert.doesNotThrow(set(spec.max));
        }
      } else if (spec.type === 'boolean' && own) {
        throwsNaming(set(1), TypeError, name, { code: 'OPTION_INVALID_TYPE', value: 1 });
        throwsNaming(set('true'), TypeError, name, { code: 'OPTION_INVALID_TYPE', value: 'true' });
      } else if (spec.type === 'function') {
        throwsNaming(set(42), TypeError, name, { code: 'OPTION_INVALID_TYPE', value: 42 });
      }
    }
  });

  test('options that are neither object nor string: OPTIONS_INVALID', () => {
    assert.throws(
      () => resolveOptions(42 as unknown as string),
      (err: OptionError) => err instanceof TypeError && err.code === 'OPTIONS_INVALID' && err.option === undefined && err.value === 42,
    );
  });

  test('TypeError naming the option for wrong types', () => {
    const cases: [string, unknown][] = [
      ['acquireTimeout', 'abc'],
      ['acquireTimeout', true],
      ['pingTimeout', {}],
      ['maxLifetime', NaN],
      ['maxAttempts', []],
      ['queryTimeout', () => 1],
      ['connectionLimit', 'ten'],
      ['idleTimeout', ''],
      ['maxIdle', false],
      ['assumeIdempotent', 'yes'],
      ['assumeIdempotent', 1],
      ['retryReadsAfterSend', 'false'],
      ['retryReadsAfterSend', 0],
      ['retryReadsAfterSend', {}],
      ['classifyError', 42],
    ];
    for (const [key, value] of cases) {
      throwsNaming(() => resolveOptions({ [key]: value } as ResilientPoolOptions), TypeError, key);
    }
  });

  test('TypeError for options that are neither object nor string', () => {
    assert.throws(() => resolveOptions(42 as unknown as string), TypeError);
    assert.throws(() => resolveOptions(true as unknown as string), TypeError);
  });

  test('RangeError naming the option for negatives and non-integers', () => {
    const cases: [string, unknown][] = [
      ['acquireTimeout', -1],
      ['pingSkipWindow', -500],
      ['maxLifetime', 1.5],
      ['networkIdleTimeout', -1],
      ['minConnections', 0.5],
      ['queryTimeout', Infinity],
      ['endTimeout', -0.1],
      ['connectionLimit', 2.5],
      ['connectionLimit', -1],
      ['idleTimeout', '-5'],
      ['pingTimeout', 0],
      ['pingTimeout', 0.5],
      ['maxAttempts', 0],
      ['maxAttempts', -3],
    ];
    for (const [key, value] of cases) {
      throwsNaming(() => resolveOptions({ [key]: value } as ResilientPoolOptions), RangeError, key);
    }
  });

  test('RangeError when minConnections exceeds connectionLimit', () => {
    throwsNaming(() => resolveOptions({ minConnections: 11 }), RangeError, 'minConnections', { code: 'OPTION_CONFLICT', value: 11 });
    throwsNaming(() => resolveOptions({ connectionLimit: 2, minConnections: 3 }), RangeError, 'minConnections', { code: 'OPTION_CONFLICT' });
  });

  test('a typo of one of our keys throws a TypeError suggesting the right one', () => {
    const typos: [string, string][] = [
      ['pingTimout', 'pingTimeout'],
      ['acquireTimout', 'acquireTimeout'],
      ['aquireTimeout', 'acquireTimeout'],
      ['maxLifeTime', 'maxLifetime'],
      ['maxAttempt', 'maxAttempts'],
      ['minConnection', 'minConnections'],
      ['PingTimeout', 'pingTimeout'],
    ];
    for (const [typo, right] of typos) {
      assert.throws(
        () => resolveOptions({ [typo]: 100 } as ResilientPoolOptions),
        (err: unknown) => {
          assert.ok(err instanceof TypeError, `${typo}: ${String(err)}`);
          assert.ok(err.message.includes(`'${typo}'`), err.message);
          assert.ok(err.message.includes(`'${right}'`), err.message);
          const e = err as OptionError;
          assert.deepEqual([e.code, e.option, e.value, e.suggestion], ['OPTION_UNKNOWN', typo, 100, right]);
          return true;
        },
      );
    }
  });

  test("mysql2's own keys are never taken for typos of ours", () => {
    // idleTimeout/connectTimeout look like our *Timeout options but are mysql2's.
    const { mysql } = resolveOptions({ idleTimeout: 1, connectTimeout: 2, queueLimit: 3, maxIdle: 4 });
    assert.equal(mysql.idleTimeout, 1);
    assert.equal(mysql.connectTimeout, 2);
  });
});

describe('the documentation is generated from the table', () => {
  test("the README's options tables and error codes are what scripts/options-table.ts prints", () => {
    const file = docWithMarkers();
    const text = readFileSync(file, 'utf8');
    for (const [name, body] of Object.entries(generatedSections())) {
      assert.equal(sectionIn(text, name), body, `${file}: section ${name} differs; run: node --import tsx scripts/options-table.ts --write`);
    }
  });

  test('every own option and every error code appears in it; internal rows do not', () => {
    const sections = generatedSections();
    for (const [name, spec] of Object.entries(OWN_OPTIONS)) {
      assert.equal(sections['own-options']!.includes(`| \`${name}\` |`), !('internal' in spec), name);
    }
    for (const code of Object.keys(OPTION_ERROR_CODES)) assert.ok(sections['option-error-codes']!.includes(`\`${code}\``), code);
  });
});

describe('describeConfig', () => {
  test('masks the password and names the override', () => {
    const { resolved, mysql } = resolveOptions({ host: 'db', user: 'app', password: 'hunter2', classifyError: () => undefined });
    const d = describeConfig(resolved, mysql);
    assert.equal(d.password, '***');
    assert.equal(d.user, 'app');
    assert.equal(d.host, 'db');
    assert.equal(d.classifyError, 'custom');
    assert.equal(Object.hasOwn(d, 'clock'), false);
    assert.equal(d.keepAliveInitialDelay, 30_000);
    assert.equal(d.enableKeepAlive, true);
    assert.ok(!JSON.stringify(d).includes('hunter2'));
  });

  test('no password: nothing to mask', () => {
    const { resolved, mysql } = resolveOptions({ host: 'db' });
    const d = describeConfig(resolved, mysql);
    assert.equal(d.password, undefined);
    assert.equal(d.classifyError, 'default');
  });

  test('masks a password in a URI', () => {
    const { resolved, mysql } = resolveOptions({ uri: 'mysql://app:s3cr3t@db.example:3306/shop' });
    const d = describeConfig(resolved, mysql);
    assert.equal(d.uri, 'mysql://app:***@db.example:3306/shop');
    assert.ok(!JSON.stringify(d).includes('s3cr3t'));
  });

  test('masks a password taken from a URI string', () => {
    const { resolved, mysql } = resolveOptions('mysql://app:s3cr3t@db.example:3306/shop');
    const d = describeConfig(resolved, mysql);
    assert.equal(d.password, '***');
    assert.ok(!JSON.stringify(d).includes('s3cr3t'));
  });

  test('a URI without a password is unchanged', () => {
    const { resolved, mysql } = resolveOptions({ uri: 'mysql://app@db/shop' });
    assert.equal(describeConfig(resolved, mysql).uri, 'mysql://app@db/shop');
  });
});

describe('ResilientPool construction does not make mysql2 warn', () => {
  let errors: unknown[][];
  let warnings: unknown[][];
  const originalError = console.error;
  const originalWarn = console.warn;
  beforeEach(() => {
    errors = [];
    warnings = [];
    console.error = (...args: unknown[]) => void errors.push(args);
    console.warn = (...args: unknown[]) => void warnings.push(args);
  });
  afterEach(() => {
    console.error = originalError;
    console.warn = originalWarn;
  });

  function end(pool: ResilientPool): Promise<void> {
    return new Promise((resolve, reject) => pool.end((err) => (err ? reject(err) : resolve())));
  }

  test('only own options (plus host): nothing printed', async () => {
    // minConnections 0: no connection is opened, so no server is needed.
    const { clock: _clock, ...own } = allOwnOptions();
    const pool = new ResilientPool({ ...own, minConnections: 0, hosts: ['127.0.0.1:1', '127.0.0.1:2'] });
    try {
      assert.deepEqual(errors, []);
      assert.deepEqual(warnings, []);
      assert.equal(pool.config.resilience.acquireTimeout, own.acquireTimeout);
      assert.equal(pool.config.resilience.maxAttempts, own.maxAttempts);
      for (const key of OWN_KEYS) assert.equal(Object.hasOwn(pool.config.connectionConfig, key), false, key);
    } finally {
      await end(pool);
    }
    assert.deepEqual(errors, []);
  });

  test('pool.config.connectionLimit set after creation is checked, with the same codes', async () => {
    const pool = new ResilientPool({ host: '127.0.0.1', port: 1, minConnections: 0, connectionLimit: 4 });
    try {
      const expectCode = (value: unknown, code: string) =>
        assert.throws(
          () => void (pool.config.connectionLimit = value as number),
          (err: OptionError) => err instanceof RangeError && err.code === code && err.option === 'connectionLimit' && err.value === value,
        );
      expectCode(-1, 'OPTION_OUT_OF_RANGE');
      expectCode(1.5, 'OPTION_OUT_OF_RANGE');
      expectCode('3', 'OPTION_OUT_OF_RANGE');
      pool.config.connectionLimit = 2;
      assert.equal(pool.config.connectionLimit, 2);
    } finally {
      await end(pool);
    }
    // Below minConnections (a pool with minConnections > 0 would dial at once; the check itself needs no pool).
    assert.equal(checkConnectionLimit(0, 3), 0, '0 is "no limit", not below minConnections');
    assert.throws(() => checkConnectionLimit(2, 3), (err: OptionError) => err.code === 'OPTION_CONFLICT' && err.value === 2);
  });

  test('a URI string: nothing printed', async () => {
    const pool = new ResilientPool('mysql://app:pw@127.0.0.1:1/shop');
    await end(pool);
    assert.deepEqual(errors, []);
  });

  test('control: an unknown key does reach mysql2, which prints its warning', async () => {
    const pool = new ResilientPool({ host: '127.0.0.1', port: 1, foo: 1 } as ResilientPoolOptions);
    await end(pool);
    const printed = errors.map((args) => args.map(String).join(' '));
    assert.equal(printed.filter((line) => line.includes('Ignoring invalid configuration option')).length, 1);
    assert.ok(printed[0]!.includes('foo'));
  });
});

describe('retryReadsAfterSend', () => {
  test('true and false are taken as given; null and undefined mean the default (true)', () => {
    assert.equal(resolveOptions({ retryReadsAfterSend: true }).resolved.retryReadsAfterSend, true);
    assert.equal(resolveOptions({ retryReadsAfterSend: false }).resolved.retryReadsAfterSend, false);
    assert.equal(resolveOptions({ retryReadsAfterSend: undefined }).resolved.retryReadsAfterSend, true);
    assert.equal(resolveOptions({ retryReadsAfterSend: null as unknown as boolean }).resolved.retryReadsAfterSend, true);
  });

  test('is ours: never handed to mysql2, and a typo of it is caught', () => {
    assert.equal(Object.hasOwn(resolveOptions({ retryReadsAfterSend: false }).mysql, 'retryReadsAfterSend'), false);
    assert.throws(() => resolveOptions({ retryReadAfterSend: false } as ResilientPoolOptions), /did you mean 'retryReadsAfterSend'/);
  });

  test('is read from a connection URI like the other options', () => {
    // mysql2's URI parser turns "false" into the boolean.
    const { resolved } = resolveOptions('mysql://u@localhost/db?retryReadsAfterSend=false');
    assert.equal(resolved.retryReadsAfterSend, false);
  });
});
