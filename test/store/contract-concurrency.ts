/**
 * Contract: two connections to one state, racing as two scheduler processes would. Exactly once,
 * overlap skip across connections, and a follow cursor (`afterId`) that misses no run committed
 * late by the other connection.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Store } from '../../src/store/types.js'
import { type ContractContext, claim, T0 } from './contract-kit.js'

export function concurrencyContract(ctx: ContractContext, openSecond: () => Promise<Store>): void {
  describe('two connections', () => {
    let second: Store | undefined
    afterEach(async () => {
      await second?.close()
      second = undefined
    })

    it('splits overlapping batches of slots: every slot is served once', async () => {
      second = await openSecond()
      // Slots 0–14 from one, 5–19 from the other (listed the other way round): 60 (job, slot) keys.
      const batch = (from: number, to: number) =>
        Array.from({ length: to - from + 1 }, (_, i) => T0 + (from + i) * 1000).flatMap((slot) =>
          ['a', 'b', 'c'].map((job) => claim(job, slot, { overlap: 'allow' })),
        )
      const [fromA, fromB] = await Promise.all([
        ctx.store.claimSlots(batch(0, 14), 'A', T0),
        (second as Store).claimSlots(batch(5, 19).reverse(), 'B', T0),
      ])
      const started = [...fromA, ...fromB].filter((o) => o.kind === 'started')
      expect(started).toHaveLength(60)
      expect([...fromA, ...fromB].filter((o) => o.kind === 'taken')).toHaveLength(30)
      const runs = await ctx.store.listRuns({ limit: 1000 })
      expect(new Set(runs.map((r) => `${r.job} ${r.slot}`)).size).toBe(60)
      expect(runs).toHaveLength(60)
    })

    it('holds overlap skip across connections: of two slots of one job claimed at once, one runs', async () => {
      second = await openSecond()
      for (let round = 0; round < 5; round++) {
        const job = `job-${round}`
        const [a, b] = await Promise.all([
          ctx.store.claimSlots([claim(job, T0 + round * 10_000)], 'A', T0),
          (second as Store).claimSlots([claim(job, T0 + round * 10_000 + 1000)], 'B', T0),
        ])
        const kinds = [a?.[0]?.kind, b?.[0]?.kind].sort()
        expect(kinds).toEqual(['skipped', 'started'])
        expect(await ctx.store.activeRuns()).toHaveLength(round + 1)
      }
    })

    it('a pending retry begun and cancelled at once: exactly one of them wins', async () => {
      second = await openSecond()
      for (let round = 0; round < 5; round++) {
        const job = `flaky-${round}`
        const [outcome] = await ctx.store.claimSlots([claim(job, T0)], 'A', T0)
        const failed = (outcome as { runId: number }).runId
        await ctx.store.finishRun(failed, { status: 'failed', finishedAt: T0 + 1, codeDone: true, retryAt: T0 + 10 })
        const retry = { job, slot: T0, trigger: 'schedule' as const, attempt: 2, overlap: 'allow' as const }
        const [begun, cancelled] = await Promise.all([
          ctx.store.beginRun({ ...retry, retryOf: failed }, 'A', T0 + 10),
          (second as Store).cancelRetry(failed, 'cancelled by request', T0 + 10),
        ])
        expect([begun.kind === 'started', cancelled !== undefined].filter(Boolean)).toHaveLength(1)
        const runs = await ctx.store.listRuns({ job })
        expect(runs.map((r) => r.attempt).sort()).toEqual([1, 2])
      }
    })

    it('gives commit-ordered ids: a cursor following one connection misses nothing the other commits', async () => {
      second = await openSecond()
      const writers = [ctx.store, second]
      const seen: number[] = []
      let cursor = 0
      let writing = true
      const follow = async () => {
        for (;;) {
          const done = !writing
          for (const run of await ctx.store.listRuns({ afterId: cursor, limit: 1000 })) {
            seen.push(run.id)
            cursor = run.id
          }
          if (done) return
        }
      }
      const following = follow()
      await Promise.all(
        writers.map(async (store, w) => {
          for (let i = 0; i < 40; i++) {
            const job = `w${w}-${i % 4}`
            if (i % 3 === 0)
              await store.beginRun({ job, slot: T0, trigger: 'manual', attempt: 1, overlap: 'allow' }, 'A', T0)
            else await store.claimSlots([claim(job, T0 + i, { overlap: 'allow' }), claim(`${job}x`, T0 + i)], 'A', T0)
          }
        }),
      )
      writing = false
      await following
      const all = (await ctx.store.listRuns({ limit: 10_000 })).map((r) => r.id).sort((x, y) => x - y)
      // Per writer: 14 manual runs and 26 batches of two claims.
      expect(all).toHaveLength(2 * (14 + 26 * 2))
      expect(seen).toEqual(all)
    })
  })
}
