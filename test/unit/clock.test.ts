/**
 * The process-lifetime rule on the clock: a timer keeps the process alive exactly while a caller waits on it. The
 * system clock's two kinds of timer, the fake clock's bookkeeping, and the pool's timers on the fake clock while a
 * pool-level query against a port where nothing listens retries and then fails (loopback, no server).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { ResilientPool } from '../../src/pool.js';
import { FakeClock } from '../support/fake-clock.js';
import { freePort } from '../support/server.js';

/** The next 'retry' event (events.once would also listen for 'error', which the pool emits only to listeners). */
function nextRetry(pool: ResilientPool): Promise<void> {
  return new Promise((resolve) => pool.once('retry', () => resolve()));
}

describe('systemClock', () => {
  test('setTimeout keeps the process alive; setBackgroundTimeout does not', () => {
    const fg = systemClock.setTimeout(() => {}, 60_000);
    const bg = systemClock.setBackgroundTimeout(() => {}, 60_000);
    try {
      assert.equal(fg.hasRef(), true);
      assert.equal(bg.hasRef(), false);
      fg.unref();
      bg.ref();
      assert.equal(fg.hasRef(), false);
      assert.equal(bg.hasRef(), true);
    } finally {
      systemClock.clearTimeout(fg);
      systemClock.clearTimeout(bg);
    }
  });

  test('clearTimeout stops a timer of either kind', async () => {
    let fired = 0;
    systemClock.clearTimeout(systemClock.setTimeout(() => fired++, 0));
    systemClock.clearTimeout(systemClock.setBackgroundTimeout(() => fired++, 0));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(fired, 0);
  });
});

describe('FakeClock', () => {
  test('fires due timers in order, each at its own time, including ones they set', () => {
    const clock = new FakeClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setBackgroundTimeout(() => {
      seen.push(`a@${clock.now()}`);
      clock.setTimeout(() => seen.push(`c@${clock.now()}`), 5);
    }, 10);
    const late = clock.setTimeout(() => seen.push('late'), 100);
    clock.advance(50);
    assert.deepEqual(seen, ['a@10', 'c@15', 'b@20']);
    assert.equal(clock.now(), 50);
    assert.deepEqual(clock.pending(), [late]);
  });

  test('holding() lists the pending timers that keep the process alive', () => {
    const clock = new FakeClock(0);
    const fg = clock.setTimeout(() => {}, 10);
    const bg = clock.setBackgroundTimeout(() => {}, 10);
    assert.deepEqual(clock.holding(), [fg]);
    bg.ref();
    fg.unref();
    assert.deepEqual(clock.holding(), [bg]);
    clock.clearTimeout(bg);
    assert.deepEqual(clock.holding(), []);
  });
});

describe('pool timers and the process lifetime', () => {
  test('a query waiting for a retry holds the process; once it has its answer nothing does', async () => {
    const clock = new FakeClock();
    const port = await freePort();
    const pool = new ResilientPool({ host: '127.0.0.1', port, user: 'nobody', clock, maxAttempts: 3 });
    try {
      let answer: (Error & { code?: string }) | null | undefined;
      const answered = new Promise<void>((resolve) =>
        pool.query('SELECT 1', (err) => {
          answer = err;
          resolve();
        }),
      );
      // Waiting for a connection: the acquire deadline holds the process.
      assert.equal(clock.holding().length, 1);
      for (let retry = 1; retry <= 2; retry++) {
        await nextRetry(pool);
        // Waiting out the retry's backoff: that timer holds the process, the (shared) acquire deadline no longer does.
        const holding = clock.holding();
        assert.equal(holding.length, 1, `retry ${retry}: one timer holds the process`);
        assert.ok(holding[0]!.at - clock.now() <= 300, `retry ${retry}: it is the backoff, not the 10 s deadline`);
        clock.advance(300);
      }
      await answered;
      assert.equal(answer?.code, 'ECONNREFUSED');
      assert.deepEqual(clock.holding(), [], 'nothing holds the process once the caller has its answer');
      assert.ok(clock.pending().length >= 1, 'the acquire deadline timer stays armed, unref\'d');
    } finally {
      await new Promise<void>((resolve) => pool.end(() => resolve()));
    }
  });

  test('a query that fails fast leaves nothing holding the process', async () => {
    const clock = new FakeClock();
    const port = await freePort();
    const pool = new ResilientPool({ host: '127.0.0.1', port, user: 'nobody', clock, maxAttempts: 1 });
    try {
      const err = await new Promise<Error | null>((resolve) => pool.query('SELECT 1', (e) => resolve(e)));
      assert.equal((err as { code?: string }).code, 'ECONNREFUSED');
      assert.deepEqual(clock.holding(), []);
    } finally {
      await new Promise<void>((resolve) => pool.end(() => resolve()));
    }
  });
});
