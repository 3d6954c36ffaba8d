import { afterEach, describe, expect, it } from 'vitest'
import type { CronsConfig, FunctionJobDefinition, JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock, flushCallbacks } from '../../src/core/clock.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { openStore } from '../../src/store/index.js'
import type { AttemptRecord, Store } from '../../src/store/types.js'
import { storeWith } from '../store/helpers.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const iso = (ms: number) => new Date(ms).toISOString()

interface Harness {
  clock: FakeClock
  store: Store
  scheduler: Scheduler
}

const open: Harness[] = []

async function harness(
  jobs: JobDefinition[],
  options: { clock?: FakeClock; store?: Store; config?: Partial<CronsConfig>; instanceId?: string } = {},
): Promise<Harness> {
  const clock = options.clock ?? new FakeClock(T0)
  const store = options.store ?? (await openStore(':memory:'))
  const config = validateConfig({ timezone: 'UTC', ...options.config, jobs }, { file: 'test' })
  const scheduler = new Scheduler(config, {
    clock,
    store,
    random: () => 0,
    ...(options.instanceId ? { instanceId: options.instanceId } : {}),
  })
  const h = { clock, store, scheduler }
  open.push(h)
  return h
}

afterEach(async () => {
  for (const h of open.splice(0)) await h.scheduler.stop({ graceMs: 0 })
})

async function runs(store: Store, job?: string): Promise<AttemptRecord[]> {
  return (await store.listRuns({ ...(job ? { job } : {}), limit: 10_000 })).reverse()
}

function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

describe('firing', () => {
  it('fires every slot once, from the wall clock, with one timer for all jobs', async () => {
    const seen: string[] = []
    const jobs: JobDefinition[] = Array.from({ length: 50 }, (_, i) => ({
      name: `j${i}`,
      schedule: '*/10 * * * * *',
      run: (ctx) => {
        if (i === 0) seen.push(ctx.scheduledAt.toISOString())
      },
    }))
    const { clock, store, scheduler } = await harness(jobs)
    await scheduler.start()
    // One wake-up timer plus the heartbeat and the pruning timer, not one per job.
    expect(clock.pending).toBeLessThanOrEqual(3)
    await clock.advance(60_000)
    expect(seen).toEqual([10, 20, 30, 40, 50, 60].map((s) => iso(T0 + s * 1000)))
    const all = await runs(store)
    expect(all).toHaveLength(300)
    expect(new Set(all.map((r) => `${r.job}@${r.slot}`)).size).toBe(300)
    expect(all.every((r) => r.status === 'succeeded' && r.trigger === 'schedule' && r.attempt === 1)).toBe(true)
  })

  it('two schedulers sharing one store fire each slot exactly once in total', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const count = new Map<number, number>()
    const job: JobDefinition = {
      name: 'tick',
      schedule: '* * * * * *',
      run: (ctx) => {
        count.set(ctx.scheduledAt.getTime(), (count.get(ctx.scheduledAt.getTime()) ?? 0) + 1)
      },
    }
    const a = await harness([job], { clock, store, instanceId: 'a' })
    const b = await harness([job], { clock, store, instanceId: 'b' })
    await a.scheduler.start()
    await b.scheduler.start()
    await clock.advance(20_000)
    expect(count.size).toBe(20)
    expect([...count.values()].every((n) => n === 1)).toBe(true)
    const instances = new Set((await runs(store)).map((r) => r.instanceId))
    expect(instances.size).toBeGreaterThanOrEqual(1)
  })

  it('a timer that wakes early re-arms; a late one still runs the slot within the misfire grace', async () => {
    const fired: number[] = []
    const { clock, scheduler } = await harness([
      { name: 'm', schedule: '0 * * * *', run: (ctx) => void fired.push(ctx.scheduledAt.getTime()) },
    ])
    await scheduler.start()
    // The sleep is capped at 30 s, so an hour passes through many wake-ups without firing early.
    await clock.advance(59 * 60_000)
    expect(fired).toEqual([])
    clock.jump(60_000 + 30_000) // suspended across the slot, woke 30 s late: within the 60 s grace
    await clock.advance(1000)
    expect(fired).toEqual([T0 + 3_600_000])
  })

  it('fires a fixed-hour job once at the end of the DST gap (New York, 2025-03-09)', async () => {
    const clock = new FakeClock('2025-03-09T06:00:00Z')
    const fired: string[] = []
    const { scheduler } = await harness(
      [
        {
          name: 'dst',
          schedule: '30 2 * * *',
          tz: 'America/New_York',
          run: (ctx) => void fired.push(ctx.scheduledAt.toISOString()),
        },
      ],
      { clock },
    )
    await scheduler.start()
    await clock.advance(26 * 3_600_000)
    expect(fired).toEqual(['2025-03-09T07:00:00.000Z', '2025-03-10T06:30:00.000Z'])
  })
})

describe('interval, one-off, jitter and jobs added later', () => {
  it("'every' fires at multiples of the interval since the epoch and 'at' fires once", async () => {
    const seen: string[] = []
    const at = new Date(T0 + 90_000).toISOString()
    const { clock, scheduler } = await harness([
      { name: 'every', every: '1m', run: (ctx) => void seen.push(`every ${ctx.scheduledAt.toISOString()}`) },
      { name: 'once', at, run: (ctx) => void seen.push(`once ${ctx.scheduledAt.toISOString()}`) },
    ])
    await scheduler.start()
    await clock.advance(3 * 60_000)
    expect(seen).toEqual([
      `every ${iso(T0 + 60_000)}`,
      `once ${at}`,
      `every ${iso(T0 + 120_000)}`,
      `every ${iso(T0 + 180_000)}`,
    ])
  })

  it('jitter delays each start by the same amount in every process, within the jitter', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const starts: { slot: number; at: number }[] = []
    const job: JobDefinition = {
      name: 'spread',
      schedule: '* * * * *',
      jitter: '30s',
      run: (ctx) => void starts.push({ slot: ctx.scheduledAt.getTime(), at: clock.now() }),
    }
    const a = await harness([job], { clock, store, instanceId: 'a' })
    const b = await harness([job], { clock, store, instanceId: 'b' })
    await a.scheduler.start()
    await b.scheduler.start()
    await clock.advance(10 * 60_000 + 30_000) // the 00:10 slot starts up to 30 s late
    expect(starts.map((s) => s.slot)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + (i + 1) * 60_000))
    const delays = starts.map((s) => s.at - s.slot)
    expect(delays.every((d) => d >= 0 && d < 30_000)).toBe(true)
    expect(new Set(delays).size).toBeGreaterThan(1)
  })

  it('add() on a started scheduler picks the job up at once', async () => {
    const fired: string[] = []
    const { clock, scheduler } = await harness([])
    await scheduler.start()
    await clock.advance(30_000)
    await scheduler.add({
      name: 'late',
      schedule: '* * * * *',
      run: (ctx) => void fired.push(ctx.scheduledAt.toISOString()),
    })
    await clock.advance(90_000)
    expect(fired).toEqual([iso(T0 + 60_000), iso(T0 + 120_000)])
  })
})

