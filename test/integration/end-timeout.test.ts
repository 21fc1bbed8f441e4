/**
 * `end()` and `endTimeout` against a real server: end() waits for checked-out connections, but not forever. With a
 * connection still held it settles once `endTimeout` has passed (not before), closing that connection (the server
 * sees it go) and ending its loan; a connection released before the deadline lets it settle at once; a query in
 * flight on a held connection finishes first.
 *
 * The bound checked is the one the pool documents and implements: `endTimeout` for the holders, then the sockets'
 * close (at most `pingTimeout` + 1 s) and generic-pool's drain (at most 1 s). endTimeout is shrunk to 600 ms.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createResilientPool, type ResilientPool } from '../../src/index.js';
import { createResilientPool as createPromisePool } from '../../src/promise.js';
import { assertNoHandlesLeft } from '../support/handles.js';
import { checkout } from '../support/pools.js';
import { usePrivateServer } from '../support/private-server.js';
import { bounded, pendingAfter, until } from '../support/wait.js';

const T = { timeout: 30_000 };
const END_TIMEOUT = 600;
const PING_TIMEOUT = 300;
/** endTimeout, then the sockets' close (pingTimeout + 1 s) and generic-pool's drain (1 s): see the file comment. */
const BOUND = END_TIMEOUT + PING_TIMEOUT + 2_000;
const USER = 'rmp_end';

const server = usePrivateServer({ users: [USER] });

function pool(extra: Record<string, unknown> = {}): ResilientPool {
  return createResilientPool({
    ...server.connectionOptions(),
    user: USER,
    connectionLimit: 2,
    endTimeout: END_TIMEOUT,
    pingTimeout: PING_TIMEOUT,
    ...extra,
  });
}

/** Calls end() and resolves with its callback's argument and when it came (ms after the call). */
function timedEnd(p: ResilientPool): Promise<{ err: unknown; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => p.end((err) => resolve({ err, ms: performance.now() - started })));
}

async function threadsOfUser(): Promise<number[]> {
  const rows = await server.admin<Array<{ ID: number }>>('SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?', [USER]);
  return rows.map((r) => Number(r.ID));
}

describe('end() with a connection still checked out', () => {
  test('waits endTimeout for it, then closes it and settles within the bound', T, async () => {
    const p = pool();
    const held = await checkout(p);
    const other = await checkout(p);
    other.release(); // an idle one: closed at once
    const ending = timedEnd(p);
    assert.equal(await pendingAfter(ending, END_TIMEOUT - 150), 'pending', 'end() settled before endTimeout with a connection held');
    const { err, ms } = await bounded(ending, BOUND + 5_000, 'end()');
    assert.equal(err, null);
    assert.ok(ms >= END_TIMEOUT - 5, `end() settled after ${ms.toFixed(0)} ms, before endTimeout (${END_TIMEOUT} ms)`);
    assert.ok(ms <= BOUND, `end() settled after ${ms.toFixed(0)} ms; the bound is ${BOUND} ms`);
    // The held connection was closed: the server no longer has it, and the holder's next query fails.
    await until(async () => (await threadsOfUser()).length === 0, 5_000, "the pool's connections to leave the server");
    const late = await bounded(
      new Promise<Error | null>((resolve) => held.query('SELECT 1', (e) => resolve(e))),
      5_000,
      'a query on the closed connection',
    );
    assert.ok(late instanceof Error, 'a query on a connection end() closed fails');
    held.release(); // the loan was ended: a late release is harmless
  });

  test('settles as soon as the held connection is released, before endTimeout', T, async () => {
    const p = pool({ endTimeout: 10_000 });
    const held = await checkout(p);
    const ending = timedEnd(p);
    assert.equal(await pendingAfter(ending, 200), 'pending', 'end() waits for the held connection');
    const releasedAt = performance.now();
    held.release();
    const { err } = await bounded(ending, 5_000, 'end() after the release');
    assert.equal(err, null);
    assert.ok(performance.now() - releasedAt < 5_000);
    await until(async () => (await threadsOfUser()).length === 0, 5_000, "the pool's connections to leave the server");
  });

  test('a query in flight on a held connection finishes before its connection is closed', T, async () => {
    const p = pool();
    const held = await checkout(p);
    const inFlight = new Promise<{ err: Error | null; rows: unknown }>((resolve) =>
      held.query('SELECT SLEEP(0.2) AS s', (err, rows) => resolve({ err, rows })),
    );
    const ending = timedEnd(p);
    const { err, rows } = await bounded(inFlight, 5_000, 'the query in flight');
    assert.equal(err, null);
    assert.deepEqual(rows, [{ s: 0 }]);
    held.release();
    const ended = await bounded(ending, BOUND + 5_000, 'end()');
    assert.equal(ended.err, null);
    assert.ok(ended.ms < END_TIMEOUT + 1_000 + PING_TIMEOUT, `end() took ${ended.ms.toFixed(0)} ms; the release came at ~200 ms`);
  });

  test('the promise pool: end() resolves within the bound with a connection held', T, async () => {
    const p = createPromisePool({ ...server.connectionOptions(), user: USER, endTimeout: END_TIMEOUT, pingTimeout: PING_TIMEOUT });
    const held = await p.getConnection();
    const started = performance.now();
    const ending = p.end();
    assert.equal(await pendingAfter(ending, END_TIMEOUT - 150), 'pending');
    await bounded(ending, BOUND + 5_000, 'promise end()');
    const ms = performance.now() - started;
    assert.ok(ms >= END_TIMEOUT - 5 && ms <= BOUND, `end() resolved after ${ms.toFixed(0)} ms`);
    held.release();
    await until(async () => (await threadsOfUser()).length === 0, 5_000, "the pool's connections to leave the server");
  });
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
