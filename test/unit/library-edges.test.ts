/**
 * The library as an app embeds it: createScheduler, the Scheduler's public members, events, and the
 * examples of docs/library.md.
 */
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { FakeClock, flushCallbacks } from '../../src/core/clock.js'
import { changePaused, createScheduler, isCronsError, jobSummaries, type Scheduler } from '../../src/index.js'
import { openStore } from '../../src/store/index.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function track(s: Scheduler) {
  cleanups.push(() => s.stop({ graceMs: 0 }).catch(() => undefined))
  return s
}

async function outcome(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    if (typeof p === 'function') await p()
    else await p
  } catch (e) {
    return isCronsError(e) ? { code: e.code, message: e.message, details: e.details } : { raw: String(e) }
  }
  return 'ok'
}

const every = (name: string, run: () => unknown = () => {}) => ({ name, schedule: '* * * * *', run })

describe('an async listener that rejects', () => {
  it('becomes an engine:error, not an unhandled rejection (which ends a Node process)', async () => {
    const clock = new FakeClock(T0)
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    const others = process.listeners('unhandledRejection')
    for (const l of others) process.off('unhandledRejection', l)
    process.on('unhandledRejection', onUnhandled)
    try {
      const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a')] }, { clock }))
      const engineErrors: string[] = []
      s.events.on('engine:error', (e) => engineErrors.push(e.message))
      s.events.on('run:started', async () => {
        throw new Error('listener rejected')
      })
      await s.start()
      await clock.advance(60_000)
      await new Promise((r) => setTimeout(r, 20))
      expect(unhandled).toEqual([])
      expect(engineErrors).toEqual(['a listener of "run:started" threw'])
    } finally {
      process.off('unhandledRejection', onUnhandled)
      for (const l of others) process.on('unhandledRejection', l)
    }
  })
})

describe('runs() and run() after stop()', () => {
  it('reject with a CronsError (SCHEDULER_STOPPED), not a raw driver TypeError', async () => {
    const clock = new FakeClock(T0)
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a', () => 42)] }, { clock }))
    await s.start()
    await clock.advance(60_000)
    expect((await s.runs()).map((r) => r.status)).toEqual(['succeeded'])
    await s.stop({ graceMs: 0 })
    expect(await outcome(s.runs())).toMatchObject({ code: 'SCHEDULER_STOPPED' })
    expect(await outcome(s.run(1))).toMatchObject({ code: 'SCHEDULER_STOPPED' })
  })
})

describe('a failed first open of the store', () => {
  const flaky = () => {
    let opens = 0
    return async (state: Parameters<typeof openStore>[0]) => {
      if (++opens === 1) throw new Error('connect ECONNREFUSED (the database is restarting)')
      return openStore(state)
    }
  }

  it('a runs() that met the database down does not keep start() from opening it', async () => {
    const clock = new FakeClock(T0)
    const s = track(
      createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a')] }, { clock, openStore: flaky() }),
    )
    await expect(s.runs()).rejects.toThrow('ECONNREFUSED')
    // the database is back
    await s.start()
    await clock.advance(60_000)
    expect((await s.runs()).map((r) => r.status)).toEqual(['succeeded'])
  })

  it('a start() that met the database down can be tried again', async () => {
    const clock = new FakeClock(T0)
    const s = track(
      createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a')] }, { clock, openStore: flaky() }),
    )
    await expect(s.start()).rejects.toThrow('ECONNREFUSED')
    await s.start()
    await clock.advance(60_000)
    expect((await s.runs()).map((r) => r.status)).toEqual(['succeeded'])
  })
})

describe('jobs added with add() are in the config the members read', () => {
  it('pause() of a job added before start() pauses it', async () => {
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC' }, { clock: new FakeClock(T0) }))
    await s.add(every('x'))
    expect(s.list().map((j) => j.name)).toEqual(['x'])
    await expect(s.pause('x')).resolves.toMatchObject({ job: 'x', paused: true })
  })

  it('a job added with enabled: false is refused JOB_DISABLED and runs when forced', async () => {
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC' }, { clock: new FakeClock(T0) }))
    await s.add({ ...every('off'), enabled: false })
    expect(await outcome(s.runJob('off'))).toMatchObject({ code: 'JOB_DISABLED' })
    await expect(s.runJob('off', { force: true })).resolves.toMatchObject({ status: 'succeeded' })
  })

  it('jobSummaries(scheduler.config, …) shows a started, added job with its next run', async () => {
    const clock = new FakeClock(T0)
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC' }, { clock }))
    await s.start()
    await s.add(every('x'))
    const store = await s.open()
    const [summary] = await jobSummaries(s.config, store, clock.now())
    expect(summary).toMatchObject({ name: 'x', removed: false, nextRun: T0 + 60_000 })
  })
})

