/**
 * `maxLifetime` against a real server: a connection is closed once it reaches its age (jittered down by at most
 * 2.5 %), whether it sits idle (the eviction run, every second, or the next checkout) or not, and never while it is
 * checked out: a held connection past its age keeps working and is closed when it is released, never handed out
 * again. The server confirms each close (the thread leaves its processlist).
 *
 * The lifetime is shrunk to 1.5 s; the holds below last past it for real (the connection's age is the input).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import type { PoolConnection } from 'mysql2';
import type { ResilientPool } from '../../src/index.js';
import { assertNoHandlesLeft } from '../support/handles.js';
import { checkout, poolMaker } from '../support/pools.js';
import { usePrivateServer } from '../support/private-server.js';
import { bounded, delay, pendingAfter, until } from '../support/wait.js';

const T = { timeout: 30_000 };
const LIFETIME = 1_500;
/** The shortest age the jitter allows (src/limits.ts: minus up to 2.5 %). */
const SHORTEST = Math.floor(LIFETIME * 0.975);
/** Idle connections past their age are closed by the eviction run, which runs every second. */
const EVICTION_RUN = 1_000;
const USER = 'rmp_lifetime';

const server = usePrivateServer({ users: [USER] });

const { pool, endAll } = poolMaker(() => ({ ...server.connectionOptions(), user: USER, connectionLimit: 1, maxLifetime: LIFETIME }));

function connectionId(conn: PoolConnection): Promise<number> {
  return bounded(
    new Promise((resolve, reject) =>
      conn.query('SELECT CONNECTION_ID() AS id', (err, rows) => (err ? reject(err) : resolve(Number((rows as Array<{ id: number }>)[0]!.id)))),
    ),
    10_000,
    'SELECT CONNECTION_ID()',
  );
}

async function onServer(threadId: number): Promise<boolean> {
  const rows = await server.admin<unknown[]>('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?', [threadId]);
  return rows.length > 0;
}

/** Resolves with the reason and time (performance.now()) of the pool's next 'evict' for `threadId`. */
function nextEvict(p: ResilientPool, threadId: number): Promise<{ reason: string; at: number }> {
  return new Promise((resolve) => {
    const listener = (conn: PoolConnection, reason: string) => {
      if (conn.threadId !== threadId) return;
      p.off('evict', listener);
      resolve({ reason, at: performance.now() });
    };
    p.on('evict', listener);
  });
}

describe('maxLifetime', () => {
  after(endAll);

  test('an idle connection is closed at its age, not before, and the next checkout gets a new one', T, async () => {
    const p = pool();
    const asked = performance.now(); // the connection is created after this
    const opened = once(p, 'connection');
    const conn = await checkout(p);
    await opened;
    const openedAt = performance.now();
    const id = await connectionId(conn);
    assert.equal(conn.threadId, id);
    const evicted = nextEvict(p, id);
    conn.release();

    const { reason, at } = await bounded(evicted, LIFETIME + EVICTION_RUN + 5_000, 'the lifetime close');
    assert.equal(reason, 'lifetime');
    assert.ok(at - asked >= SHORTEST, `closed ${(at - asked).toFixed(0)} ms after it was asked for: before its age (${SHORTEST}-${LIFETIME} ms)`);
    // Closed by the eviction run within a run of its age (plus slack for a loaded machine), not left open.
    assert.ok(at - openedAt <= LIFETIME + EVICTION_RUN + 1_000, `closed ${(at - openedAt).toFixed(0)} ms after it opened`);
    await until(async () => !(await onServer(id)), 5_000, `thread ${id} to leave the server`);

    const next = await checkout(p);
    assert.notEqual(await connectionId(next), id, 'a new connection');
    next.release();
  });

  test('a held connection past its age keeps working, is never closed while held, and is closed on release', T, async () => {
    const p = pool();
    const conn = await checkout(p);
    const id = await connectionId(conn);
    const evicted = nextEvict(p, id);

    // Held past its age and past an eviction run: nothing closes it.
    assert.equal(await pendingAfter(evicted, LIFETIME + EVICTION_RUN + 200), 'pending', 'closed while held');
    assert.equal(await connectionId(conn), id, 'the held connection still answers, on the same server thread');
    assert.ok(await onServer(id));

    conn.release();
    const { reason } = await bounded(evicted, 5_000, 'the close on release');
    assert.equal(reason, 'lifetime');
    await until(async () => !(await onServer(id)), 5_000, `thread ${id} to leave the server`);
    const next = await checkout(p);
    assert.notEqual(await connectionId(next), id, 'never handed out again');
    next.release();
  });

  test('checked out again and again before its age, then not after it', T, async () => {
    const p = pool();
    const first = await checkout(p);
    const id = await connectionId(first);
    first.release();
    // Reused while young (a checkout a moment after each release).
    for (let i = 0; i < 3; i++) {
      const again = await checkout(p);
      assert.equal(await connectionId(again), id, `reuse ${i + 1} before its age`);
      again.release();
    }
    await delay(LIFETIME + 100); // the input: age (a checkout may come before the eviction run does)
    const old = await checkout(p);
    assert.notEqual(await connectionId(old), id, 'past its age: a new connection');
    old.release();
    await until(async () => !(await onServer(id)), 5_000, `the old connection (thread ${id}) to leave the server`);
  });
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
