import { spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import type { JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { jobSummaries, otherConfig, statusReport } from '../../src/core/inspect.js'
import { setJobPaused } from '../../src/core/pause.js'
import { openStore } from '../../src/store/index.js'
import type { RunOutcome, Store } from '../../src/store/types.js'

const NOW = Date.parse('2026-01-15T10:00:00Z')
const at = (iso: string) => Date.parse(iso)
const noop = () => undefined

const JOBS: JobDefinition[] = [
  { name: 'backup', schedule: '0 3 * * *', tags: ['nightly'], run: noop },
  { name: 'report', schedule: '30 9 * * 1-5', tz: 'America/New_York', run: noop },
  { name: 'poll', every: '5m', tz: 'UTC', run: noop },
]
const config = validateConfig({ timezone: 'Europe/Berlin', state: ':memory:', jobs: JOBS }, { file: 'test' })

const stores: Store[] = []
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close()
})

async function memoryStore(): Promise<Store> {
  const store = await openStore(':memory:')
  stores.push(store)
  return store
}

/** One scheduled attempt of `job` for `slot`, started at the slot and finished as told. */
async function seedRun(
  store: Store,
  job: string,
  slot: number,
  outcome?: Omit<RunOutcome, 'codeDone'>,
  instance = 'inst-a',
): Promise<number> {
  const [claimed] = await store.claimSlots([{ job, slot, trigger: 'schedule', overlap: 'skip' }], instance, slot)
  if (claimed?.kind !== 'started' && claimed?.kind !== 'paused') throw new Error(`unexpected ${claimed?.kind}`)
  if (outcome && claimed.kind === 'started') await store.finishRun(claimed.runId, { ...outcome, codeDone: true })
  return claimed.runId
}

describe('jobSummaries', () => {
  it('without a state file lists every configured job as never run, not paused', async () => {
    const jobs = await jobSummaries(config, undefined, NOW)
    expect(jobs).toEqual([
      {
        name: 'backup',
        schedule: '0 3 * * *',
        description: null,
        scheduleInWords: 'at 03:00 every day',
        zone: 'Europe/Berlin',
        nextRun: at('2026-01-16T02:00:00Z'),
        lastRun: null,
        tags: ['nightly'],
        paused: false,
        pausedAt: null,
        disabled: false,
        removed: false,
        configDiffers: false,
        command: null,
      },
      {
        name: 'report',
        schedule: '30 9 * * 1-5',
        description: null,
        scheduleInWords: expect.any(String),
        zone: 'America/New_York',
        nextRun: at('2026-01-15T14:30:00Z'),
        lastRun: null,
        tags: [],
        paused: false,
        pausedAt: null,
        disabled: false,
        removed: false,
        configDiffers: false,
        command: null,
      },
      {
        name: 'poll',
        schedule: 'every 5m',
        description: null,
        scheduleInWords: 'every 5 minutes',
        zone: 'UTC',
        nextRun: at('2026-01-15T10:05:00Z'),
        lastRun: null,
        tags: [],
        paused: false,
        pausedAt: null,
        disabled: false,
        removed: false,
        configDiffers: false,
        command: null,
      },
    ])
  })

  it('gives the last finished run, the paused flag, and jobs the config no longer lists', async () => {
    const store = await memoryStore()
    await store.syncJobs(['backup', 'report', 'poll', 'legacy'], at('2026-01-01T00:00:00Z'))
    const slot = at('2026-01-15T02:00:00Z')
    const failed = await seedRun(store, 'backup', slot, { status: 'failed', finishedAt: slot + 3000 })
    await seedRun(store, 'legacy', at('2026-01-10T00:00:00Z'), {
      status: 'succeeded',
      finishedAt: at('2026-01-10T00:00:01Z'),
    })
    await store.setPaused('poll', true, at('2026-01-15T08:00:00Z'))
    await store.setPaused('legacy', true, at('2026-01-15T08:00:00Z'))
    // A run still going is not the "last run": it has no outcome yet.
    await seedRun(store, 'report', at('2026-01-15T09:59:00Z'))

    const jobs = await jobSummaries(config, store, NOW)
    expect(jobs.map((j) => [j.name, j.lastRun?.status ?? null, j.paused, j.removed])).toEqual([
      ['backup', 'failed', false, false],
      ['report', null, false, false],
      ['poll', null, true, false],
      ['legacy', 'succeeded', true, true],
    ])
    expect(jobs[0]?.lastRun).toMatchObject({
      id: failed,
      status: 'failed',
      trigger: 'schedule',
      startedAt: slot,
      finishedAt: slot + 3000,
      durationMs: 3000,
    })
    expect(jobs[3]).toMatchObject({ schedule: null, description: null, zone: null, nextRun: null, tags: [] })
  })
})

