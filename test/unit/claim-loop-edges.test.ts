/**
 * The claim loop at its edges: reloads while slots are claimed ahead, running or missed, clock jumps,
 * daylight saving time, overlap, failing claims, one-off jobs across reloads and restarts, and the
 * overlap guard of a run claimed ahead. Each checks the runs table: once per slot, nothing left running.
 */
import { hostname } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import type { CronsConfig, JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import { Scheduler, type SchedulerOptions } from '../../src/core/scheduler.js'
import { openStore } from '../../src/store/index.js'
import type { AttemptRecord, Store } from '../../src/store/types.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const iso = (ms: number) => new Date(ms).toISOString()
const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function configOf(jobs: JobDefinition[], config: Partial<CronsConfig> = {}) {
  return validateConfig({ timezone: 'UTC', ...config, jobs }, { file: 'test' })
}

async function setup(
  jobs: JobDefinition[],
  options: SchedulerOptions & { store?: Store; config?: Partial<CronsConfig>; start?: number } = {},
) {
  const { config, start, ...given } = options
  const clock = (options.clock as FakeClock | undefined) ?? new FakeClock(start ?? T0)
  const store = options.store ?? (await openStore(':memory:'))
  const scheduler = new Scheduler(configOf(jobs, config), { random: () => 0, ...given, clock, store })
  const errors: string[] = []
  scheduler.events.on('engine:error', (e) => errors.push(e.message))
  cleanups.push(async () => {
    await scheduler.stop({ graceMs: 0 }).catch(() => undefined)
    if (!options.store) await store.close().catch(() => undefined)
  })
  return { clock, store, scheduler, errors }
}

async function runs(store: Store, job?: string): Promise<AttemptRecord[]> {
  return (await store.listRuns({ ...(job ? { job } : {}), limit: 10_000 })).reverse()
}
const rowsOf = async (store: Store, job?: string) =>
  (await runs(store, job)).map((r) => [r.status, iso(r.slot)] as [string, string])

/** Make store.claimSlots wait until released, then optionally throw. */
function holdClaims(store: Store) {
  const real = store.claimSlots.bind(store)
  let release: ((fail: boolean) => void) | undefined
  let held = 0
  store.claimSlots = async (...args) => {
    held++
    const fail = await new Promise<boolean>((resolve) => {
      release = resolve
    })
    store.claimSlots = real
    if (fail) throw new Error('claim failed')
    return real(...args)
  }
  return {
    get held() {
      return held
    },
    release: (fail: boolean) => release?.(fail),
  }
}

describe('reload while a claim is in flight', () => {
  it('an unchanged-schedule reload during a claim that fails: the slot is still served', async () => {
    const fired: string[] = []
    const def = (tag: string): JobDefinition => ({
      name: 'j',
      schedule: '* * * * *',
      run: (ctx) => void fired.push(`${tag}@${iso(ctx.scheduledAt.getTime())}`),
    })
    const { clock, store, scheduler } = await setup([def('old')], { claimLeadMs: 100 })
    await scheduler.start()
    const hold = holdClaims(store)
    await clock.advanceTo(T0 + 60_000 - 100) // the loop claims 00:01 ahead; held
    expect(hold.held).toBe(1)
    await scheduler.reload(configOf([def('new')])) // same schedule: the job keeps its queued slot
    hold.release(true) // the claim fails: its slot should go back on the heap
    await clock.advanceTo(T0 + 3 * 60_000 + 1)
    expect(await rowsOf(store, 'j')).toEqual([
      ['succeeded', '2026-01-01T00:01:00.000Z'],
      ['succeeded', '2026-01-01T00:02:00.000Z'],
      ['succeeded', '2026-01-01T00:03:00.000Z'],
    ])
  })
})

describe('reload while a slot is claimed ahead / running / missed', () => {
  const job = (over: Partial<JobDefinition> = {}, fired?: string[], tag = 'x'): JobDefinition =>
    ({
      name: 'j',
      schedule: '* * * * *',
      run: (ctx) => void fired?.push(`${tag}@${iso(ctx.scheduledAt.getTime())}`),
      ...over,
    }) as JobDefinition

  it('cron -> every with the same instants, while claimed ahead: once per slot', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([job({}, fired, 'cron')], { claimLeadMs: 200 })
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 - 100)
    await scheduler.reload(configOf([job({ schedule: undefined, every: '1m' }, fired, 'every')]))
    await clock.advanceTo(T0 + 3 * 60_000 + 1)
    expect(fired).toEqual([
      'cron@2026-01-01T00:01:00.000Z',
      'every@2026-01-01T00:02:00.000Z',
      'every@2026-01-01T00:03:00.000Z',
    ])
    expect((await runs(store, 'j')).map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded'])
  })

  it('tz change while claimed ahead (minute job): once per slot', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([job({}, fired, 'utc')], { claimLeadMs: 200 })
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 - 100)
    await scheduler.reload(configOf([job({ tz: 'Asia/Kolkata' }, fired, 'ist')]))
    await clock.advanceTo(T0 + 3 * 60_000 + 1)
    expect(fired).toEqual([
      'utc@2026-01-01T00:01:00.000Z',
      'ist@2026-01-01T00:02:00.000Z',
      'ist@2026-01-01T00:03:00.000Z',
    ])
    expect((await runs(store, 'j')).map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded'])
  })

  it('remove while claimed ahead: the claimed slot runs once, nothing more, nothing left running', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([job({}, fired)], { claimLeadMs: 200 })
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 - 100)
    await scheduler.reload(configOf([]))
    await clock.advanceTo(T0 + 3 * 60_000 + 1)
    expect(fired).toEqual(['x@2026-01-01T00:01:00.000Z'])
    expect(await rowsOf(store, 'j')).toEqual([['succeeded', '2026-01-01T00:01:00.000Z']])
  })

  it('disable then re-enable while claimed ahead: once per slot, none lost after re-enabling', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([job({}, fired)], { claimLeadMs: 200 })
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 - 100)
    await scheduler.reload(configOf([job({ enabled: false }, fired)]))
    await scheduler.reload(configOf([job({}, fired)]))
    await clock.advanceTo(T0 + 3 * 60_000 + 1)
    expect(fired).toEqual(['x@2026-01-01T00:01:00.000Z', 'x@2026-01-01T00:02:00.000Z', 'x@2026-01-01T00:03:00.000Z'])
    expect((await runs(store, 'j')).map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded'])
  })

  it('reschedule while a run is in progress (overlap skip): the new slot is skipped, the run finishes', async () => {
    let finish!: () => void
    const { clock, store, scheduler } = await setup([job({ run: () => new Promise<void>((r) => (finish = r)) })])
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 + 10)
    await scheduler.reload(configOf([job({ schedule: undefined, every: '30s', run: () => {} })]))
    await clock.advanceTo(T0 + 90_000 + 10)
    finish()
    await clock.advanceTo(T0 + 120_000 + 10)
    expect(await rowsOf(store, 'j')).toEqual([
      ['succeeded', '2026-01-01T00:01:00.000Z'],
      ['skipped', '2026-01-01T00:01:30.000Z'],
      ['succeeded', '2026-01-01T00:02:00.000Z'],
    ])
  })

  it('jitter change while the jittered slot is claimed ahead: once per slot', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([job({ jitter: '20s' }, fired, 'a')], { claimLeadMs: 200 })
    await scheduler.start()
    // find when the 00:01 slot is due under 20s jitter
    await clock.advanceTo(T0 + 60_000 + 20_000 + 1)
    await scheduler.reload(configOf([job({ jitter: '0s' }, fired, 'b')]))
    await clock.advanceTo(T0 + 3 * 60_000 + 25_000)
    const slots = (await runs(store, 'j')).map((r) => iso(r.slot))
    expect(new Set(slots).size).toBe(slots.length)
    expect(slots).toEqual(['2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z', '2026-01-01T00:03:00.000Z'])
    expect((await runs(store, 'j')).every((r) => r.status === 'succeeded')).toBe(true)
  })

  it('catchUp on after a clock jump, before the loop wakes: one catch-up run', async () => {
    const { clock, store, scheduler } = await setup([job({})])
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 + 10)
    clock.jump(10 * 60_000)
    await scheduler.reload(configOf([job({ catchUp: true })]))
    await clock.advance(31_000)
    const rows = await runs(store, 'j')
    expect(rows.map((r) => [r.status, r.trigger])).toEqual([
      ['succeeded', 'schedule'],
      ['succeeded', 'catch-up'],
    ])
  })
})

