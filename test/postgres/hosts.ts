/**
 * Several scheduler "hosts" in one test process, sharing one Postgres schema, on injected clocks.
 *
 * `World.time` is true time: it drives every host's timers (timers run on elapsed time, as Node's
 * do, whatever the wall clock says). The database server's clock and each host's wall clock are
 * true time plus a skew of their own, which a test may change at any moment (a clock stepped by NTP,
 * a VM resumed with a stale clock). A host's store reads the server's clock through the world
 * (`clockOffset` is the server's reading minus the host's, what a round trip would measure), so a
 * skew of minutes is a skew of minutes to the engine; everything else goes to the real server.
 *
 * `run(until)` fires the world's timers one instant at a time and, between instants, lets every
 * store call in flight finish: each host sees the others' writes in the order real time would give.
 */
import { expect } from 'vitest'
import type { JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { type Clock, FakeClock, type TimerHandle } from '../../src/core/clock.js'
import type { EngineEvents } from '../../src/core/events.js'
import { Scheduler, type SchedulerOptions } from '../../src/core/scheduler.js'
import { openStore } from '../../src/store/index.js'
import type { AttemptRecord, InstanceRecord, Store } from '../../src/store/types.js'

/** A host's wall clock: true time plus `skewMs`; its timers wait on true time, and not while it is blocked. */
export class HostClock implements Clock {
  skewMs: number
  /** Until this true instant the host's event loop is blocked: its timers fire only then. */
  private blockedUntil = Number.NEGATIVE_INFINITY

  constructor(
    private readonly world: World,
    skewMs = 0,
  ) {
    this.skewMs = skewMs
  }

  now(): number {
    return this.world.time.now() + this.skewMs
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const handle: { inner: TimerHandle | undefined } = { inner: undefined }
    const fire = () => {
      const wait = this.blockedUntil - this.world.time.now()
      if (wait > 0) handle.inner = this.world.time.setTimeout(fire, wait)
      else callback()
    }
    handle.inner = this.world.time.setTimeout(fire, delayMs)
    return handle
  }

  clearTimeout(handle: TimerHandle): void {
    const inner = (handle as { inner: TimerHandle | undefined }).inner
    if (inner !== undefined) this.world.time.clearTimeout(inner)
  }

  /**
   * Block this host's event loop for `ms` of true time, as a job's synchronous code would: its
   * timers (heartbeat, claims, starts) fire only once the block is over, while the other hosts go on.
   */
  block(ms: number): void {
    this.blockedUntil = this.world.time.now() + ms
  }
}

export interface Host {
  name: string
  clock: HostClock
  store: Store
  scheduler: Scheduler
  /** Every event the host's engine emitted, in order. */
  events: { name: keyof EngineEvents; payload: unknown }[]
  /** The messages of its `engine:error` events. */
  errors: string[]
}

const LOGGED = [
  'engine:error',
  'clock:skew',
  'store:unreachable',
  'store:reachable',
  'runs:interrupted',
  'slot:missed',
  'scheduler:failed',
] as const satisfies readonly (keyof EngineEvents)[]

export class World {
  readonly time: FakeClock
  /** The database server's clock is true time plus this. */
  serverSkewMs = 0
  readonly hosts: Host[] = []
  private inflight = 0

  constructor(start: number | string) {
    this.time = new FakeClock(start)
  }

  serverNow(): number {
    return this.time.now() + this.serverSkewMs
  }

  /**
   * A store as a host opens it, with its clock offset read against the world's server clock, and
   * every call counted while in flight (so `run` can wait for them).
   */
  async openStore(url: string): Promise<Store> {
    const store = await openStore(url)
    return new Proxy(store, {
      get: (target, property) => {
        if (property === 'clockOffset') {
          return async (hostNow: () => number = Date.now) => this.serverNow() - hostNow()
        }
        const value = Reflect.get(target, property, target) as unknown
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(target, args)
          if (result instanceof Promise) {
            this.inflight++
            const done = () => {
              this.inflight--
            }
            result.then(done, done)
          }
          return result
        }
      },
    })
  }

  /** Start a scheduler "host" on the schema at `url`, its clock `skewMs` off the true time. */
  async start(
    name: string,
    url: string,
    jobs: JobDefinition[],
    options: { skewMs?: number; timezone?: string } & SchedulerOptions = {},
  ): Promise<Host> {
    const { skewMs = 0, timezone = 'UTC', ...schedulerOptions } = options
    const config = validateConfig({ state: url, timezone, jobs }, { file: `host ${name}` })
    const clock = new HostClock(this, skewMs)
    const store = await this.openStore(url)
    const scheduler = new Scheduler(config, {
      random: () => 0,
      echoConsole: false,
      instanceId: name,
      ...schedulerOptions,
      clock,
      store,
    })
    const host: Host = { name, clock, store, scheduler, events: [], errors: [] }
    for (const event of LOGGED) {
      scheduler.events.on(event, (payload: unknown) => {
        host.events.push({ name: event, payload })
        if (event === 'engine:error') host.errors.push((payload as { message: string }).message)
      })
    }
    this.hosts.push(host)
    await scheduler.start()
    return host
  }

  /** Fire every timer due by `until`, one instant at a time, each host's store calls finished between. */
  async run(until: number): Promise<void> {
    for (;;) {
      await this.quiet()
      const next = this.time.nextTimerAt()
      if (next === undefined || next > until) break
      await this.time.advanceTo(next)
    }
    await this.time.advanceTo(until)
    await this.quiet()
  }

  /** Wait until no store call is in flight (and none starts for a few turns of the event loop). */
  async quiet(): Promise<void> {
    for (let calm = 0; calm < 4; ) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (this.inflight === 0) calm++
      else {
        calm = 0
        await new Promise<void>((resolve) => setTimeout(resolve, 1))
      }
    }
  }

  /** Stop every host (no grace) and close its store. */
  async stop(): Promise<void> {
    const stopping = this.hosts.map((h) => h.scheduler.stop({ graceMs: 0 }).catch(() => undefined))
    for (let i = 0; i < 100; i++) {
      const all = Promise.all(stopping)
      const over = await Promise.race([all.then(() => true), this.quiet().then(() => false)])
      if (over) break
      await this.time.advance(1000)
    }
    await Promise.all(stopping)
    for (const host of this.hosts) await host.store.close().catch(() => undefined)
  }
}