describe('docs/library.md examples', () => {
  it('changePaused(config, shared, name, paused, () => Date.now()) as documented', async () => {
    const s = track(
      createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('backup')] }, { clock: new FakeClock(T0) }),
    )
    const store = await s.open()
    const shared = { read: async () => store, write: async () => store, release: async () => {} }
    // the documented call; it does not type-check (TS2345: number is not assignable to () => number)
    // and in JavaScript rejects with "TypeError: hostNow is not a function"
    const call = changePaused(s.config, shared, 'backup', true, () => Date.now())
    await expect(call).resolves.toMatchObject({ job: 'backup', paused: true })
  })

  it('createScheduler(null) says what createScheduler expects, not a config file export', () => {
    let err: unknown
    try {
      createScheduler(null as never)
    } catch (e) {
      err = e
    }
    expect(isCronsError(err) && err.message).not.toContain('export default')
  })
})

describe('add() refuses invalid definitions with one CONFIG_INVALID each', () => {
  it('bad cron, bad tz, run and command, neither, no name, not an object', async () => {
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC' }, { clock: new FakeClock(T0) }))
    const cases: unknown[] = [
      { name: 'a', schedule: '61 * * * *', run: () => {} },
      { name: 'a', schedule: '* * * * *', tz: 'Mars/Base', run: () => {} },
      { name: 'a', schedule: '* * * * *', run: () => {}, command: 'echo' },
      { name: 'a', schedule: '* * * * *' },
      { schedule: '* * * * *', run: () => {} },
      'x',
      [],
    ]
    for (const c of cases) {
      const got = (await outcome(s.add(c as never))) as { code: string; details: string[] }
      expect(got.code, JSON.stringify(c)).toBe('CONFIG_INVALID')
      expect(got.details.length).toBeLessThanOrEqual(1)
    }
    expect(s.list()).toEqual([])
  })

  it('createScheduler: duplicate names, unknown keys, negative grace', () => {
    for (const c of [{ jobs: [every('a'), every('a')] }, { jobz: [] }, { shutdownGrace: -5 }]) {
      let err: unknown
      try {
        createScheduler({ state: ':memory:', timezone: 'UTC', ...c } as never)
      } catch (e) {
        err = e
      }
      expect(isCronsError(err) && err.code).toBe('CONFIG_INVALID')
      expect(isCronsError(err) && err.details).toHaveLength(1)
    }
  })
})

describe('reads and lifecycle', () => {
  it('before start and after stop: list, nextRuns (ISO), runs, run; stopped calls refuse', async () => {
    const clock = new FakeClock(T0)
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a', () => 42)] }, { clock }))
    expect(s.list().map((j) => j.name)).toEqual(['a'])
    expect(s.nextRuns()).toEqual([{ job: 'a', nextRun: '2026-01-01T00:01:00.000Z' }])
    expect(await s.runs()).toEqual([])
    expect(await s.run(1)).toBeUndefined()
    await s.start()
    await clock.advance(60_000)
    expect(await s.run(1)).toMatchObject({ id: 1, status: 'succeeded', result: 42, slot: '2026-01-01T00:01:00.000Z' })
    await s.stop({ graceMs: 0 })
    expect(s.nextRuns()).toEqual([{ job: 'a', nextRun: '2026-01-01T00:02:00.000Z' }])
    for (const call of [s.start(), s.pause('a'), s.runJob('a'), s.add(every('b')), s.reload({ jobs: [] })]) {
      expect(await outcome(call)).toMatchObject({ code: 'SCHEDULER_STOPPED' })
    }
    expect(await outcome(s.stop())).toBe('ok')
  })

  it('events in order: started, run:started, run:log, run:finished (with retryInMs), stopped last', async () => {
    const clock = new FakeClock(T0)
    const s = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          jobs: [
            { name: 'a', schedule: '* * * * *', run: (ctx) => ctx.log.info('hi') },
            {
              ...every('b', () => {
                throw new Error('boom')
              }),
              retry: { max: 1 },
            },
          ],
        },
        { clock, random: () => 0 },
      ),
    )
    const seen: string[] = []
    for (const ev of ['started', 'stopped', 'run:started', 'run:finished', 'run:log', 'engine:error'] as const) {
      s.events.on(ev, (e: unknown) => {
        const p = e as { job?: string; attempt?: number; retryInMs?: number }
        seen.push([ev, p.job, p.attempt, p.retryInMs].filter((x) => x !== undefined).join(' '))
      })
    }
    await s.start()
    await clock.advance(62_000)
    await s.stop({ graceMs: 0 })
    expect(seen).toEqual([
      'started',
      'run:started a 1',
      'run:log a 1',
      'run:started b 1',
      'run:finished a 1',
      'run:finished b 1 1000',
      'run:started b 2',
      'run:finished b 2',
      'stopped',
    ])
  })

  it('state: omitted and relative resolve from the cwd; missing folder STATE_INVALID; bad postgres credentials one masked STATE_INVALID', async () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-library-'))
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      expect(createScheduler({ timezone: 'UTC' }).config.statePath).toBe(path.join(dir, 'crons.db'))
      const rel = createScheduler({ state: 'sub/../rel.db', timezone: 'UTC' }, { clock: new FakeClock(T0) })
      await rel.start()
      expect(fs.existsSync(path.join(dir, 'rel.db'))).toBe(true)
      await rel.stop()
      const missing = createScheduler({ state: 'nope/x.db', timezone: 'UTC' }, { clock: new FakeClock(T0) })
      expect(await outcome(missing.start())).toMatchObject({ code: 'STATE_INVALID' })
      await missing.stop()
    } finally {
      process.chdir(cwd)
    }
    const url = new URL(inject('postgresUrl'))
    url.password = 'Sup3rS3cretWrong'
    url.searchParams.set('schema', 'library_edges')
    const pg = createScheduler({ state: url.toString(), timezone: 'UTC' }, { clock: new FakeClock(T0) })
    const got = await outcome(pg.start())
    expect(got).toMatchObject({ code: 'STATE_INVALID' })
    expect(JSON.stringify(got)).toMatch(/authentication failed/)
    expect(JSON.stringify(got)).not.toContain('Sup3rS3cret')
    await pg.stop()
    const scheme = await outcome(() => createScheduler({ state: 'mysql://u:Sup3rS3cret@h/db', timezone: 'UTC' }))
    expect(JSON.stringify(scheme)).not.toContain('Sup3rS3cret')
  })

  it('a listener that throws synchronously becomes one engine:error', async () => {
    const clock = new FakeClock(T0)
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a')] }, { clock }))
    const errors: string[] = []
    s.events.on('engine:error', (e) => errors.push(e.message))
    s.events.on('run:started', () => {
      throw new Error('sync')
    })
    await s.start()
    await clock.advance(60_000)
    await flushCallbacks()
    expect(errors).toEqual(['a listener of "run:started" threw'])
    expect((await s.runs()).map((r) => r.status)).toEqual(['succeeded'])
  })
})