describe('statusReport', () => {
  it('without a state file: unhealthy, nothing known, the next slot still computed', async () => {
    const report = await statusReport(config, undefined, NOW)
    expect(report).toEqual({
      healthy: false,
      instances: [],
      running: [],
      last24h: {
        since: NOW - 86_400_000,
        counts: {
          running: 0,
          succeeded: 0,
          failed: 0,
          timed_out: 0,
          interrupted: 0,
          cancelled: 0,
          skipped: 0,
          missed: 0,
        },
      },
      nextDue: { job: 'poll', at: at('2026-01-15T10:05:00Z'), zone: 'UTC' },
      state: { kind: 'memory', path: ':memory:', exists: false, sizeBytes: null, schemaVersion: null },
    })
  })

  it('tells alive, dead and stopped instances apart by heartbeat age and the TTL', async () => {
    const store = await memoryStore()
    await store.registerInstance({ id: 'alive', role: 'scheduler', host: 'h1', pid: 11, now: NOW - 3_600_000 })
    await store.heartbeat('alive', NOW - 30_000) // exactly at the TTL: still alive
    await store.registerInstance({ id: 'dead', role: 'scheduler', host: 'h2', pid: 22, now: NOW - 7_200_000 })
    await store.heartbeat('dead', NOW - 30_001)
    await store.registerInstance({ id: 'gone', role: 'scheduler', host: 'h3', pid: 33, now: NOW - 60_000 })
    await store.stopInstance('gone', NOW - 1000)

    const report = await statusReport(config, store, NOW)
    expect(report.healthy).toBe(true)
    expect(report.instances.map((i) => [i.id, i.alive, i.heartbeatAgeMs])).toEqual([
      ['dead', false, 30_001],
      ['alive', true, 30_000],
      ['gone', false, 60_000],
    ])
    expect((await statusReport(config, store, NOW + 1)).healthy).toBe(false)
    expect((await statusReport(config, store, NOW, 60_000)).instances.map((i) => i.alive)).toEqual([true, true, false])
  })

  it('counts an instance reaped by a peer, or whose process is gone from this host, as dead within its lease', async () => {
    const store = await memoryStore()
    const gonePid = spawnSync(process.execPath, ['-e', '']).pid as number
    const here = hostname()
    await store.registerInstance({ id: 'killed', role: 'scheduler', host: here, pid: gonePid, now: NOW - 5000 })
    await store.registerInstance({ id: 'reaped', role: 'scheduler', host: 'h2', pid: 22, now: NOW - 5000 })
    await store.reapDeadInstances(NOW - 1000, 30_000, ['reaped'])
    await store.registerInstance({ id: 'self', role: 'scheduler', host: here, pid: process.pid, now: NOW - 5000 })

    const report = await statusReport(config, store, NOW)
    expect(report.instances.map((i) => [i.id, i.alive])).toEqual([
      ['killed', false],
      ['reaped', false],
      ['self', true],
    ])
    expect(report.healthy).toBe(true)
    await store.stopInstance('self', NOW)
    expect((await statusReport(config, store, NOW)).healthy).toBe(false)
  })

  it('shows what runs where, counts the last 24 h, and skips paused jobs for the next slot due', async () => {
    const store = await memoryStore()
    await store.registerInstance({ id: 'inst-a', role: 'scheduler', host: 'box', pid: 4242, now: NOW - 60_000 })
    const old = at('2026-01-14T09:00:00Z') // more than 24 h ago: not counted
    await seedRun(store, 'backup', old, { status: 'failed', finishedAt: old + 1000 })
    const recent = at('2026-01-15T02:00:00Z')
    await seedRun(store, 'backup', recent, { status: 'succeeded', finishedAt: recent + 1000 })
    await seedRun(store, 'poll', at('2026-01-15T09:50:00Z'), {
      status: 'failed',
      finishedAt: at('2026-01-15T09:50:01Z'),
    })
    const running = await seedRun(store, 'poll', at('2026-01-15T09:55:00Z'))
    await store.setPaused('poll', true, at('2026-01-15T09:58:00Z'))

    const report = await statusReport(config, store, NOW)
    expect(report.running).toEqual([
      {
        job: 'poll',
        runId: running,
        slot: at('2026-01-15T09:55:00Z'),
        trigger: 'schedule',
        attempt: 1,
        startedAt: at('2026-01-15T09:55:00Z'),
        status: 'running',
        instance: 'inst-a',
        host: 'box',
        pid: 4242,
      },
    ])
    expect(report.last24h.counts).toEqual({
      running: 1,
      succeeded: 1,
      failed: 1,
      timed_out: 0,
      interrupted: 0,
      cancelled: 0,
      skipped: 0,
      missed: 0,
    })
    // poll (10:05Z) is paused, so the next slot due is report's 09:30 in New York.
    expect(report.nextDue).toEqual({ job: 'report', at: at('2026-01-15T14:30:00Z'), zone: 'America/New_York' })
    expect(report.state).toEqual({
      kind: 'memory',
      path: ':memory:',
      exists: true,
      sizeBytes: null,
      schemaVersion: expect.any(Number),
    })
  })
})

