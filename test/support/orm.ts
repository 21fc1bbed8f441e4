/**
 * Shared by the ORM and query-builder tests (Kysely, Drizzle, Knex, TypeORM): bounded waits, and killing a
 * pool's connections on the server the way an admin or a watchdog would, waiting until both the server and the
 * client have seen each kill. Every test file connects as its own server user, so the processlist shows exactly
 * that file's connections.
 */
import assert from 'node:assert/strict';
import type { TestServer } from './server.js';
import { until } from './wait.js';

export interface TrackedConnection {
  threadId: number | null;
  stream: { destroyed: boolean; readableEnded: boolean };
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Processlist helpers for one test file's server user; `server` is read when called (it starts in `before`). */
export function killer(server: () => TestServer, USER: string) {
  /** The user's connections on the server: thread id and command ('Sleep' when idle). */
  async function serverThreads(): Promise<Array<{ id: number; command: string }>> {
    const rows = await server().admin<Array<{ ID: number; COMMAND: string }>>(
      'SELECT ID, COMMAND FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()',
      [USER],
    );
    return rows.map((r) => ({ id: Number(r.ID), command: r.COMMAND }));
  }

  /**
   * Kills every connection of the pool on the server (all must be idle), waits until the processlist no longer shows
   * them and until the client has read the close on each socket. Returns the killed thread ids.
   */
  async function killIdleConnections(conns: readonly TrackedConnection[]): Promise<number[]> {
    // The server marks a thread 'Sleep' just after sending the last reply, so a query the client has seen finish may
    // still show as 'Query' for a moment.
    let threads: Array<{ id: number; command: string }> = [];
    await until(
      async () => (threads = await serverThreads()).every((t) => t.command === 'Sleep'),
      5_000,
      'every connection of the pool to be idle',
    );
    assert.ok(threads.length > 0, 'the pool has a connection to kill');
    const ids = threads.map((t) => t.id);
    for (const id of ids) await server().admin(`KILL ${id}`);
    await until(
      async () => {
        const live = new Set((await serverThreads()).map((t) => t.id));
        return ids.every((id) => !live.has(id));
      },
      10_000,
      `killed threads ${ids.join(', ')} to leave the processlist`,
    );
    const killed = conns.filter((c) => c.threadId !== null && ids.includes(c.threadId));
    assert.equal(killed.length, ids.length, 'every killed thread is a connection of this pool');
    await until(() => killed.every((c) => c.stream.destroyed || c.stream.readableEnded), 5_000, 'the client to see the kills');
    return ids;
  }

  /** Kills one (busy, held) connection of the pool; waits until it is off the processlist and the client saw it. */
  async function killHeldConnection(conns: readonly TrackedConnection[], threadId: number): Promise<void> {
    const conn = conns.find((c) => c.threadId === threadId);
    assert.ok(conn, `thread ${threadId} is a connection of this pool`);
    await server().admin(`KILL ${threadId}`);
    await until(
      async () => !(await serverThreads()).some((t) => t.id === threadId),
      10_000,
      `killed thread ${threadId} to leave the processlist`,
    );
    await until(() => conn.stream.destroyed || conn.stream.readableEnded, 5_000, 'the client to see the kill');
  }

  return { serverThreads, killIdleConnections, killHeldConnection };
}
