/**
 * The claims of docs/scheduling.md and docs/configuration.md, each checked as written: misfire grace and
 * catch-up, `every` alignment, jitter, timeouts, retry delays, overlap, hook and job contexts, shutdown
 * grace, defaults, durations, validation messages, pruning, the state file's precedence, `at` jobs.
 */

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config/loader.js'
import type { HookContext, Hooks, JobContext, JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { openStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'

const T0 = Date.parse('2026-03-01T00:00:00Z')
const schedulers: Scheduler[] = []

afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.stop({ graceMs: 0 })
})

async function setup(
  jobs: JobDefinition[],
  hooks: Hooks = {},
  extra: Record<string, unknown> = {},
  random = () => 0,
  t0 = T0,
) {
  const clock = new FakeClock(t0)
  const store: Store = await openStore(':memory:')
  const config = validateConfig({ timezone: 'UTC', hooks, jobs, ...extra }, { file: 'test' })
  const scheduler = new Scheduler(config, { clock, store, instanceId: 'inst-1', random })
  schedulers.push(scheduler)
  return { clock, store, scheduler }
}

describe('what the scheduling and configuration docs say', () => {
  it('misfireGrace 0: a slot found on time still runs', async () => {
    const starts: number[] = []
    const { clock, store, scheduler } = await setup([
      { name: 'j', schedule: '* * * * *', misfireGrace: 0, run: (ctx) => void starts.push(ctx.scheduledAt.getTime()) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 3 * 60_000 + 500)
    expect(starts).toEqual([T0 + 60_000, T0 + 120_000, T0 + 180_000])
    expect((await store.listRuns({ job: 'j' })).every((r) => r.status === 'succeeded')).toBe(true)
  })

  it('every 7m is aligned to the Unix epoch', async () => {
    const starts: number[] = []
    const { clock, scheduler } = await setup([
      { name: 'j', every: '7m', run: (ctx) => void starts.push(ctx.scheduledAt.getTime()) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 15 * 60_000)
    expect(starts.length).toBe(2)
    for (const s of starts) expect(s % 420_000).toBe(0)
  })

  it('jitter 30s delays each start by less than 30 s, the same for a slot', async () => {
    const delays: number[] = []
    const { clock, scheduler } = await setup([
      {
        name: 'j',
        schedule: '* * * * *',
        jitter: '30s',
        run: (ctx) => void delays.push(clock.now() - ctx.scheduledAt.getTime()),
      },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 10 * 60_000 + 59_000)
    expect(delays.length).toBe(10)
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThanOrEqual(30_000)
    }
    expect(new Set(delays).size).toBeGreaterThan(1)
  })

  it('timeout 0 means no timeout', async () => {
    const { clock, store, scheduler } = await setup([
      { name: 'j', schedule: '0 0 * * *', timeout: 0, run: () => new Promise((r) => setTimeout(r, 5 * 3_600_000)) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 86_400_000 + 3 * 3_600_000)
    expect((await store.listRuns({ job: 'j' })).map((r) => r.status)).toEqual(['running'])
  })

  it('retry delays: exponential capped at maxDelay, shortened by jitter fraction', async () => {
    const starts: number[] = []
    const { clock, scheduler } = await setup(
      [
        {
          name: 'j',
          schedule: '0 0 * * *',
          retry: { max: 4, backoff: 'exponential', initial: 10, maxDelay: 30, jitter: 0.5 },
          run: () => {
            starts.push(clock.now())
            throw new Error('x')
          },
        },
      ],
      {},
      {},
      () => 1,
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 86_400_000 + 600_000)
    const gaps = starts.slice(1).map((s, i) => s - starts[i]!)
    // 10, 20, 40->30, 80->30; jitter 0.5 with random 1 halves each
    expect(gaps).toEqual([5_000, 10_000, 15_000, 15_000])
  })

  it('retry delays: linear and constant', async () => {
    const lin: number[] = []
    const con: number[] = []
    const { clock, scheduler } = await setup([
      {
        name: 'l',
        schedule: '0 0 * * *',
        retry: { max: 3, backoff: 'linear', initial: 10 },
        run: () => {
          lin.push(clock.now())
          throw new Error('x')
        },
      },
      {
        name: 'c',
        schedule: '0 0 * * *',
        retry: { max: 3, backoff: 'constant', initial: 10 },
        run: () => {
          con.push(clock.now())
          throw new Error('x')
        },
      },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 86_400_000 + 600_000)
    expect(lin.slice(1).map((s, i) => s - lin[i]!)).toEqual([10_000, 20_000, 30_000])
    expect(con.slice(1).map((s, i) => s - con[i]!)).toEqual([10_000, 10_000, 10_000])
  })

  it("overlap 'allow' runs concurrently", async () => {
    let running = 0
    let max = 0
    const { clock, scheduler } = await setup([
      {
        name: 'j',
        schedule: '* * * * *',
        overlap: 'allow',
        run: async () => {
          running++
          max = Math.max(max, running)
          await new Promise((r) => setTimeout(r, 150_000))
          running--
        },
      },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 3 * 60_000 + 1000)
    expect(max).toBe(3)
  })

  it('hook context: tags, schedule, zone, initiator, instanceId; ctx.job = {name, tags}', async () => {
    const hooks: HookContext[] = []
    const ctxs: JobContext[] = []
    const { clock, scheduler } = await setup(
      [{ name: 'j', schedule: '0 * * * *', tz: 'Europe/Berlin', tags: ['a', 'b'], run: (ctx) => void ctxs.push(ctx) }],
      { beforeRun: (c) => void hooks.push(c), afterRun: (c) => void hooks.push(c) },
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 + 1000)
    expect(hooks.length).toBe(2)
    expect(hooks[0]!.job).toEqual({ name: 'j', tags: ['a', 'b'], schedule: '0 * * * *', zone: 'Europe/Berlin' })
    expect(hooks[0]!.initiator).toBe('scheduler')
    expect(hooks[0]!.trigger).toBe('schedule')
    expect(hooks[0]!.instanceId).toBe('inst-1')
    expect(hooks[0]!.scheduledAt.getTime()).toBe(T0 + 3_600_000)
    expect(hooks[1]!.status).toBe('succeeded')
    expect(typeof hooks[1]!.durationMs).toBe('number')
    expect(hooks[1]!.finishedAt).toBeInstanceOf(Date)
    expect(ctxs[0]!.job).toEqual({ name: 'j', tags: ['a', 'b'] })
    expect(ctxs[0]!.attempt).toBe(1)
    expect(ctxs[0]!.trigger).toBe('schedule')
  })

  it('manual run: scheduledAt is the time asked, initiator library, trigger manual', async () => {
    const hooks: HookContext[] = []
    const ctxs: JobContext[] = []
    const { clock, scheduler } = await setup(
      [{ name: 'j', schedule: '0 0 1 1 *', run: (ctx) => void ctxs.push(ctx) }],
      { beforeRun: (c) => void hooks.push(c) },
    )
    await clock.advance(12_345)
    const r = await scheduler.runJob('j')
    await clock.advance(10)
    await r
    expect(ctxs[0]!.scheduledAt.getTime()).toBe(T0 + 12_345)
    expect(ctxs[0]!.trigger).toBe('manual')
    expect(hooks[0]!.initiator).toBe('library')
  })

  it('catchUp: one run with ctx.missed count/first/last', async () => {
    const store: Store = await openStore(':memory:')
    const jobs = (seen: JobContext[]): JobDefinition[] => [
      { name: 'j', schedule: '0 * * * *', catchUp: true, run: (ctx) => void seen.push(ctx) },
    ]
    const c1 = new FakeClock(T0)
    const s1 = new Scheduler(validateConfig({ timezone: 'UTC', jobs: jobs([]) }, { file: 't' }), {
      clock: c1,
      store,
      instanceId: 'a',
    })
    await s1.start()
    await c1.advanceTo(T0 + 3_600_000 + 1000)
    await s1.stop({ graceMs: 0 })
    const seen: JobContext[] = []
    const c2 = new FakeClock(T0 + 5 * 3_600_000 + 10 * 60_000)
    const s2 = new Scheduler(validateConfig({ timezone: 'UTC', jobs: jobs(seen) }, { file: 't' }), {
      clock: c2,
      store,
      instanceId: 'b',
    })
    schedulers.push(s2)
    await s2.start()
    await c2.advance(1000)
    expect(seen.length).toBe(1)
    expect(seen[0]!.trigger).toBe('catch-up')
    expect(seen[0]!.scheduledAt.getTime()).toBe(T0 + 5 * 3_600_000)
    expect(seen[0]!.missed).toMatchObject({ count: 4 })
  })

  it('defaults: history keepDays 30 keepRuns 10000, shutdownGrace 30 s, misfireGrace 60 s, retry defaults', () => {
    const c = validateConfig({ jobs: [{ name: 'j', schedule: '@daily', run: () => {} }] }, { file: 't' })
    expect(c.history).toEqual({ keepDays: 30, keepRuns: 10_000 })
    expect(c.shutdownGraceMs).toBe(30_000)
    const j = c.jobs[0]!
    expect(j.misfireGraceMs).toBe(60_000)
    expect(j.retry).toEqual({ max: 0, backoff: 'exponential', initialMs: 1000, maxDelayMs: 300_000, jitter: 0 })
    expect(j.tags).toEqual([])
    expect(j.timeoutMs).toBe(0)
  })

  it('durations: combined and numeric strings', () => {
    const c = validateConfig(
      {
        jobs: [
          { name: 'j', schedule: '@daily', timeout: '1m 30s', misfireGrace: '90', jitter: '500ms', run: () => {} },
        ],
      },
      { file: 't' },
    )
    expect(c.jobs[0]!.timeoutMs).toBe(90_000)
    expect(c.jobs[0]!.misfireGraceMs).toBe(90_000)
    expect(c.jobs[0]!.jitterMs).toBe(500)
  })

  it('validation example from docs', () => {
    let err: { message?: string; details?: string[] } = {}
    try {
      validateConfig(
        {
          jobs: [
            { name: 'backup', schedule: '60 3 * * *', tz: 'Europe/Berlinn', run: () => {} },
            { name: 'sync', shedule: '@daily', run: () => {} },
          ],
        },
        { file: 'crons.config.ts' },
      )
    } catch (e) {
      err = e as typeof err
    }
    expect(err.message).toBe('crons.config.ts: 3 problems in the config')
    expect(err.details).toEqual([
      'crons.config.ts: job "backup" (jobs[0]) schedule: minute 60 is out of range 0-59 in "60 3 * * *"',
      'crons.config.ts: job "backup" (jobs[0]) tz: unknown time zone "Europe/Berlinn" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC") (did you mean "Europe/Berlin"?)',
      'crons.config.ts: job "sync" (jobs[1]): unknown key "shedule" (did you mean "schedule"?)',
    ])
  })

  it('shutdownGrace default: stop() waits 30 s for a running job, then interrupts it', async () => {
    const { clock, store, scheduler } = await setup([
      { name: 'j', schedule: '0 * * * *', run: () => new Promise((r) => setTimeout(r, 3_600_000)) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 + 1000)
    let done = false
    const stopping = scheduler.stop().then(() => (done = true))
    await clock.advance(29_000)
    expect(done).toBe(false)
    await clock.advance(2_000)
    await stopping
    expect((await store.listRuns({ job: 'j' })).map((r) => r.status)).toEqual(['interrupted'])
  })

  it('onError hears an attempt interrupted by a stop past its grace', async () => {
    const seen: string[] = []
    const { clock, scheduler } = await setup(
      [{ name: 'j', schedule: '0 * * * *', run: () => new Promise((r) => setTimeout(r, 3_600_000)) }],
      { onError: (c) => void seen.push(`${c.status} ${c.final}`) },
      { shutdownGrace: 5 },
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 + 1000)
    const stopping = scheduler.stop()
    await clock.advance(6_000)
    await stopping
    expect(seen).toEqual(['interrupted true'])
  })

  it('catch-up hook ctx carries missed; job hooks run after config hooks', async () => {
    const store: Store = await openStore(':memory:')
    const order: string[] = []
    const missed: unknown[] = []
    const mk = () =>
      validateConfig(
        {
          timezone: 'UTC',
          hooks: { beforeRun: () => void order.push('config') },
          jobs: [
            {
              name: 'j',
              schedule: '0 * * * *',
              catchUp: true,
              hooks: {
                beforeRun: (c: HookContext) => {
                  order.push('job')
                  missed.push(c.missed)
                },
              },
              run: () => {},
            },
          ],
        },
        { file: 't' },
      )
    const c1 = new FakeClock(T0)
    const s1 = new Scheduler(mk(), { clock: c1, store, instanceId: 'a' })
    await s1.start()
    await c1.advance(1000)
    await s1.stop({ graceMs: 0 })
    order.length = 0
    missed.length = 0
    const c2 = new FakeClock(T0 + 3 * 3_600_000 + 600_000)
    const s2 = new Scheduler(mk(), { clock: c2, store, instanceId: 'b' })
    schedulers.push(s2)
    await s2.start()
    await c2.advance(1000)
    expect(order).toEqual(['config', 'job'])
    expect(missed[0]).toMatchObject({ count: 3 })
  })

  it('a timed-out attempt is retried like a failure; ctx.signal aborted at the deadline', async () => {
    const aborted: number[] = []
    const { clock, store, scheduler } = await setup([
      {
        name: 'j',
        schedule: '0 * * * *',
        timeout: 10,
        retry: { max: 1, backoff: 'constant', initial: 5 },
        run: (ctx) =>
          new Promise<void>((r) => {
            ctx.signal.addEventListener('abort', () => {
              aborted.push(clock.now())
              r()
            })
          }),
      },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 + 60_000)
    expect(aborted).toEqual([T0 + 3_600_000 + 10_000, T0 + 3_600_000 + 25_000])
    expect((await store.listRuns({ job: 'j' })).map((r) => r.status).sort()).toEqual(['timed_out', 'timed_out'])
  })

  for (const [late, expected] of [
    [60_000, 'runs'],
    [60_001, 'missed'],
  ] as const) {
    it(`misfireGrace 60 s: a slot found ${late} ms late after a restart ${expected}`, async () => {
      const store: Store = await openStore(':memory:')
      const runs: number[] = []
      const mk = () =>
        validateConfig(
          {
            timezone: 'UTC',
            jobs: [
              { name: 'j', schedule: '0 * * * *', run: (c: JobContext) => void runs.push(c.scheduledAt.getTime()) },
            ],
          },
          { file: 't' },
        )
      const c1 = new FakeClock(T0 + 1000)
      const s1 = new Scheduler(mk(), { clock: c1, store, instanceId: 'a' })
      await s1.start()
      await c1.advance(1000)
      await s1.stop({ graceMs: 0 })
      const c2 = new FakeClock(T0 + 3_600_000 + late)
      const s2 = new Scheduler(mk(), { clock: c2, store, instanceId: 'b' })
      schedulers.push(s2)
      await s2.start()
      await c2.advance(500)
      if (expected === 'runs') expect(runs).toEqual([T0 + 3_600_000])
      else {
        expect(runs).toEqual([])
        expect((await store.listRuns({ job: 'j' })).map((r) => r.status)).toEqual(['missed'])
      }
    })
  }

  it('result is stored as JSON up to 4 KiB', async () => {
    const { clock, store, scheduler } = await setup([
      { name: 'small', schedule: '0 * * * *', run: () => ({ a: 1, s: 'x'.repeat(4000) }) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 + 1000)
    const [r] = await store.listRuns({ job: 'small' })
    expect(r!.status).toBe('succeeded')
    expect(JSON.parse(r?.result as string)).toEqual({ a: 1, s: 'x'.repeat(4000) })
  })

  it('history keepRuns prunes a minute after start, then hourly', async () => {
    const { clock, store, scheduler } = await setup(
      [{ name: 'j', schedule: '*/10 * * * * *', run: () => {} }],
      {},
      { history: { keepDays: 30, keepRuns: 2 } },
    )
    await scheduler.start()
    await clock.advance(59_000)
    expect((await store.listRuns({ job: 'j', limit: 100000 })).length).toBeGreaterThan(2)
    await clock.advance(2_000)
    expect((await store.listRuns({ job: 'j', limit: 100000 })).length).toBe(2)
    await clock.advance(30 * 60_000)
    expect((await store.listRuns({ job: 'j', limit: 100000 })).length).toBeGreaterThan(100)
    await clock.advance(30 * 60_000)
    expect((await store.listRuns({ job: 'j', limit: 100000 })).length).toBeLessThanOrEqual(3)
  })

  it('reload: shutdownGrace and history take their new values', async () => {
    const job = { name: 'j', schedule: '0 * * * *', run: () => new Promise((r) => setTimeout(r, 3_600_000)) }
    const { clock, store, scheduler } = await setup([job], {}, { shutdownGrace: 100 })
    await scheduler.start()
    await scheduler.reload({ timezone: 'UTC', shutdownGrace: 5, jobs: [job] })
    await clock.advanceTo(T0 + 3_600_000 + 1000)
    let done = false
    const stopping = scheduler.stop().then(() => (done = true))
    await clock.advance(6_000)
    expect(done).toBe(true)
    await stopping
    expect((await store.listRuns({ job: 'j' })).map((r) => r.status)).toEqual(['interrupted'])
  })

  for (const catchUp of [false, true]) {
    it(`suspend past the grace with a claimed run (catchUp ${catchUp})`, async () => {
      const runs: JobContext[] = []
      const { clock, store, scheduler } = await setup([
        { name: 'j', schedule: '0 * * * *', catchUp, run: (c) => void runs.push(c) },
      ])
      await scheduler.start()
      await clock.advanceTo(T0 + 3_600_000 - 5)
      clock.jump(10 * 60_000)
      await clock.advance(1000)
      const rows = await store.listRuns({ job: 'j', limit: 1000 })
      if (!catchUp) {
        expect(runs).toEqual([])
        expect(rows.map((r) => r.status)).toEqual(['missed'])
      } else {
        expect(runs.length).toBe(1)
        expect(runs[0]!.scheduledAt.getTime()).toBe(T0 + 3_600_000)
      }
    })
  }

  it('restart after an outage shorter than the grace runs once; earlier slots join the missed record (catchUp carries them)', async () => {
    const store: Store = await openStore(':memory:')
    const runs: JobContext[] = []
    const mk = () =>
      validateConfig(
        {
          timezone: 'UTC',
          jobs: [{ name: 'j', every: '10s', catchUp: true, run: (c: JobContext) => void runs.push(c) }],
        },
        { file: 't' },
      )
    const c1 = new FakeClock(T0 + 1)
    const s1 = new Scheduler(mk(), { clock: c1, store, instanceId: 'a' })
    await s1.start()
    await c1.advance(10_500)
    await s1.stop({ graceMs: 0 })
    runs.length = 0
    const c2 = new FakeClock(T0 + 45_000)
    const s2 = new Scheduler(mk(), { clock: c2, store, instanceId: 'b' })
    schedulers.push(s2)
    await s2.start()
    await c2.advance(100)
    expect(runs.length).toBe(1)
    expect(runs[0]!.scheduledAt.getTime()).toBe(T0 + 40_000)
    expect(runs[0]!.missed).toMatchObject({ count: 2, first: new Date(T0 + 20_000), last: new Date(T0 + 30_000) })
  })

  it('state precedence: flag > CRONS_STATE > file > default; flag/env relative to cwd, file relative to config', async () => {
    const root = mkdtempSync(join(tmpdir(), 'crons-docs-'))
    const cfgDir = join(root, 'cfg')
    const cwd = join(root, 'here')
    mkdirSync(cfgDir)
    mkdirSync(cwd)
    writeFileSync(
      join(cfgDir, 'crons.config.mjs'),
      `export default { state: 'f.db', jobs: [{ name: 'j', schedule: '@daily', run: () => {} }] }\n`,
    )
    const file = await resolveConfig({ configFlag: join(cfgDir, 'crons.config.mjs'), cwd, env: {} })
    expect(file.statePath).toBe(join(cfgDir, 'f.db'))
    expect(file.sources.state).toBe('file')
    const env = await resolveConfig({ configFlag: join(cfgDir, 'crons.config.mjs'), cwd, env: { CRONS_STATE: 'e.db' } })
    expect(env.statePath).toBe(join(cwd, 'e.db'))
    expect(env.sources.state).toBe('env')
    const flag = await resolveConfig({
      configFlag: join(cfgDir, 'crons.config.mjs'),
      stateFlag: 'g.db',
      cwd,
      env: { CRONS_STATE: 'e.db' },
    })
    expect(flag.statePath).toBe(join(cwd, 'g.db'))
    expect(flag.sources.state).toBe('flag')
    const viaEnv = await resolveConfig({ cwd, env: { CRONS_CONFIG: '../cfg' } })
    expect(viaEnv.statePath).toBe(join(cfgDir, 'f.db'))
  })

  it('reload adding an at job 30 s in the past runs it once (within grace); 5 min past is recorded missed, never dropped', async () => {
    const runs: string[] = []
    const { clock, store, scheduler } = await setup([{ name: 'x', schedule: '@yearly', run: () => {} }])
    await scheduler.start()
    await clock.advance(10 * 60_000)
    const now = clock.now()
    await scheduler.reload({
      timezone: 'UTC',
      jobs: [
        { name: 'x', schedule: '@yearly', run: () => {} },
        { name: 'a', at: new Date(now - 30_000), run: () => void runs.push('a') },
        { name: 'b', at: new Date(now - 5 * 60_000), run: () => void runs.push('b') },
      ],
    })
    await clock.advance(1000)
    expect(runs).toEqual(['a'])
    expect((await store.listRuns({ job: 'b' })).map((r) => r.status)).toEqual(['missed'])
  })

  it('every 1d in a non-UTC zone is still aligned to the Unix epoch', async () => {
    const starts: number[] = []
    const { clock, scheduler } = await setup([
      { name: 'j', every: '1d', tz: 'Asia/Tokyo', run: (ctx) => void starts.push(ctx.scheduledAt.getTime()) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 86_400_000 + 1000)
    expect(starts).toEqual([T0 + 86_400_000])
  })
})
