/**
 * Several schedulers on one PostgreSQL schema: pause, cancel and runJob across them, retries adopted,
 * a host whose store calls fail (self-fencing, no reaping of itself), reload, one-off jobs, catch-up,
 * pruning. World/host harness of test/postgres/hosts.ts, each host on its own fake clock.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { HookContext, JobDefinition } from '../../src/config/types.js'
import { CronsError } from '../../src/errors.js'
import type { Store } from '../../src/store/types.js'
import { accountedSlots, allRuns, type Host, slotsBetween, World } from '../postgres/hosts.js'
import { freshSchema, stateUrl } from '../postgres/schemas.js'

const T0 = Date.parse('2026-01-05T00:00:00Z')
const MINUTE = 60_000

/** A switch that makes every call of one host's store fail as the database out of reach would. */
class Fault {
  down = false
  calls: string[] = []
}

/** A World whose hosts' stores can be made to fail (`faults[name]`). */
class FaultyWorld extends World {
  readonly faults = new Map<string, Fault>()
  private next: Fault | undefined

  override async openStore(url: string): Promise<Store> {
    const inner = await super.openStore(url)
    const fault = this.next
    this.next = undefined
    if (fault === undefined) return inner
    return new Proxy(inner, {
      get: (target, property) => {
        const value = Reflect.get(target, property, target) as unknown
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          if (fault.down && property !== 'close') {
            fault.calls.push(String(property))
            return Promise.reject(
              new CronsError('STATE_UNREACHABLE', `${String(property)}: connection refused (simulated)`),
            )
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    })
  }

  async startFaulty(
    name: string,
    url: string,
    jobs: JobDefinition[],
    options: Parameters<World['start']>[3] = {},
  ): Promise<{ host: Host; fault: Fault }> {
    const fault = new Fault()
    this.faults.set(name, fault)
    this.next = fault
    const host = await this.start(name, url, jobs, options)
    return { host, fault }
  }
}

const worlds: World[] = []
afterEach(async () => {
  for (const world of worlds.splice(0)) {
    if (world instanceof FaultyWorld) for (const f of world.faults.values()) f.down = false
    await world.stop()
  }
})

function world(start: number = T0): FaultyWorld {
  const w = new FaultyWorld(start)
  worlds.push(w)
  return w
}

function rowsOf(runs: Awaited<ReturnType<typeof allRuns>>) {
  return runs.map((r) => ({
    id: r.id,
    job: r.job,
    slot: r.slot - T0,
    attempt: r.attempt,
    status: r.status,
    instanceId: r.instanceId,
    active: r.active,
    error: r.errorMessage,
    detail: r.detail,
  }))
}

/** A one-off job whose every call runs until `finishAll`. */
function heldAll(name: string, atMs: number) {
  const finishers: ((value: string) => void)[] = []
  const job: JobDefinition = {
    name,
    at: new Date(atMs).toISOString(),
    run: () => new Promise<string>((resolve) => finishers.push(resolve)),
  }
  const finishAll = (value: string) => {
    for (const finish of finishers.splice(0)) finish(value)
  }
  return { job, finishAll }
}

describe('pause/resume across schedulers', () => {
  it('a pause in A is honoured by B at its next slot, and a resume in B by A', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const jobs: JobDefinition[] = [{ name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }]
    const a = await w.start('a', url, jobs)
    const b = await w.start('b', url, jobs)
    await w.run(T0 + 15_000)
    const paused = await a.scheduler.pause('tens')
    expect(paused).toMatchObject({ paused: true, changed: true })
    await w.run(T0 + 45_000)
    const resumed = await b.scheduler.resume('tens')
    expect(resumed).toMatchObject({ paused: false, changed: true })
    await w.run(T0 + 65_000)
    const runs = await allRuns(a.store)
    const byStatus = runs.map((r) => `${(r.slot - T0) / 1000} ${r.status}`)
    expect(byStatus).toEqual(['10 succeeded', '20 skipped', '50 succeeded', '60 succeeded'])
    const skip = runs.find((r) => r.status === 'skipped')
    expect(JSON.parse(skip?.detail as string)).toEqual({
      paused: true,
      count: 3,
      first: T0 + 20_000,
      last: T0 + 40_000,
    })
    expect(accountedSlotsPaused(runs)).toEqual(slotsBetween(T0, T0 + 60_000, 10_000))
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})

function accountedSlotsPaused(runs: Awaited<ReturnType<typeof allRuns>>): number[] {
  const slots: number[] = []
  for (const r of runs) {
    if (r.status === 'skipped' && r.detail?.startsWith('{"paused"')) {
      const { first, last } = JSON.parse(r.detail) as { first: number; last: number }
      for (let s = first; s <= last; s += 10_000) slots.push(s)
    } else slots.push(r.slot)
  }
  return slots.sort((x, y) => x - y)
}

describe('cancel across schedulers', () => {
  it('A cancels a run executing on B: B acts at its heartbeat, the run is recorded cancelled, hooks final', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const hooked: [string, number, string | undefined, boolean | undefined][] = []
    let aborted: unknown
    const a = await w.start('a', url, [])
    const b = await w.start('b', url, [
      {
        name: 'long',
        at: new Date(T0 + 5_000).toISOString(),
        run: (ctx) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = ctx.signal.reason
              reject(ctx.signal.reason)
            })
          }),
        hooks: {
          afterRun: (ctx: HookContext) => {
            hooked.push([ctx.instanceId, ctx.attempt, ctx.status, ctx.final])
          },
        },
      },
    ])
    await w.run(T0 + 5_100)
    const [run] = await a.store.listRuns({ job: 'long' })
    expect(run?.status).toBe('running')
    const cancelled = a.scheduler.cancel(run?.id as number, { reason: 'asked by a', waitMs: 10_000 })
    const settled = cancelled.then(
      (v) => ({ ok: v }),
      (e: unknown) => ({ err: e }),
    )
    await w.run(T0 + 9_000)
    const result = await settled
    expect(result).toMatchObject({ ok: { status: 'cancelled', error: { message: 'cancelled: asked by a' } } })
    expect(aborted).toBeDefined()
    const after = await a.store.getRun(run?.id as number)
    expect(after).toMatchObject({ status: 'cancelled', active: false, errorMessage: 'cancelled: asked by a' })
    expect(hooked).toEqual([['b', 1, 'cancelled', true]])
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})

