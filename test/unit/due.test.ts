/**
 * collectDue: which claims one job's due slots make at one wake-up. Pure: a job, its first unserved
 * slot, the clock reading and the claim horizon in; claims (in slot order) and the next slot out.
 */
import { describe, expect, it } from 'vitest'
import type { ResolvedJob } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { collectDue } from '../../src/core/due.js'
import type { SlotClaim } from '../../src/store/types.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')

function everySecond(overlap: 'skip' | 'allow', extra: Record<string, unknown> = {}): ResolvedJob {
  const config = validateConfig(
    { timezone: 'UTC', jobs: [{ name: 'tick', schedule: '* * * * * *', overlap, run: () => {}, ...extra }] },
    { file: 'test' },
  )
  return config.jobs[0] as ResolvedJob
}

function collect(job: ResolvedJob, first: number, now: number, horizon: number) {
  const claims: SlotClaim[] = []
  const claimed: ResolvedJob[] = []
  const next = collectDue(job, first, now, horizon, claims, claimed)
  expect(claimed).toHaveLength(claims.length)
  return { next, claims: claims.map(({ slot, startAt, trigger }) => ({ slot, startAt, trigger })) }
}

describe('collectDue', () => {
  it("claims every slot within the horizon ahead for a job with overlap 'allow', each for its instant", () => {
    const { next, claims } = collect(everySecond('allow'), T0 + 1000, T0 + 500, T0 + 3500)
    expect(claims).toEqual([
      { slot: T0 + 1000, startAt: T0 + 1000, trigger: 'schedule' },
      { slot: T0 + 2000, startAt: T0 + 2000, trigger: 'schedule' },
      { slot: T0 + 3000, startAt: T0 + 3000, trigger: 'schedule' },
    ])
    expect(next).toBe(T0 + 4000)
  })

  it("claims one slot ahead for a job with overlap 'skip' and leaves the next for later", () => {
    const { next, claims } = collect(everySecond('skip'), T0 + 1000, T0 + 500, T0 + 3500)
    expect(claims).toEqual([{ slot: T0 + 1000, startAt: T0 + 1000, trigger: 'schedule' }])
    expect(next).toBe(T0 + 2000)
  })

  it('runs a slot due now first, then (overlap allow) the slots ahead; with skip, none ahead', () => {
    const allow = collect(everySecond('allow'), T0, T0 + 200, T0 + 2500)
    expect(allow.claims).toEqual([
      { slot: T0, startAt: T0 + 200, trigger: 'schedule' },
      { slot: T0 + 1000, startAt: T0 + 1000, trigger: 'schedule' },
      { slot: T0 + 2000, startAt: T0 + 2000, trigger: 'schedule' },
    ])
    expect(allow.next).toBe(T0 + 3000)
    const skip = collect(everySecond('skip'), T0, T0 + 200, T0 + 2500)
    expect(skip.claims).toEqual([{ slot: T0, startAt: T0 + 200, trigger: 'schedule' }])
    expect(skip.next).toBe(T0 + 1000)
  })

  it('claims nothing before the horizon reaches the first slot', () => {
    const { next, claims } = collect(everySecond('allow'), T0 + 1000, T0 + 100, T0 + 900)
    expect(claims).toEqual([])
    expect(next).toBe(T0 + 1000)
  })
})
