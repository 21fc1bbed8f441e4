import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff, FRESH_ERROR } from '../../src/backoff.js';

const one = () => 1;
const zero = () => 0;

function delays(random: () => number, n: number): number[] {
  const b = new Backoff();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(b.failed(new Error(`fail ${i}`), 0, random));
  return out;
}

describe('Backoff delays', () => {
  test('random 1: the full ceiling, 100 ms doubling to a 2 s cap', () => {
    assert.deepEqual(delays(one, 8), [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  });

  test('random 0: half the ceiling', () => {
    assert.deepEqual(delays(zero, 7), [50, 100, 200, 400, 800, 1000, 1000]);
  });

  test('random 0.5: three quarters, rounded', () => {
    assert.deepEqual(delays(() => 0.5, 3), [75, 150, 300]);
  });

  test('stays capped after many failures (no overflow)', () => {
    const d = delays(one, 100);
    assert.equal(d[99], 2000);
    assert.ok(d.every((x) => x >= 50 && x <= 2000));
  });
});

describe('Backoff windows', () => {
  test('fresh: connect at once, nothing to fail fast with, no wait, no last error', () => {
    const b = new Backoff();
    assert.deepEqual(b.next(0, false), { do: 'connect' });
    assert.equal(b.failFast(0, false), undefined);
    assert.equal(b.waitFor(0), 0);
    assert.equal(b.lastError(0, 1e9), undefined);
  });

  test('waitFor (how long a retry waits): the exponential delay, and at least until the error is stale', () => {
    const b = new Backoff();
    b.failed(new Error('x'), 1_000, zero); // delay 50 ms, shorter than FRESH_ERROR
    assert.equal(b.waitFor(1_000), FRESH_ERROR);
    assert.equal(b.waitFor(1_060), FRESH_ERROR - 60);
    assert.equal(b.waitFor(1_000 + FRESH_ERROR), 0);
    b.failed(new Error('y'), 2_000, one); // delay 200 ms
    assert.equal(b.waitFor(2_000), 200);
    assert.equal(b.waitFor(2_150), 50);
    assert.equal(b.waitFor(5_000), 0);
  });

  test('lastError within the window only', () => {
    const b = new Backoff();
    const err = new Error('x');
    b.failed(err, 1_000, one);
    assert.equal(b.lastError(1_000, 0), err);
    assert.equal(b.lastError(1_500, 500), err);
    assert.equal(b.lastError(1_501, 500), undefined);
  });

  test('succeeded() resets the wait and the growth', () => {
    const b = new Backoff();
    for (let i = 0; i < 5; i++) b.failed(new Error('x'), 0, one);
    assert.equal(b.waitFor(0), 1600);
    b.succeeded();
    assert.equal(b.waitFor(0), 0);
    assert.equal(b.failFast(0, false), undefined);
    assert.deepEqual(b.next(0, false), { do: 'connect' });
    // The next failure starts from the bottom again.
    assert.equal(b.failed(new Error('y'), 10, one), 100);
    assert.equal(b.waitFor(10), 100);
  });
});

describe('Connect policy while the server is down (nothing open or opening)', () => {
  test('the last error is handed out while it is fresh, then the next caller dials', () => {
    const b = new Backoff();
    const err = new Error('ECONNREFUSED');
    // At the cap: a plain backoff would keep failing for up to 2 s.
    for (let i = 0; i < 10; i++) b.failed(err, 1_000, one);
    assert.deepEqual(b.next(1_000, false), { do: 'fail', error: err });
    assert.equal(b.failFast(1_000, false), err);
    assert.equal(b.failFast(1_000 + FRESH_ERROR - 1, false), err);
    assert.deepEqual(b.next(1_000 + FRESH_ERROR - 1, false), { do: 'fail', error: err });
    assert.equal(b.failFast(1_000 + FRESH_ERROR, false), undefined);
    assert.deepEqual(b.next(1_000 + FRESH_ERROR, false), { do: 'connect' });
  });

  test('mayFailFast is false whenever failFast cannot return an error (the pool skips the call then)', () => {
    const b = new Backoff();
    assert.equal(b.mayFailFast(), false, 'nothing failed yet');
    b.failed(new Error('ECONNREFUSED'), 1_000, one);
    assert.equal(b.mayFailFast(), true);
    assert.ok(b.failFast(1_000, false));
    b.started();
    assert.equal(b.mayFailFast(), false, 'an attempt in flight: callers join it');
    assert.equal(b.failFast(1_000, false), undefined);
    b.succeeded();
    assert.equal(b.mayFailFast(), false, 'a connect succeeded');
    assert.equal(b.failFast(1_000, false), undefined);
  });

  test('one attempt in flight: later creates join it, and get its outcome', async () => {
    const b = new Backoff();
    b.failed(new Error('old'), 0, one);
    assert.equal(b.next(500, false).do, 'connect');
    b.started();
    // A caller arriving now waits for the attempt rather than failing or dialing.
    assert.equal(b.failFast(510, true), undefined);
    assert.equal(b.failFast(510, false), undefined);
    const joined = b.next(510, true);
    assert.equal(joined.do, 'join');
    const again = b.next(520, true);
    assert.equal(again.do, 'join');
    const fresh = new Error('fresh');
    b.failed(fresh, 530, one);
    await (joined as { settled: Promise<void> }).settled;
    await (again as { settled: Promise<void> }).settled;
    // The joiners' next step: the fresh error (nothing open or opening any more).
    assert.deepEqual(b.next(531, false), { do: 'fail', error: fresh });
  });

  test('an attempt that succeeds lets the joiners dial at once', async () => {
    const b = new Backoff();
    b.failed(new Error('old'), 0, one);
    b.started();
    const joined = b.next(500, true);
    assert.equal(joined.do, 'join');
    b.succeeded();
    await (joined as { settled: Promise<void> }).settled;
    assert.deepEqual(b.next(501, true), { do: 'connect' });
  });

  test('attempts started together before a failure was known: the rest are joined, not added to', () => {
    const b = new Backoff();
    b.started();
    b.started();
    b.started();
    b.failed(new Error('first'), 10, one);
    assert.equal(b.next(11, true).do, 'join');
    assert.equal(b.failFast(11, false), undefined);
    b.failed(new Error('second'), 12, one);
    b.failed(new Error('third'), 13, one);
    assert.equal(b.next(14, false).do, 'fail');
  });

  test('callers every 10 ms through a 5 s outage: at most ~10 dials a second, first success one window after the server is back', () => {
    const b = new Backoff();
    const refused = new Error('ECONNREFUSED');
    const downFrom = 1_000;
    const backAt = 6_003;
    let dials = 0;
    let firstSuccess: number | undefined;
    let errorsAfterBack = 0;
    // Dials fail or succeed at once here (a refused port); the pool's integration test covers slow ones.
    for (let now = 0; now < 8_000 && firstSuccess === undefined; now += 10) {
      const step = b.next(now, false);
      if (step.do === 'fail') {
        if (now >= backAt) errorsAfterBack++;
        continue;
      }
      assert.equal(step.do, 'connect', `at ${now}: ${step.do}`);
      b.started();
      if (now >= downFrom) dials++;
      if (now >= downFrom && now < backAt) b.failed(refused, now);
      else {
        b.succeeded();
        if (now >= backAt) firstSuccess = now;
      }
    }
    assert.ok(dials <= Math.ceil(((backAt - downFrom) / 1000) * (1000 / FRESH_ERROR)) + 1, `${dials} dials`);
    assert.ok(firstSuccess !== undefined && firstSuccess - backAt <= FRESH_ERROR + 10, `first success at ${firstSuccess}`);
    assert.ok(errorsAfterBack <= FRESH_ERROR / 10, `${errorsAfterBack} errors after the server was back`);
  });
});

describe('Connect policy with nothing failing', () => {
  test('no connection open (start, or the server just died): the first dial goes alone, the rest join it', async () => {
    const b = new Backoff();
    assert.deepEqual(b.next(0, false), { do: 'connect' });
    b.started();
    const joined = b.next(1, false);
    assert.equal(joined.do, 'join');
    b.succeeded();
    await (joined as { settled: Promise<void> }).settled;
    // It worked: the rest dial in parallel.
    assert.deepEqual(b.next(2, true), { do: 'connect' });
    b.started();
    assert.deepEqual(b.next(2, true), { do: 'connect' });
  });
});

describe('Connect policy after a connection was lost (the server may be gone)', () => {
  test('connections open, nothing failed yet: one dial at a time until one succeeds, then parallel again', async () => {
    const b = new Backoff();
    b.doubt();
    assert.deepEqual(b.next(0, true), { do: 'connect' });
    b.started();
    const joined = b.next(1, true);
    assert.equal(joined.do, 'join', 'a second dial while the first is in flight waits for it');
    b.succeeded();
    await (joined as { settled: Promise<void> }).settled;
    assert.deepEqual(b.next(2, true), { do: 'connect' });
    b.started();
    assert.deepEqual(b.next(2, true), { do: 'connect' }, 'the dial succeeded: growth is parallel again');
  });
  test('a failed dial keeps the doubt (failures rule), a success clears both', () => {
    const b = new Backoff();
    b.doubt();
    b.started();
    b.failed(new Error('refused'), 0, () => 1);
    b.started();
    assert.equal(b.next(500, true).do, 'join');
    b.succeeded();
    b.started();
    assert.deepEqual(b.next(501, true), { do: 'connect' });
  });
});

describe('Connect policy with connections open or opening (degraded, e.g. ER_CON_COUNT_ERROR)', () => {
  test('callers wait for those connections; a new dial only after the exponential backoff', () => {
    const b = new Backoff();
    const full = new Error('ER_CON_COUNT_ERROR');
    b.failed(full, 1_000, one); // 100 ms
    assert.equal(b.failFast(1_000, true), undefined, 'never fail fast while connections exist');
    assert.deepEqual(b.next(1_010, true), { do: 'wait', ms: 90 });
    assert.deepEqual(b.next(1_100, true), { do: 'connect' });
    b.failed(full, 1_100, one); // 200 ms
    assert.deepEqual(b.next(1_250, true), { do: 'wait', ms: 50 });
    // The last connection went away: the (fresh) error is the answer.
    assert.deepEqual(b.next(1_150, false), { do: 'fail', error: full });
  });
});
