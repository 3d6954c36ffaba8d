// The attempt whose code is running, or whose timers, emitters and promises are: Node carries an
// AsyncLocalStorage scope into everything the code schedules. See stray.ts.
import { AsyncLocalStorage } from 'node:async_hooks'

export interface StrayTarget {
  strayError(error: unknown): void
}

/** AsyncLocalStorage as the engine uses it, declared here so the package's types need no @types/node. */
interface Scope<T> {
  run<R>(store: T, fn: () => R): R
  /** Run `fn` outside any attempt: what it does is not the job's. */
  exit<R>(fn: () => R): R
  getStore(): T | undefined
}

export const jobScope: Scope<StrayTarget> = new AsyncLocalStorage<StrayTarget>()