describe('clock jumps', () => {
  it('forward past the grace: one missed record with the count, then the schedule resumes', async () => {
    const { clock, store, scheduler } = await setup([{ name: 'm', schedule: '* * * * *', run: () => {} }])
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 + 10)
    clock.jump(10 * 60_000) // 00:11:00.010
    await clock.advance(30_000)
    await clock.advanceTo(T0 + 13 * 60_000 + 10)
    const rows = await runs(store, 'm')
    expect(rows.map((r) => [r.status, iso(r.slot)])).toEqual([
      ['succeeded', '2026-01-01T00:01:00.000Z'],
      ['missed', '2026-01-01T00:10:00.000Z'],
      ['succeeded', '2026-01-01T00:11:00.000Z'],
      ['succeeded', '2026-01-01T00:12:00.000Z'],
      ['succeeded', '2026-01-01T00:13:00.000Z'],
    ])
    expect(JSON.parse(rows[1]?.detail ?? '{}')).toMatchObject({ count: 9 })
  })

  it('forward past the grace, catchUp: one catch-up run carrying the missed slots', async () => {
    const { clock, store, scheduler } = await setup([
      { name: 'm', schedule: '* * * * *', catchUp: true, run: () => {} },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 + 10)
    clock.jump(10 * 60_000 - 30_000) // 00:10:30.010
    await clock.advance(30_000)
    await clock.advanceTo(T0 + 12 * 60_000 + 10)
    const rows = await runs(store, 'm')
    expect(rows.map((r) => [r.status, r.trigger, iso(r.slot)])).toEqual([
      ['succeeded', 'schedule', '2026-01-01T00:01:00.000Z'],
      ['succeeded', 'catch-up', '2026-01-01T00:10:00.000Z'],
      ['succeeded', 'schedule', '2026-01-01T00:11:00.000Z'],
      ['succeeded', 'schedule', '2026-01-01T00:12:00.000Z'],
    ])
  })

  it('backward while a slot is claimed ahead: it runs once on its wall instant; no slot twice', async () => {
    const fired: number[] = []
    const { clock, store, scheduler } = await setup(
      [{ name: 'b', schedule: '* * * * *', run: () => void fired.push(clock.now()) }],
      { claimLeadMs: 200 },
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 - 100)
    clock.jump(-5 * 60_000) // NTP steps back five minutes
    await clock.advanceTo(T0 + 3 * 60_000 + 10)
    expect(fired).toEqual([T0 + 60_000, T0 + 120_000, T0 + 180_000])
    expect(await rowsOf(store, 'b')).toEqual([
      ['succeeded', '2026-01-01T00:01:00.000Z'],
      ['succeeded', '2026-01-01T00:02:00.000Z'],
      ['succeeded', '2026-01-01T00:03:00.000Z'],
    ])
  })

  it('backward after runs: the served slots are not run again', async () => {
    const { clock, store, scheduler } = await setup([{ name: 'b', every: '1m', run: () => {} }])
    await scheduler.start()
    await clock.advanceTo(T0 + 3 * 60_000 + 10)
    clock.jump(-3 * 60_000)
    await clock.advanceTo(T0 + 4 * 60_000 + 10)
    expect(await rowsOf(store, 'b')).toEqual([
      ['succeeded', '2026-01-01T00:01:00.000Z'],
      ['succeeded', '2026-01-01T00:02:00.000Z'],
      ['succeeded', '2026-01-01T00:03:00.000Z'],
      ['succeeded', '2026-01-01T00:04:00.000Z'],
    ])
  })

  it('forward, claimed ahead, start timer wakes past the grace: recorded missed, not run', async () => {
    const fired: number[] = []
    const { clock, store, scheduler } = await setup(
      [{ name: 'c', schedule: '* * * * *', run: () => void fired.push(clock.now()) }],
      { claimLeadMs: 200 },
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 - 100)
    clock.jump(5 * 60_000)
    await clock.advance(100)
    await clock.advanceTo(T0 + 7 * 60_000 + 10)
    const rows = await rowsOf(store, 'c')
    expect(fired.includes(T0 + 60_000)).toBe(false)
    expect(rows[0]).toEqual(['missed', '2026-01-01T00:01:00.000Z'])
    expect(rows.filter((r) => r[0] === 'running')).toEqual([])
    expect(new Set(rows.map((r) => r[1])).size).toBe(rows.length)
  })
})

