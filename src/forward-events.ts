import type { EventEmitter } from 'node:events';

/**
 * Re-emits `events` of `source` on `target`, subscribed to `source` only while `target` has listeners for the event
 * (so a wrapper adds no listener, and keeps nothing alive, that its user did not ask for).
 */
export function forwardEvents(source: EventEmitter, target: EventEmitter, events: readonly string[]): void {
  const relays = new Map<string, (...args: unknown[]) => void>();
  target.on('newListener', (name: string | symbol) => {
    if (typeof name !== 'string' || !events.includes(name) || relays.has(name)) return;
    const relay = (...args: unknown[]) => target.emit(name, ...args);
    relays.set(name, relay);
    source.on(name, relay);
  });
  target.on('removeListener', (name: string | symbol) => {
    if (typeof name !== 'string' || !relays.has(name) || target.listenerCount(name) > 0) return;
    source.removeListener(name, relays.get(name)!);
    relays.delete(name);
  });
}