describe('runJob across schedulers', () => {
  it('runJob on one while the job runs on the other: JOB_RUNNING naming the holder; force runs it', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const held = heldAll('held', T0 + 5_000)
    const a = await w.start('a', url, [held.job])
    const b = await w.start('b', url, [held.job])
    await w.run(T0 + 5_100)
    const [run] = await a.store.listRuns({ job: 'held' })
    expect(run?.status).toBe('running')
    const other = run?.instanceId === 'a' ? b : a
    const refused = await other.scheduler.runJob('held').then(
      () => undefined,
      (e: unknown) => e as CronsError,
    )
    expect(refused?.code).toBe('JOB_RUNNING')
    expect(refused?.message).toContain(`already running: run ${run?.id} on instance ${run?.instanceId}`)
    const forced = other.scheduler.runJob('held', { force: true })
    await w.run(T0 + 6_000)
    held.finishAll('done')
    await w.run(T0 + 7_000)
    const result = await forced
    expect(result.status).toBe('succeeded')
    const runs = await allRuns(a.store)
    expect(runs.map((r) => [r.trigger, r.status, r.instanceId, r.active])).toEqual([
      ['schedule', 'succeeded', run?.instanceId, false],
      ['manual', 'succeeded', other.name, false],
    ])
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})

describe('a retry in backoff when its scheduler dies', () => {
  it('a peer adopts it once after the lease, with the next attempt number; the dead one does not run it on waking', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const calls: [string, number][] = []
    const hooks: [string, string, number, string | undefined, boolean | undefined][] = []
    let aHost: Host | undefined
    const job = (host: string): JobDefinition => ({
      name: 'flaky',
      at: new Date(T0 + 5_000).toISOString(),
      retry: { max: 2, backoff: 'constant', initial: 20 },
      run: (ctx) => {
        calls.push([host, ctx.attempt])
        if (ctx.attempt === 1) {
          // The host dies (is frozen) right after this attempt's outcome is written.
          setImmediate(() => setImmediate(() => aHost?.clock.block(60_000)))
          throw new Error('first fails')
        }
        return 'ok'
      },
      hooks: {
        afterRun: (ctx) => {
          hooks.push([host, 'afterRun', ctx.attempt, ctx.status, ctx.final])
        },
      },
    })
    const a = await w.start('a', url, [job('a')])
    aHost = a
    await w.run(T0 + 6_000)
    const b = await w.start('b', url, [job('b')])
    await w.run(T0 + 90_000)
    const runs = await allRuns(b.store)
    expect(rowsOf(runs).map((r) => [r.attempt, r.status, r.instanceId])).toEqual([
      [1, 'failed', 'a'],
      [2, 'succeeded', 'b'],
    ])
    expect(calls).toEqual([
      ['a', 1],
      ['b', 2],
    ])
    expect(hooks).toEqual([
      ['a', 'afterRun', 1, 'failed', false],
      ['b', 'afterRun', 2, 'succeeded', true],
    ])
    expect(b.errors).toEqual([])
  })
})

