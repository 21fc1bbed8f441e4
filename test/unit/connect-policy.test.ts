/**
 * The connect policy (src/backoff.ts) as the pool applies it, on a fake clock: while the server is down a caller gets
 * the last connect error only while it is fresh (FRESH_ERROR ms), a later caller dials (one dial at a time, the others
 * join it), and the first caller after the server is back is answered by one connect, whatever the backoff says.
 * Loopback only: a fake MySQL 8 (mysql2's server side) behind the fault proxy, which refuses while "down".
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FRESH_ERROR } from '../../src/backoff.js';
import { ResilientPool } from '../../src/pool.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeMysql8 } from '../support/fake-mysql8.js';
import { FaultProxy } from '../support/proxy.js';

type Err = (Error & { code?: string }) | null;

let fake: FakeMysql8;
let proxy: FaultProxy;

before(async () => {
  fake = await FakeMysql8.start();
  proxy = await FaultProxy.start({ host: fake.host, port: fake.port });
});
after(async () => {
  await proxy?.close();
  await fake?.close();
});

/** Bounded: a call the pool never answers fails the test instead of hanging it. */
function query(pool: ResilientPool, sql: string): Promise<Err> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${sql}: no answer within 5 s`)), 5_000);
    pool.query(sql, (err: Err) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

/** Dials so far: connections opened plus connects that failed. */
function dials(pool: ResilientPool): number {
  const s = pool.stats();
  return s.created + s.connectFailures;
}

describe('connect policy on a fake clock', () => {
  test('down: fresh errors at once, one dial per window shared by concurrent callers; back: the next caller connects', async () => {
    const clock = new FakeClock();
    // maxAttempts 1: each call is one checkout, so every dial is the policy's doing, not a retry's.
    const pool = new ResilientPool({ host: proxy.host, port: proxy.port, user: 'app', password: 'pw', database: 'app', clock, maxAttempts: 1 });
    try {
      let socket: net.Socket | undefined;
      pool.on('connection', (conn) => (socket ??= (conn as unknown as { stream: net.Socket }).stream));
      assert.equal(await query(pool, 'SELECT 1'), null);
      assert.equal(dials(pool), 1);

      await proxy.refuseNew(true);
      // The open connection dies with the server (and the pool has seen it).
      const closed = new Promise((resolve) => socket!.once('close', resolve));
      proxy.resetExisting();
      await closed;
      const first = await query(pool, 'SELECT 1');
      assert.equal(first?.code, 'ECONNREFUSED');
      const afterFirst = dials(pool);

      // Within the window: the same error at once, no dial.
      clock.advance(FRESH_ERROR - 1);
      const within = await Promise.all([1, 2, 3].map(() => query(pool, 'SELECT 1')));
      for (const e of within) assert.equal(e, first, 'the last error, handed out while fresh');
      assert.equal(dials(pool), afterFirst, 'no dial while the error is fresh');

      // Window over, and a backoff that has grown (several failures already): the next callers dial once, together.
      for (let round = 0; round < 5; round++) {
        clock.advance(FRESH_ERROR);
        const before = dials(pool);
        const errs = await Promise.all([1, 2, 3, 4].map(() => query(pool, 'SELECT 1')));
        for (const e of errs) assert.equal(e?.code, 'ECONNREFUSED');
        assert.equal(dials(pool) - before, 1, `round ${round}: one dial for four concurrent callers`);
        assert.equal(new Set(errs).size, 1, `round ${round}: all four got that dial's error`);
      }

      // Back: a caller after the window connects at once (an exponential backoff would still block for up to 2 s).
      await proxy.refuseNew(false);
      clock.advance(FRESH_ERROR);
      const back = await Promise.all([1, 2, 3, 4].map(() => query(pool, 'SELECT 1')));
      assert.deepEqual(back, [null, null, null, null]);
    } finally {
      await proxy.refuseNew(false);
      await new Promise<void>((resolve) => pool.end(() => resolve()));
    }
  });

  test('a caller that arrives while the error is fresh but after the server is back gets that error (at most FRESH_ERROR ms old)', async () => {
    const clock = new FakeClock();
    const pool = new ResilientPool({ host: proxy.host, port: proxy.port, user: 'app', password: 'pw', database: 'app', clock, maxAttempts: 1 });
    try {
      await proxy.refuseNew(true);
      const down = await query(pool, 'SELECT 1');
      assert.equal(down?.code, 'ECONNREFUSED');
      await proxy.refuseNew(false);
      clock.advance(FRESH_ERROR / 2);
      assert.equal(await query(pool, 'SELECT 1'), down);
      clock.advance(FRESH_ERROR / 2);
      assert.equal(await query(pool, 'SELECT 1'), null);
    } finally {
      await proxy.refuseNew(false);
      await new Promise<void>((resolve) => pool.end(() => resolve()));
    }
  });
});
