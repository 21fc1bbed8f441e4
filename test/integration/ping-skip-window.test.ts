/**
 * The pre-ping skip window against a real server: a checkout pings (COM_PING) a connection only when it was last
 * used (released) more than `pingSkipWindow` ago. Brand-new connections and ones released a moment ago go out
 * without a round trip; one that sat idle longer is pinged once. `pingSkipWindow: 0` pings every reuse.
 *
 * The pings are counted on the wire, by the TCP proxy between the pool and the server (it reads every command's
 * first byte), not by the pool's own bookkeeping. The window is shrunk to 1 s: "a moment ago" is a few milliseconds
 * even on a loaded machine, and the idle case waits the window out for real (that idle time is the test's input).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PoolConnection } from 'mysql2';
import { assertNoHandlesLeft } from '../support/handles.js';
import { checkout, poolMaker } from '../support/pools.js';
import { usePrivateServer } from '../support/private-server.js';
import { FaultProxy } from '../support/proxy.js';
import { bounded, delay } from '../support/wait.js';

const T = { timeout: 30_000 };
const COM_PING = 0x0e;
const WINDOW = 1_000;

const server = usePrivateServer();
let proxy: FaultProxy;
before(async () => {
  proxy = await FaultProxy.start(server);
});
after(async () => {
  await proxy?.close();
});

const { pool, endAll } = poolMaker(() => ({
  ...server.connectionOptions(),
  host: proxy.host,
  port: proxy.port,
  connectionLimit: 1,
  pingSkipWindow: WINDOW,
}));

function select1(conn: PoolConnection): Promise<void> {
  return bounded(
    new Promise((resolve, reject) => conn.query('SELECT 1', (err) => (err ? reject(err) : resolve()))),
    10_000,
    'SELECT 1',
  );
}

/** COM_PINGs the proxy forwarded while `fn` ran. */
async function pingsDuring<T>(fn: () => Promise<T>): Promise<{ pings: number; value: T }> {
  const before = proxy.commandsSeen(COM_PING);
  const value = await fn();
  return { pings: proxy.commandsSeen(COM_PING) - before, value };
}

describe('pingSkipWindow', () => {
  after(endAll);

  test('a brand-new connection is not pinged', T, async () => {
    const p = pool();
    const { pings, value: conn } = await pingsDuring(() => checkout(p));
    assert.equal(pings, 0);
    await select1(conn);
    conn.release();
  });

  test('a connection released a moment ago is handed out again without a ping', T, async () => {
    const p = pool();
    const first = await checkout(p);
    await select1(first);
    first.release();
    for (let i = 0; i < 5; i++) {
      const { pings, value: again } = await pingsDuring(() => checkout(p));
      assert.equal(again.threadId, first.threadId, 'the same connection');
      assert.equal(pings, 0, `checkout ${i + 1}, a moment after the release: no ping`);
      await select1(again);
      again.release();
    }
  });

  test('the window counts from the release, not the checkout: held longer than the window, reused at once, no ping', T, async () => {
    const p = pool();
    const conn = await checkout(p);
    await delay(WINDOW + 200); // the input: held longer than the window
    await select1(conn);
    conn.release();
    const { pings, value: again } = await pingsDuring(() => checkout(p));
    assert.equal(again.threadId, conn.threadId);
    assert.equal(pings, 0);
    again.release();
  });

  test('a connection idle longer than the window is pinged once, then handed out', T, async () => {
    const p = pool();
    const conn = await checkout(p);
    await select1(conn);
    conn.release();
    await delay(WINDOW + 200); // the input: idle time past the window
    const { pings, value: again } = await pingsDuring(() => checkout(p));
    assert.equal(pings, 1, 'one COM_PING before the hand-out');
    assert.equal(again.threadId, conn.threadId, 'the ping succeeded: the same connection');
    // Just used (the ping does not count as use; the release does): the next checkout skips the ping again.
    again.release();
    const { pings: next, value: third } = await pingsDuring(() => checkout(p));
    assert.equal(next, 0);
    third.release();
  });

  test('pingSkipWindow 0: every reuse is pinged, even a moment after the release', T, async () => {
    const p = pool({ pingSkipWindow: 0 });
    const first = await checkout(p);
    first.release();
    for (let i = 0; i < 3; i++) {
      const { pings, value: again } = await pingsDuring(() => checkout(p));
      assert.equal(again.threadId, first.threadId);
      assert.equal(pings, 1, `reuse ${i + 1}: one ping`);
      again.release();
    }
  });

  test('pool.query() follows the same rule', T, async () => {
    const p = pool();
    const query = () =>
      bounded(
        new Promise<void>((resolve, reject) => p.query('SELECT 1', (err) => (err ? reject(err) : resolve()))),
        10_000,
        'pool.query',
      );
    assert.equal((await pingsDuring(query)).pings, 0, 'new connection');
    assert.equal((await pingsDuring(query)).pings, 0, 'used a moment ago');
    await delay(WINDOW + 200); // the input: idle time past the window
    assert.equal((await pingsDuring(query)).pings, 1, 'idle past the window');
  });
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