describe("one scheduler's store calls failing", () => {
  it('its run is reaped only after the TTL, its late write refused, and it comes back under a new id', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const held = heldAll('held', T0 + 5_000)
    const { host: a, fault } = await w.startFaulty('a', url, [
      held.job,
      { name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' },
    ])
    await w.run(T0 + 5_100)
    const b = await w.start('b', url, [{ name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }])
    const [run] = await b.store.listRuns({ job: 'held' })
    expect(run).toMatchObject({ status: 'running', instanceId: 'a' })
    const downAt = T0 + 6_000
    await w.run(downAt)
    fault.down = true
    // Its last heartbeat was at most 2 s before: not reaped within the TTL of it.
    await w.run(downAt + 7_500)
    expect(await b.store.getRun(run?.id as number)).toMatchObject({ status: 'running' })
    await w.run(downAt + 14_000)
    expect(await b.store.getRun(run?.id as number)).toMatchObject({
      status: 'interrupted',
      active: false,
      errorMessage: 'interrupted: instance a stopped heartbeating',
    })
    held.finishAll('late')
    await w.run(downAt + 16_000)
    fault.down = false
    await w.run(downAt + 40_000)
    expect(await b.store.getRun(run?.id as number)).toMatchObject({ status: 'interrupted', result: null })
    expect(a.scheduler.instanceId).toMatch(/^a-/)
    expect(a.errors).toEqual(
      expect.arrayContaining([
        `run ${run?.id} was taken over by another instance (this one was thought dead); its outcome here was not recorded`,
      ]),
    )
    const runs = await allRuns(b.store)
    // Nothing claimed under the lost id after it came back; every slot of tens once.
    expect(runs.filter((r) => r.instanceId === 'a' && r.job === 'tens' && r.slot > downAt)).toEqual([])
    expect(runs.filter((r) => r.status === 'running')).toEqual([])
    expect(accountedSlots(runs, 'tens', 10_000)).toEqual(slotsBetween(T0, downAt + 40_000, 10_000))
    const instances = await b.store.listInstances()
    expect(instances.find((i) => i.id === a.scheduler.instanceId)).toMatchObject({ reapedAt: null, stoppedAt: null })
  })
})

