/**
 * Small helpers for the chaos tests: bounded waits, outcome recording for both pool implementations, the server's
 * view of a pool's connections (processlist by user), and holding a close "in flight".
 */
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { TestServer } from './server.js';
import { bounded, settleWithin, until } from './wait.js';

// doctor.test.ts imports it from here.
export { endPool } from './pools.js';

/** What the application can see on an error: mysql2's fields plus the ones this library adds. */
export type AppError = Error & {
  code?: string | number;
  errno?: number;
  fatal?: boolean;
  attempts?: number;
  retryable?: boolean;
  outcomeUnknown?: boolean;
};

/** One call as the application saw it. */
export interface Outcome {
  ok: boolean;
  rows?: any;
  err?: AppError;
  /** From the call to its callback. */
  ms: number;
}

/** mysql2's callback `query` shape, shared by mysql2's Pool and the resilient pool. */
export interface Queryable {
  query(sql: any, cb: (err: any, rows?: any) => void): unknown;
}

/** A mysql2 (Pool)Connection as far as these tests touch it. */
export interface RawConnection {
  threadId: number | null;
  stream: net.Socket;
  on(event: string, fn: (...args: any[]) => void): unknown;
  destroy(): void;
}

/** Runs one pool-level query; never rejects for a query error, only when it does not complete within `within`. */
export function run(pool: Queryable, sql: any, within = 15_000): Promise<Outcome> {
  const started = performance.now();
  const call = new Promise<Outcome>((resolve) => {
    pool.query(sql, (err: AppError | null, rows?: unknown) => {
      const ms = Math.round(performance.now() - started);
      resolve(err ? { ok: false, err, ms } : { ok: true, rows, ms });
    });
  });
  return bounded(call, within, `query ${JSON.stringify(typeof sql === 'string' ? sql : sql.sql)}`);
}

/** Opens `n` connections at once (n concurrent short sleeps) and checks they all worked. */
export async function warm(pool: Queryable, n: number): Promise<void> {
  const outcomes = await Promise.all(Array.from({ length: n }, () => run(pool, 'SELECT SLEEP(0.05) AS s')));
  for (const o of outcomes) assert.ok(o.ok, `warm-up query failed: ${describeError(o.err)}`);
}

/** Every connection the pool opens, with an 'error' listener so a late error can never crash the test process. */
export function trackConnections(pool: EventEmitter): RawConnection[] {
  const list: RawConnection[] = [];
  pool.on('connection', (conn: RawConnection) => {
    conn.on('error', () => undefined);
    list.push(conn);
  });
  return list;
}

/**
 * Holds back everything the server sends on these connections, its FIN included, until the returned function is
 * called. Models a close that is still in flight when the application sends its next query: on loopback a FIN
 * arrives within microseconds, and mysql2 drops a pooled connection whose 'end' it has already seen, so without this
 * the race that bites in production (query sent as the server closes) cannot be reproduced on demand.
 *
 * `socket.pause()` is not enough: Node still reads an EOF while paused and emits 'end' at once when nothing is
 * buffered. Reading is stopped on the socket's handle instead, the way `net.Socket` itself does it, so the FIN stays in
 * the kernel until release. Writes are unaffected.
 */
export function holdIncoming(conns: readonly RawConnection[]): () => void {
  type Handle = { reading: boolean; readStop(): number; readStart(): number };
  const held: Array<{ socket: net.Socket; handle: Handle }> = [];
  for (const c of conns) {
    const socket = c.stream;
    const handle = (socket as unknown as { _handle?: Handle | null })?._handle;
    if (!socket || socket.destroyed || !handle) continue;
    handle.reading = false;
    handle.readStop();
    held.push({ socket, handle });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const { socket, handle } of held) {
      if (socket.destroyed) continue;
      handle.reading = true;
      handle.readStart();
    }
  };
}

/** Resolves after the current macrotask: every write the calls just made (sync, nextTick, promise jobs) has happened. */
export function afterWrites(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Server thread ids of `user`'s connections (the admin connection itself excluded). */
export async function threadsOf(server: TestServer, user: string): Promise<number[]> {
  const rows = await server.admin<Array<{ ID: number }>>(
    'SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()',
    [user],
  );
  return rows.map((r) => Number(r.ID));
}

/** Waits until none of `ids` is on the server's processlist. */
export async function waitThreadsGone(server: TestServer, ids: readonly number[], ms: number): Promise<void> {
  await until(
    async () => {
      const rows = await server.admin<Array<{ ID: number }>>('SELECT ID FROM information_schema.PROCESSLIST');
      const live = new Set(rows.map((r) => Number(r.ID)));
      return ids.every((id) => !live.has(id));
    },
    ms,
    `server threads ${ids.join(', ')} to go`,
  );
}

/** Fails unless every connection of `user` has left the server within `ms`. */
export async function assertNoneLeft(server: TestServer, user: string, ms = 5_000): Promise<void> {
  let left: number[] = [];
  try {
    await until(async () => (left = await threadsOf(server, user)).length === 0, ms, `no connection of ${user} on the server`);
  } catch {
    assert.fail(`${left.length} connection(s) of ${user} still on the server ${ms} ms after pool.end(): threads ${left.join(', ')}`);
  }
}

/**
 * Closes a plain mysql2 pool whatever state its connections are in (mysql2's end() waits for COM_QUIT replies that a
 * hung or blackholed peer never sends, and its destroy() only half-closes): end, then destroy every socket.
 */
export async function closePlainPool(pool: { end(cb: (err?: unknown) => void): void }, conns: readonly RawConnection[]): Promise<void> {
  await settleWithin(new Promise((resolve) => pool.end(() => resolve(undefined))), 1_000, undefined);
  for (const c of conns) c.stream?.destroy();
}

/** Codes (and messages) of a connection that died under a command: what a dead/stale connection looks like to the app. */
export function isConnectionFailure(err: AppError | undefined): boolean {
  if (!err) return false;
  const codes: unknown[] = ['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE', 'ER_CONNECTION_KILLED', 1927, 'ECONNREFUSED'];
  return (
    codes.includes(err.code) ||
    codes.includes(err.errno) ||
    /closed state|ended by the other party|write after end/i.test(err.message)
  );
}

export function describeError(err: AppError | undefined): string {
  if (!err) return '(none)';
  return `${err.code ?? ''}${err.errno !== undefined ? `/${err.errno}` : ''} ${err.message}`.trim();
}

/** Short summary of a batch of outcomes, for diagnostics. */
export function summarize(outcomes: readonly Outcome[]): { ok: number; errors: string[]; maxMs: number } {
  return {
    ok: outcomes.filter((o) => o.ok).length,
    errors: outcomes.filter((o) => !o.ok).map((o) => describeError(o.err)),
    maxMs: Math.max(0, ...outcomes.map((o) => o.ms)),
  };
}

/** Pauses the server; `server.pause()` itself waits (bounded) until every server thread has stopped. */
export async function pauseConfirmed(server: TestServer): Promise<void> {
  server.pause();
}
