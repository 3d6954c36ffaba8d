import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock } from '../../src/core/clock.js'
import { createScheduler, type Scheduler } from '../../src/index.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
function track(s: Scheduler) {
  cleanups.push(() => s.stop({ graceMs: 0 }).catch(() => undefined))
  return s
}

describe('probe embed 8: run(id) detail', () => {
  it('skipped: reason; missed: ISO slots; result is the return value', async () => {
    const file = path.join(fs.mkdtempSync(path.join(tmpdir(), 'p7-')), 'c.db')
    const clock = new FakeClock(T0)
    const jobs = [
      { name: 'slow', schedule: '* * * * *', run: () => new Promise((r) => clock.setTimeout(() => r({ ok: 1 }), 90_000)) },
    ]
    const s = track(createScheduler({ state: file, timezone: 'UTC', jobs }, { clock }))
    await s.start()
    await clock.advance(120_000)
    const rows = await s.runs()
    const skipped = rows.find((r) => r.status === 'skipped')!
    const d = await s.run(skipped.id)
    expect(d?.detail).toBeTruthy()
    await clock.advance(60_000)
    const first = await s.run(rows[0]!.id)
    expect(first?.result).toEqual({ ok: 1 })
    await s.stop({ graceMs: 0 })
    await clock.advance(10 * 60_000)
    const s2 = track(createScheduler({ state: file, timezone: 'UTC', jobs: [{ name: 'slow', schedule: '* * * * *', run: () => 1 }] }, { clock }))
    await s2.start()
    await clock.advance(1)
    const missed = (await s2.runs({ status: 'missed' }))[0]!
    const md = await s2.run(missed.id)
    expect(md?.detail).toMatchObject({ count: expect.any(Number), first: expect.stringMatching(/Z$/), last: expect.stringMatching(/Z$/) })
  })
})
