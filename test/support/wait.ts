/**
 * Bounded waits for tests, written once. Every wait here has a limit and fails naming what it waited for; none of
 * them is a way to synchronise on time: await the event when there is one, and poll (`until`) only for state that
 * has no event (the server's processlist, a status counter).
 *
 * Each timer is cleared as soon as the wait is over, so a finished wait leaves nothing for `assertNoHandlesLeft()`.
 */

/** A plain timer promise. For pacing a poll or letting real time pass on purpose, never to wait for an event. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves like `promise`; rejects with an error naming `what` if it has not settled within `ms`. */
export function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the promise's value, or with `fallback` once `ms` have passed (for asserting that something hangs). */
export function settleWithin<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** 'pending' if the promise has not settled after `ms`, else 'settled' (a rejection counts as settled). */
export function pendingAfter(promise: Promise<unknown>, ms: number): Promise<'pending' | 'settled'> {
  const settled = promise.then(
    () => 'settled' as const,
    () => 'settled' as const,
  );
  return settleWithin(settled, ms, 'pending' as const);
}

/** Polls `check` (sync or async) every `every` ms until it is true; fails naming `what` once `ms` have passed. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string, every = 20): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(every);
  }
}