describe('setJobPaused', () => {
  it('creates the row of a configured job that never ran, and is idempotent', async () => {
    const store = await memoryStore()
    const options = { configured: true, now: NOW }
    const pausedAt = new Date(NOW).toISOString()
    expect(await setJobPaused(store, 'backup', true, options)).toEqual({
      job: 'backup',
      paused: true,
      changed: true,
      pausedAt,
    })
    expect(await setJobPaused(store, 'backup', true, options)).toEqual({
      job: 'backup',
      paused: true,
      changed: false,
      pausedAt,
    })
    expect((await store.listJobs()).find((j) => j.name === 'backup')?.paused).toBe(true)
    expect(await setJobPaused(store, 'backup', false, options)).toEqual({
      job: 'backup',
      paused: false,
      changed: true,
      pausedAt: null,
    })
    expect(await setJobPaused(store, 'backup', false, options)).toEqual({
      job: 'backup',
      paused: false,
      changed: false,
      pausedAt: null,
    })
  })

  it('pauses a job only the store knows without re-adding it to the config rows', async () => {
    const store = await memoryStore()
    await store.syncJobs(['legacy'], NOW - 1000)
    expect(await setJobPaused(store, 'legacy', true, { configured: false, now: NOW })).toEqual({
      job: 'legacy',
      paused: true,
      changed: true,
      pausedAt: new Date(NOW).toISOString(),
    })
    expect((await store.listJobs())[0]).toMatchObject({ name: 'legacy', paused: true, seenAt: NOW - 1000 })
  })
})

describe('otherConfig', () => {
  it('judges a scheduler alive by the lease of the kind of state: 30 s for a file, 10 s on PostgreSQL', async () => {
    const store = await memoryStore()
    // A scheduler running another version of the config, silent for 20 s.
    await store.registerInstance({
      id: 'peer',
      role: 'scheduler',
      host: 'h',
      pid: 1,
      configHash: 'theirs',
      now: NOW - 20_000,
    })
    const file = { ...config, configHash: 'ours' }
    const shared = {
      ...validateConfig({ timezone: 'UTC', state: 'postgres://crons@db.example/app', jobs: JOBS }, { file: 'test' }),
      configHash: 'ours',
    }
    expect((await otherConfig(file, store, NOW)).map((i) => i.id)).toEqual(['peer'])
    // Dead on PostgreSQL after 10 s: not a scheduler running another config any more.
    expect(await otherConfig(shared, store, NOW)).toEqual([])
  })
})
