/** Contract: reading history, counting, pruning. */
import { describe, expect, it } from 'vitest'
import { type ContractContext, claim, DAY, MIN, pruned, T0 } from './contract-kit.js'

export function historyContract(ctx: ContractContext): void {
  const { started } = ctx

  describe('reading history', () => {
    /** 6 runs: a (schedule) succeeded/failed/succeeded, b manual failed, a skipped, c running. */
    async function seed(): Promise<number[]> {
      const ids: number[] = []
      const finish = async (id: number, status: 'succeeded' | 'failed', at: number) => {
        await ctx.store.finishRun(id, { status, finishedAt: at + 10, settled: true })
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
      await ctx.store.finishRun(holder, { status: 'succeeded', finishedAt: T0 + 6 * MIN, settled: true })
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
      await ctx.store.finishRun(old, { status: 'succeeded', finishedAt: T0 + 1, settled: true })
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
        await ctx.store.finishRun(a, { status: 'succeeded', finishedAt: T0 + i * MIN + 1, settled: true })
      }
      const b = await started('b', T0)
      await ctx.store.finishRun(b, { status: 'succeeded', finishedAt: T0 + 1, settled: true })
      expect(await pruned(ctx.store, T0 + DAY, { keepDays: 30, keepRuns: 2 })).toBe(3)
      expect((await ctx.store.listRuns({ job: 'a' })).map((r) => r.slot)).toEqual([T0 + 4 * MIN, T0 + 3 * MIN])
      expect(await ctx.store.listRuns({ job: 'b' })).toHaveLength(1)
      expect(await pruned(ctx.store, T0 + DAY, { keepDays: 30, keepRuns: 2 })).toBe(0)
    })
  })
}