describe('daylight saving time with a running scheduler', () => {
  it('America/New_York spring forward: 30 2 * * * runs once at 03:00 EDT; hourly skips the gap', async () => {
    const start = Date.parse('2025-03-09T05:00:00Z') // 00:00 EST
    const { clock, store, scheduler } = await setup(
      [
        { name: 'fixed', schedule: '30 2 * * *', run: () => {} },
        { name: 'hourly', schedule: '30 * * * *', run: () => {} },
        { name: 'every', every: '1h', run: () => {} },
      ],
      { start, config: { timezone: 'America/New_York' } },
    )
    await scheduler.start()
    await clock.advanceTo(Date.parse('2025-03-09T09:00:00Z'))
    expect(await rowsOf(store, 'fixed')).toEqual([['succeeded', '2025-03-09T07:00:00.000Z']])
    expect((await rowsOf(store, 'hourly')).map((r) => r[1])).toEqual([
      '2025-03-09T05:30:00.000Z',
      '2025-03-09T06:30:00.000Z',
      '2025-03-09T07:30:00.000Z',
      '2025-03-09T08:30:00.000Z',
    ])
    expect((await rowsOf(store, 'every')).map((r) => r[1])).toEqual([
      '2025-03-09T06:00:00.000Z',
      '2025-03-09T07:00:00.000Z',
      '2025-03-09T08:00:00.000Z',
      '2025-03-09T09:00:00.000Z',
    ])
  })

  it('Europe/London fall back: 30 1 * * * runs once; 30 * * * * runs on both passes', async () => {
    const start = Date.parse('2025-10-25T23:00:00Z') // 00:00 BST on the 26th
    const { clock, store, scheduler } = await setup(
      [
        { name: 'fixed', schedule: '30 1 * * *', run: () => {} },
        { name: 'hourly', schedule: '30 * * * *', run: () => {} },
      ],
      { start, config: { timezone: 'Europe/London' } },
    )
    await scheduler.start()
    await clock.advanceTo(Date.parse('2025-10-26T03:00:00Z'))
    expect(await rowsOf(store, 'fixed')).toEqual([['succeeded', '2025-10-26T00:30:00.000Z']])
    expect((await rowsOf(store, 'hourly')).map((r) => r[1])).toEqual([
      '2025-10-25T23:30:00.000Z',
      '2025-10-26T00:30:00.000Z',
      '2025-10-26T01:30:00.000Z',
      '2025-10-26T02:30:00.000Z',
    ])
  })

  it('an at job at 01:30-05:00 (the second pass of the NY fall-back hour) runs once', async () => {
    const start = Date.parse('2025-11-02T04:00:00Z')
    const { clock, store, scheduler } = await setup(
      [{ name: 'once', at: '2025-11-02T01:30:00-05:00', run: () => {} } as JobDefinition],
      { start, config: { timezone: 'America/New_York' } },
    )
    await scheduler.start()
    await clock.advanceTo(Date.parse('2025-11-02T08:00:00Z'))
    const rows = await rowsOf(store, 'once')
    expect(rows.length).toBe(1)
    expect(rows[0]?.[0]).toBe('succeeded')
  })

  it('a clock jump across the NY spring-forward gap (fixed-hour job): one record for the gap slot', async () => {
    const start = Date.parse('2025-03-09T06:50:00Z') // 01:50 EST
    const { clock, store, scheduler } = await setup([{ name: 'fixed', schedule: '30 2 * * *', run: () => {} }], {
      start,
      config: { timezone: 'America/New_York' },
    })
    await scheduler.start()
    clock.jump(30 * 60_000) // 07:20Z = 03:20 EDT: the 03:00 EDT slot is 20 min late
    await clock.advance(30_000)
    expect(await rowsOf(store, 'fixed')).toEqual([['missed', '2025-03-09T07:00:00.000Z']])
  })
})

