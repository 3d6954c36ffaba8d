/**
 * The store contract: one suite every backend runs (SQLite now, Postgres later), so the engine can
 * rely on the same exactly-once, overlap and history semantics whatever the backend.
 *
 * `open` must return a fresh, empty store on every call.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../src/store/types.js'
import { claimContract } from './contract-claims.js'
import { historyContract } from './contract-history.js'
import { contractContext, MIN, T0 } from './contract-kit.js'

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store
    const ctx = contractContext(() => store)

    beforeEach(async () => {
      store = await open()
      await store.registerInstance({ id: 'A', role: 'scheduler', host: 'host-a', pid: 101, now: T0 })
      await store.registerInstance({ id: 'B', role: 'scheduler', host: 'host-b', pid: 202, now: T0 })
    })
    afterEach(async () => {
      await store.close()
    })

    describe('instances', () => {
      it('registers, heartbeats, stops and re-registers', async () => {
        await store.heartbeat('A', T0 + 5_000)
        await store.stopInstance('B', T0 + 6_000)
        const [a, b] = await store.listInstances()
        expect(a).toEqual({
          id: 'A',
          role: 'scheduler',
          host: 'host-a',
          pid: 101,
          startedAt: T0,
          heartbeatAt: T0 + 5_000,
          stoppedAt: null,
          processStart: null,
          reapedAt: null,
        })
        expect(b).toMatchObject({ id: 'B', stoppedAt: T0 + 6_000 })
        // Re-registered as a runner (a run-job process reusing the id), then as a scheduler again.
        await store.registerInstance({ id: 'B', role: 'runner', host: 'host-b2', pid: 303, now: T0 + 7_000 })
        expect((await store.listInstances()).find((i) => i.id === 'B')).toMatchObject({ role: 'runner', pid: 303 })
        await store.registerInstance({ id: 'B', role: 'scheduler', host: 'host-b2', pid: 303, now: T0 + 7_000 })
        const again = (await store.listInstances()).find((i) => i.id === 'B')
        expect(again).toEqual({
          id: 'B',
          role: 'scheduler',
          host: 'host-b2',
          pid: 303,
          startedAt: T0 + 7_000,
          heartbeatAt: T0 + 7_000,
          stoppedAt: null,
          processStart: null,
          reapedAt: null,
        })
      })
    })

    describe('jobs', () => {
      it('syncJobs serving sets the last served slot of the named jobs that have none, and only those', async () => {
        await store.syncJobs(['fresh', 'served'], T0)
        const [claimed] = await store.claimSlots(
          [{ job: 'served', slot: T0 + MIN, trigger: 'schedule', overlap: 'skip' }],
          'A',
          T0 + MIN,
        )
        expect(claimed?.kind).toBe('started')
        await store.syncJobs(['other'], T0 + 2 * MIN)
        const states = await store.syncJobs(['fresh', 'served', 'new'], T0 + 5 * MIN, { serving: true })
        expect(new Map(states.map((j) => [j.name, j.lastSlot]))).toEqual(
          new Map([
            ['fresh', T0 + 5 * MIN],
            ['new', T0 + 5 * MIN],
            ['other', null],
            ['served', T0 + MIN],
          ]),
        )
      })

      it('syncJobs creates rows once and refreshes seenAt', async () => {
        const first = await store.syncJobs(['b', 'a'], T0)
        expect(first).toEqual([
          { name: 'a', lastSlot: null, paused: false, createdAt: T0, seenAt: T0 },
          { name: 'b', lastSlot: null, paused: false, createdAt: T0, seenAt: T0 },
        ])
        const second = await store.syncJobs(['a'], T0 + MIN)
        expect(second.map((j) => [j.name, j.createdAt, j.seenAt])).toEqual([
          ['a', T0, T0 + MIN],
          ['b', T0, T0],
        ])
        expect(await store.listJobs()).toEqual(second)
      })

      it('setPaused toggles known jobs and reports unknown ones', async () => {
        await store.syncJobs(['a'], T0)
        expect(await store.setPaused('a', true)).toBe(true)
        expect((await store.listJobs())[0]?.paused).toBe(true)
        expect(await store.setPaused('a', false)).toBe(true)
        expect((await store.listJobs())[0]?.paused).toBe(false)
        expect(await store.setPaused('nope', true)).toBe(false)
      })
    })

    claimContract(ctx)
    historyContract(ctx)

    it('describes itself', async () => {
      const info = await store.info()
      expect(info.path).toBe(store.path)
      expect(info.schemaVersion).toBeGreaterThanOrEqual(1)
    })
  })
}
