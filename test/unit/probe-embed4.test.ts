import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, flushCallbacks } from '../../src/core/clock.js'
import { createScheduler, isCronsError, type Scheduler } from '../../src/index.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
function track(s: Scheduler) {
  cleanups.push(() => s.stop({ graceMs: 0 }).catch(() => undefined))
  return s
}
const tmpState = () => path.join(fs.mkdtempSync(path.join(tmpdir(), 'p7-')), 'c.db')

describe('probe embed 4', () => {
  it('a stalled peer in the same process: reaped by TTL, runs:interrupted names its run; its late stop writes nothing over it', async () => {
    const file = tmpState()
    const clockA = new FakeClock(T0)
    const clockB = new FakeClock(T0)
    const jobs = [{ name: 'long', schedule: '* * * * *', run: () => new Promise(() => {}) }]
    const a = track(createScheduler({ state: file, timezone: 'UTC', jobs }, { clock: clockA }))
    await a.start()
    await clockA.advance(60_000)
    const [running] = await a.runs({ status: 'running' })
    expect(running).toBeDefined()
    const b = track(createScheduler({ state: file, timezone: 'UTC', jobs: [] }, { clock: clockB }))
    const heard: number[][] = []
    b.events.on('runs:interrupted', (e) => heard.push(e.runIds))
    await clockB.advanceTo(T0 + 60_000)
    await b.start()
    await clockB.advance(60_000)
    expect(heard).toEqual([[running!.id]])
    const rec = await b.run(running!.id)
    expect(rec?.status).toBe('interrupted')
    await a.stop({ graceMs: 0 })
    expect((await b.run(running!.id))?.status).toBe('interrupted')
  })

  it('two schedulers: runJob in one while the other runs the job: JOB_RUNNING naming the holder', async () => {
    const file = tmpState()
    const clock = new FakeClock(T0)
    const jobs = [{ name: 'long', schedule: '* * * * *', run: () => new Promise((r) => clock.setTimeout(r, 90_000)) }]
    const a = track(createScheduler({ state: file, timezone: 'UTC', jobs }, { clock }))
    const b = track(createScheduler({ state: file, timezone: 'UTC', jobs }, { clock }))
    await a.start()
    await b.start()
    await clock.advance(60_000)
    let code = ''
    try {
      await b.runJob('long')
    } catch (e) {
      code = isCronsError(e) ? `${e.code}` : String(e)
    }
    expect(code).toBe('JOB_RUNNING')
    await clock.advance(60_000)
    // minute 2 skipped (still running), once
    const runs = await a.runs()
    expect(runs.map((r) => [r.slot.slice(11, 16), r.status])).toEqual([
      ['00:01', 'running'],
      ['00:02', 'skipped'],
    ])
  })

  it('slot:missed payload after a restart: job, runId, missed {count, first, last}, catchUp', async () => {
    const file = tmpState()
    const clock = new FakeClock(T0)
    const jobs = [{ name: 'a', schedule: '* * * * *', run: () => 1 }]
    const a = createScheduler({ state: file, timezone: 'UTC', jobs }, { clock })
    await a.start()
    await clock.advance(60_000)
    await a.stop()
    await clock.advance(10 * 60_000)
    const b = track(createScheduler({ state: file, timezone: 'UTC', jobs }, { clock }))
    const heard: unknown[] = []
    b.events.on('slot:missed', (e) => heard.push(e))
    await b.start()
    await clock.advance(1)
    expect(heard).toEqual([
      {
        job: 'a',
        runId: expect.any(Number),
        missed: { count: 9, first: T0 + 2 * 60_000, last: T0 + 10 * 60_000 },
        catchUp: false,
      },
    ])
    const run = await b.run((heard[0] as { runId: number }).runId)
    expect(run?.status).toBe('missed')
  })
})