describe('one-off at jobs with reload and restart: never twice', () => {
  const AT = T0 + 60_000
  const once = (over: Partial<JobDefinition> = {}, fired?: string[], tag = 'a'): JobDefinition =>
    ({ name: 'once', at: iso(AT), run: () => void fired?.push(tag), ...over }) as JobDefinition

  it('ran, then reloaded with a new tz / timeout / re-enabled: no second run, no extra row', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([once({}, fired)])
    await scheduler.start()
    await clock.advanceTo(AT + 10)
    await scheduler.reload(configOf([once({ tz: 'Europe/London' }, fired, 'tz')]))
    await clock.advance(1000)
    await scheduler.reload(configOf([once({ tz: 'Europe/London', enabled: false }, fired, 'off')]))
    await scheduler.reload(configOf([once({ tz: 'Europe/London' }, fired, 'on')]))
    await clock.advance(1000)
    await scheduler.reload(configOf([once({ tz: 'America/New_York', timeout: '5s' }, fired, 'ny')]))
    await clock.advance(120_000)
    expect(fired).toEqual(['a'])
    expect(await rowsOf(store, 'once')).toEqual([['succeeded', iso(AT)]])
  })

  it('ran past its grace then reloaded changed: not recorded missed on top of its run', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([once({}, fired)])
    await scheduler.start()
    await clock.advanceTo(AT + 5 * 60_000)
    await scheduler.reload(configOf([once({ tz: 'Asia/Tokyo' }, fired, 'b')]))
    await clock.advance(60_000)
    expect(await rowsOf(store, 'once')).toEqual([['succeeded', iso(AT)]])
  })

  it('reloaded (changed) while claimed ahead: runs once', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([once({}, fired)], { claimLeadMs: 200 })
    await scheduler.start()
    await clock.advanceTo(AT - 100)
    await scheduler.reload(configOf([once({ tz: 'Asia/Tokyo' }, fired, 'b')]))
    await clock.advance(120_000)
    expect(fired).toEqual(['a'])
    expect(await rowsOf(store, 'once')).toEqual([['succeeded', iso(AT)]])
  })

  it('a second Scheduler on the same store after the first ran it: not again', async () => {
    const store = await openStore(':memory:')
    cleanups.push(() => store.close())
    const fired: string[] = []
    const clock = new FakeClock(T0)
    const first = await setup([once({}, fired, 'first')], { store, clock })
    await first.scheduler.start()
    await clock.advanceTo(AT + 10)
    await first.scheduler.stop()
    const second = await setup([once({}, fired, 'second')], { store, clock })
    await second.scheduler.start()
    await clock.advance(120_000)
    expect(fired).toEqual(['first'])
    expect(await rowsOf(store, 'once')).toEqual([['succeeded', iso(AT)]])
  })

  it('restart while the first had it claimed ahead and stopped before its instant: one row, none running', async () => {
    const store = await openStore(':memory:')
    cleanups.push(() => store.close())
    const fired: string[] = []
    const clock = new FakeClock(T0)
    const first = await setup([once({}, fired, 'first')], { store, clock, claimLeadMs: 200 })
    await first.scheduler.start()
    await clock.advanceTo(AT - 100)
    await first.scheduler.stop({ graceMs: 0 })
    const second = await setup([once({}, fired, 'second')], { store, clock })
    await second.scheduler.start()
    await clock.advance(120_000)
    const rows = await rowsOf(store, 'once')
    expect(rows.length).toBe(1)
    expect(rows.filter((r) => r[0] === 'running')).toEqual([])
    expect(fired.length).toBeLessThanOrEqual(1)
  })

  it('a second Scheduler started before the instant with the first stopped: runs once', async () => {
    const store = await openStore(':memory:')
    cleanups.push(() => store.close())
    const fired: string[] = []
    const clock = new FakeClock(T0)
    const first = await setup([once({}, fired, 'first')], { store, clock })
    await first.scheduler.start()
    await clock.advance(10_000)
    await first.scheduler.stop()
    const second = await setup([once({}, fired, 'second')], { store, clock })
    await second.scheduler.start()
    await clock.advance(120_000)
    expect(fired).toEqual(['second'])
    expect(await rowsOf(store, 'once')).toEqual([['succeeded', iso(AT)]])
  })

  it('two schedulers running together on the same store: once', async () => {
    const store = await openStore(':memory:')
    cleanups.push(() => store.close())
    const fired: string[] = []
    const clock = new FakeClock(T0)
    const a = await setup([once({}, fired, 'a')], { store, clock, instanceId: 'a' })
    const b = await setup([once({}, fired, 'b')], { store, clock, instanceId: 'b' })
    await a.scheduler.start()
    await b.scheduler.start()
    await clock.advance(120_000)
    expect(fired.length).toBe(1)
    expect((await rowsOf(store, 'once')).length).toBe(1)
  })
})

