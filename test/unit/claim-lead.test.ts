/**
 * The adaptive claim lead: slots are claimed ahead of their instant by twice what the last batch took
 * to prepare (the claim, and building its runs), so the jobs start on the instant even when
 * preparing is slow; before any batch is measured, the longest lead.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import { EngineEmitter } from '../../src/core/events.js'
import type { Runner, RunRequest, StagedRuns } from '../../src/core/runner.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { StartQueue } from '../../src/core/start-queue.js'
import { openStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'
import { storeWith } from '../store/helpers.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const stops: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
})

describe('the adaptive claim lead', () => {
  it('claims the next batch twice as long ahead as the last claim took, plus 2 ms', async () => {
    const clock = new FakeClock(T0)
    const real = await openStore(':memory:')
    const claimedAt: number[] = []
    // A store whose claims take 10 ms on the scheduler's clock.
    const store = storeWith(real, {
      claimSlots: (...args: Parameters<Store['claimSlots']>) => {
        claimedAt.push(clock.now())
        clock.jump(10)
        return real.claimSlots(...args)
      },
    })
    const started: number[] = []
    const config = validateConfig(
      { timezone: 'UTC', jobs: [{ name: 'tick', schedule: '* * * * * *', run: () => void started.push(clock.now()) }] },
      { file: 'test' },
    )
    const scheduler = new Scheduler(config, { clock, store, random: () => 0 })
    stops.push(() => scheduler.stop({ graceMs: 0 }))
    await scheduler.start()
    await clock.advanceTo(T0 + 4000)
    // Nothing measured yet: the first slot after the start is claimed the longest lead ahead (250 ms).
    // That claim's 10 ms then sets the lead outright: every later one is 22 ms ahead. Every job starts
    // on its instant, the first included.
    expect(claimedAt).toEqual([T0 + 750, T0 + 1978, T0 + 2978, T0 + 3978])
    expect(started).toEqual([T0 + 1000, T0 + 2000, T0 + 3000, T0 + 4000])
  })
})

describe('StartQueue', () => {
  it('reports how long building the runs claimed ahead took, for the claim lead to cover', async () => {
    const clock = new FakeClock(T0)
    const staged: RunRequest[][] = []
    // Building these runs takes 7 ms on the clock; starting them is not part of this test.
    const runner = {
      stage(requests: readonly RunRequest[]): StagedRuns {
        staged.push([...requests])
        clock.jump(7)
        return { requests, attempts: [] }
      },
      startStaged() {},
      executeAll() {},
    } as unknown as Runner
    const starts = new StartQueue(clock, new EngineEmitter(), () => runner, {
      maxSleepMs: 30_000,
      recorder: () => undefined,
      precise: false,
    })
    const config = validateConfig(
      { timezone: 'UTC', jobs: [{ name: 'a', schedule: '* * * * * *', run: () => {} }] },
      {
        file: 'test',
      },
    )
    const job = config.jobs[0] as (typeof config.jobs)[number]
    const stagingMs = starts.dispatch(
      [{ job: 'a', slot: T0 + 1000, trigger: 'schedule', overlap: 'allow' }],
      [job],
      [{ kind: 'started', runId: 1 }],
    )
    expect(staged.map((requests) => requests.map((r) => [r.job.name, r.slot]))).toEqual([[['a', T0 + 1000]]])
    expect(stagingMs).toBe(7)
    // Nothing claimed ahead: nothing built, nothing to cover.
    expect(starts.dispatch([], [], [])).toBe(0)
    await starts.stop(0, () => {})
  })
})