/** A one-off job at `atMs` that runs until `finish(value)` is called (an attempt kept in flight through a fault). */
export function heldJob(name: string, atMs: number): { job: JobDefinition; finish: (value: string) => void } {
  let finish: (value: string) => void = () => undefined
  const job: JobDefinition = {
    name,
    at: new Date(atMs).toISOString(),
    run: () =>
      new Promise<string>((resolve) => {
        finish = resolve
      }),
  }
  return { job, finish: (value) => finish(value) }
}

/** Every attempt row in the schema, oldest first. */
export async function allRuns(store: Store): Promise<AttemptRecord[]> {
  return (await store.listRuns({ limit: 100_000 })).sort((a, b) => a.id - b.id)
}

/**
 * The slots of `job` its rows account for, sorted: each run's slot, and each slot a `missed`
 * record covers (from its first to its last, stepping by `stepMs`, checked against its count).
 */
export function accountedSlots(runs: readonly AttemptRecord[], job: string, stepMs: number): number[] {
  const slots: number[] = []
  for (const run of runs.filter((r) => r.job === job)) {
    if (run.status !== 'missed') {
      slots.push(run.slot)
      continue
    }
    const { first, last, count } = JSON.parse(run.detail as string) as { first: number; last: number; count: number }
    const covered: number[] = []
    for (let slot = first; slot <= last; slot += stepMs) covered.push(slot)
    if (covered.length !== count) throw new Error(`missed record ${run.id} counts ${count}, covers ${covered.length}`)
    slots.push(...covered)
  }
  return slots.sort((x, y) => x - y)
}

/** Every `stepMs` from `from` (exclusive) to `to` (inclusive). */
export function slotsBetween(from: number, to: number, stepMs: number): number[] {
  const slots: number[] = []
  for (let slot = Math.floor(from / stepMs) * stepMs + stepMs; slot <= to; slot += stepMs) slots.push(slot)
  return slots
}

/**
 * After an outage every host shared: each said it once each way, none failed or reported an error,
 * and none took another for dead (they were equally cut off). Returns the instances as stored.
 */
export async function expectRecoveredTogether(hosts: readonly Host[]): Promise<InstanceRecord[]> {
  for (const host of hosts) {
    const said = host.events.map((e) => e.name).filter((name) => name.startsWith('store:'))
    expect(said).toEqual(['store:unreachable', 'store:reachable'])
    expect(host.errors).toEqual([])
    expect(host.events.filter((e) => e.name === 'scheduler:failed')).toEqual([])
  }
  expect(hosts.map((host) => host.scheduler.instanceId)).toEqual(hosts.map((host) => host.name))
  const instances = await (hosts[0] as Host).store.listInstances()
  expect(instances.map((i) => [i.id, i.reapedAt])).toEqual(hosts.map((host) => [host.name, null]))
  return instances
}
