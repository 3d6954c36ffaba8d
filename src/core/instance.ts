/**
 * Who this process is in the store: its instance id (a new one after a peer reaped it), its role (a
 * `runner` until `start()` makes it a `scheduler`; `crons status` counts only schedulers as serving
 * slots), and its registration, with the facts `crons status` shows of it (the config fingerprint,
 * the clock offset).
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { InstanceFacts, InstanceRole, Store } from '../store/types.js'
import type { StoreTimeClock } from './clock.js'
import { processStartOf } from './process-identity.js'

export class Instance {
  /** This process's id in the store. */
  id: string
  role: InstanceRole = 'runner'
  /** The role it is registered under; undefined until it is registered. */
  registeredAs: InstanceRole | undefined

  constructor(
    /** An id the caller chose (`SchedulerOptions.instanceId`); else one is made up. */
    private readonly fixedId: string | undefined,
    private readonly clock: StoreTimeClock,
    private readonly configHash: () => string | null,
  ) {
    this.id = fixedId ?? newInstanceId()
  }

  /** Register (again: with another role, or under a new id) with the first heartbeat and the clock offset. */
  async register(store: Store): Promise<void> {
    const role = this.role
    await store.registerInstance({
      id: this.id,
      role,
      host: hostname(),
      pid: process.pid,
      processStart: processStartOf(process.pid),
      configHash: this.configHash(),
      now: this.clock.now(),
    })
    // The offset measured when the store opened (a registration starts without one).
    await store.updateInstance(this.id, { clockOffsetMs: this.clock.offsetMs })
    this.registeredAs = role
  }

  /** Record facts about the instance, once it is registered (before, there is no row to hold them). */
  async update(store: Store | undefined, facts: InstanceFacts): Promise<void> {
    if (store !== undefined && this.registeredAs !== undefined) await store.updateInstance(this.id, facts)
  }

  /**
   * A peer reaped this instance (it was stalled past its lease): its writes under this id are
   * refused from now on, so it takes a new one. Returns the id it lost.
   */
  renew(): string {
    const lost = this.id
    this.id = this.fixedId === undefined ? newInstanceId() : `${this.fixedId}-${Date.now().toString(36)}`
    this.registeredAs = undefined
    return lost
  }
}

function newInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
}
