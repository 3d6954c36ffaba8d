/**
 * Two schedulers on one PostgreSQL schema, each with a clock of its own (SEMANTICS §9): a host minutes
 * off the database server's clock, a host clock stepping forward and back, the server's clock going
 * back, daylight-saving days across hosts, and a host whose event loop is blocked past its lease. All
 * on injected clocks (test/postgres/hosts.ts): no test waits for a schedule.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { JobDefinition } from '../../src/config/types.js'
import { accountedSlots, allRuns, type Host, slotsBetween, World } from '../postgres/hosts.js'
import { freshSchema, stateUrl } from '../postgres/schemas.js'

const T0 = Date.parse('2026-01-05T00:00:00Z')
const MINUTE = 60_000
const worlds: World[] = []

afterEach(async () => {
  for (const world of worlds.splice(0)) await world.stop()
})

function world(start: number | string = T0): World {
  const w = new World(start)
  worlds.push(w)
  return w
}

const JOBS: JobDefinition[] = [
  { name: 'minutely', schedule: '* * * * *', run: () => 'ok' },
  { name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' },
]

/** Every slot of both jobs from `from` to `to` ran exactly once, and nothing was missed or skipped. */
async function expectEachSlotOnce(w: World, from: number, to: number): Promise<void> {
  const runs = await allRuns(w.hosts[0]?.store as never)
  expect(runs.filter((r) => r.status !== 'succeeded')).toEqual([])
  const slots = (job: string) => runs.filter((r) => r.job === job).map((r) => r.slot)
  expect(slots('minutely').sort((a, b) => a - b)).toEqual(slotsBetween(from, to, MINUTE))
  expect(slots('tens').sort((a, b) => a - b)).toEqual(slotsBetween(from, to, 10_000))
}

function skewEvents(w: World, host: number): unknown[] {
  return (w.hosts[host]?.events ?? []).filter((e) => e.name === 'clock:skew').map((e) => e.payload)
}