describe('claiming ahead of the slot', () => {
  async function leadHarness(jobs: JobDefinition[]) {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const config = validateConfig({ timezone: 'UTC', jobs }, { file: 'test' })
    const scheduler = new Scheduler(config, { clock, store, claimLeadMs: 100, random: () => 0 })
    open.push({ clock, store, scheduler })
    return { clock, store, scheduler }
  }

  it('claims up to the lead before the slot and starts the job on the instant', async () => {
    const started: number[] = []
    const { clock, store, scheduler } = await leadHarness([
      { name: 'tick', schedule: '* * * * * *', run: () => void started.push(clock.now()) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 950) // inside the lead of the 00:00:01 slot
    const [row] = await runs(store, 'tick')
    expect(row).toMatchObject({ slot: T0 + 1000, status: 'running', startedAt: T0 + 1000 })
    expect(started).toEqual([])
    await clock.advanceTo(T0 + 3000)
    expect(started).toEqual([T0 + 1000, T0 + 2000, T0 + 3000])
    expect((await runs(store, 'tick')).slice(0, 3).map((r) => r.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ])
  })

  it('does not claim early for a job still running here, so overlap skip is judged on the instant', async () => {
    const { clock, store, scheduler } = await leadHarness([
      {
        name: 'busy',
        schedule: '* * * * * *',
        run: () => new Promise<void>((resolve) => clock.setTimeout(resolve, 950)),
      },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 5000)
    const statuses = (await runs(store, 'busy')).map((r) => r.status)
    expect(statuses.slice(0, 4)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded'])
    expect(statuses).not.toContain('skipped')
  })

  it('with a clock that can wait precisely, wakes 8 ms early, waits for the instant, and never starts before it', async () => {
    // A clock whose wait does nothing stands for a wait cut short: the start must still wait.
    class ShortWaitClock extends FakeClock {
      waits: [number, number][] = []
      waitUntil(at: number): void {
        this.waits.push([this.now(), at])
      }
    }
    const clock = new ShortWaitClock(T0)
    const store = await openStore(':memory:')
    const started: number[] = []
    const config = validateConfig(
      { timezone: 'UTC', jobs: [{ name: 'tick', schedule: '* * * * * *', run: () => void started.push(clock.now()) }] },
      { file: 'test' },
    )
    const scheduler = new Scheduler(config, { clock, store, claimLeadMs: 100, random: () => 0, preciseStart: true })
    open.push({ clock, store, scheduler })
    await scheduler.start()
    await clock.advanceTo(T0 + 2000)
    // Woken 8 ms early; the wait fell short, so a timer for the rest, then the start on the instant.
    expect(clock.waits).toEqual([
      [T0 + 992, T0 + 1000],
      [T0 + 1000, T0 + 1000],
      [T0 + 1992, T0 + 2000],
      [T0 + 2000, T0 + 2000],
    ])
    expect(started).toEqual([T0 + 1000, T0 + 2000])
  })

  it('after a precise wait, gives batches due within 80 ms plain timers, so the event loop is not blocked back to back', async () => {
    // A clock whose wait reaches the instant, as the system clock's does.
    class PreciseClock extends FakeClock {
      waits: [number, number][] = []
      waitUntil(at: number): void {
        this.waits.push([this.now(), at])
        this.jump(Math.max(0, at - this.now()))
      }
    }
    const clock = new PreciseClock(T0)
    const store = await openStore(':memory:')
    const started: [string, number][] = []
    const job = (name: string, at: number): JobDefinition => ({
      name,
      at: new Date(at),
      run: () => void started.push([name, clock.now()]),
    })
    const jobs = [job('a', T0 + 1000), job('b', T0 + 1005), job('c', T0 + 1010), job('d', T0 + 1100)]
    const config = validateConfig({ timezone: 'UTC', jobs }, { file: 'test' })
    const scheduler = new Scheduler(config, { clock, store, claimLeadMs: 200, random: () => 0, preciseStart: true })
    open.push({ clock, store, scheduler })
    await scheduler.start()
    await clock.advanceTo(T0 + 2000)
    expect(clock.waits).toEqual([
      [T0 + 992, T0 + 1000],
      [T0 + 1092, T0 + 1100],
    ])
    expect(started).toEqual([
      ['a', T0 + 1000],
      ['b', T0 + 1005],
      ['c', T0 + 1010],
      ['d', T0 + 1100],
    ])
  })

  it('a late slot and the next one due within the lead: the next is not skipped behind the late run', async () => {
    const clock = new FakeClock(T0 + 500)
    const store = await openStore(':memory:')
    const config = validateConfig(
      { timezone: 'UTC', jobs: [{ name: 't', schedule: '* * * * * *', run: () => {} }] },
      { file: 'test' },
    )
    const scheduler = new Scheduler(config, { clock, store, random: () => 0 })
    open.push({ clock, store, scheduler })
    await scheduler.start()
    await clock.advance(2000)
    clock.jump(1499) // the event loop was blocked: 00:03 is found late, 00:04 is a millisecond away
    await clock.advance(3000)
    const all = await runs(store, 't')
    expect(all.map((r) => r.status)).not.toContain('skipped')
    const rows = all.filter((r) => r.slot <= T0 + 6000) // 00:07 may be claimed ahead already
    expect(rows.map((r) => [r.slot - T0, r.status])).toEqual(
      [1000, 2000, 3000, 4000, 5000, 6000].map((slot) => [slot, 'succeeded']),
    )
    for (const row of rows) expect(row.startedAt).toBeLessThanOrEqual(row.finishedAt as number)
  })

  it('a job faster than the claim lead runs every slot; with overlap allow, several are claimed in one batch', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const batches: number[] = []
    const jobs: JobDefinition[] = [
      { name: 'skip', every: '100ms', run: () => {} },
      { name: 'allow', every: '100ms', overlap: 'allow', run: () => {} },
    ]
    const config = validateConfig({ timezone: 'UTC', jobs }, { file: 'test' })
    const scheduler = new Scheduler(config, { clock, store, claimLeadMs: 250, random: () => 0 })
    open.push({ clock, store, scheduler })
    const claimSlots = store.claimSlots.bind(store)
    store.claimSlots = (claims, instanceId, now) => {
      batches.push(claims.filter((c) => c.job === 'allow').length)
      return claimSlots(claims, instanceId, now)
    }
    await scheduler.start()
    for (let i = 0; i < 20; i++) await clock.advance(50)
    for (const job of ['skip', 'allow']) {
      // Slots claimed ahead of now are still waiting for their instant.
      const rows = (await runs(store, job)).filter((r) => r.slot <= clock.now())
      expect(rows.length, job).toBeGreaterThanOrEqual(9)
      expect(new Set(rows.map((r) => r.status)), job).toEqual(new Set(['succeeded']))
      for (const row of rows) expect(row.startedAt, job).toBe(row.slot)
    }
    expect(Math.max(...batches)).toBeGreaterThan(1)
  })

  it('stopping just before an instant it claimed, it starts those runs on the instant and lets them finish', async () => {
    const started: number[] = []
    const { clock, store, scheduler } = await leadHarness([
      { name: 'late', schedule: '0 * * * *', run: () => void started.push(clock.now()) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 - 50)
    const stopped = scheduler.stop()
    await clock.advance(100)
    await stopped
    expect(started).toEqual([T0 + 3_600_000])
    expect(await runs(store, 'late')).toMatchObject([{ slot: T0 + 3_600_000, status: 'succeeded', active: false }])
  })

  it('two schedulers: the one stopping before an instant it claimed still serves it, exactly once', async () => {
    const clock = new FakeClock(T0 + 30_000)
    const store = await openStore(':memory:')
    const seen: string[] = []
    const jobs: JobDefinition[] = [{ name: 'j', schedule: '* * * * *', run: () => void seen.push(iso(clock.now())) }]
    const config = validateConfig({ timezone: 'UTC', jobs }, { file: 'test' })
    const a = new Scheduler(config, { clock, store, instanceId: 'A', claimLeadMs: 200, random: () => 0 })
    const b = new Scheduler(config, { clock, store, instanceId: 'B', claimLeadMs: 200, random: () => 0 })
    open.push({ clock, store, scheduler: b })
    await a.start()
    await b.start()
    await clock.advanceTo(T0 + 59_900) // A (started first) has claimed 00:01 ahead
    const stopped = a.stop()
    await clock.advanceTo(T0 + 150_000)
    await stopped
    expect(seen).toEqual([iso(T0 + 60_000), iso(T0 + 120_000)])
    const rows = await runs(store, 'j')
    expect(rows.map((r) => [r.slot - T0, r.status, r.instanceId])).toEqual([
      [60_000, 'succeeded', 'A'],
      [120_000, 'succeeded', 'B'],
    ])
  })

  it('a second stop() while waiting for runs claimed ahead records them interrupted at once', async () => {
    const started: number[] = []
    const { clock, store, scheduler } = await leadHarness([
      { name: 'late', schedule: '0 * * * *', run: () => void started.push(clock.now()) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 - 50)
    const first = scheduler.stop()
    const second = scheduler.stop()
    await Promise.all([first, second]) // without the fake clock moving: nothing waits for the instant
    await clock.advance(100)
    expect(started).toEqual([])
    expect(await runs(store, 'late')).toMatchObject([{ status: 'interrupted', active: false }])
  })

  it('a second stop() right after the first does not wait for running jobs either', async () => {
    const { clock, store, scheduler } = await leadHarness([
      { name: 'hang', schedule: '0 * * * *', run: () => new Promise(() => {}) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 + 10)
    await Promise.all([scheduler.stop(), scheduler.stop()]) // the fake clock stays put: no grace is waited
    // Recorded interrupted. Its code never settles (§5), but the stopped instance no longer holds the
    // job: nothing of it will report the code settled, and the reaper would release it anyway.
    expect(await runs(store, 'hang')).toMatchObject([{ status: 'interrupted', active: false }])
  })

  it('with no grace, runs claimed ahead are recorded interrupted, not started', async () => {
    const started: number[] = []
    const { clock, store, scheduler } = await leadHarness([
      { name: 'late', schedule: '0 * * * *', run: () => void started.push(clock.now()) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 - 50)
    await scheduler.stop({ graceMs: 0 })
    await clock.advance(100)
    expect(started).toEqual([])
    const [row] = await runs(store, 'late')
    expect(row).toMatchObject({ status: 'interrupted', active: false })
    expect(row?.errorMessage).toBe('interrupted: the scheduler stopped before the slot came due')
  })

  /** A clock whose precise wait moves the wall clock by `stepMs` once (an NTP step, a suspend), and records every timer's delay. */
  class SteppingClock extends FakeClock {
    delays: number[] = []
    constructor(
      start: number,
      private stepMs: number,
    ) {
      super(start)
    }
    override setTimeout(callback: () => void, delayMs: number) {
      this.delays.push(delayMs)
      return super.setTimeout(callback, delayMs)
    }
    waitUntil(): void {
      this.jump(this.stepMs)
      this.stepMs = 0
    }
  }

  it('a start whose wall clock stepped back waits for its instant, looking at the clock every maxSleepMs', async () => {
    const clock = new SteppingClock(T0, -3_600_000)
    const store = await openStore(':memory:')
    const started: number[] = []
    const config = validateConfig(
      { timezone: 'UTC', jobs: [{ name: 'once', at: new Date(T0 + 1000), run: () => void started.push(clock.now()) }] },
      { file: 'test' },
    )
    const scheduler = new Scheduler(config, {
      clock,
      store,
      claimLeadMs: 100,
      maxSleepMs: 30_000,
      random: () => 0,
      preciseStart: true,
    })
    open.push({ clock, store, scheduler })
    await scheduler.start()
    // Woken 4 ms early, the wall clock steps back an hour during the wait: the hour passes in sleeps
    // of at most maxSleepMs, each ending with a look at the clock.
    await clock.advanceTo(T0 + 996)
    expect(started).toEqual([])
    // (The first prune's timer, a minute after start, aside.)
    expect(Math.max(...clock.delays.filter((d) => d !== 60_000))).toBeLessThanOrEqual(30_000)
    expect(clock.delays.filter((d) => d === 30_000).length).toBeGreaterThanOrEqual(100)
    await clock.advanceTo(T0 + 2000)
    expect(started).toEqual([T0 + 1000])
    expect(await runs(store, 'once')).toMatchObject([{ slot: T0 + 1000, status: 'succeeded' }])
  })

  it('a start woken past its misfire grace (a suspend after the claim) is recorded missed, unless catchUp runs it', async () => {
    const clock = new SteppingClock(T0, 5 * 60_000)
    const store = await openStore(':memory:')
    const called: string[] = []
    const job = (name: string, extra: Partial<FunctionJobDefinition>): JobDefinition => ({
      name,
      at: new Date(T0 + 1000),
      run: () => void called.push(name),
      ...extra,
    })
    const jobs = [job('strict', {}), job('caught-up', { catchUp: true }), job('lenient', { misfireGrace: '10m' })]
    const config = validateConfig({ timezone: 'UTC', jobs }, { file: 'test' })
    const scheduler = new Scheduler(config, { clock, store, claimLeadMs: 100, random: () => 0, preciseStart: true })
    open.push({ clock, store, scheduler })
    const missedEvents: unknown[] = []
    scheduler.events.on('slot:missed', (e) => missedEvents.push(e))
    await scheduler.start()
    await clock.advanceTo(T0 + 10 * 60_000)
    expect(called.sort()).toEqual(['caught-up', 'lenient'])
    const [strict] = await runs(store, 'strict')
    const missed = { count: 1, first: T0 + 1000, last: T0 + 1000 }
    expect(strict).toMatchObject({ status: 'missed', active: false, startedAt: T0 + 1000 })
    expect(JSON.parse(strict?.detail ?? 'null')).toEqual(missed)
    expect(missedEvents).toEqual([{ job: 'strict', runId: strict?.id, missed, catchUp: false }])
    for (const name of ['caught-up', 'lenient']) {
      expect(await runs(store, name)).toMatchObject([{ status: 'succeeded', slot: T0 + 1000 }])
    }
    expect(await store.activeRuns()).toEqual([])
  })
})

describe('housekeeping', () => {
  it('moves a heartbeat that falls on a claim or a start to just after it, and never by more than 2 s', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const beats: number[] = []
    const heartbeat = store.heartbeat.bind(store)
    store.heartbeat = (id, now) => {
      beats.push(now)
      return heartbeat(id, now)
    }
    const config = validateConfig(
      { timezone: 'UTC', jobs: [{ name: 'tick', schedule: '* * * * * *', run: () => {} }] },
      { file: 'test' },
    )
    const scheduler = new Scheduler(config, { clock, store, claimLeadMs: 100, random: () => 0 })
    open.push({ clock, store, scheduler })
    await scheduler.start()
    // Planned at 00:00:10.000, the instant a run starts (claimed at 09.900): it waits for the start.
    await clock.advanceTo(T0 + 25_000)
    expect(beats.length).toBe(2)
    for (const beat of beats) {
      const intoSecond = beat % 1000
      expect(intoSecond).toBeGreaterThan(0)
      expect(intoSecond).toBeLessThan(850)
    }
    expect((beats[0] as number) - (T0 + 10_000)).toBeLessThan(2000)
  })
})

describe('store failures', () => {
  it('a failed claim is reported and retried a second later; the slot still runs once', async () => {
    const clock = new FakeClock(T0)
    const real = await openStore(':memory:')
    let failures = 1
    const flaky = storeWith(real, {
      claimSlots: (...args: Parameters<Store['claimSlots']>) =>
        failures-- > 0 ? Promise.reject(new Error('SQLITE_BUSY: database is locked')) : real.claimSlots(...args),
    })
    const fired: number[] = []
    const { scheduler } = await harness(
      [{ name: 'f', schedule: '* * * * *', run: (ctx) => void fired.push(ctx.scheduledAt.getTime()) }],
      {
        clock,
        store: flaky,
      },
    )
    const errors: string[] = []
    scheduler.events.on('engine:error', (e) => errors.push(e.message))
    await scheduler.start()
    await clock.advance(60_000)
    expect(errors).toEqual(['could not claim 1 slot(s)'])
    expect(fired).toEqual([])
    await clock.advance(1000)
    expect(fired).toEqual([T0 + 60_000])
    expect((await real.listRuns({ job: 'f' })).map((r) => r.status)).toEqual(['succeeded'])
  })
})

describe('engine failures', () => {
  it('a failure starting claimed runs is reported and the scheduler goes on with the next slots', async () => {
    const fired: number[] = []
    const { clock, store, scheduler } = await harness([
      { name: 't', schedule: '* * * * * *', run: (ctx) => void fired.push(ctx.scheduledAt.getTime()) },
    ])
    const errors: string[] = []
    scheduler.events.on('engine:error', (e) => errors.push(e.message))
    const starts = (scheduler as unknown as { starts: { dispatch: (...args: unknown[]) => number } }).starts
    const dispatch = starts.dispatch.bind(starts)
    let calls = 0
    starts.dispatch = (...args: unknown[]) => {
      calls++
      if (calls === 2) throw new Error('bug')
      return dispatch(...args)
    }
    await scheduler.start()
    await clock.advance(3000)
    expect(errors).toEqual(['could not start the runs of 1 claimed slot(s)'])
    expect(fired).toEqual([T0 + 1000, T0 + 3000])
    // The run of the slot that could not start does not hold its job as running.
    expect((await runs(store, 't')).map((r) => [r.slot - T0, r.status])).toEqual([
      [1000, 'succeeded'],
      [2000, 'interrupted'],
      [3000, 'succeeded'],
    ])
  })
})

describe('overlap', () => {
  it("'skip' records a slot that comes due while the job still runs", async () => {
    const gate = deferred()
    const { clock, store, scheduler } = await harness([
      { name: 'slow', schedule: '* * * * * *', run: () => gate.promise },
    ])
    await scheduler.start()
    await clock.advance(3000)
    const rows = await runs(store, 'slow')
    expect(rows.map((r) => r.status)).toEqual(['running', 'skipped', 'skipped'])
    expect(rows[1]?.detail).toMatch(/still running: run \d+ on instance/)
    gate.resolve()
    await clock.advance(1000)
    // The gate stays open, so the next run finishes at once.
    expect((await runs(store, 'slow')).map((r) => r.status)).toEqual(['succeeded', 'skipped', 'skipped', 'succeeded'])
  })

  it("'allow' runs concurrently", async () => {
    const gate = deferred()
    const { clock, store, scheduler } = await harness([
      { name: 'par', schedule: '* * * * * *', overlap: 'allow', run: () => gate.promise },
    ])
    await scheduler.start()
    await clock.advance(3000)
    expect((await runs(store, 'par')).map((r) => r.status)).toEqual(['running', 'running', 'running'])
    gate.resolve()
  })

  it('a paused job records one skipped record for the paused stretch, not one per slot', async () => {
    const { clock, store, scheduler } = await harness([{ name: 'p', schedule: '* * * * * *', run: () => {} }])
    await scheduler.start()
    await store.setPaused('p', true, clock.now())
    await clock.advance(3000)
    const rows = await runs(store, 'p')
    expect(rows.map((r) => [r.status, JSON.parse(r.detail ?? '')])).toEqual([
      ['skipped', { paused: true, count: 3, first: T0 + 1000, last: T0 + 3000 }],
    ])
  })
})

describe('missed runs', () => {
  async function outage(catchUp: boolean) {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const seen: { trigger: string; missed?: unknown; at: string }[] = []
    const job: JobDefinition = {
      name: 'm',
      schedule: '*/5 * * * *',
      catchUp,
      run: (ctx) => void seen.push({ trigger: ctx.trigger, missed: ctx.missed, at: ctx.scheduledAt.toISOString() }),
    }
    const first = await harness([job], { clock, store, instanceId: 'first' })
    await first.scheduler.start()
    await clock.advance(10 * 60_000) // serves 00:05 and 00:10
    await first.scheduler.stop()
    clock.jump(60 * 60_000) // down from 00:10 to 01:10: 00:15 … 01:10 are missed (12 slots)
    const second = await harness([job], { clock, store, instanceId: 'second' })
    await second.scheduler.start()
    await clock.advance(100)
    return { store, seen }
  }

  it('a job that had not reached its first slot when the scheduler stopped still gets its outage recorded', async () => {
    const clock = new FakeClock('2026-01-01T10:00:00Z')
    const store = await openStore(':memory:')
    const seen: { job: string; trigger: string; missed?: unknown }[] = []
    const run = (name: string) => (ctx: { trigger: string; missed?: unknown }) =>
      void seen.push({ job: name, trigger: ctx.trigger, missed: ctx.missed })
    const jobs: JobDefinition[] = [
      { name: 'nightly-catch', schedule: '0 0 * * *', catchUp: true, run: run('nightly-catch') },
      { name: 'nightly', schedule: '0 0 * * *', run: run('nightly') },
      { name: 'once', at: '2026-01-02T06:00:00Z', catchUp: true, run: run('once') },
    ]
    const first = await harness(jobs, { clock, store, instanceId: 'first' })
    await first.scheduler.start()
    await clock.advance(3_600_000)
    await first.scheduler.stop()
    clock.jump(2 * 86_400_000) // down from 2026-01-01 11:00 to 2026-01-03 11:00
    const second = await harness(jobs, { clock, store, instanceId: 'second' })
    await second.scheduler.start()
    await clock.advance(60_000)
    const day = (d: number) => new Date(Date.parse(`2026-01-0${d}T00:00:00Z`))
    expect(seen).toEqual([
      { job: 'nightly-catch', trigger: 'catch-up', missed: { count: 2, first: day(2), last: day(3) } },
      {
        job: 'once',
        trigger: 'catch-up',
        missed: { count: 1, first: new Date('2026-01-02T06:00:00Z'), last: new Date('2026-01-02T06:00:00Z') },
      },
    ])
    const missed = (await runs(store, 'nightly')).filter((r) => r.status === 'missed')
    expect(missed.map((r) => JSON.parse(r.detail ?? '{}'))).toEqual([
      { count: 2, first: day(2).getTime(), last: day(3).getTime() },
    ])
  })

  it('without catch-up, records the outage once with count and range, then resumes', async () => {
    const { store, seen } = await outage(false)
    const missed = (await runs(store, 'm')).filter((r) => r.status === 'missed')
    expect(missed).toHaveLength(1)
    expect(JSON.parse(missed[0]?.detail ?? '{}')).toEqual({
      count: 11,
      first: Date.parse('2026-01-01T00:15:00Z'),
      last: Date.parse('2026-01-01T01:05:00Z'),
    })
    // 01:10 is due exactly now (within the grace), so it runs normally.
    expect(seen.map((s) => s.at)).toEqual([
      '2026-01-01T00:05:00.000Z',
      '2026-01-01T00:10:00.000Z',
      '2026-01-01T01:10:00.000Z',
    ])
  })

  /** Down for 35 s from 00:00:20 of a job every 10 s: 00:30, 00:40 and 00:50 are due on restart, all within the grace. */
  async function shortOutage(catchUp: boolean) {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const seen: { trigger: string; missed?: unknown; at: number; now: number }[] = []
    const job: JobDefinition = {
      name: 's',
      schedule: '*/10 * * * * *',
      catchUp,
      // Runs for 2 s: a second run of the job due on the same wake-up would find it still running.
      run: (ctx) => {
        seen.push({ trigger: ctx.trigger, missed: ctx.missed, at: ctx.scheduledAt.getTime(), now: clock.now() })
        return new Promise<void>((resolve) => clock.setTimeout(resolve, 2000))
      },
    }
    const first = await harness([job], { clock, store, instanceId: 'first' })
    await first.scheduler.start()
    await clock.advance(23_000) // serves 00:10 and 00:20, both finished
    await first.scheduler.stop()
    clock.jump(32_000) // restarts at 00:55
    const second = await harness([job], { clock, store, instanceId: 'second' })
    await second.scheduler.start()
    await clock.advance(10_000) // and 01:00 as usual
    return { store, seen }
  }

  it('after an outage shorter than the grace, runs only the latest due slot, once, and records the others missed', async () => {
    const { store, seen } = await shortOutage(false)
    expect(seen.map((s) => [s.trigger, s.at - T0, s.now - T0])).toEqual([
      ['schedule', 10_000, 10_000],
      ['schedule', 20_000, 20_000],
      ['schedule', 50_000, 55_000],
      ['schedule', 60_000, 60_000],
    ])
    const rows = await runs(store, 's')
    expect(rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'missed', 'succeeded', 'succeeded'])
    const missed = rows.find((r) => r.status === 'missed')
    expect(JSON.parse(missed?.detail ?? '{}')).toEqual({ count: 2, first: T0 + 30_000, last: T0 + 40_000 })
  })

  it('with catch-up, an outage shorter than the grace gives ONE catch-up run for the latest slot, carrying the ones it missed', async () => {
    const { store, seen } = await shortOutage(true)
    expect(seen.map((s) => [s.trigger, s.at - T0])).toEqual([
      ['schedule', 10_000],
      ['schedule', 20_000],
      ['catch-up', 50_000],
      ['schedule', 60_000],
    ])
    // 00:50 is within its grace: it is the slot run, not one of the missed.
    expect(seen[2]?.missed).toEqual({ count: 2, first: new Date(T0 + 30_000), last: new Date(T0 + 40_000) })
    const rows = await runs(store, 's')
    expect(rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded'])
  })

  it('with catch-up, ONE run fires for the latest missed slot and says which were missed', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const seen: { trigger: string; missed?: { count: number; first: Date; last: Date }; at: string }[] = []
    const job: JobDefinition = {
      name: 'c',
      schedule: '0 * * * *',
      catchUp: true,
      run: (ctx) =>
        void seen.push({
          trigger: ctx.trigger,
          ...(ctx.missed ? { missed: ctx.missed } : {}),
          at: ctx.scheduledAt.toISOString(),
        }),
    }
    const first = await harness([job], { clock, store })
    await first.scheduler.start()
    await clock.advance(3_600_000)
    await first.scheduler.stop()
    clock.jump(5 * 3_600_000 + 30 * 60_000) // down 01:00 → 06:30: 02:00 … 06:00 missed
    const second = await harness([job], { clock, store })
    await second.scheduler.start()
    await clock.advance(100)
    expect(seen).toHaveLength(2)
    expect(seen[1]).toEqual({
      trigger: 'catch-up',
      at: '2026-01-01T06:00:00.000Z',
      missed: { count: 5, first: new Date('2026-01-01T02:00:00Z'), last: new Date('2026-01-01T06:00:00Z') },
    })
    const rows = await runs(store, 'c')
    expect(rows.filter((r) => r.trigger === 'catch-up')).toHaveLength(1)
  })

  it('a slot found later than misfireGrace while running (clock jump) counts as missed, not run late', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await harness([
      {
        name: 'g',
        schedule: '0 * * * *',
        misfireGrace: '5m',
        run: (ctx) => void fired.push(ctx.scheduledAt.toISOString()),
      },
    ])
    await scheduler.start()
    await clock.advance(59 * 60_000)
    clock.jump(2 * 3_600_000) // now 02:59: 01:00 and 02:00 are hours late
    await clock.advance(1000)
    expect(fired).toEqual([])
    const missed = (await runs(store, 'g')).filter((r) => r.status === 'missed')
    expect(missed).toHaveLength(1)
    expect(JSON.parse(missed[0]?.detail ?? '{}').count).toBe(2)
  })
})

describe('retry and timeout', () => {
  it.each([
    ['exponential', [0, 1000, 2000, 3000]],
    ['linear', [0, 1000, 2000, 3000]],
    ['constant', [0, 1000, 1000, 1000]],
  ] as const)('%s backoff waits initial·f(k) capped at maxDelay between attempts', async (backoff, gaps) => {
    const starts: number[] = []
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const h = await harness(
      [
        {
          name: 'r',
          schedule: '0 0 1 1 *',
          retry: { max: 3, backoff, initial: 1, maxDelay: 3 },
          run: () => {
            starts.push(clock.now())
            throw new Error('boom')
          },
        },
      ],
      { clock, store },
    )
    const result = h.scheduler.runJob('r')
    await clock.advance(20_000)
    expect(await result).toMatchObject({ status: 'failed', attempts: 4 })
    const diffs = starts.map((t, i) => (i === 0 ? 0 : t - (starts[i - 1] as number)))
    expect(diffs).toEqual(gaps)
    const rows = await runs(store, 'r')
    expect(rows.map((r) => [r.attempt, r.status, r.errorMessage])).toEqual([
      [1, 'failed', 'boom'],
      [2, 'failed', 'boom'],
      [3, 'failed', 'boom'],
      [4, 'failed', 'boom'],
    ])
  })

  it('records timed_out at the deadline even if the job ignores its signal, and treats it as running until it settles', async () => {
    const gate = deferred()
    let aborted: unknown
    const { clock, store, scheduler } = await harness([
      {
        name: 't',
        schedule: '*/10 * * * * *',
        timeout: 5,
        run: (ctx) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = ctx.signal.reason
          })
          return gate.promise
        },
      },
    ])
    await scheduler.start()
    await clock.advance(20_000) // slot 00:00:10 starts, times out at :15; slot :20 comes due
    let rows = await runs(store, 't')
    expect(rows[0]).toMatchObject({ status: 'timed_out', durationMs: 5000, active: true })
    expect(rows[0]?.errorMessage).toBe('timed out after 5s')
    expect((aborted as Error).name).toBe('TimeoutError')
    // The code is still running: the 00:00:20 slot is skipped by the overlap guard.
    expect(rows[1]?.status).toBe('skipped')
    gate.resolve()
    await clock.advance(1)
    rows = await runs(store, 't')
    expect(rows[0]?.active).toBe(false)
  })

  it('a signal first read after the deadline is already aborted with the timeout reason', async () => {
    let late: AbortSignal | undefined
    const { clock, scheduler } = await harness([
      {
        name: 'slow-reader',
        schedule: '@yearly',
        timeout: 1,
        run: (ctx) =>
          new Promise<void>((resolve) =>
            clock.setTimeout(() => {
              late = ctx.signal
              resolve()
            }, 2000),
          ),
      },
    ])
    const result = scheduler.runJob('slow-reader')
    await clock.advance(3000)
    expect(await result).toMatchObject({ status: 'timed_out' })
    expect(late?.aborted).toBe(true)
    expect((late?.reason as Error | undefined)?.name).toBe('TimeoutError')
  })

  it('a job that throws synchronously, rejects, or throws a non-Error fails alone', async () => {
    const { clock, store, scheduler } = await harness([
      {
        name: 'sync',
        schedule: '* * * * * *',
        run: () => {
          throw new TypeError('sync throw')
        },
      },
      { name: 'reject', schedule: '* * * * * *', run: async () => Promise.reject(new Error('rejected')) },
      {
        name: 'weird',
        schedule: '* * * * * *',
        run: () => {
          throw { code: 42 }
        },
      },
      { name: 'ok', schedule: '* * * * * *', run: () => 'fine' },
    ])
    await scheduler.start()
    await clock.advance(2000)
    const byJob = (job: string) => runs(store, job)
    expect((await byJob('sync')).map((r) => r.errorMessage)).toEqual(['sync throw', 'sync throw'])
    expect((await byJob('reject'))[0]?.errorMessage).toBe('rejected')
    expect((await byJob('weird'))[0]?.errorMessage).toBe('non-Error thrown: { code: 42 }')
    expect((await byJob('ok')).map((r) => [r.status, r.result])).toEqual([
      ['succeeded', '"fine"'],
      ['succeeded', '"fine"'],
    ])
  })
})

describe('starting many jobs on one instant', () => {
  it('calls every job of the instant before any of them continues, each with its own context', async () => {
    const order: string[] = []
    const contexts = new Set<unknown>()
    const jobs: JobDefinition[] = Array.from({ length: 20 }, (_, i) => ({
      name: `j${i}`,
      schedule: '@hourly',
      run: async (ctx) => {
        contexts.add(ctx)
        order.push(`call ${ctx.job.name} ${ctx.scheduledAt.toISOString()} ${ctx.attempt} ${ctx.trigger}`)
        await null
        order.push(`continue ${ctx.job.name}`)
      },
    }))
    const { clock, store, scheduler } = await harness(jobs)
    await scheduler.start()
    await clock.advance(3_600_000)
    const slot = iso(T0 + 3_600_000)
    expect(order.slice(0, 20).sort()).toEqual(jobs.map((j) => `call ${j.name} ${slot} 1 schedule`).sort())
    expect(order.slice(20).every((line) => line.startsWith('continue '))).toBe(true)
    expect(contexts.size).toBe(20)
    expect((await runs(store)).map((r) => r.status)).toEqual(Array(20).fill('succeeded'))
  })

  it('records what a job returns synchronously, a thenable that is not a promise, and its rejection', async () => {
    const thenable = (ok: boolean) => ({
      // biome-ignore lint/suspicious/noThenProperty: a hand-written thenable is what this test is about
      then(resolve: (v: unknown) => void, reject: (e: unknown) => void) {
        if (ok) resolve({ rows: 3 })
        else reject(new Error('thenable said no'))
      },
    })
    const { clock, store, scheduler } = await harness([
      { name: 'value', schedule: '@hourly', run: () => 42 },
      { name: 'thenable', schedule: '@hourly', run: () => thenable(true) },
      { name: 'thenable-fails', schedule: '@hourly', run: () => thenable(false) },
    ])
    await scheduler.start()
    await clock.advance(3_600_000)
    const rows = new Map((await runs(store)).map((r) => [r.job, r]))
    expect(rows.get('value')).toMatchObject({ status: 'succeeded', result: '42', active: false })
    expect(rows.get('thenable')).toMatchObject({ status: 'succeeded', result: '{"rows":3}', active: false })
    expect(rows.get('thenable-fails')).toMatchObject({ status: 'failed', errorMessage: 'thenable said no' })
  })

  it('a job with a beforeRun hook starts after its hook while the others of the instant start at once', async () => {
    const gate = deferred()
    const order: string[] = []
    const { clock, store, scheduler } = await harness([
      {
        name: 'hooked',
        schedule: '@hourly',
        hooks: {
          beforeRun: async () => {
            order.push('hook')
            await gate.promise
          },
        },
        run: () => {
          order.push('hooked')
        },
      },
      { name: 'plain-a', schedule: '@hourly', run: () => void order.push('plain-a') },
      { name: 'plain-b', schedule: '@hourly', run: () => void order.push('plain-b') },
    ])
    await scheduler.start()
    await clock.advance(3_600_000)
    const beforeGate = [...order]
    gate.resolve()
    await clock.advance(1)
    expect([...beforeGate.slice(0, 2)].sort()).toEqual(['plain-a', 'plain-b'])
    expect(beforeGate.slice(2)).toEqual(['hook'])
    expect(order.slice(3)).toEqual(['hooked'])
    expect((await runs(store)).every((r) => r.status === 'succeeded')).toBe(true)
  })

  it('an outcome the store fails to record is reported, and the other jobs of the instant are recorded', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const config = validateConfig(
      {
        timezone: 'UTC',
        jobs: [
          { name: 'unlucky', schedule: '@hourly', run: () => 'a' },
          { name: 'fine', schedule: '@hourly', run: () => 'b' },
        ],
      },
      { file: 'test' },
    )
    const scheduler = new Scheduler(config, { clock, store, claimLeadMs: 100, random: () => 0 })
    open.push({ clock, store, scheduler })
    const finishRun = store.finishRun.bind(store)
    const unlucky = new Set<number>()
    store.finishRun = (runId, outcome) => {
      if (unlucky.has(runId)) throw new Error('disk on fire')
      return finishRun(runId, outcome)
    }
    const errors: string[] = []
    scheduler.events.on('engine:error', (e) => errors.push(`${e.message}: ${(e.error as Error).message}`))
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 - 1)
    const claimed = await runs(store)
    for (const row of claimed) if (row.job === 'unlucky') unlucky.add(row.id)
    await clock.advanceTo(T0 + 3_600_000)
    const rows = new Map((await runs(store)).map((r) => [r.job, r]))
    expect(rows.get('fine')).toMatchObject({ status: 'succeeded', result: '"b"' })
    expect(rows.get('unlucky')?.status).toBe('running')
    const id = rows.get('unlucky')?.id
    expect(errors).toEqual([`could not record the outcome of run ${id}; it is kept and written again: disk on fire`])
    // The store mends: the kept outcome is written at the next heartbeat, and the job is not held.
    unlucky.clear()
    await clock.advance(10_000)
    expect(await store.getRun(id as number)).toMatchObject({ status: 'succeeded', result: '"a"', active: false })
  })

  it('one failed outcome write does not wedge the job: later slots run, none is skipped as still running', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const config = validateConfig(
      { timezone: 'UTC', jobs: [{ name: 'tick', schedule: '* * * * * *', run: async () => 'ok' }] },
      { file: 'test' },
    )
    const scheduler = new Scheduler(config, { clock, store, random: () => 0 })
    open.push({ clock, store, scheduler })
    const finishRun = store.finishRun.bind(store)
    let failures = 1
    store.finishRun = (runId, outcome) => {
      if (failures-- > 0) return Promise.reject(new Error('database is locked'))
      return finishRun(runId, outcome)
    }
    await scheduler.start()
    await clock.advanceTo(T0 + 6_000)
    const rows = await runs(store, 'tick')
    expect(rows.map((r) => r.status)).toEqual(Array(rows.length).fill('succeeded'))
    expect(rows.length).toBeGreaterThanOrEqual(5)
    expect(await store.activeRuns()).toEqual([])
  })

  it('an internal error of the runner records the attempt instead of leaving it running', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const config = validateConfig(
      {
        timezone: 'UTC',
        jobs: [
          {
            name: 'x',
            schedule: '* * * * * *',
            retry: { max: 1, initial: 1 },
            run: () => {
              throw new Error('job failed')
            },
          },
        ],
      },
      { file: 'test' },
    )
    const scheduler = new Scheduler(config, { clock, store, random: () => 0 })
    open.push({ clock, store, scheduler })
    // The store breaks in a way the runner does not expect: beginRun for the retry throws.
    store.beginRun = () => {
      throw new Error('unexpected')
    }
    const errors: string[] = []
    scheduler.events.on('engine:error', (e) => errors.push(e.message))
    await scheduler.start()
    await clock.advanceTo(T0 + 3_500)
    const rows = await runs(store, 'x')
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => r.status !== 'running')).toBe(true)
    expect(errors).toContain('run of job "x" failed internally')
  })

  it('ctx.signal and ctx.log can be taken apart from the context', async () => {
    let seen: { aborted: boolean; logged: boolean } | undefined
    const { clock, store, scheduler } = await harness([
      {
        name: 'destructures',
        schedule: '@hourly',
        run: ({ signal, log, job }) => {
          log.info('hello from %s', job.name)
          seen = { aborted: signal.aborted, logged: true }
        },
      },
    ])
    await scheduler.start()
    await clock.advance(3_600_000)
    expect(seen).toEqual({ aborted: false, logged: true })
    const [row] = await runs(store, 'destructures')
    expect(JSON.parse(row?.output ?? '[]')).toMatchObject([{ level: 'info', text: 'hello from destructures' }])
  })
})