describe('a host whose lease was taken while its store was out of reach', () => {
  it('does not begin a retry under the lost id when the store answers again (self-fencing)', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const calls: [string, number][] = []
    const { host: a, fault } = await w.startFaulty('a', url, [
      {
        name: 'flaky',
        at: new Date(T0 + 5_000).toISOString(),
        retry: { max: 1, backoff: 'constant', initial: 20 },
        run: (ctx) => {
          calls.push(['a', ctx.attempt])
          if (ctx.attempt === 1) throw new Error('first fails')
          return 'ok'
        },
      },
    ])
    const b = await w.start('b', url, [{ name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }])
    await w.run(T0 + 6_000)
    fault.down = true
    // B reaps A after its lease; A's backoff ends at T0+25 s.
    await w.run(T0 + 24_900)
    expect((await b.store.listInstances()).find((i) => i.id === 'a')?.reapedAt).not.toBeNull()
    fault.down = false
    await w.run(T0 + 40_000)
    const runs = (await allRuns(b.store)).filter((r) => r.job === 'flaky')
    const rows = rowsOf(runs).map((r) => [r.attempt, r.status, r.instanceId, r.error])
    // The retry's code ran (on A); its record must not say that it was interrupted by A's death.
    expect(calls.map(([, attempt]) => attempt)).toEqual([1, 2])
    expect(rows[1]?.[2]).not.toBe('a')
    expect(rows).toEqual([
      [1, 'failed', 'a', 'first fails'],
      [2, 'succeeded', a.scheduler.instanceId, null],
    ])
  })

  it('runJob right after the store answers again does not run under the lost id', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const { host: a, fault } = await w.startFaulty('a', url, [
      { name: 'manual', schedule: '0 0 1 1 *', run: () => 'done' },
    ])
    const b = await w.start('b', url, [{ name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }])
    await w.run(T0 + 6_000)
    fault.down = true
    await w.run(T0 + 24_900)
    expect((await b.store.listInstances()).find((i) => i.id === 'a')?.reapedAt).not.toBeNull()
    fault.down = false
    const result = a.scheduler.runJob('manual')
    await w.run(T0 + 40_000)
    const done = await result
    const [run] = await b.store.listRuns({ job: 'manual' })
    // What runJob resolved with is what the store recorded.
    expect({ id: done.runId, status: done.status }).toEqual({ id: run?.id, status: run?.status })
    expect(run).toMatchObject({ status: 'succeeded', instanceId: a.scheduler.instanceId })
  })
})

describe('runJob right after an outage, before the next heartbeat', () => {
  it('does not reap its own scheduler: the run it holds keeps running', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const held = heldAll('held', T0 + 5_000)
    const { host: a, fault } = await w.startFaulty('a', url, [
      held.job,
      { name: 'manual', schedule: '0 0 1 1 *', run: () => 'done' },
    ])
    await w.run(T0 + 6_000)
    const [run] = await a.store.listRuns({ job: 'held' })
    expect(run?.status).toBe('running')
    fault.down = true
    await w.run(T0 + 20_500)
    fault.down = false
    // The database is back; the app runs a job by hand before the scheduler's next heartbeat.
    const manual = await a.scheduler.runJob('manual')
    await w.run(T0 + 22_000)
    expect(await a.store.getRun(run?.id as number)).toMatchObject({ status: 'running', active: true })
    expect(manual.status).toBe('succeeded')
    expect((await a.store.listInstances()).map((i) => [i.id, i.reapedAt])).toEqual([['a', null]])
  })
})

