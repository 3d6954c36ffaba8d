import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../src/core/clock.js'
import { createScheduler, isCronsError } from '../../src/index.js'

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
