/** A stand-in for the process's uncaught-error events, raised by hand (for `reportStrayErrors`). */
import { EventEmitter } from 'node:events'
import type { StrayErrorSource } from '../../src/core/stray.js'

export function strayBus(): StrayErrorSource & { raise(error: unknown): void } {
  const bus = new EventEmitter()
  return {
    on: (event, listener) => bus.on(event, listener),
    off: (event, listener) => bus.off(event, listener),
    raise: (error) => bus.emit('uncaughtException', error),
  }
}
