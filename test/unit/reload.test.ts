/**
 * Scheduler.reload(): a running scheduler takes a new config — jobs added, removed and changed — with
 * runs in progress finishing under the definition they started with. Driven by the fake clock.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { CronsConfig, JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import type { ReloadResult } from '../../src/core/reload.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { openStore } from '../../src/store/index.js'
import type { AttemptRecord, Store } from '../../src/store/types.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const iso = (ms: number) => new Date(ms).toISOString()

const running: Scheduler[] = []

afterEach(async () => {
  for (const scheduler of running.splice(0)) await scheduler.stop({ graceMs: 0 })
})

async function harness(jobs: JobDefinition[], config: Partial<CronsConfig> = {}) {
  const clock = new FakeClock(T0)
  const store = await openStore(':memory:')
  const resolved = validateConfig({ timezone: 'UTC', ...config, jobs }, { file: 'test' })
  const scheduler = new Scheduler(resolved, { clock, store, random: () => 0 })
  running.push(scheduler)
  return { clock, store, scheduler }
}

/** The same config shape the harness validates: a reload gives a whole config. */
function configOf(jobs: JobDefinition[], config: Partial<CronsConfig> = {}) {
  return validateConfig({ timezone: 'UTC', ...config, jobs }, { file: 'test' })
}

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