describe('overlap and failing claims', () => {
  it("overlap 'skip': a run that ends exactly at the next instant does not skip it", async () => {
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'o',
          schedule: '* * * * * *',
          run: () => new Promise<void>((resolve) => void clock.setTimeout(resolve, 1000)),
        },
      ],
      { claimLeadMs: 100 },
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 3_500)
    const rows = await rowsOf(store, 'o')
    expect(rows.slice(0, 3)).toEqual([
      ['succeeded', '2026-01-01T00:00:01.000Z'],
      ['succeeded', '2026-01-01T00:00:02.000Z'],
      ['running', '2026-01-01T00:00:03.000Z'],
    ])
  })

  it('many jobs on one instant, claimSlots throws once: each runs once, late within the grace', async () => {
    const fired: string[] = []
    const jobs: JobDefinition[] = Array.from({ length: 20 }, (_, i) => ({
      name: `j${i}`,
      schedule: '* * * * *',
      run: (ctx) => void fired.push(`${ctx.job.name}@${iso(ctx.scheduledAt.getTime())}`),
    }))
    const { clock, store, scheduler, errors } = await setup(jobs, { claimLeadMs: 100 })
    await scheduler.start()
    const real = store.claimSlots.bind(store)
    let calls = 0
    store.claimSlots = async (...args) => {
      if (calls++ === 0) throw new Error('boom')
      return real(...args)
    }
    await clock.advanceTo(T0 + 2 * 60_000 + 10)
    expect(fired.length).toBe(40)
    expect(new Set(fired).size).toBe(40)
    const rows = await runs(store)
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true)
    expect(rows.length).toBe(40)
    expect(errors.length).toBeLessThanOrEqual(1)
  })

  it('claimSlots throws once with overlap allow and several slots in the horizon: none twice', async () => {
    const { clock, store, scheduler } = await setup([{ name: 'a', every: '1s', overlap: 'allow', run: () => {} }], {
      claimLeadMs: 100,
    })
    await scheduler.start()
    const real = store.claimSlots.bind(store)
    let calls = 0
    store.claimSlots = async (...args) => {
      if (calls++ === 0) throw new Error('boom')
      return real(...args)
    }
    await clock.advanceTo(T0 + 5_000 + 10)
    const rows = await rowsOf(store, 'a')
    expect(new Set(rows.map((r) => r[1])).size).toBe(rows.length)
    expect(rows.filter((r) => r[0] === 'running')).toEqual([])
    expect(rows.map((r) => r[1])).toContain('2026-01-01T00:00:05.000Z')
  })
})