describe('a host minutes off the database server clock', () => {
  it.each([
    ['ahead', 5 * MINUTE],
    ['behind', -5 * MINUTE],
  ])('5 minutes %s: each slot runs exactly once, none is missed, the skew is reported once', async (_, skew) => {
    const w = world()
    const url = stateUrl(freshSchema())
    const a = await w.start('a', url, JOBS, { skewMs: skew })
    const b = await w.start('b', url, JOBS)
    await w.run(T0 + 5 * MINUTE + 5_000)

    await expectEachSlotOnce(w, T0, T0 + 5 * MINUTE)
    // Measured again every minute, reported once.
    expect(skewEvents(w, 0)).toEqual([{ offsetMs: -skew, skewed: true }])
    expect(skewEvents(w, 1)).toEqual([])
    // Heartbeats are on the server's clock, whatever the host's says.
    const instances = await b.store.listInstances()
    for (const instance of instances) expect(Math.abs(instance.heartbeatAt - w.serverNow())).toBeLessThan(3_000)
    // Each instance's offset is recorded with it, for `crons status`.
    expect(instances.map((i) => [i.id, i.clockOffsetMs])).toEqual([
      ['a', -skew],
      ['b', 0],
    ])
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})

describe('clocks that step', () => {
  it("a host's clock stepping 5 minutes ahead, then back: no slot twice, none missed", async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const a = await w.start('a', url, JOBS)
    const b = await w.start('b', url, JOBS)
    // Each step comes just before a wake-up of the claim loop (between two heartbeats), so that it
    // is the loop that must notice it before taking anything for due.
    await w.run(T0 + MINUTE + 9_500)
    a.clock.skewMs = 5 * MINUTE
    await w.run(T0 + 3 * MINUTE + 9_500)
    // Backwards, by the same 5 minutes.
    a.clock.skewMs = 0
    await w.run(T0 + 5 * MINUTE + 3_000)

    await expectEachSlotOnce(w, T0, T0 + 5 * MINUTE)
    // Noticed at the first timer after each step, before anything was claimed on the stepped clock.
    expect(skewEvents(w, 0)).toEqual([
      { offsetMs: -5 * MINUTE, skewed: true },
      { offsetMs: 0, skewed: false },
    ])
    expect((await a.store.listInstances()).find((i) => i.id === 'a')?.clockOffsetMs).toBe(0)
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('a single host whose clock goes back 2 minutes runs no slot twice, and misses none', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const a = await w.start('a', url, JOBS)
    await w.run(T0 + 2 * MINUTE + 3_000)
    a.clock.skewMs = -2 * MINUTE
    await w.run(T0 + 4 * MINUTE + 3_000)
    await expectEachSlotOnce(w, T0, T0 + 4 * MINUTE)
    expect(a.errors).toEqual([])
  })

  it("the database server's clock going back 90 s: no slot runs twice, no host is taken for dead", async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    const a = await w.start('a', url, JOBS)
    const b = await w.start('b', url, JOBS)
    await w.run(T0 + 2 * MINUTE + 3_000)
    w.serverSkewMs = -90_000
    await w.run(T0 + 5 * MINUTE + 3_000)

    const runs = await allRuns(a.store)
    // The 90 s the server's clock repeats are served once: every slot up to the server's now, once.
    const until = w.serverNow()
    expect(runs.filter((r) => r.status !== 'succeeded')).toEqual([])
    expect(accountedSlots(runs, 'minutely', MINUTE)).toEqual(slotsBetween(T0, until, MINUTE))
    expect(accountedSlots(runs, 'tens', 10_000)).toEqual(slotsBetween(T0, until, 10_000))
    expect((await a.store.listInstances()).map((i) => i.reapedAt)).toEqual([null, null])
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})

describe('daylight-saving days across two hosts', () => {
  const DST_JOBS: JobDefinition[] = [
    // Fixed-hour: once on each day, at 03:00 EDT on the spring day, on the first 01:30 on the fall day.
    { name: 'two-thirty', schedule: '30 2 * * *', run: () => 'ok' },
    { name: 'one-thirty', schedule: '30 1 * * *', run: () => 'ok' },
    // Hour-wildcard: its cadence in real time, both passes of the repeated hour.
    { name: 'half-hourly', schedule: '*/30 * * * *', run: () => 'ok' },
  ]
  // Long heartbeats: a simulated day has fewer wake-ups to serve.
  const LEASE = { heartbeatMs: 60_000, instanceTtlMs: 300_000 }

  /** The (job, slot) of every run, as one or two hosts served a day. */
  async function served(hosts: number, from: string, to: string): Promise<string[]> {
    const w = world(from)
    const url = stateUrl(freshSchema())
    const started = []
    for (let i = 0; i < hosts; i++) {
      // The second host's clock is 3 minutes ahead: the skew must change nothing either.
      started.push(
        await w.start(`h${i}`, url, DST_JOBS, { timezone: 'America/New_York', skewMs: i * 180_000, ...LEASE }),
      )
    }
    await w.run(Date.parse(to))
    const runs = await allRuns(started[0]?.store as never)
    expect(runs.filter((r) => r.status !== 'succeeded')).toEqual([])
    for (const host of started) expect(host.errors).toEqual([])
    return runs.map((r) => `${r.job} ${new Date(r.slot).toISOString()}`).sort()
  }

  it('spring forward (2026-03-08): two hosts give the same runs as one, 02:30 once at 03:00 EDT', async () => {
    const one = await served(1, '2026-03-08T04:00:00Z', '2026-03-08T10:00:00Z')
    const two = await served(2, '2026-03-08T04:00:00Z', '2026-03-08T10:00:00Z')
    expect(two).toEqual(one)
    expect(one.filter((r) => r.startsWith('two-thirty'))).toEqual(['two-thirty 2026-03-08T07:00:00.000Z'])
    expect(one.filter((r) => r.startsWith('one-thirty'))).toEqual(['one-thirty 2026-03-08T06:30:00.000Z'])
    // Real-time cadence: the local 02:00 and 02:30 never come, but no half-hour of real time is lost.
    expect(one.filter((r) => r.startsWith('half-hourly'))).toHaveLength(12)
  })

  it('fall back (2026-11-01): two hosts give the same runs as one, 01:30 once, on the first pass', async () => {
    const one = await served(1, '2026-11-01T04:00:00Z', '2026-11-01T10:00:00Z')
    const two = await served(2, '2026-11-01T04:00:00Z', '2026-11-01T10:00:00Z')
    expect(two).toEqual(one)
    expect(one.filter((r) => r.startsWith('one-thirty'))).toEqual(['one-thirty 2026-11-01T05:30:00.000Z'])
    expect(one.filter((r) => r.startsWith('two-thirty'))).toEqual(['two-thirty 2026-11-01T07:30:00.000Z'])
    // Both passes of the repeated hour: 12 half-hours in 6 real hours.
    expect(one.filter((r) => r.startsWith('half-hourly'))).toHaveLength(12)
  })
})

describe('a lease lost while the event loop is blocked', () => {
  it('a peer reaps the host; its late write is refused, its job aborted, and it goes on under a new id without claiming on the lost lease', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    let blocked: Host | undefined
    let aborted = false
    const blockerAt = T0 + 30_500
    const a = await w.start('a', url, [
      { name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' },
      // Only this host has it: after the block nobody but this host can serve it.
      { name: 'solo', schedule: '* * * * * *', run: () => 'ok' },
      {
        name: 'blocker',
        at: new Date(blockerAt).toISOString(),
        run: (ctx) => {
          // Synchronous work for 20 s, past the 10-s lease: no heartbeat, no timer of this host fires.
          blocked?.clock.block(20_000)
          return new Promise((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = true
              resolve('finished late')
            })
          })
        },
      },
    ])
    blocked = a
    const b = await w.start('b', url, [{ name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }])
    await w.run(T0 + 70_000)

    const runs = await allRuns(b.store)
    const blocker = runs.find((r) => r.job === 'blocker')
    // The peer found it dead and interrupted its run; the outcome the host wrote late changed nothing.
    expect(blocker).toMatchObject({ status: 'interrupted', instanceId: 'a', result: null })
    expect(blocker?.errorMessage).toBe('interrupted: instance a stopped heartbeating')
    expect(b.events).toContainEqual({ name: 'runs:interrupted', payload: { runIds: [blocker?.id] } })
    expect(aborted).toBe(true)
    const renamed = a.scheduler.instanceId
    expect(renamed).toMatch(/^a-/)
    expect(a.errors).toEqual(
      expect.arrayContaining([
        `instance a was found dead by a peer (stalled past its lease); its runs were taken over, continuing as ${renamed}`,
        `run ${blocker?.id} was taken over by another instance (this one was thought dead); its outcome here was not recorded`,
      ]),
    )
    // Self-fencing: after the block, nothing was claimed on the lost lease; the slots it blocked are
    // one missed record, and the host serves the job again under its new id.
    const solo = runs.filter((r) => r.job === 'solo' && r.slot > blockerAt)
    expect(solo.filter((r) => r.instanceId === 'a')).toEqual([])
    expect(solo.filter((r) => r.status !== 'succeeded').map((r) => r.status)).toEqual(['missed'])
    expect(solo.filter((r) => r.status === 'succeeded').length).toBeGreaterThan(10)
    expect(new Set(solo.map((r) => r.instanceId))).toEqual(new Set([renamed]))
    expect(accountedSlots(runs, 'solo', 1000)).toEqual(slotsBetween(T0, T0 + 70_000, 1000))
    expect(accountedSlots(runs, 'tens', 10_000)).toEqual(slotsBetween(T0, T0 + 70_000, 10_000))
    expect((await b.store.listInstances()).find((i) => i.id === renamed)).toMatchObject({ reapedAt: null })
  })
})

describe('default lease on PostgreSQL', () => {
  it('a host gone silent has its running attempt interrupted by a peer within 12 s (2-s heartbeat, dead after 10 s)', async () => {
    const w = world()
    const url = stateUrl(freshSchema())
    let silent: Host | undefined
    let wentSilentAt = 0
    const a = await w.start('a', url, [
      {
        name: 'last-words',
        at: new Date(T0 + 20_500).toISOString(),
        run: (ctx) => {
          // As good as killed: from here on nothing of this host runs (no heartbeat, no timer).
          wentSilentAt = w.time.now()
          silent?.clock.block(60_000)
          return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('never recorded')))
        },
      },
    ])
    silent = a
    const b = await w.start('b', url, [])
    await w.run(T0 + 20_600)
    expect(wentSilentAt).toBe(T0 + 20_500)
    const [run] = await b.store.listRuns({ job: 'last-words' })
    expect(run?.status).toBe('running')

    await w.run(wentSilentAt + 12_000)
    expect(await b.store.getRun(run?.id as number)).toMatchObject({ status: 'interrupted', active: false })
  })
})