describe('reload', () => {
  it('schedules added jobs, stops removed ones, replaces changed ones, and reports each', async () => {
    const fired: string[] = []
    const job = (name: string, schedule: string, tag = name): JobDefinition => ({
      name,
      schedule,
      run: (ctx) => void fired.push(`${tag}@${ctx.scheduledAt.getTime() - T0}`),
    })
    const { clock, scheduler } = await harness([
      job('keep', '*/2 * * * * *'),
      job('drop', '* * * * * *'),
      job('edit', '* * * * * *'),
    ])
    const events: ReloadResult[] = []
    scheduler.events.on('config:reloaded', (result) => void events.push(result))
    await scheduler.start()
    await clock.advance(2000)
    expect(fired.sort()).toEqual(['drop@1000', 'drop@2000', 'edit@1000', 'edit@2000', 'keep@2000'])
    fired.length = 0

    const result = await scheduler.reload(
      configOf([job('keep', '*/2 * * * * *'), job('edit', '*/5 * * * * *', 'edit2'), job('new', '*/3 * * * * *')]),
    )
    expect(result).toEqual({
      added: ['new'],
      removed: ['drop'],
      changed: ['edit'],
      unchanged: 1,
      notApplied: [],
      configHash: null,
    })
    expect(events).toEqual([result])
    expect(scheduler.list().map((j) => j.name)).toEqual(['keep', 'edit', 'new'])
    expect(scheduler.config.jobs.map((j) => j.name)).toEqual(['keep', 'edit', 'new'])

    await clock.advance(4000) // up to 00:00:06
    expect(fired.sort()).toEqual(['edit2@5000', 'keep@4000', 'keep@6000', 'new@3000', 'new@6000'])
  })

  it('a new schedule starts after the reload: the slots it would have had before are not missed', async () => {
    const { clock, store, scheduler } = await harness([{ name: 'h', schedule: '30 * * * *', run: () => {} }])
    await scheduler.start()
    await clock.advance(45 * 60_000) // ran at 00:30
    await scheduler.reload(configOf([{ name: 'h', schedule: '15 * * * *', run: () => {} }]))
    await clock.advance(60 * 60_000) // to 01:45
    const rows = await runs(store, 'h')
    expect(rows.map((r) => [r.status, iso(r.slot)])).toEqual([
      ['succeeded', '2026-01-01T00:30:00.000Z'],
      ['succeeded', '2026-01-01T01:15:00.000Z'],
    ])
  })

  it('a job reloaded unchanged keeps its next slot and runs the new code', async () => {
    const calls: string[] = []
    const { clock, store, scheduler } = await harness([
      { name: 'hourly', schedule: '0 * * * *', run: () => void calls.push('old') },
    ])
    await scheduler.start()
    await clock.advance(30 * 60_000)
    const result = await scheduler.reload(
      configOf([{ name: 'hourly', schedule: '0 * * * *', run: () => void calls.push('old') }]),
    )
    expect(result).toMatchObject({ added: [], removed: [], changed: [], unchanged: 1 })
    await clock.advance(31 * 60_000)
    expect(calls).toEqual(['old'])
    expect((await runs(store, 'hourly')).map((r) => [r.status, iso(r.slot)])).toEqual([
      ['succeeded', '2026-01-01T01:00:00.000Z'],
    ])
  })

  it('a run in progress finishes under the definition it started with; the new one applies from the next slot', async () => {
    const gate = deferred<string>()
    let aborted = false
    const { clock, store, scheduler } = await harness([
      {
        name: 'slow',
        schedule: '*/10 * * * * *',
        timeout: 8,
        run: (ctx) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true
          })
          return gate.promise
        },
      },
    ])
    await scheduler.start()
    await clock.advance(10_000) // the 00:00:10 run starts
    const reloaded = await scheduler.reload(
      configOf([{ name: 'slow', schedule: '*/10 * * * * *', timeout: 2, run: () => 'new' }]),
    )
    expect(reloaded.changed).toEqual(['slow'])
    await clock.advance(5000) // past the new timeout (2 s), within the old one (8 s)
    let rows = await runs(store, 'slow')
    expect(rows.map((r) => r.status)).toEqual(['running'])
    expect(aborted).toBe(false)
    gate.resolve('old')
    await clock.advance(1)
    rows = await runs(store, 'slow')
    expect(rows.map((r) => [r.status, r.result])).toEqual([['succeeded', JSON.stringify('old')]])
    await clock.advance(5000) // the 00:00:20 slot runs the new definition
    rows = await runs(store, 'slow')
    expect(rows.map((r) => [r.status, iso(r.slot), r.result])).toEqual([
      ['succeeded', '2026-01-01T00:00:10.000Z', JSON.stringify('old')],
      ['succeeded', '2026-01-01T00:00:20.000Z', JSON.stringify('new')],
    ])
  })

  it('a slot of the new definition is skipped while a run of the old one goes on (overlap skip)', async () => {
    const gate = deferred()
    const { clock, store, scheduler } = await harness([{ name: 'j', schedule: '* * * * * *', run: () => gate.promise }])
    await scheduler.start()
    await clock.advance(1000)
    await scheduler.reload(configOf([{ name: 'j', schedule: '*/2 * * * * *', run: () => {} }]))
    await clock.advance(1000) // 00:00:02, a slot of the new schedule, while the old run goes on
    expect((await runs(store, 'j')).map((r) => [r.status, iso(r.slot)])).toEqual([
      ['running', '2026-01-01T00:00:01.000Z'],
      ['skipped', '2026-01-01T00:00:02.000Z'],
    ])
    gate.resolve()
  })

  it('a removed job stops being scheduled, and its run in progress still finishes and is recorded', async () => {
    const gate = deferred()
    const { clock, store, scheduler } = await harness([
      { name: 'gone', schedule: '* * * * * *', run: () => gate.promise },
    ])
    await scheduler.start()
    await clock.advance(1000)
    expect((await scheduler.reload(configOf([]))).removed).toEqual(['gone'])
    await clock.advance(3000)
    gate.resolve()
    await clock.advance(1)
    expect((await runs(store, 'gone')).map((r) => [r.status, iso(r.slot)])).toEqual([
      ['succeeded', '2026-01-01T00:00:01.000Z'],
    ])
  })

  it('enabled: false in the new config stops the job; enabling it again schedules it', async () => {
    const fired: number[] = []
    const def = (enabled: boolean): JobDefinition => ({
      name: 'toggle',
      schedule: '* * * * * *',
      enabled,
      run: (ctx) => void fired.push(ctx.scheduledAt.getTime() - T0),
    })
    const { clock, scheduler } = await harness([def(true)])
    await scheduler.start()
    await clock.advance(1000)
    expect((await scheduler.reload(configOf([def(false)]))).changed).toEqual(['toggle'])
    expect(scheduler.list()).toEqual([])
    await clock.advance(2000)
    await scheduler.reload(configOf([def(true)]))
    await clock.advance(1000)
    expect(fired).toEqual([1000, 4000])
  })

  it('an invalid config is refused with the validation error and the old one keeps running', async () => {
    const fired: number[] = []
    const { clock, scheduler } = await harness([
      { name: 'ok', schedule: '* * * * * *', run: (ctx) => void fired.push(ctx.scheduledAt.getTime() - T0) },
    ])
    await scheduler.start()
    await clock.advance(1000)
    await expect(
      scheduler.reload({ jobs: [{ name: 'bad', schedule: '61 * * * *', run: () => {} }] }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    await clock.advance(2000)
    expect(fired).toEqual([1000, 2000, 3000])
    expect(scheduler.list().map((j) => j.name)).toEqual(['ok'])
  })

  it('a config without jobs is refused in terms of reload(), not of a config file', async () => {
    const { scheduler } = await harness([{ name: 'ok', schedule: '* * * * * *', run: () => {} }])
    await scheduler.start()
    const refused = scheduler.reload({ shutdownGrace: 5 } as unknown as Parameters<typeof scheduler.reload>[0])
    await expect(refused).rejects.toMatchObject({
      code: 'CONFIG_EXPORT',
      message:
        'reload() config: the config has no "jobs" array (keys: shutdownGrace); expected an object as defineConfig takes it, such as reload({ jobs: [...] })',
    })
    expect(scheduler.list().map((j) => j.name)).toEqual(['ok'])
  })

  it('a changed state is not applied: the scheduler keeps its store and says so', async () => {
    const { clock, store, scheduler } = await harness([{ name: 'a', schedule: '* * * * * *', run: () => {} }])
    await scheduler.start()
    const before = scheduler.config.statePath
    const result = await scheduler.reload({
      state: '/elsewhere/other.db',
      jobs: [{ name: 'a', schedule: '* * * * * *', run: () => {} }],
    })
    expect(result.notApplied).toEqual([
      `state /elsewhere/other.db not applied: a running scheduler keeps ${before} (restart it to change the state)`,
    ])
    expect(scheduler.config.statePath).toBe(before)
    await clock.advance(1000)
    expect((await runs(store, 'a')).map((r) => r.status)).toEqual(['succeeded'])
  })

  it('a config given in code without state keeps the running state; other settings are applied', async () => {
    const { scheduler } = await harness([], { shutdownGrace: 5 })
    const before = scheduler.config.statePath
    const result = await scheduler.reload({ shutdownGrace: 9, jobs: [] })
    expect(result.notApplied).toEqual([])
    expect(scheduler.config.statePath).toBe(before)
    expect(scheduler.config.shutdownGraceMs).toBe(9000)
  })

  it('config-wide hooks of the new config run for attempts started after the reload', async () => {
    const seen: string[] = []
    const { clock, scheduler } = await harness([{ name: 'h', schedule: '* * * * * *', run: () => {} }], {
      hooks: { afterRun: () => void seen.push('old hook') },
    })
    await scheduler.start()
    await clock.advance(1000)
    await scheduler.reload(
      configOf([{ name: 'h', schedule: '* * * * * *', run: () => {} }], {
        hooks: { afterRun: () => void seen.push('new hook') },
      }),
    )
    await clock.advance(1000)
    expect(seen).toEqual(['old hook', 'new hook'])
  })

  it('before start(), a reload only replaces the config: start() schedules the new jobs', async () => {
    const fired: string[] = []
    const { clock, scheduler } = await harness([
      { name: 'a', schedule: '* * * * * *', run: () => void fired.push('a') },
    ])
    await scheduler.reload(configOf([{ name: 'b', schedule: '* * * * * *', run: () => void fired.push('b') }]))
    await scheduler.start()
    await clock.advance(2000)
    expect(fired).toEqual(['b', 'b'])
  })

  it('records the fingerprint of the config it runs in its instance row, and the new one after a reload', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const scheduler = new Scheduler({ ...configOf([]), configHash: 'aaaaaaaaaaaaaaaa' }, { clock, store })
    running.push(scheduler)
    await scheduler.start()
    const hashes = async () => (await store.listInstances()).map((i) => i.configHash)
    expect(await hashes()).toEqual(['aaaaaaaaaaaaaaaa'])
    const result = await scheduler.reload({ ...configOf([]), configHash: 'bbbbbbbbbbbbbbbb' })
    expect(result.configHash).toBe('bbbbbbbbbbbbbbbb')
    expect(await hashes()).toEqual(['bbbbbbbbbbbbbbbb'])
    await scheduler.reload({ jobs: [] })
    expect(await hashes()).toEqual([null])
  })

  it('a stopped scheduler refuses to reload', async () => {
    const { scheduler } = await harness([])
    await scheduler.stop()
    await expect(scheduler.reload({ jobs: [] })).rejects.toMatchObject({ code: 'SCHEDULER_STOPPED' })
  })
})