describe('manual runs', () => {
  it('run through the same pipeline with trigger manual, and are refused while running unless forced', async () => {
    const gate = deferred()
    const { clock, store, scheduler } = await harness([
      {
        name: 'm',
        schedule: '0 0 1 1 *',
        timeout: 60,
        run: (ctx) => (ctx.trigger === 'manual' ? gate.promise : undefined),
      },
    ])
    const first = scheduler.runJob('m')
    await clock.advance(10)
    await expect(scheduler.runJob('m')).rejects.toMatchObject({
      code: 'JOB_RUNNING',
      message: expect.stringMatching(
        /^job "m" is already running: run 1 on instance .+ since 2026-01-01T00:00:00.000Z$/,
      ),
      suggestions: ['pass { force: true } to run it anyway'],
    })
    const forced = scheduler.runJob('m', { force: true, timeoutMs: 2000 })
    await clock.advance(2000)
    expect(await forced).toMatchObject({ status: 'timed_out', attempts: 1 })
    gate.resolve()
    expect(await first).toMatchObject({ status: 'succeeded', attempts: 1 })
    const rows = await runs(store, 'm')
    expect(rows.map((r) => [r.trigger, r.status])).toEqual([
      ['manual', 'succeeded'],
      ['manual', 'timed_out'],
    ])
  })

  it('registers as a runner for manual runs and as a scheduler once started', async () => {
    const { store, scheduler } = await harness([{ name: 'a', schedule: '@hourly', run: () => {} }])
    await scheduler.runJob('a')
    expect((await store.listInstances()).map((i) => i.role)).toEqual(['runner'])
    await scheduler.start()
    expect((await store.listInstances()).map((i) => i.role)).toEqual(['scheduler'])
  })

  it('a manual run cut short by stop() says it was stopped, not that a scheduler shut down', async () => {
    const { store, scheduler } = await harness([
      { name: 'hang', schedule: '@hourly', run: () => new Promise(() => {}) },
    ])
    const result = scheduler.runJob('hang')
    await flushCallbacks()
    await scheduler.stop({ graceMs: 0 })
    expect(await result).toMatchObject({ status: 'interrupted' })
    expect((await runs(store, 'hang'))[0]?.errorMessage).toBe('interrupted: stopped before the job finished')
  })

  it('resolves with the last attempt as recorded, also when a stop came during the run (run() is refused then)', async () => {
    const gate = deferred<string>()
    const { clock, store, scheduler } = await harness([{ name: 'slow', schedule: '@hourly', run: () => gate.promise }])
    const result = scheduler.runJob('slow')
    await clock.advance(1500)
    const stopped = scheduler.stop({ graceMs: 60_000 })
    await clock.advance(500)
    gate.resolve('done')
    const { runId, recorded } = await result
    await stopped
    const row = await store.getRun(runId)
    expect(row).toMatchObject({ status: 'succeeded', durationMs: 2000 })
    expect(recorded).toMatchObject({ id: runId, status: 'succeeded', durationMs: row?.durationMs, result: 'done' })
  })

  it('a stopped scheduler refuses to start, run or add a job, with a CronsError', async () => {
    const { scheduler } = await harness([{ name: 'a', schedule: '@daily', run: () => {} }])
    await scheduler.start()
    await scheduler.stop()
    const stopped = { code: 'SCHEDULER_STOPPED', suggestions: ['create a new one to start again'] }
    await expect(scheduler.start()).rejects.toMatchObject({
      ...stopped,
      message: 'cannot start: this scheduler was stopped',
    })
    await expect(scheduler.runJob('a')).rejects.toMatchObject({
      ...stopped,
      message: 'cannot run a job: this scheduler was stopped',
    })
    await expect(scheduler.add({ name: 'b', schedule: '@daily', run: () => {} })).rejects.toMatchObject(stopped)
  })

  it('add() refuses what is not a job definition with a CronsError', async () => {
    const { scheduler } = await harness([])
    await expect(scheduler.add(null as never)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: 'add() takes a job definition object, got null',
    })
  })

  it('unknown job names suggest the closest', async () => {
    const { scheduler } = await harness([{ name: 'backup', schedule: '@daily', run: () => {} }])
    await expect(scheduler.runJob('bakup')).rejects.toMatchObject({
      code: 'JOB_UNKNOWN',
      suggestions: ['did you mean "backup"?'],
    })
  })
})

