import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { createResilientPool } from '../../src/index.js';
import { createResilientPool as createPromisePool } from '../../src/promise.js';

const server = usePrivateServer();

after(async () => {
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

interface Leak {
  connection: unknown;
  heldFor: number;
  stack: string;
}

describe('leak detection', { timeout: 20_000 }, () => {
  test('a connection held past the threshold is reported once, with the stack of getConnection', async () => {
    const pool = createResilientPool({ ...server.connectionOptions(), leakDetectionThreshold: 100 });
    const leaks: Leak[] = [];
    pool.on('leak', (l: Leak) => leaks.push(l));
    try {
      const conn = await new Promise<import('mysql2').PoolConnection>(function checkoutForLeakTest(resolve, reject) {
        pool.getConnection((err, c) => (err ? reject(err) : resolve(c)));
      });
      const [leak] = (await once(pool, 'leak')) as [Leak];
      assert.equal(leak.connection, conn);
      assert.ok(leak.heldFor >= 100, `heldFor ${leak.heldFor}`);
      assert.match(leak.stack, /leaks\.test\.ts/);
      assert.equal(pool.stats().leaks, 1);
      // Once per checkout: a further wait of two thresholds adds nothing.
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(leaks.length, 1);
      conn.release();
    } finally {
      await new Promise((r) => pool.end(r));
    }
  });

  test('released in time: nothing is reported; off by default', async () => {
    const watched = createResilientPool({ ...server.connectionOptions(), leakDetectionThreshold: 200 }).promise();
    const unwatched = createPromisePool({ ...server.connectionOptions() });
    let reported = 0;
    watched.on('leak', () => reported++);
    unwatched.on('leak', () => reported++);
    try {
      const a = await watched.getConnection();
      a.release();
      const b = await unwatched.getConnection();
      // Held longer than the other pool's threshold, but this pool does not watch.
      await new Promise((r) => setTimeout(r, 300));
      b.release();
      assert.equal(reported, 0);
      assert.equal(watched.stats().leaks, 0);
      assert.equal(unwatched.stats().leaks, 0);
    } finally {
      await watched.end();
      await unwatched.end();
    }
  });
});
