import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../src/core/clock.js'
import { createScheduler, isCronsError, type SchedulerOptions } from '../../src/index.js'
import { openStore } from '../../src/store/index.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')

describe('createScheduler', () => {
  it('takes a config without jobs; jobs added later with add() run', async () => {
    const clock = new FakeClock(T0)
    const scheduler = createScheduler({ state: ':memory:', timezone: 'UTC' }, { clock, random: () => 0 })
    expect(scheduler.list()).toEqual([])
    const seen: string[] = []
    await scheduler.start()
    await scheduler.add({ name: 'later', schedule: '* * * * *', run: (ctx) => void seen.push(ctx.job.name) })
    await clock.advance(60_000)
    await scheduler.stop({ graceMs: 0 })
    expect(scheduler.list().map((job) => job.name)).toEqual(['later'])
    expect(seen).toEqual(['later'])
  })

  it('still validates what is given, jobs included', () => {
    let caught: unknown
    try {
      createScheduler({ state: ':memory:', timezone: 'Mars/Olympus', jobs: [] })
    } catch (error) {
      caught = error
    }
    expect(isCronsError(caught) && caught.code).toBe('CONFIG_INVALID')
  })
})

describe('scheduler options', () => {
  const config = { state: ':memory:', timezone: 'UTC' } as const
  const clock = new FakeClock(T0)

  function refusal(options: object): { message: string; details: string[] } {
    try {
      createScheduler(config, { clock, ...(options as SchedulerOptions) })
    } catch (error) {
      if (isCronsError(error) && error.code === 'CONFIG_INVALID') return error
      throw error
    }
    throw new Error(`accepted ${JSON.stringify(options)}`)
  }

  it.each([
    [{ heartbeatMs: 0 }, 'heartbeatMs: expected a number of milliseconds of at least 100, got 0'],
    [{ heartbeatMs: -5 }, 'heartbeatMs: expected a number of milliseconds of at least 100, got -5'],
    [{ heartbeatMs: Number.NaN }, 'heartbeatMs: expected a number of milliseconds of at least 100, got NaN'],
    [
      { instanceTtlMs: Number.POSITIVE_INFINITY },
      'instanceTtlMs: expected a number of milliseconds of at least 100, got Infinity',
    ],
    [{ instanceTtlMs: '30s' }, 'instanceTtlMs: expected a number of milliseconds of at least 100, got "30s"'],
    [{ maxSleepMs: Number.NaN }, 'maxSleepMs: expected a number of milliseconds of at least 100, got NaN'],
    [{ maxSleepMs: 10 }, 'maxSleepMs: expected a number of milliseconds of at least 100, got 10'],
    [{ claimLeadMs: -1 }, 'claimLeadMs: expected a number of milliseconds of at least 0, got -1'],
    [{ instanceTtlMs: 1000 }, 'instanceTtlMs: 1000 is shorter than two heartbeats (10s each); expected at least 20s'],
    [
      { heartbeatMs: 60_000 },
      'instanceTtlMs: 30000 (the default) is shorter than two heartbeats (1m each); expected at least 2m',
    ],
    [{ heartbeat: 5000 }, 'unknown key "heartbeat" (did you mean "heartbeatMs"?)'],
    [{ random: 0.5 }, 'random: expected a function, got 0.5'],
    [
      { initiator: 'scheduer' },
      'initiator: expected "scheduler", "cli" or "library", got "scheduer" (did you mean "scheduler"?)',
    ],
    [{ echoConsole: 'no' }, 'echoConsole: expected true or false, got "no"'],
  ])('%o is refused: %s', (options, problem) => {
    expect(refusal(options)).toMatchObject({
      message: '1 problem in the scheduler options',
      details: [`scheduler options: ${problem}`],
    })
  })

  it('every problem in one error, the unknown keys last', () => {
    expect(refusal({ heartbeatMs: 0, maxSleepMs: -1, wat: 1 })).toMatchObject({
      message: '3 problems in the scheduler options',
      details: [
        'scheduler options: maxSleepMs: expected a number of milliseconds of at least 100, got -1',
        'scheduler options: heartbeatMs: expected a number of milliseconds of at least 100, got 0',
        expect.stringMatching(/^scheduler options: unknown key "wat" \(expected one of: clock, store, /),
      ],
    })
  })

  it('valid values, and keys left undefined, are taken', async () => {
    const store = await openStore(':memory:')
    const scheduler = createScheduler(config, {
      clock,
      store,
      instanceId: 'here',
      initiator: 'cli',
      maxSleepMs: 100,
      heartbeatMs: 100,
      instanceTtlMs: 200,
      claimLeadMs: 0,
      random: () => 0,
      preciseStart: false,
      echoConsole: false,
      openStore: undefined,
    })
    await scheduler.start()
    expect(scheduler.instanceId).toBe('here')
    await scheduler.stop({ graceMs: 0 })
    await store.close()
    // A state file's default lease (30 s) holds two heartbeats of 15 s.
    expect(() => createScheduler(config, { clock, heartbeatMs: 15_000 })).not.toThrow()
  })
})