describe('reload, at jobs, catch-up, pruning across schedulers', () => {
  it('reload() on A adds a job B lacks: A serves it, every slot once; B never touches it', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const tens: JobDefinition = { name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }
    const a = await w.start('a', url, [tens])
    const b = await w.start('b', url, [tens])
    await w.run(T0 + 25_000)
    const result = await a.scheduler.reload({
      jobs: [tens, { name: 'fives', schedule: '*/5 * * * * *', run: () => 'ok' }],
    })
    expect(result.added).toEqual(['fives'])
    await w.run(T0 + 60_000)
    const runs = await allRuns(a.store)
    expect(runs.filter((r) => r.status !== 'succeeded')).toEqual([])
    expect(runs.filter((r) => r.job === 'fives').map((r) => r.instanceId)).not.toContain('b')
    expect(accountedSlots(runs, 'fives', 5_000)).toEqual(slotsBetween(T0 + 25_000, T0 + 60_000, 5_000))
    expect(accountedSlots(runs, 'tens', 10_000)).toEqual(slotsBetween(T0, T0 + 60_000, 10_000))
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('an at job on three schedulers runs once', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    let calls = 0
    const once: JobDefinition = { name: 'once', at: new Date(T0 + 7_000).toISOString(), run: () => ++calls }
    const hosts = [await w.start('a', url, [once]), await w.start('b', url, [once]), await w.start('c', url, [once])]
    await w.run(T0 + 30_000)
    // A reload on each, listing it again (as a SIGHUP after editing another job would).
    for (const h of hosts)
      await h.scheduler.reload({ jobs: [{ ...once }, { name: 'x', schedule: '0 0 1 1 *', run: () => 1 }] })
    await w.run(T0 + 60_000)
    const runs = await allRuns(hosts[0]?.store as Store)
    expect(runs.map((r) => [r.job, r.status])).toEqual([['once', 'succeeded']])
    expect(calls).toBe(1)
  })

  it('all stop, one restarts: one catch-up run (catchUp) and one missed record (default), nothing twice', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const jobs: JobDefinition[] = [
      { name: 'cu', schedule: '* * * * *', catchUp: true, run: (ctx) => ctx.missed?.count ?? 0 },
      { name: 'plain', schedule: '* * * * *', run: () => 'ok' },
    ]
    const a = await w.start('a', url, jobs)
    const b = await w.start('b', url, jobs)
    await w.run(T0 + 2 * MINUTE + 5_000)
    const stopping = Promise.all([a.scheduler.stop({ graceMs: 0 }), b.scheduler.stop({ graceMs: 0 })])
    await w.run(T0 + 2 * MINUTE + 10_000)
    await stopping
    await w.time.advanceTo(T0 + 10 * MINUTE + 30_000)
    const c = await w.start('c', url, jobs)
    await w.run(T0 + 11 * MINUTE + 5_000)
    const runs = await allRuns(c.store)
    const cu = runs.filter((r) => r.job === 'cu' && r.slot > T0 + 2 * MINUTE)
    expect(cu.map((r) => [(r.slot - T0) / MINUTE, r.trigger, r.status, r.result])).toEqual([
      [10, 'catch-up', 'succeeded', '7'],
      [11, 'schedule', 'succeeded', '0'],
    ])
    expect(accountedSlots(runs, 'plain', MINUTE)).toEqual(slotsBetween(T0, T0 + 11 * MINUTE, MINUTE))
    expect(runs.filter((r) => r.job === 'plain' && r.status === 'missed')).toHaveLength(1)
    expect(runs.filter((r) => r.status === 'running')).toEqual([])
    expect(c.errors).toEqual([])
  })

  it('an at job that ran two days ago, added to another scheduler by reload after pruning, is neither run again nor recorded missed', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    let calls = 0
    const once: JobDefinition = {
      name: 'once',
      at: new Date(T0 + 5_000).toISOString(),
      catchUp: true,
      run: () => ++calls,
    }
    const other: JobDefinition = { name: 'other', schedule: '0 0 1 1 *', run: () => 1 }
    const a = await w.start('a', url, [once])
    await w.run(T0 + 10_000)
    const stopping = a.scheduler.stop({ graceMs: 0 })
    await w.run(T0 + 12_000)
    await stopping
    expect(calls).toBe(1)
    const later = T0 + 2 * 86_400_000
    await w.time.advanceTo(later)
    const b = await w.start('b', url, [other])
    // Pruning as housekeeping does it, history kept one day (`history: { keepDays: 1 }`).
    while (!(await b.store.prune(later, { keepDays: 1, keepRuns: 1000 }, { maxMs: 1000 })).done) {}
    await b.scheduler.reload({ jobs: [other, once] })
    await w.run(later + 60_000)
    const runs = (await allRuns(b.store)).filter((r) => r.job === 'once')
    // Its record was pruned with the day's history; nothing new may appear: it ran.
    expect(runs.map((r) => [r.trigger, r.status, r.instanceId])).toEqual([])
    expect(calls).toBe(1)
  })

  it('pruning by one scheduler while two others write: never an active row, the newest keepRuns kept, slots once', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const held = heldAll('held', T0 + 5_000)
    const jobs: JobDefinition[] = [{ name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }, held.job]
    const history = { keepRuns: 3, keepDays: 30 }
    const hosts = []
    for (const name of ['a', 'b', 'c']) {
      const fullJobs = jobs
      hosts.push(await w.start(name, url, fullJobs))
    }
    await w.run(T0 + 5 * MINUTE)
    const store = hosts[0]?.store as Store
    // Prune step by step while the others go on writing.
    for (let i = 0; i < 20; i++) {
      await store.prune(T0 + 5 * MINUTE + i * 1000, history, { maxMs: 0 })
      await w.run(T0 + 5 * MINUTE + (i + 1) * 1000)
    }
    const runs = await allRuns(store)
    expect(runs.filter((r) => r.job === 'held').map((r) => r.status)).toEqual(['running'])
    expect(runs.filter((r) => r.job === 'tens').length).toBeGreaterThanOrEqual(3)
    held.finishAll('x')
    await w.run(T0 + 6 * MINUTE)
    const after = await allRuns(store)
    expect(after.filter((r) => r.status === 'running' || r.active)).toEqual([])
    for (const h of hosts) expect(h.errors).toEqual([])
  })
})