describe('crashes and shutdown', () => {
  it('runs left running by an instance whose heartbeat expired become interrupted on the next start', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    await store.registerInstance({ id: 'dead', role: 'scheduler', host: 'h', pid: 1, now: T0 - 3_600_000 })
    await store.syncJobs(['x'], T0)
    const claimed = await store.claimSlots(
      [{ job: 'x', slot: T0 - 3_600_000, trigger: 'schedule', overlap: 'skip' }],
      'dead',
      T0 - 3_600_000,
    )
    expect(claimed[0]?.kind).toBe('started')
    // A run of the same instance recorded timed out at its deadline, its code never settled.
    const stuck = await store.beginRun(
      { job: 'y', slot: T0 - 60_000, trigger: 'manual', attempt: 1, overlap: 'allow' },
      'dead',
      T0,
    )
    if (stuck.kind !== 'started') throw new Error('expected a started run')
    await store.finishRun(stuck.runId, { status: 'timed_out', finishedAt: T0 - 30_000, codeDone: false })
    // And one it recorded interrupted as it shut down, killed before it could mark itself stopped.
    const cut = await store.beginRun(
      { job: 'z', slot: T0 - 60_000, trigger: 'manual', attempt: 1, overlap: 'allow' },
      'dead',
      T0,
    )
    if (cut.kind !== 'started') throw new Error('expected a started run')
    const cutMessage = 'interrupted: the scheduler shut down before the job finished'
    await store.finishRun(cut.runId, {
      status: 'interrupted',
      finishedAt: T0 - 20_000,
      errorMessage: cutMessage,
      codeDone: false,
    })
    const { scheduler } = await harness([{ name: 'x', schedule: '@daily', run: () => {} }], { clock, store })
    const reported: number[][] = []
    scheduler.events.on('runs:interrupted', (e) => reported.push(e.runIds))
    await scheduler.start()
    const [row] = await runs(store, 'x')
    expect(row).toMatchObject({ status: 'interrupted', active: false })
    // Only their overlap guards are released; neither is reported as interrupted (again).
    expect(await store.getRun(stuck.runId)).toMatchObject({ status: 'timed_out', active: false })
    expect(await store.getRun(cut.runId)).toMatchObject({
      status: 'interrupted',
      errorMessage: cutMessage,
      active: false,
    })
    expect(reported).toEqual([[row?.id]])
  })

  it('stop() waits for running jobs within the grace, then records the rest interrupted and cancels retries', async () => {
    const { clock, store, scheduler } = await harness(
      [
        {
          name: 'quick',
          schedule: '0 * * * *',
          run: () => new Promise((r) => clock.setTimeout(() => r('done'), 2000)),
        },
        { name: 'stuck', schedule: '0 * * * *', run: () => new Promise(() => {}) },
        {
          name: 'flaky',
          schedule: '0 * * * *',
          retry: { max: 5, initial: 60 },
          run: () => {
            throw new Error('nope')
          },
        },
      ],
      { config: { shutdownGrace: 10 } },
    )
    await scheduler.start()
    await clock.advance(3_600_000)
    const stopped = scheduler.stop()
    await clock.advance(10_000)
    await stopped
    const status = async (job: string) => (await runs(store, job)).map((r) => r.status)
    expect(await status('quick')).toEqual(['succeeded'])
    expect(await status('stuck')).toEqual(['interrupted'])
    expect(await status('flaky')).toEqual(['failed', 'interrupted'])
    expect((await runs(store, 'flaky'))[1]?.errorMessage).toMatch(/retry cancelled/)
    const [instance] = await store.listInstances()
    expect(instance?.stoppedAt).not.toBeNull()
  })

  it('an attempt that fails or times out during the shutdown grace has its retry recorded cancelled', async () => {
    const { clock, store, scheduler } = await harness(
      [
        {
          name: 'fails-late',
          schedule: '0 * * * *',
          retry: { max: 2, initial: 1 },
          run: () => new Promise((_, reject) => clock.setTimeout(() => reject(new Error('nope')), 2000)),
        },
        {
          name: 'times-out',
          schedule: '0 * * * *',
          timeout: 3,
          retry: { max: 2, initial: 1 },
          run: () => new Promise(() => {}),
        },
      ],
      { config: { shutdownGrace: 10 } },
    )
    await scheduler.start()
    await clock.advance(3_600_000)
    const stopped = scheduler.stop()
    await clock.advance(10_000)
    await stopped
    for (const [job, first] of [
      ['fails-late', 'failed'],
      ['times-out', 'timed_out'],
    ] as const) {
      const attempts = await runs(store, job)
      expect(attempts.map((r) => [r.attempt, r.status])).toEqual([
        [1, first],
        [2, 'interrupted'],
      ])
      expect(attempts[1]?.errorMessage).toMatch(/retry cancelled/)
    }
    // No retry left pending for a peer to adopt.
    expect(await store.orphanedRetries()).toEqual([])
  })
})
