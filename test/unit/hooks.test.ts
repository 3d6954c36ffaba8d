import { afterEach, describe, expect, it } from 'vitest'
import type { HookContext, Hooks, JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import { HOOK_TIMEOUT_MS } from '../../src/core/hooks.js'
import { MAX_LINES } from '../../src/core/output.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { openStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'

const T0 = Date.parse('2026-03-01T00:00:00Z')
const schedulers: Scheduler[] = []

afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.stop({ graceMs: 0 })
})

async function setup(jobs: JobDefinition[], hooks: Hooks = {}) {
  const clock = new FakeClock(T0)
  const store: Store = await openStore(':memory:')
  const config = validateConfig({ timezone: 'UTC', hooks, jobs }, { file: 'test' })
  const scheduler = new Scheduler(config, { clock, store, instanceId: 'inst-1', random: () => 0 })
  schedulers.push(scheduler)
  return { clock, store, scheduler }
}

describe('hooks', () => {
  it('onError says willRetry / final, so an alert that checks final fires once per failed run', async () => {
    const alerts: string[] = []
    const seen: [number, boolean | undefined, boolean | undefined][] = []
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'flaky',
          schedule: '0 * * * *',
          retry: { max: 2, backoff: 'constant', initial: 1 },
          run: () => {
            throw new Error('down')
          },
        },
      ],
      {
        onError: (ctx) => {
          seen.push([ctx.attempt, ctx.willRetry, ctx.final])
          if (ctx.final) alerts.push(`${ctx.job.name} failed after ${ctx.attempt} attempts`)
        },
      },
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 + 5_000)
    expect(seen).toEqual([
      [1, true, false],
      [2, true, false],
      [3, false, true],
    ])
    expect(alerts).toEqual(['flaky failed after 3 attempts'])
    expect((await store.listRuns({ job: 'flaky' })).map((r) => r.status)).toEqual(['failed', 'failed', 'failed'])
  })

  it('a retry cancelled by a stop ends the run: its after-hooks hear it once, as final', async () => {
    const seen: [number, string, boolean | undefined, boolean | undefined][] = []
    const record = (ctx: HookContext) => seen.push([ctx.attempt, ctx.status ?? '', ctx.willRetry, ctx.final])
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'flaky',
          schedule: '0 * * * *',
          retry: { max: 2, backoff: 'constant', initial: 60 },
          run: () => {
            throw new Error('down')
          },
        },
      ],
      { onError: record },
    )
    const finished: string[] = []
    scheduler.events.on('run:finished', (e) => finished.push(`${e.attempt} ${e.status}`))
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 + 5_000)
    expect(seen).toEqual([[1, 'failed', true, false]])
    await scheduler.stop({ graceMs: 0 })
    expect(seen).toEqual([
      [1, 'failed', true, false],
      [2, 'interrupted', false, true],
    ])
    expect((await store.listRuns({ job: 'flaky' })).map((r) => r.status)).toEqual(['interrupted', 'failed'])
    expect(finished).toEqual(['1 failed', '2 interrupted'])
  })

  it("a second stop does not wait for a cancelled retry's hanging hook", async () => {
    let finalCalls = 0
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'flaky',
          schedule: '0 * * * *',
          retry: { max: 2, backoff: 'constant', initial: 60 },
          run: () => {
            throw new Error('down')
          },
        },
      ],
      {
        onError: (ctx) => {
          if (!ctx.final) return
          finalCalls++
          return new Promise(() => {})
        },
      },
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 3_600_000 + 5_000)
    let stopped = false
    const first = scheduler.stop({ graceMs: 0 }).then(() => {
      stopped = true
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(finalCalls).toBe(1)
    expect(stopped).toBe(false)
    // No fake time passes: the hook's 10-s bound is not what ends the wait.
    await scheduler.stop()
    await first
    expect((await store.listRuns({ job: 'flaky' })).map((r) => r.status)).toEqual(['interrupted', 'failed'])
  })

  it('run config hooks before job hooks, in order beforeRun → job → afterRun → onError, with full context', async () => {
    const calls: string[] = []
    const contexts: Record<string, HookContext> = {}
    const record = (name: string) => (ctx: HookContext) => {
      calls.push(name)
      contexts[name] = { ...ctx }
    }
    const { clock, scheduler } = await setup(
      [
        {
          name: 'nightly',
          schedule: '0 3 * * *',
          tz: 'Europe/Berlin',
          tags: ['db'],
          hooks: {
            beforeRun: record('job.beforeRun'),
            afterRun: record('job.afterRun'),
            onError: record('job.onError'),
          },
          run: () => {
            calls.push('run')
            throw new Error('disk full')
          },
        },
      ],
      { beforeRun: record('config.beforeRun'), afterRun: record('config.afterRun'), onError: record('config.onError') },
    )
    await scheduler.start()
    await clock.advanceTo('2026-03-01T02:00:00Z') // 03:00 in Berlin (UTC+1)
    expect(calls).toEqual([
      'config.beforeRun',
      'job.beforeRun',
      'run',
      'config.afterRun',
      'job.afterRun',
      'config.onError',
      'job.onError',
    ])
    expect(contexts['config.beforeRun']).toMatchObject({
      job: { name: 'nightly', tags: ['db'], schedule: '0 3 * * *', zone: 'Europe/Berlin' },
      scheduledAt: new Date('2026-03-01T02:00:00Z'),
      trigger: 'schedule',
      initiator: 'scheduler',
      attempt: 1,
      instanceId: 'inst-1',
      startedAt: new Date('2026-03-01T02:00:00Z'),
    })
    expect(contexts['config.beforeRun']?.finishedAt).toBeUndefined()
    const after = contexts['job.onError'] as HookContext
    expect(after.status).toBe('failed')
    expect((after.error as Error).message).toBe('disk full')
    expect(after.durationMs).toBe(0)
    expect(after.finishedAt).toEqual(new Date('2026-03-01T02:00:00Z'))
  })

  it('afterRun receives the result; onError is not called on success; manual runs say who asked', async () => {
    const seen: HookContext[] = []
    const { clock, scheduler } = await setup([{ name: 'ok', schedule: '@yearly', run: () => ({ rows: 3 }) }], {
      afterRun: (ctx) => void seen.push(ctx),
      onError: () => {
        throw new Error('must not be called')
      },
    })
    const run = scheduler.runJob('ok')
    await clock.advance(1)
    await run
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ trigger: 'manual', initiator: 'library', status: 'succeeded', result: { rows: 3 } })
  })

  it('a throwing or hanging hook is recorded with the attempt and never breaks the run', async () => {
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'j',
          schedule: '* * * * *',
          hooks: { afterRun: () => new Promise(() => {}) },
          run: (ctx) => {
            ctx.log.info('job ran')
            return 'done'
          },
        },
      ],
      {
        beforeRun: () => {
          throw new Error('hook exploded')
        },
      },
    )
    await scheduler.start()
    await clock.advance(60_000 + HOOK_TIMEOUT_MS)
    const [row] = await store.listRuns({ job: 'j' })
    expect(row?.status).toBe('succeeded')
    expect(row?.result).toBe('"done"')
    const lines = JSON.parse(row?.output ?? '[]').map((l: { level: string; text: string }) => `${l.level}: ${l.text}`)
    expect(lines).toEqual([
      'error: hook beforeRun failed: hook exploded',
      'info: job ran',
      `error: hook afterRun failed: did not finish within ${HOOK_TIMEOUT_MS / 1000}s`,
    ])
    // The scheduler keeps going: the next minute runs too.
    await clock.advance(60_000)
    expect((await store.listRuns({ job: 'j' })).length).toBe(2)
  })
})

