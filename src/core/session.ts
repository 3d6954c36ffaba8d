// A scheduler's hold on its store: opened on first use (or given), clock measured and process
// registered before anything else uses it; the recorder and runner built on it; closed once.
import { CronsError } from '../errors.js'
import type { StateLocation } from '../store/location.js'
import type { Store } from '../store/types.js'
import type { ClockSync } from './clock-sync.js'
import type { EngineEmitter } from './events.js'
import type { Instance } from './instance.js'
import { captureJobConsole } from './job-console.js'
import type { OpenStore } from './options.js'
import type { Outage } from './outage.js'
import { Recorder } from './recorder.js'
import { Runner, type RunnerDeps } from './runner.js'

export interface StoreSessionDeps {
  /** Given by the caller, who then owns closing it. */
  store: Store | undefined
  openStore: OpenStore | undefined
  state: () => StateLocation
  clockSync: ClockSync
  instance: Instance
  events: EngineEmitter
  outage: Outage
  runner: Omit<RunnerDeps, 'store' | 'recorder'>
}

export class StoreSession {
  #store: Store | undefined
  #opening: Promise<Store> | undefined
  #recorder: Recorder | undefined
  #runner: Runner | undefined
  readonly #owned: boolean

  constructor(private readonly deps: StoreSessionDeps) {
    this.#store = deps.store
    this.#owned = deps.store === undefined
  }

  get store(): Store | undefined {
    return this.#store
  }

  get recorder(): Recorder | undefined {
    return this.#recorder
  }

  get runner(): Runner | undefined {
    return this.#runner
  }

  open(): Promise<Store> {
    this.#opening ??= (async () => {
      const { deps } = this
      if (!this.#store) {
        if (!deps.openStore) {
          throw new CronsError('INTERNAL', 'no store: pass `store` or `openStore` in the scheduler options')
        }
        this.#store = await deps.openStore(deps.state())
      }
      await deps.clockSync.measure(this.#store)
      this.#recorder = new Recorder(this.#store, deps.events, deps.outage)
      await deps.instance.register(this.#store)
      return this.#store
    })().catch((error: unknown) => {
      // The store out of reach (a database restarting): the next call tries again.
      this.#opening = undefined
      throw error
    })
    return this.#opening
  }

  getRunner(): Runner {
    if (this.#store === undefined || this.#recorder === undefined) {
      throw new CronsError('INTERNAL', 'the runner was asked for before the store was open')
    }
    this.#runner ??= new Runner({ ...this.deps.runner, store: this.#store, recorder: this.#recorder })
    captureJobConsole()
    return this.#runner
  }

  /** After a stop's runs are drained. */
  async close(now: () => number): Promise<void> {
    await this.#recorder?.retry()
    const store = this.#store ?? (await this.#opening?.catch(() => undefined))
    if (!store) return
    try {
      await store.stopInstance(this.deps.instance.id, now())
    } catch (error) {
      this.deps.events.emit('engine:error', { message: 'could not mark this instance stopped', error })
    }
    if (!this.#owned) return
    this.#recorder?.close()
    await store.close()
  }
}