describe('more reload edges', () => {
  it('lowering the jitter of a job waiting out its jitter: its slot is not recorded missed and dropped', async () => {
    const fired: string[] = []
    const def = (jitter: string): JobDefinition =>
      ({
        name: 'report',
        schedule: '0 * * * *',
        jitter,
        run: (ctx) => void fired.push(iso(ctx.scheduledAt.getTime())),
      }) as JobDefinition
    const { clock, store, scheduler } = await setup([def('50m')])
    await scheduler.start()
    // The 01:00 slot of "report" is due at 01:19:04.863 under a 50-minute jitter.
    await clock.advanceTo(T0 + 70 * 60_000) // 01:10, still waiting for it
    expect(await rowsOf(store, 'report')).toEqual([])
    await scheduler.reload(configOf([def('1m')])) // its due time becomes 01:00:04.863, ten minutes ago
    await clock.advanceTo(T0 + 80 * 60_000)
    // A reload is not an outage (docs/scheduling.md): the slot the job was waiting for still runs, once.
    expect(await rowsOf(store, 'report')).toEqual([['succeeded', '2026-01-01T01:00:00.000Z']])
    expect(fired).toEqual(['2026-01-01T01:00:00.000Z'])
  })

  it('an at job past its grace at first start: one missed row; a restart adds nothing', async () => {
    const store = await openStore(':memory:')
    cleanups.push(() => store.close())
    const clock = new FakeClock(T0)
    const past: JobDefinition = { name: 'old', at: iso(T0 - 10 * 60_000), run: () => {} } as JobDefinition
    const a = await setup([past], { store, clock })
    await a.scheduler.start()
    await clock.advance(1000)
    await a.scheduler.stop()
    const b = await setup([past], { store, clock })
    await b.scheduler.start()
    await clock.advance(60_000)
    await b.scheduler.reload(configOf([{ ...past, tz: 'Asia/Tokyo' } as JobDefinition]))
    await clock.advance(60_000)
    expect(await rowsOf(store, 'old')).toEqual([['missed', iso(T0 - 10 * 60_000)]])
  })

  it('pause, clock jump past the grace, resume: one missed and one paused stretch, then runs', async () => {
    const { clock, store, scheduler } = await setup([{ name: 'p', schedule: '* * * * *', run: () => {} }])
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 + 10)
    await scheduler.pause('p')
    await clock.advanceTo(T0 + 3 * 60_000 + 10)
    clock.jump(10 * 60_000)
    await clock.advance(30_000)
    await scheduler.resume('p')
    await clock.advanceTo(T0 + 15 * 60_000 + 10)
    const rows = await runs(store, 'p')
    expect(rows.map((r) => r.status)).toEqual(['succeeded', 'skipped', 'missed', 'skipped', 'succeeded', 'succeeded'])
  })
})