describe('job output', () => {
  it('keeps ctx.log lines with the attempt, bounded, and emits them as events', async () => {
    const { clock, store, scheduler } = await setup([
      {
        name: 'chatty',
        schedule: '@yearly',
        run: (ctx) => {
          ctx.log.warn('careful: %d items', 3)
          for (let i = 0; i < MAX_LINES + 50; i++) ctx.log.info(`line ${i}`)
        },
      },
    ])
    const events: string[] = []
    scheduler.events.on('run:log', (e) => events.push(`${e.level} ${e.text}`))
    const run = scheduler.runJob('chatty')
    await clock.advance(1)
    await run
    expect(events[0]).toBe('warn careful: 3 items')
    expect(events).toHaveLength(MAX_LINES + 51)
    const [row] = await store.listRuns({ job: 'chatty' })
    const lines = JSON.parse(row?.output ?? '[]') as { text: string }[]
    expect(lines).toHaveLength(MAX_LINES + 1)
    expect(lines.at(-1)?.text).toBe(`[51 more line(s) dropped: output is kept up to ${MAX_LINES} lines]`)
  })

  it('past 64 KiB, every later line is dropped too, short ones included, and the note names that bound', async () => {
    const { clock, store, scheduler } = await setup([
      {
        name: 'wordy',
        schedule: '@yearly',
        run: (ctx) => {
          // 32 lines of 2000 characters fit in 64 KiB; the 33rd does not.
          for (let i = 0; i < 40; i++) ctx.log.info(String(i).padEnd(2000, 'x'))
          ctx.log.info('last')
        },
      },
    ])
    const run = scheduler.runJob('wordy')
    await clock.advance(1)
    await run
    const [row] = await store.listRuns({ job: 'wordy' })
    const texts = (JSON.parse(row?.output ?? '[]') as { text: string }[]).map((line) => line.text)
    expect(texts).toHaveLength(33)
    expect(texts.slice(-2)).toEqual([
      expect.stringMatching(/^31x+$/),
      '[9 more line(s) dropped: output is kept up to 64 KiB]',
    ])
  })

  // Scheduled runs whose code ends within its call take a shorter recording path unless something
  // follows the attempt: these pin that the after-hooks and retries still run on it.
  it.each([
    ['onError only', { onError: true }],
    ['afterRun only', { afterRun: true }],
  ])('runs the after-hooks of a scheduled job that throws synchronously (%s)', async (_, which) => {
    const calls: string[] = []
    const hooks: Hooks = {}
    if ('onError' in which)
      hooks.onError = (ctx) => void calls.push(`onError ${ctx.job.name} ${ctx.startedAt.getTime()}`)
    if ('afterRun' in which)
      hooks.afterRun = (ctx) => void calls.push(`afterRun ${ctx.job.name} ${ctx.startedAt.getTime()}`)
    const { clock, store, scheduler } = await setup([
      {
        name: 'sync',
        schedule: '* * * * *',
        hooks,
        run: () => {
          throw new Error('boom')
        },
      },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000)
    expect(calls).toEqual([`${'onError' in which ? 'onError' : 'afterRun'} sync ${T0 + 60_000}`])
    const [run] = await store.listRuns({ job: 'sync' })
    expect(run).toMatchObject({ status: 'failed', errorMessage: 'boom' })
  })

  it('retries a scheduled job that fails synchronously, and one that times out', async () => {
    let calls = 0
    const { clock, store, scheduler } = await setup([
      {
        name: 'flaky',
        schedule: '* * * * *',
        retry: { max: 1, backoff: 'constant', initial: 1 },
        run: () => {
          calls++
          if (calls === 1) throw new Error('first try fails')
        },
      },
      {
        name: 'slow',
        schedule: '* * * * *',
        timeout: 5,
        retry: { max: 1, backoff: 'constant', initial: 1 },
        run: (ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())),
      },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 60_000 + 20_000)
    const statuses = async (job: string) => (await store.listRuns({ job })).reverse().map((r) => [r.attempt, r.status])
    expect(await statuses('flaky')).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ])
    expect(await statuses('slow')).toEqual([
      [1, 'timed_out'],
      [2, 'timed_out'],
    ])
  })
})

describe('stopping in the same turn as a batch', () => {
  it('records every run of the batch and reports each finished before the scheduler stops', async () => {
    let stopping: Promise<void> | undefined
    let scheduler: Scheduler | undefined
    const jobs: JobDefinition[] = Array.from({ length: 20 }, (_, i) => ({
      name: `quick-${i}`,
      schedule: '* * * * *',
      // The last job of the batch stops the scheduler from inside its call: the batch's outcomes
      // are still queued for the store.
      run: () => {
        if (i === 19) stopping = scheduler?.stop({ graceMs: 1000 })
        return i
      },
    }))
    const harness = await setup(jobs)
    scheduler = harness.scheduler
    const events: string[] = []
    scheduler.events.on('run:finished', (e) => events.push(`finished ${e.status}`))
    scheduler.events.on('stopped', () => events.push('stopped'))
    await scheduler.start()
    await harness.clock.advanceTo(T0 + 60_000)
    await stopping
    expect(events).toEqual([...Array(20).fill('finished succeeded'), 'stopped'])
    const rows = await harness.store.listRuns({ limit: 100 })
    expect(rows.map((r) => r.status)).toEqual(Array(20).fill('succeeded'))
  })
})
