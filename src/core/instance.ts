// Who this process is in the store: its instance id, its role (a `runner` until `start()`; `crons
// status` counts only schedulers as serving slots) and its registration, with the facts status shows.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { InstanceFacts, InstanceRole, Store } from '../store/types.js'
import type { StoreTimeClock } from './clock.js'
import { processStartOf } from './process-identity.js'

export class Instance {
  id: string
  role: InstanceRole = 'runner'
  registeredAs: InstanceRole | undefined

  constructor(
    private readonly fixedId: string | undefined,
    private readonly clock: StoreTimeClock,
    private readonly configHash: () => string | null,
  ) {
    this.id = fixedId ?? newInstanceId()
  }

  /** Again: with another role, or under a new id. */
  async register(store: Store): Promise<void> {
    await this.write(store)
    // A fixed id a peer reaped before (the process restarted under it) stays reaped: take another.
    if (this.fixedId !== undefined && (await store.listInstances()).some((i) => i.id === this.id && i.reapedAt)) {
      this.renew()
      await this.write(store)
    }
  }

  private async write(store: Store): Promise<void> {
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
    // A registration starts without the offset measured when the store opened.
    await store.updateInstance(this.id, { clockOffsetMs: this.clock.offsetMs })
    this.registeredAs = role
  }

  /** Before registering there is no row to hold the facts. */
  async update(store: Store | undefined, facts: InstanceFacts): Promise<void> {
    if (store !== undefined && this.registeredAs !== undefined) await store.updateInstance(this.id, facts)
  }

  /** A peer reaped this instance: its writes under this id are refused, so it takes a new one. Returns the lost id. */
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
