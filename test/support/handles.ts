/**
 * The check every integration file runs last, in its `after()` hook once its pools, proxies and server are closed:
 * the process holds no socket and no timer any more. A pool that leaves a timer or socket behind after `end()` keeps
 * a script alive; a socket whose close never completes makes Node spin at 100% CPU at exit (that was the
 * chaos-network exit hang: see docs/testing.md).
 *
 * `process.getActiveResourcesInfo()` lists what keeps the event loop alive, by type only; the failure message adds
 * what `process._getActiveHandles()` can tell about each socket. Unref'd timers and sockets are not listed (Node
 * does not list them), so pools' background timers are checked by the pool's own tests, not here.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';

/** Resource types of sockets (and their pending requests) and timers; stdio pipes and child processes are not ours. */
const WATCHED = new Set([
  'TCPSocketWrap',
  'TCPServerWrap',
  'TCPConnectWrap',
  'WriteWrap',
  'ShutdownWrap',
  'GetAddrInfoReqWrap',
  'Timeout',
  'Immediate',
]);

function leftovers(): string[] {
  return process.getActiveResourcesInfo().filter((type) => WATCHED.has(type));
}

/** What Node can say about the live sockets, for the failure message. */
function describeSockets(): string[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.flatMap((h) => {
    const s = h as { constructor?: { name?: string }; localPort?: number; remotePort?: number; destroyed?: boolean };
    if (s.constructor?.name !== 'Socket' || s.localPort === undefined) {
      return s.constructor?.name === 'Socket' && s.destroyed ? ['a destroyed socket whose handle is still open'] : [];
    }
    return [`socket ${s.localPort} -> ${s.remotePort ?? '?'}${s.destroyed ? ' (destroyed)' : ''}`];
  });
}

/**
 * Fails unless no socket or timer is left, allowing `ms` (bounded, polled) for sockets that are still closing.
 * Call it last in the file's final `after()` hook, and give that hook no `timeout` option (its timer would count).
 */
export async function assertNoHandlesLeft(ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  let left = leftovers();
  while (left.length > 0 && Date.now() < deadline) {
    // A promise timer: by the time the await resumes it is no longer active itself.
    await delay(20);
    left = leftovers();
  }
  if (left.length === 0) return;
  const counts = new Map<string, number>();
  for (const type of left) counts.set(type, (counts.get(type) ?? 0) + 1);
  const listed = [...counts].map(([type, n]) => `${n} ${type}`).join(', ');
  const sockets = describeSockets();
  assert.fail(
    `after every pool's end() the process still holds ${listed} ${ms} ms later` +
      (sockets.length > 0 ? ` (${sockets.join('; ')})` : ''),
  );
}
