/**
 * The store contract: one suite every backend runs (SQLite now, Postgres later), so the engine can
 * rely on the same exactly-once, overlap and history semantics whatever the backend.
 *
 * `open` must return a fresh, empty store on every call; `openSecond` another connection (a second
 * pool, a second handle on the file) to the state the last `open` made, as a second process would
 * have: the concurrency tests race the two.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../src/store/types.js'
import { claimContract } from './contract-claims.js'
import { concurrencyContract } from './contract-concurrency.js'
import { historyContract } from './contract-history.js'
import { contractContext, MIN, T0 } from './contract-kit.js'

export interface StoreFactory {
  open(): Promise<Store>
  openSecond(): Promise<Store>
}

export function storeContract(name: string, { open, openSecond }: StoreFactory): void {
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
          configHash: null,
          clockOffsetMs: null,
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
          configHash: null,
          clockOffsetMs: null,
        })
      })

      it('records the facts an instance reports, changing only the keys given', async () => {
        const instance = async (id: string) => (await store.listInstances()).find((i) => i.id === id)
        await store.registerInstance({ id: 'C', role: 'scheduler', host: 'h', pid: 3, configHash: 'abc', now: T0 })
        expect(await instance('C')).toMatchObject({ configHash: 'abc', clockOffsetMs: null })
        await store.updateInstance('C', { clockOffsetMs: -1_250 })
        expect(await instance('C')).toMatchObject({ configHash: 'abc', clockOffsetMs: -1_250 })
        await store.updateInstance('C', { configHash: 'def' })
        expect(await instance('C')).toMatchObject({ configHash: 'def', clockOffsetMs: -1_250 })
        await store.updateInstance('C', {})
        expect(await instance('C')).toMatchObject({ configHash: 'def', clockOffsetMs: -1_250 })
        // An offset beyond 32 bits (a host clock a month off) is kept as it was measured.
        await store.updateInstance('C', { configHash: null, clockOffsetMs: 31 * 86_400_000 })
        expect(await instance('C')).toMatchObject({ configHash: null, clockOffsetMs: 31 * 86_400_000 })
        await store.updateInstance('C', { configHash: 'ghi', clockOffsetMs: null })
        expect(await instance('C')).toMatchObject({ configHash: 'ghi', clockOffsetMs: null })
        // Other instances are untouched; an unknown one is no error and creates nothing.
        expect(await instance('A')).toMatchObject({ configHash: null, clockOffsetMs: null })
        await store.updateInstance('nobody', { configHash: 'x' })
        expect(await instance('nobody')).toBeUndefined()
        // Registering again starts from the registration's facts.
        await store.updateInstance('C', { clockOffsetMs: 40 })
        await store.registerInstance({ id: 'C', role: 'scheduler', host: 'h', pid: 3, now: T0 + 1_000 })
        expect(await instance('C')).toMatchObject({ configHash: null, clockOffsetMs: null })
      })

      it('leaves the facts of a reaped instance alone', async () => {
        await store.updateInstance('B', { configHash: 'before' })
        await store.reapDeadInstances(T0 + 60_000, 30_000, ['B'])
        await store.updateInstance('B', { configHash: 'after', clockOffsetMs: 7 })
        expect((await store.listInstances()).find((i) => i.id === 'B')).toMatchObject({
          configHash: 'before',
          clockOffsetMs: null,
          reapedAt: T0 + 60_000,
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
          { name: 'a', lastSlot: null, paused: false, pausedAt: null, createdAt: T0, seenAt: T0 },
          { name: 'b', lastSlot: null, paused: false, pausedAt: null, createdAt: T0, seenAt: T0 },
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
        expect(await store.setPaused('a', true, T0)).toBe(true)
        expect((await store.listJobs())[0]?.paused).toBe(true)
        expect(await store.setPaused('a', false, T0)).toBe(true)
        expect((await store.listJobs())[0]?.paused).toBe(false)
        expect(await store.setPaused('nope', true, T0)).toBe(false)
      })

      it('setPaused records since when a job is paused: kept while paused, cleared on resume', async () => {
        await store.syncJobs(['a', 'b'], T0)
        const state = async (name: string) => (await store.listJobs()).find((j) => j.name === name)
        expect(await state('a')).toMatchObject({ paused: false, pausedAt: null })
        await store.setPaused('a', true, T0 + MIN)
        expect(await state('a')).toMatchObject({ paused: true, pausedAt: T0 + MIN })
        // Pausing a paused job keeps when its pause began.
        await store.setPaused('a', true, T0 + 5 * MIN)
        expect(await state('a')).toMatchObject({ paused: true, pausedAt: T0 + MIN })
        expect(await state('b')).toMatchObject({ paused: false, pausedAt: null })
        await store.setPaused('a', false, T0 + 6 * MIN)
        expect(await state('a')).toMatchObject({ paused: false, pausedAt: null })
        // A new pause is a new instant; resuming a job that is not paused leaves it unpaused.
        await store.setPaused('a', true, T0 + 7 * MIN)
        expect(await state('a')).toMatchObject({ paused: true, pausedAt: T0 + 7 * MIN })
        await store.setPaused('b', false, T0 + 8 * MIN)
        expect(await state('b')).toMatchObject({ paused: false, pausedAt: null })
        // syncJobs returns the same states as listJobs.
        expect(await store.syncJobs(['a'], T0 + 9 * MIN)).toEqual(await store.listJobs())
      })
    })

    claimContract(ctx)
    historyContract(ctx)
    concurrencyContract(ctx, openSecond)

    it('describes itself', async () => {
      const info = await store.info()
      expect(info.location).toBe(store.location)
      expect(info.schemaVersion).toBeGreaterThanOrEqual(1)
    })
  })
}
