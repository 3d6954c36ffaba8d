/**
 * The view layer, from the public library: what an HTTP server or an app gets is what `--json`
 * prints, and pausing follows the same rules as `crons pause-job`, with the store handed in.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/validate.js'
import { livePeers } from '../../src/core/inspect.js'
import {
  attemptView,
  type CronsError,
  changePaused,
  configView,
  jobSummaries,
  jobView,
  type StateAccess,
  statusReport,
  statusView,
  withTag,
} from '../../src/index.js'
import { openStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'
import { storeWith } from '../store/helpers.js'

const NOW = Date.parse('2026-01-15T10:00:00Z')
const noop = () => undefined
const config = validateConfig(
  {
    timezone: 'UTC',
    state: ':memory:',
    jobs: [
      { name: 'backup', description: 'Nightly backup', schedule: '0 3 * * *', tags: ['db'], run: noop },
      { name: 'poll', every: '5m', run: noop },
    ],
  },
  { file: 'test' },
)

const stores: Store[] = []
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close()
})

/** One in-memory store behind both doors, counting the opens for writing. */
async function access(): Promise<StateAccess & { store: Store; writes: number }> {
  const store = await openStore(':memory:')
  stores.push(store)
  // Shared, as a running scheduler's store would be: released, never closed.
  const state = {
    store,
    writes: 0,
    read: async () => store,
    write: async () => {
      state.writes++
      return store
    },
    release: async () => undefined,
  }
  return state
}

describe('views from the library', () => {
  it('a job, its last run, the status and the config in the --json vocabulary', async () => {
    const { store } = await access()
    const [claimed] = await store.claimSlots(
      [{ job: 'backup', slot: NOW - 60_000, trigger: 'schedule', overlap: 'skip' }],
      'i',
      NOW - 60_000,
    )
    if (claimed?.kind === 'started') {
      await store.finishRun(claimed.runId, { status: 'succeeded', finishedAt: NOW - 59_500, codeDone: true })
    }
    const jobs = (await jobSummaries(config, store, NOW)).map(jobView)
    expect(jobs[0]).toEqual({
      name: 'backup',
      description: 'Nightly backup',
      schedule: '0 3 * * *',
      scheduleInWords: 'at 03:00 every day',
      zone: 'UTC',
      nextRun: '2026-01-16T03:00:00.000Z',
      lastRun: expect.objectContaining({ id: 1, status: 'succeeded', durationMs: 500, durationUntil: 'finish' }),
      tags: ['db'],
      paused: false,
      pausedAt: null,
      disabled: false,
      removed: false,
      configDiffers: false,
      command: null,
    })
    expect(withTag(await jobSummaries(config, store, NOW), 'db').map((j) => j.name)).toEqual(['backup'])
    const run = await store.getRun(1)
    expect(run && attemptView(run)).toEqual(jobs[0]?.lastRun)
    expect(statusView(await statusReport(config, store, NOW))).toMatchObject({ healthy: false, running: [] })
    expect(configView(config, NOW).jobs[0]).toMatchObject({
      description: 'Nightly backup',
      nextRun: '2026-01-16T03:00:00.000Z',
    })
  })

  it('statusView prints the documented fields only, whatever else a report built by hand carries', async () => {
    const { store } = await access()
    await store.registerInstance({ id: 'a', role: 'scheduler', host: 'h', pid: 1, now: NOW })
    const report = await statusReport(config, store, NOW)
    const [instance] = report.instances
    if (instance === undefined || report.nextDue === null) throw new Error('expected an instance and a next run')
    const handBuilt = {
      ...report,
      instances: [{ ...instance, secret: 'x' }],
      nextDue: { ...report.nextDue, secret: 'x' },
    }
    const view = statusView(handBuilt)
    expect(view).toEqual(statusView(report))
    expect(Object.keys(view.instances[0] ?? {})).toEqual([
      'id',
      'host',
      'pid',
      'startedAt',
      'heartbeatAt',
      'heartbeatAgeMs',
      'stoppedAt',
      'alive',
      'configHash',
      'configDiffers',
      'clockOffsetMs',
    ])
  })

  it('the other live schedulers of a state are its peers', async () => {
    const { store } = await access()
    await store.registerInstance({ id: 'a', role: 'scheduler', host: 'h', pid: 1, now: NOW })
    await store.registerInstance({ id: 'b', role: 'scheduler', host: 'h', pid: 2, now: NOW - 120_000 })
    await store.registerInstance({ id: 'r', role: 'runner', host: 'h', pid: 3, now: NOW })
    await store.registerInstance({ id: 'me', role: 'scheduler', host: 'h', pid: 4, now: NOW })
    expect((await livePeers(store, 'me', NOW)).map((i) => i.id)).toEqual(['a'])
  })
})

describe('changePaused (the rules of pause-job, with the store handed in)', () => {
  it('pauses a configured job, and is idempotent', async () => {
    const state = await access()
    const pausedAt = new Date(NOW).toISOString()
    expect(await changePaused(config, state, 'backup', true, () => NOW)).toEqual({
      job: 'backup',
      paused: true,
      changed: true,
      pausedAt,
    })
    expect(await changePaused(config, state, 'backup', true, () => NOW + 1000)).toEqual({
      job: 'backup',
      paused: true,
      changed: false,
      pausedAt,
    })
    expect(await changePaused(config, state, 'backup', false, () => NOW)).toEqual({
      job: 'backup',
      paused: false,
      changed: true,
      pausedAt: null,
    })
  })

  it('a job only the state knows may be paused; a typo is refused before anything is written', async () => {
    const state = await access()
    await state.store.syncJobs(['legacy'], NOW)
    expect(await changePaused(config, state, 'legacy', true, () => NOW)).toMatchObject({ paused: true, changed: true })
    const writes = state.writes
    const error = (await changePaused(config, state, 'legasy', true, () => NOW).catch((e: unknown) => e)) as CronsError
    expect(error.code).toBe('JOB_UNKNOWN')
    expect(error.message).toBe('no job named "legasy" (known jobs: backup, poll)')
    expect(error.suggestions).toEqual(['did you mean "legacy"?'])
    expect(state.writes).toBe(writes)
  })

  it("records since when a job is paused on the store's clock (a database server's), not this host's", async () => {
    const state = await access()
    const ahead = 300_000
    const real = state.store
    const store = storeWith(real, { clockOffset: async () => ahead })
    const skewed = { ...state, read: async () => store, write: async () => store }
    const pausedAt = new Date(NOW + ahead).toISOString()
    expect(await changePaused(config, skewed, 'backup', true, () => NOW)).toMatchObject({ pausedAt })
    expect((await real.listJobs()).find((j) => j.name === 'backup')?.pausedAt).toBe(NOW + ahead)
  })
})
