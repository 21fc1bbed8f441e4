/** Host lists (src/hosts.ts): the three forms, the first host given to mysql2, validation codes, one host = none. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveOptions } from '../../src/options.js';
import { splitMultiHostUri } from '../../src/host-list.js';

test('a multi-host URL: the list, and mysql2 gets the first host', () => {
  const { mysql, resolved } = resolveOptions('mysql://u:p@h1:3306,h2:3307,[::1]/db?connectionLimit=3');
  assert.deepEqual(resolved.hosts, [
    { host: 'h1', port: 3306 },
    { host: 'h2', port: 3307 },
    { host: '::1', port: 3306 },
  ]);
  assert.equal(mysql.host, 'h1');
  assert.equal(mysql.port, 3306);
  assert.equal(mysql.user, 'u');
  assert.equal(resolved.connectionLimit, 3);
  assert.equal(splitMultiHostUri('mysql://u:p@h1:3306,h2/db?x=1').uri, 'mysql://u:p@h1:3306/db?x=1');
  assert.equal(splitMultiHostUri('mysql://u@h1/db').hosts, undefined);
});

test('a comma-separated host and the hosts option; a port left out is `port`', () => {
  assert.deepEqual(resolveOptions({ host: 'a:1,b', port: 3307 }).resolved.hosts, [
    { host: 'a', port: 1 },
    { host: 'b', port: 3307 },
  ]);
  assert.deepEqual(resolveOptions({ hosts: ['a', { host: 'b', port: 2 }] }).resolved.hosts, [
    { host: 'a', port: 3306 },
    { host: 'b', port: 2 },
  ]);
  assert.deepEqual(resolveOptions({ uri: 'mysql://u@x:1,y:2/db' }).resolved.hosts, [
    { host: 'x', port: 1 },
    { host: 'y', port: 2 },
  ]);
});

test('one host is no host list (the pool is unchanged)', () => {
  assert.equal(resolveOptions({ host: 'a', port: 1 }).resolved.hosts, undefined);
  const one = resolveOptions({ hosts: ['only:3310'] });
  assert.equal(one.resolved.hosts, undefined);
  assert.equal(one.mysql.host, 'only');
  assert.equal(one.mysql.port, 3310);
});

test('invalid host lists throw with a code and the option', () => {
  const cases: [unknown, string][] = [
    [{ hosts: 'a,b' }, 'OPTION_INVALID_TYPE'],
    [{ hosts: [42] }, 'OPTION_INVALID_TYPE'],
    [{ hosts: [] }, 'OPTION_OUT_OF_RANGE'],
    [{ hosts: ['a:0'] }, 'OPTION_OUT_OF_RANGE'],
    [{ hosts: ['a:70000'] }, 'OPTION_OUT_OF_RANGE'],
    [{ host: 'a,b:x' }, 'OPTION_OUT_OF_RANGE'],
    [{ hosts: ['a'], host: 'b,c' }, 'OPTION_CONFLICT'],
    [{ hosts: ['a', 'b'], socketPath: '/tmp/s' }, 'OPTION_CONFLICT'],
    [{ hostRecheckInterval: 0 }, 'OPTION_OUT_OF_RANGE'],
    [{ preferFirstHost: 'yes' }, 'OPTION_INVALID_TYPE'],
  ];
  for (const [input, code] of cases) {
    assert.throws(() => resolveOptions(input as never), (err: { code?: string }) => err.code === code, JSON.stringify(input));
  }
});

test('every host refuses: the last host\'s error, intact, with hostErrors naming each host', async () => {
  const { createServer } = await import('node:net');
  const { createResilientPool } = await import('../../src/index.js');
  // Two ports that were just free: nothing listens there, so connects are refused at once.
  const closedPort = () =>
    new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
  const [p1, p2] = [await closedPort(), await closedPort()];
  const pool = createResilientPool({ hosts: [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`], user: 'x', acquireTimeout: 2000 });
  try {
    const err = await new Promise<Error & Record<string, unknown>>((resolve) => pool.query('SELECT 1', (e) => resolve(e as unknown as Error & Record<string, unknown>)));
    assert.equal(err.code, 'ECONNREFUSED');
    assert.match(err.message, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${p2}$`), 'mysql2\'s message, unchanged');
    assert.equal(err.fatal, true);
    const hostErrors = err.hostErrors as Array<Record<string, unknown>>;
    assert.deepEqual(
      hostErrors.map((h) => [h.host, h.port, h.code]),
      [
        ['127.0.0.1', p1, 'ECONNREFUSED'],
        ['127.0.0.1', p2, 'ECONNREFUSED'],
      ],
    );
    assert.match(String(hostErrors[0]!.message), new RegExp(`:${p1}$`));
    assert.doesNotThrow(() => JSON.stringify(err), 'plain data: no cycle back to the error');
  } finally {
    await new Promise((resolve) => pool.end(resolve));
  }
});