describe('add() on a started scheduler, as a reload would', () => {
  const config = (run: () => unknown) => ({
    state: ':memory:',
    timezone: 'UTC',
    jobs: [{ name: 'a', schedule: '0 0 * * *', run }],
  })

  it('a new schedule starts from now: no missed slots it never had, no catch-up for them', async () => {
    const clock = new FakeClock(T0)
    const heard: unknown[] = []
    const s = track(
      createScheduler(
        config(() => 1),
        { clock },
      ),
    )
    await s.start()
    await clock.advanceTo(T0 + 10 * 3600_000 + 30 * 60_000) // 10:30: the daily job has not run yet
    const hourly = { name: 'a', schedule: '0 * * * *', catchUp: true }
    await s.add({ ...hourly, run: (ctx) => void heard.push([ctx.trigger, ctx.missed?.count]) })
    await clock.advance(30 * 60_000) // to 11:00
    expect(heard).toEqual([['schedule', undefined]])
    expect((await s.runs()).map((r) => [r.status, r.slot])).toEqual([['succeeded', '2026-01-01T11:00:00.000Z']])
  })

  it('removed for an hour, then added back: no missed record for the hour (reload() records none)', async () => {
    const clock = new FakeClock(T0)
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a')] }, { clock }))
    await s.start()
    await clock.advance(60_000)
    s.remove('a')
    await clock.advance(3600_000)
    await s.add(every('a'))
    await clock.advance(60_000)
    expect((await s.runs({ limit: 100 })).map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
  })

  it('a store error while it is queued is reported, and the job is scheduled from now all the same', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    let calls = 0
    const job = every('a', () => void calls++)
    const s = createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [job] }, { clock, store })
    cleanups.push(async () => {
      await s.stop({ graceMs: 0 }).catch(() => undefined)
      await store.close()
    })
    const errors: string[] = []
    s.events.on('engine:error', (e) => errors.push(`${e.message}: ${(e.error as Error).message}`))
    await s.start()
    await clock.advance(60_000)
    const real = store.listJobs.bind(store)
    store.listJobs = async () => {
      store.listJobs = real // one failed read: a connection reset
      throw new Error('connection reset')
    }
    await s.add({ name: 'a', schedule: '*/2 * * * *', run: () => void calls++ }) // rescheduled: read from the store
    expect(errors).toEqual([
      'could not read the jobs of the reloaded config from the store; new schedules start from now: connection reset',
    ])
    await clock.advance(5 * 60_000) // 00:06: 00:02, 00:04 and 00:06 ran
    expect(calls).toBe(4)
  })
})
