/** Contract: reading history, counting, pruning. */
import { describe, expect, it } from 'vitest'
import type { AttemptRecord, SlotClaim } from '../../src/store/types.js'
import { type ContractContext, claim, DAY, MIN, pruned, T0 } from './contract-kit.js'

export function historyContract(ctx: ContractContext): void {
  const { started } = ctx

  describe('reading history', () => {
    /** 6 runs: a (schedule) succeeded/failed/succeeded, b manual failed, a skipped, c running. */
    async function seed(): Promise<number[]> {
      const ids: number[] = []
      const finish = async (id: number, status: 'succeeded' | 'failed', at: number) => {
        await ctx.store.finishRun(id, { status, finishedAt: at + 10, codeDone: true })
      }
      for (const [i, status] of (['succeeded', 'failed', 'succeeded'] as const).entries()) {
        const id = await started('a', T0 + i * MIN)
        await finish(id, status, T0 + i * MIN)
        ids.push(id)
      }
      const manual = await ctx.store.beginRun(
        { job: 'b', slot: T0 + 3 * MIN, trigger: 'manual', attempt: 1, overlap: 'skip' },
        'B',
        T0 + 3 * MIN,
      )
      const manualId = (manual as { runId: number }).runId
      await finish(manualId, 'failed', T0 + 3 * MIN)
      ids.push(manualId)
      const holder = await started('a', T0 + 4 * MIN)
      await ctx.store.claimSlots([claim('a', T0 + 5 * MIN)], 'A', T0 + 5 * MIN)
      await ctx.store.finishRun(holder, { status: 'succeeded', finishedAt: T0 + 6 * MIN, codeDone: true })
      ids.push(holder)
      ids.push(await started('c', T0 + 6 * MIN))
      return ids
    }

    it('lists newest first, filters, limits, and follows with afterId', async () => {
      await seed()
      const all = await ctx.store.listRuns({})
      expect(all).toHaveLength(7)
      expect(all.map((r) => r.id)).toEqual([...all.map((r) => r.id)].sort((x, y) => y - x))
      expect((await ctx.store.listRuns({ job: 'a' })).map((r) => r.status)).toEqual([
        'skipped',
        'succeeded',
        'succeeded',
        'failed',
        'succeeded',
      ])
      expect((await ctx.store.listRuns({ status: 'failed' })).map((r) => r.job)).toEqual(['b', 'a'])
      expect((await ctx.store.listRuns({ job: 'a', status: 'failed' })).map((r) => r.job)).toEqual(['a'])
      expect((await ctx.store.listRuns({ trigger: 'manual' })).map((r) => r.job)).toEqual(['b'])
      expect((await ctx.store.listRuns({ since: T0 + 4 * MIN })).map((r) => r.job)).toEqual(['c', 'a', 'a'])
      expect(await ctx.store.listRuns({ limit: 2 })).toEqual(all.slice(0, 2))
      const third = all[4]?.id as number
      expect((await ctx.store.listRuns({ afterId: third })).map((r) => r.id)).toEqual(
        all
          .slice(0, 4)
          .map((r) => r.id)
          .reverse(),
      )
      expect((await ctx.store.listRuns({ afterId: third, limit: 1 })).map((r) => r.id)).toEqual([all[3]?.id])
    })

    it('defaults to the newest 50', async () => {
      await ctx.store.claimSlots(
        Array.from({ length: 60 }, (_, i) => claim('a', T0 + i * MIN, { overlap: 'allow' })),
        'A',
        T0,
      )
      const runs = await ctx.store.listRuns({ job: 'a' })
      expect(runs).toHaveLength(50)
      expect(runs[0]?.slot).toBe(T0 + 59 * MIN)
    })

    it('lastRuns gives the latest non-running run per job', async () => {
      await seed()
      const last = await ctx.store.lastRuns()
      expect([...last.keys()].sort()).toEqual(['a', 'b'])
      expect(last.get('a')).toMatchObject({ status: 'skipped', slot: T0 + 5 * MIN })
      expect(last.get('b')).toMatchObject({ status: 'failed', trigger: 'manual' })
    })

    it('countByStatus counts attempts started since an instant', async () => {
      await seed()
      expect(await ctx.store.countByStatus(0)).toEqual({ succeeded: 3, failed: 2, skipped: 1, running: 1 })
      expect(await ctx.store.countByStatus(T0 + 4 * MIN)).toEqual({ succeeded: 1, skipped: 1, running: 1 })
    })

    it('activeRuns lists executing attempts of every instance', async () => {
      await started('a', T0, 'A')
      await started('b', T0, 'B')
      expect((await ctx.store.activeRuns()).map((r) => [r.job, r.instanceId])).toEqual([
        ['a', 'A'],
        ['b', 'B'],
      ])
    })
  })

  describe('prune', () => {
    it('deletes runs older than keepDays but never active ones', async () => {
      const now = T0 + 40 * DAY
      const old = await started('a', T0, 'A', T0)
      await ctx.store.finishRun(old, { status: 'succeeded', finishedAt: T0 + 1, codeDone: true })
      const oldActive = await started('b', T0, 'A', T0)
      const recent = await started('a', now - DAY, 'A', now - DAY)
      expect(await pruned(ctx.store, now, { keepDays: 30, keepRuns: 100 })).toBe(1)
      expect(await ctx.store.getRun(old)).toBeUndefined()
      expect(await ctx.store.getRun(oldActive)).toBeDefined()
      expect(await ctx.store.getRun(recent)).toBeDefined()
      // The old slot's claim went with it; a recent one stays claimed.
      expect((await ctx.store.claimSlots([claim('a', T0, { overlap: 'allow' })], 'A', now))[0]?.kind).toBe('started')
      expect(await ctx.store.claimSlots([claim('a', now - DAY)], 'A', now)).toEqual([{ kind: 'taken' }])
    })

    it('keeps only the newest keepRuns per job', async () => {
      for (let i = 0; i < 5; i++) {
        const a = await started('a', T0 + i * MIN)
        await ctx.store.finishRun(a, { status: 'succeeded', finishedAt: T0 + i * MIN + 1, codeDone: true })
      }
      const b = await started('b', T0)
      await ctx.store.finishRun(b, { status: 'succeeded', finishedAt: T0 + 1, codeDone: true })
      expect(await pruned(ctx.store, T0 + DAY, { keepDays: 30, keepRuns: 2 })).toBe(3)
      expect((await ctx.store.listRuns({ job: 'a' })).map((r) => r.slot)).toEqual([T0 + 4 * MIN, T0 + 3 * MIN])
      expect(await ctx.store.listRuns({ job: 'b' })).toHaveLength(1)
      expect(await pruned(ctx.store, T0 + DAY, { keepDays: 30, keepRuns: 2 })).toBe(0)
    })

    /**
     * `counts[job]` runs of each job, run k at slot T0 + k minutes and started then, claimed a
     * hundred slots at a time; those named in `running` (job → k) stay active. Returns each job's run
     * ids by k.
     */
    async function runs(counts: Record<string, number>, running: Record<string, number[]> = {}) {
      const ids = new Map<string, number[]>(Object.keys(counts).map((job) => [job, []]))
      const most = Math.max(...Object.values(counts))
      for (let first = 0; first < most; first += 100) {
        const claims: SlotClaim[] = []
        for (let k = first; k < Math.min(most, first + 100); k++) {
          for (const [job, count] of Object.entries(counts)) {
            if (k < count) claims.push(claim(job, T0 + k * MIN, { overlap: 'allow', startAt: T0 + k * MIN }))
          }
        }
        const outcomes = await ctx.store.claimSlots(claims, 'A', T0 + first * MIN)
        const finishing: Promise<unknown>[] = []
        outcomes.forEach((outcome, i) => {
          const { job, slot } = claims[i] as { job: string; slot: number }
          if (outcome.kind !== 'started') throw new Error(`expected started, got ${outcome.kind}`)
          const k = (slot - T0) / MIN
          ids.get(job)?.push(outcome.runId)
          if (running[job]?.includes(k)) return
          finishing.push(
            ctx.store.finishRun(outcome.runId, { status: 'succeeded', finishedAt: slot + 1, codeDone: true }),
          )
        })
        await Promise.all(finishing)
      }
      return ids
    }

    const newestFirst = (ids: number[]) => [...ids].sort((x, y) => y - x)
    const idsOf = (records: AttemptRecord[]) => records.map((r) => r.id)

    it('keeps exactly the newest keepRuns of each job, and every active run', async () => {
      const ids = await runs({ a: 150, b: 100, c: 101 }, { a: [3] })
      const a = ids.get('a') as number[]
      const b = ids.get('b') as number[]
      const c = ids.get('c') as number[]
      const history = { keepDays: 3650, keepRuns: 100 }
      expect(await pruned(ctx.store, T0 + DAY, history)).toBe(49 + 1)
      const keptA = [...newestFirst(a.slice(50)), a[3] as number]
      expect(idsOf(await ctx.store.listRuns({ job: 'a', limit: 500 }))).toEqual(keptA)
      expect(idsOf(await ctx.store.listRuns({ job: 'b', limit: 500 }))).toEqual(newestFirst(b))
      expect(idsOf(await ctx.store.listRuns({ job: 'c', limit: 500 }))).toEqual(newestFirst(c.slice(1)))
      expect(idsOf(await ctx.store.listRuns({ job: 'a', status: 'running' }))).toEqual([a[3]])
      expect(idsOf(await ctx.store.listRuns({ limit: 1_000 }))).toEqual(newestFirst([...keptA, ...b, ...c.slice(1)]))
      expect(idsOf(await ctx.store.activeRuns())).toEqual([a[3]])
      const last = await ctx.store.lastRuns()
      expect([...last].map(([job, run]) => [job, run.id]).sort()).toEqual([
        ['a', a[149]],
        ['b', b[99]],
        ['c', c[100]],
      ])
      expect(await ctx.store.countByStatus(0)).toEqual({ succeeded: 300, running: 1 })
      // Nothing more is due; once the spared run settles it goes like any other.
      expect(await pruned(ctx.store, T0 + DAY, history)).toBe(0)
      await ctx.store.finishRun(a[3] as number, { status: 'failed', finishedAt: T0 + DAY, codeDone: true })
      expect(await pruned(ctx.store, T0 + DAY, history)).toBe(1)
      expect(idsOf(await ctx.store.listRuns({ job: 'a', limit: 500 }))).toEqual(keptA.slice(0, -1))
    })

    it('deletes exactly the runs and slot claims older than keepDays, never an active run', async () => {
      const ids = (await runs({ a: 10 }, { a: [2] })).get('a') as number[]
      // The cutoff is run 5's start: runs 0 to 4 go, but for the active run 2.
      const now = T0 + DAY + 5 * MIN
      expect(await pruned(ctx.store, now, { keepDays: 1, keepRuns: 100 })).toBe(4)
      expect(idsOf(await ctx.store.listRuns({ job: 'a' }))).toEqual([...newestFirst(ids.slice(5)), ids[2]])
      expect((await ctx.store.lastRuns()).get('a')?.id).toBe(ids[9])
      // Claims go at the same cutoff: slot 4 can be served again, slot 5 is still taken.
      const again = await ctx.store.claimSlots(
        [claim('a', T0 + 4 * MIN, { overlap: 'allow' }), claim('a', T0 + 5 * MIN, { overlap: 'allow' })],
        'A',
        now,
      )
      expect(again.map((o) => o.kind)).toEqual(['started', 'taken'])
    })

    it('keeps a failed attempt whose retry is pending, however old and far beyond keepRuns, until it is begun', async () => {
      const now = T0 + 40 * DAY
      const history = { keepDays: 30, keepRuns: 2 }
      const run = async (job: string, at: number, status: 'succeeded' | 'failed', owner = 'A') => {
        const id = await started(job, at, owner, at)
        const retryAt = status === 'failed' ? now + MIN : undefined
        await ctx.store.finishRun(id, { status, finishedAt: at + 1, retryAt, codeDone: true })
        return id
      }
      // Old enough for keepDays, and a's beyond keepRuns too; b's (owned by B) below a deleted run.
      const failed = await run('a', T0, 'failed')
      const failedB = await run('b', T0, 'failed', 'B')
      await run('a', T0 + MIN, 'succeeded')
      await run('b', T0 + MIN, 'succeeded')
      const recent = [
        await run('a', now - DAY, 'succeeded'),
        await run('a', now - DAY + MIN, 'succeeded'),
        await run('a', now - DAY + 2 * MIN, 'succeeded'),
      ]
      const recentB = await run('b', now - DAY, 'succeeded')
      for (const instance of ['A', 'B']) await ctx.store.heartbeat(instance, now)
      // The old runs go by keepDays, a's first recent one by keepRuns; the failed attempts stay, listed.
      expect(await pruned(ctx.store, now, history)).toBe(3)
      expect(idsOf(await ctx.store.listRuns({ job: 'a' }))).toEqual([recent[2], recent[1], failed])
      expect(idsOf(await ctx.store.listRuns({ job: 'b' }))).toEqual([recentB, failedB])
      // a's owner stops: its retry is still there to adopt, and begins once.
      await ctx.store.stopInstance('A', now)
      expect(await ctx.store.orphanedRetries()).toEqual([
        { runId: failed, job: 'a', slot: T0, trigger: 'schedule', attempt: 1, retryAt: now + MIN },
      ])
      const retry = { job: 'a', slot: T0, trigger: 'schedule' as const, attempt: 2, overlap: 'skip' as const }
      const begun = await ctx.store.beginRun({ ...retry, retryOf: failed }, 'B', now + MIN)
      expect(begun.kind).toBe('started')
      expect(await ctx.store.orphanedRetries()).toEqual([])
      // Begun, it is history like any other: the next prune deletes it (and the run now beyond keepRuns).
      expect(await pruned(ctx.store, now + MIN, history)).toBe(2)
      expect(await ctx.store.getRun(failed)).toBeUndefined()
      expect(idsOf(await ctx.store.listRuns({ job: 'a' }))).toEqual([(begun as { runId: number }).runId, recent[2]])
      expect(idsOf(await ctx.store.listRuns({ job: 'b' }))).toEqual([recentB, failedB])
    })

    it('prunes in bounded steps that resume where they stopped, reads between them seeing every kept run', async () => {
      const ids = await runs({ a: 1_200, b: 1_200, c: 1_200 }, { b: [7] })
      const history = { keepDays: 3650, keepRuns: 50 }
      const now = T0 + 2 * DAY
      const newest = (job: string) => newestFirst((ids.get(job) as number[]).slice(-50))
      let deleted = 0
      let steps = 0
      let late: number | undefined
      for (;;) {
        // No time left: one batch per step, so this prune takes several.
        const step = await ctx.store.prune(now, history, { maxMs: 0 })
        steps++
        deleted += step.deleted
        // Between steps every job still lists its newest 50 runs (c's newest being the late one).
        for (const job of ['a', 'b', 'c']) {
          const expected = job === 'c' && late !== undefined ? [late, ...newest(job).slice(0, 49)] : newest(job)
          expect(idsOf(await ctx.store.listRuns({ job, limit: 60 })).slice(0, 50)).toEqual(expected)
        }
        // A run that starts during the pass is kept.
        if (steps === 2) late = await started('c', T0 + 1_300 * MIN, 'A', now)
        if (step.done) break
      }
      expect(steps).toBeGreaterThan(2)
      const spared = (ids.get('b') as number[])[7] as number
      expect(idsOf(await ctx.store.listRuns({ job: 'a', limit: 100 }))).toEqual(newest('a'))
      expect(idsOf(await ctx.store.listRuns({ job: 'b', limit: 100 }))).toEqual([...newest('b'), spared])
      // Whether c's boundary was found before or after the late run came is the store's business;
      // the next pass (once it settles) leaves c with its newest 50 either way.
      await ctx.store.finishRun(late as number, { status: 'succeeded', finishedAt: now + 1, codeDone: true })
      deleted += await pruned(ctx.store, now + 1, history)
      expect(deleted).toBe(3 * (1_200 - 50) - 1 + 1)
      expect(idsOf(await ctx.store.listRuns({ job: 'c', limit: 100 }))).toEqual([late, ...newest('c').slice(0, 49)])
      expect(idsOf(await ctx.store.activeRuns())).toEqual([spared])
    })

    it('starts a new pass when called with other arguments, and one after a pass is done', async () => {
      await runs({ a: 1_500 })
      const first = await ctx.store.prune(T0 + DAY, { keepDays: 3650, keepRuns: 100 }, { maxMs: 0 })
      expect(first.done).toBe(false)
      // Another keepRuns half way: that pass is given up and this one prunes to its own boundary.
      expect(first.deleted + (await pruned(ctx.store, T0 + DAY, { keepDays: 3650, keepRuns: 10 }))).toBe(1_490)
      expect(await ctx.store.listRuns({ job: 'a', limit: 100 })).toHaveLength(10)
      const again = await ctx.store.prune(T0 + DAY, { keepDays: 3650, keepRuns: 10 }, { maxMs: 1_000 })
      expect(again).toEqual({ deleted: 0, done: true })
    })
  })
}