describe('a scheduler stopped with a retry in backoff', () => {
  it('stopped normally: the retry is recorded interrupted once, hooks hear it final once, the peer does not run it', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const calls: [string, number][] = []
    const hooks: [string, number, string | undefined, boolean | undefined][] = []
    const job = (host: string): JobDefinition => ({
      name: 'flaky',
      at: new Date(T0 + 5_000).toISOString(),
      retry: { max: 2, backoff: 'constant', initial: 20 },
      run: (ctx) => {
        calls.push([host, ctx.attempt])
        throw new Error(`fails ${ctx.attempt}`)
      },
      hooks: { afterRun: (ctx) => void hooks.push([host, ctx.attempt, ctx.status, ctx.final]) },
    })
    const a = await w.start('a', url, [job('a')])
    await w.run(T0 + 6_000)
    const b = await w.start('b', url, [job('b')])
    await w.run(T0 + 8_000)
    const stopping = a.scheduler.stop({ graceMs: 0 })
    await w.run(T0 + 9_000)
    await stopping
    await w.run(T0 + 60_000)
    const runs = await allRuns(b.store)
    expect(runs.map((r) => [r.attempt, r.status, r.instanceId])).toEqual([
      [1, 'failed', 'a'],
      [2, 'interrupted', 'a'],
    ])
    expect(calls).toEqual([['a', 1]])
    expect(hooks).toEqual([
      ['a', 1, 'failed', false],
      ['a', 2, 'interrupted', true],
    ])
    expect(b.errors).toEqual([])
  })

  it('stopped while its store is out of reach: a peer adopts the retry once, attempt 2, and the stop reports no internal error', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const calls: [string, number][] = []
    const job = (host: string): JobDefinition => ({
      name: 'flaky',
      at: new Date(T0 + 5_000).toISOString(),
      retry: { max: 1, backoff: 'constant', initial: 20 },
      run: (ctx) => {
        calls.push([host, ctx.attempt])
        if (ctx.attempt === 1) throw new Error('first fails')
        return 'ok'
      },
    })
    const { host: a, fault } = await w.startFaulty('a', url, [job('a')])
    await w.run(T0 + 6_000)
    const b = await w.start('b', url, [job('b')])
    await w.run(T0 + 8_000)
    fault.down = true
    const stopping = a.scheduler.stop({ graceMs: 0 })
    await w.run(T0 + 9_000)
    await stopping
    await w.run(T0 + 60_000)
    const runs = await allRuns(b.store)
    expect(runs.map((r) => [r.attempt, r.status, r.instanceId])).toEqual([
      [1, 'failed', 'a'],
      [2, 'succeeded', 'b'],
    ])
    expect(calls).toEqual([
      ['a', 1],
      ['b', 2],
    ])
    expect(a.errors.filter((e) => e.includes('internally'))).toEqual([])
  })
})

describe('a scheduler restarted under the fixed instanceId of one a peer reaped', () => {
  it('its first slots are not recorded under the reaped id (and interrupted)', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const tens: JobDefinition = { name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }
    const every: JobDefinition = { name: 'every', schedule: '* * * * * *', run: () => 'ok' }
    const first = await w.start('a', url, [tens])
    const b = await w.start('b', url, [tens])
    await w.run(T0 + 3_000)
    // The process dies (nothing of it runs again); B reaps it after its lease.
    first.clock.block(10 * MINUTE)
    await w.run(T0 + 20_000)
    expect((await b.store.listInstances()).find((i) => i.id === 'a')?.reapedAt).not.toBeNull()
    // The app is started again with the same instanceId (a pod name, say).
    const again = await w.start('a-again', url, [tens, every], { instanceId: 'a' })
    await w.run(T0 + 30_000)
    const runs = (await allRuns(b.store)).filter((r) => r.job === 'every')
    expect(runs.filter((r) => r.status !== 'succeeded').map((r) => [r.status, r.instanceId, r.errorMessage])).toEqual(
      [],
    )
    expect(again.errors).toEqual([])
  })
})
