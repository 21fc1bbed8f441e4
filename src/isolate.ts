import { EventEmitter } from 'node:events';

/**
 * User code (event listeners, callbacks, the `classifyError` option) runs
 * isolated from the pool: whatever it throws, the pool's state and the answer
 * a caller gets stay the same. The exception is rethrown on the next tick,
 * outside the pool's stack, so it surfaces as an uncaught exception (as a
 * throwing listener of a plain EventEmitter's would), never as an unhandled
 * rejection, even when the pool was running inside a promise continuation.
 */
export function rethrowLater(err: unknown): void {
  process.nextTick(throwIt, err);
}

function throwIt(err: unknown): never {
  throw err;
}

/**
 * `emitter.emit(event, ...args)` with each listener isolated: one that throws
 * neither stops the others nor the emitting code. With no listener it is
 * EventEmitter's emit (an unheard 'error' still throws).
 */
export function emitIsolated(emitter: EventEmitter, event: string | symbol, args: unknown[]): boolean {
  if (emitter.listenerCount(event) === 0) {
    return event === 'error' ? EventEmitter.prototype.emit.call(emitter, event, ...args) : false;
  }
  // rawListeners: `once` wrappers, which remove themselves when called.
  for (const listener of emitter.rawListeners(event) as Array<(...a: unknown[]) => unknown>) {
    try {
      Reflect.apply(listener, emitter, args);
    } catch (err) {
      rethrowLater(err);
    }
  }
  return true;
}