describe('a run claimed ahead holds its job from the claim', () => {
  it('a retry due a moment before it is skipped, saying the run is about to start (not running since a later time)', async () => {
    let calls = 0
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'r',
          schedule: '* * * * *',
          retry: { max: 1, backoff: 'constant', initial: '59900ms' },
          run: () => {
            calls++
            if (calls === 1) throw new Error('first attempt fails')
          },
        },
      ],
      { claimLeadMs: 200 },
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 2 * 60_000 + 10)
    const rows = (await runs(store, 'r')).map((r) => [r.status, iso(r.slot), r.attempt, r.detail])
    // The retry is due at 00:01:59.900; the 00:02 run was claimed at 00:01:59.800 and starts 100 ms later.
    expect(rows).toEqual([
      ['failed', '2026-01-01T00:01:00.000Z', 1, null],
      ['succeeded', '2026-01-01T00:02:00.000Z', 1, null],
      [
        'skipped',
        '2026-01-01T00:01:00.000Z',
        2,
        `about to run: run 2 on instance ${scheduler.instanceId} starts at 2026-01-01T00:02:00.000Z`,
      ],
    ])
  })

  it('runJob a moment before it is refused as about to run, naming when it starts', async () => {
    const { clock, scheduler } = await setup([{ name: 'm', schedule: '* * * * *', run: () => {} }], {
      claimLeadMs: 200,
    })
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 - 100)
    await expect(scheduler.runJob('m')).rejects.toThrow(
      `job "m" is about to run: run 1 on instance ${scheduler.instanceId} (host ${hostname()}, pid ${process.pid}) starts at 2026-01-01T00:01:00.000Z`,
    )
  })
})
