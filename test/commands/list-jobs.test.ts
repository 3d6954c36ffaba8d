import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { renderJobList } from '../../src/commands/list-jobs.js'
import { resolveConfig } from '../../src/config/loader.js'
import type { ResolvedConfig } from '../../src/config/types.js'
import { jobSummaries } from '../../src/core/inspect.js'
import { jobView, withTag } from '../../src/core/views.js'
import { openStore } from '../../src/store/index.js'
import type { RunOutcome, Store } from '../../src/store/types.js'
import { crons, ROOT } from './helpers.js'

const NOW = Date.parse('2026-01-15T10:00:00Z')
const at = (iso: string) => Date.parse(iso)
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI escapes is the point
const ANSI = /\u001b\[/

const CONFIG = `import { defineConfig } from 'cronsjs'

export default defineConfig({
  timezone: 'Europe/Berlin',
  jobs: [
    { name: 'backup', schedule: '0 3 * * *', tags: ['nightly', 'db'], run: () => undefined },
    { name: 'report', schedule: '30 9 * * 1-5', tz: 'America/New_York', tags: ['reports'], run: () => undefined },
    { name: 'poll', every: '5m', tz: 'UTC', run: () => undefined },
    { name: 'cleanup', schedule: '@hourly', tags: ['nightly'], run: () => undefined },
  ],
})
`

const dirs: string[] = []
function projectDir(): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-list-'))
  dirs.push(dir)
  fs.writeFileSync(path.join(dir, 'crons.config.ts'), CONFIG)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

async function load(dir: string): Promise<ResolvedConfig> {
  return resolveConfig({ cwd: dir, env: {} })
}

async function finished(store: Store, job: string, slot: number, outcome: Omit<RunOutcome, 'codeDone'>) {
  const [claimed] = await store.claimSlots([{ job, slot, trigger: 'schedule', overlap: 'skip' }], 'inst-a', slot)
  if (claimed?.kind === 'started') await store.finishRun(claimed.runId, { ...outcome, codeDone: true })
  return claimed
}

/**
 * backup failed at 02:00Z, report never ran, poll succeeded at 09:55Z, cleanup is paused since 08:00Z (its
 * 09:00Z slot recorded skipped), and "legacy" ran last week but is no longer in the config.
 */
async function seed(dir: string): Promise<void> {
  const store = await openStore(path.join(dir, 'crons.db'))
  try {
    await store.syncJobs(['backup', 'report', 'poll', 'cleanup', 'legacy'], at('2026-01-01T00:00:00Z'))
    await finished(store, 'backup', at('2026-01-15T02:00:00Z'), {
      status: 'failed',
      finishedAt: at('2026-01-15T02:00:03Z'),
      errorMessage: 'disk full',
    })
    await finished(store, 'poll', at('2026-01-15T09:55:00Z'), {
      status: 'succeeded',
      finishedAt: at('2026-01-15T09:55:01Z'),
    })
    await store.setPaused('cleanup', true, at('2026-01-15T08:00:00Z'))
    await finished(store, 'cleanup', at('2026-01-15T09:00:00Z'), { status: 'succeeded', finishedAt: 0 })
    await finished(store, 'legacy', at('2026-01-10T00:00:00Z'), {
      status: 'succeeded',
      finishedAt: at('2026-01-10T00:00:01Z'),
    })
  } finally {
    await store.close()
  }
}

describe('list-jobs rendering (fixed now)', () => {
  beforeEach(() => {
    vi.stubEnv('NO_COLOR', '1')
    return () => vi.unstubAllEnvs()
  })

  it('no state file: every configured job "never ran", and says why', async () => {
    const dir = projectDir()
    const config = await load(dir)
    const jobs = await jobSummaries(config, undefined, NOW)
    const text = await renderJobList(jobs, NOW, { statePath: config.statePath })
    expect(text).toBe(
      [
        'job      schedule                                          zone              next run                                     last run   tags         state',
        'backup   0 3 * * * (at 03:00 every day)                    Europe/Berlin     2026-01-16 03:00:00 (UTC+01:00) (in 16h)     never ran  nightly, db  active',
        'report   30 9 * * 1-5 (at 09:30 on Monday through Friday)  America/New_York  2026-01-15 09:30:00 (UTC-05:00) (in 4h 30m)  never ran  reports      active',
        'poll     every 5m (every 5 minutes)                        UTC               2026-01-15 10:05:00 UTC (in 5m)              never ran               active',
        'cleanup  @hourly (at minute 0 of every hour)               Europe/Berlin     2026-01-15 12:00:00 (UTC+01:00) (in 1h)      never ran  nightly      active',
        `No state file at ${path.join(dir, 'crons.db')} yet: nothing has run.`,
      ].join('\n'),
    )
  })

  it('a failed run, a job that never ran, a paused job and a removed job', async () => {
    const dir = projectDir()
    await seed(dir)
    const config = await load(dir)
    const store = await openStore(config.statePath, { readonly: true })
    const jobs = await jobSummaries(config, store, NOW)
    await store.close()
    expect(await renderJobList(jobs, NOW)).toBe(
      [
        'job      schedule                                          zone              next run                                     last run              tags         state',
        'backup   0 3 * * * (at 03:00 every day)                    Europe/Berlin     2026-01-16 03:00:00 (UTC+01:00) (in 16h)     failed 7h 59m ago     nightly, db  active',
        'report   30 9 * * 1-5 (at 09:30 on Monday through Friday)  America/New_York  2026-01-15 09:30:00 (UTC-05:00) (in 4h 30m)  never ran             reports      active',
        'poll     every 5m (every 5 minutes)                        UTC               2026-01-15 10:05:00 UTC (in 5m)              succeeded 4m 59s ago               active',
        'cleanup  @hourly (at minute 0 of every hour)               Europe/Berlin     none while paused                            skipped 1h ago        nightly      paused since 2026-01-15 09:00:00 (UTC+01:00) (2h ago)',
        'legacy   -                                                 -                 -                                            succeeded 5d 9h ago                removed',
      ].join('\n'),
    )
    expect(jobs.map(jobView)).toEqual([
      {
        name: 'backup',
        schedule: '0 3 * * *',
        description: null,
        scheduleInWords: 'at 03:00 every day',
        zone: 'Europe/Berlin',
        nextRun: '2026-01-16T02:00:00.000Z',
        lastRun: expect.objectContaining({
          id: 1,
          status: 'failed',
          trigger: 'schedule',
          startedAt: '2026-01-15T02:00:00.000Z',
          finishedAt: '2026-01-15T02:00:03.000Z',
          durationMs: 3000,
        }),
        tags: ['nightly', 'db'],
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
        scheduleInWords: 'at 09:30 on Monday through Friday',
        zone: 'America/New_York',
        nextRun: '2026-01-15T14:30:00.000Z',
        lastRun: null,
        tags: ['reports'],
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
        nextRun: '2026-01-15T10:05:00.000Z',
        lastRun: expect.objectContaining({
          id: 2,
          status: 'succeeded',
          trigger: 'schedule',
          startedAt: '2026-01-15T09:55:00.000Z',
          finishedAt: '2026-01-15T09:55:01.000Z',
          durationMs: 1000,
        }),
        tags: [],
        paused: false,
        pausedAt: null,
        disabled: false,
        removed: false,
        configDiffers: false,
        command: null,
      },
      {
        name: 'cleanup',
        schedule: '@hourly',
        description: null,
        scheduleInWords: 'at minute 0 of every hour',
        zone: 'Europe/Berlin',
        nextRun: '2026-01-15T11:00:00.000Z',
        lastRun: expect.objectContaining({
          id: 3,
          status: 'skipped',
          trigger: 'schedule',
          startedAt: '2026-01-15T09:00:00.000Z',
          finishedAt: '2026-01-15T09:00:00.000Z',
          durationMs: null,
        }),
        tags: ['nightly'],
        paused: true,
        pausedAt: '2026-01-15T08:00:00.000Z',
        disabled: false,
        removed: false,
        configDiffers: false,
        command: null,
      },
      {
        name: 'legacy',
        schedule: null,
        description: null,
        scheduleInWords: null,
        zone: null,
        nextRun: null,
        lastRun: expect.objectContaining({
          id: 4,
          status: 'succeeded',
          trigger: 'schedule',
          startedAt: '2026-01-10T00:00:00.000Z',
          finishedAt: '2026-01-10T00:00:01.000Z',
          durationMs: 1000,
        }),
        tags: [],
        paused: false,
        pausedAt: null,
        disabled: false,
        removed: true,
        configDiffers: false,
        command: null,
      },
    ])
  })

  it('--tag keeps the jobs with that tag; an unknown tag is an empty list with a message', async () => {
    const dir = projectDir()
    await seed(dir)
    const config = await load(dir)
    const store = await openStore(config.statePath, { readonly: true })
    const jobs = await jobSummaries(config, store, NOW)
    await store.close()
    const nightly = withTag(jobs, 'nightly')
    expect(nightly.map((j) => j.name)).toEqual(['backup', 'cleanup'])
    expect(await renderJobList(nightly, NOW, { tag: 'nightly' })).toBe(
      [
        'job      schedule                             zone           next run                                  last run           tags         state',
        'backup   0 3 * * * (at 03:00 every day)       Europe/Berlin  2026-01-16 03:00:00 (UTC+01:00) (in 16h)  failed 7h 59m ago  nightly, db  active',
        'cleanup  @hourly (at minute 0 of every hour)  Europe/Berlin  none while paused                         skipped 1h ago     nightly      paused since 2026-01-15 09:00:00 (UTC+01:00) (2h ago)',
      ].join('\n'),
    )
    expect(withTag(jobs, 'nope')).toEqual([])
    expect(await renderJobList([], NOW, { tag: 'nope' })).toBe('No jobs with tag "nope".')
    expect(await renderJobList([], NOW)).toBe('No jobs configured.')
  })

  it('colours only when decorations are on', async () => {
    const dir = projectDir()
    await seed(dir)
    const config = await load(dir)
    const store = await openStore(config.statePath, { readonly: true })
    const jobs = await jobSummaries(config, store, NOW)
    await store.close()
    expect(await renderJobList(jobs, NOW, { stream: { isTTY: true } })).not.toMatch(ANSI)
    vi.stubEnv('NO_COLOR', '')
    vi.stubEnv('FORCE_COLOR', '1')
    expect(await renderJobList(jobs, NOW, { stream: { isTTY: false } })).toMatch(ANSI)
  })
})

describe('crons list-jobs (spawned)', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist/commands/list-jobs.js'))) {
      throw new Error('dist/ has no list-jobs: run `npm run build` first')
    }
  })

  it('piped: plain text, no ANSI escapes, exit 0; the state file is not created', () => {
    const dir = projectDir()
    const result = crons(dir, ['list-jobs'])
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(result.stdout).not.toMatch(ANSI)
    expect(result.stdout.split('\n')[0]).toMatch(/^job +schedule +zone +next run +last run +tags +state$/)
    expect(result.stdout).toMatch(
      /^backup +0 3 \* \* \* \(at 03:00 every day\) +Europe\/Berlin +\S+ \S+ \(UTC\+0\d:00\) \(in [^)]+\) +never ran +nightly, db +active$/m,
    )
    expect(fs.existsSync(path.join(dir, 'crons.db'))).toBe(false)
  })

  it('--json: ISO instants; NO_COLOR and FORCE_COLOR do not change JSON', () => {
    const dir = projectDir()
    return seed(dir).then(() => {
      const result = crons(dir, ['list-jobs', '--json'], { FORCE_COLOR: '1' })
      expect(result.status).toBe(0)
      expect(result.stdout).not.toMatch(ANSI)
      const entries = JSON.parse(result.stdout) as ReturnType<typeof jobView>[]
      expect(entries.map((e) => e.name)).toEqual(['backup', 'report', 'poll', 'cleanup', 'legacy'])
      for (const e of entries.slice(0, 4)) expect(e.nextRun).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/)
      expect(entries[0]?.lastRun).toMatchObject({
        id: 1,
        status: 'failed',
        trigger: 'schedule',
        startedAt: '2026-01-15T02:00:00.000Z',
        finishedAt: '2026-01-15T02:00:03.000Z',
        durationMs: 3000,
      })
      expect(entries[4]).toEqual({
        name: 'legacy',
        schedule: null,
        description: null,
        scheduleInWords: null,
        zone: null,
        nextRun: null,
        lastRun: expect.objectContaining({ status: 'succeeded', startedAt: '2026-01-10T00:00:00.000Z' }),
        tags: [],
        paused: false,
        pausedAt: null,
        disabled: false,
        removed: true,
        configDiffers: false,
        command: null,
      })
    })
  })

  it('--tag with an unknown tag: a message, exit 0; with --json an empty array', () => {
    const dir = projectDir()
    expect(crons(dir, ['list-jobs', '--tag', 'nope'])).toMatchObject({
      status: 0,
      stdout: 'No jobs with tag "nope".\n',
      stderr: '',
    })
    expect(JSON.parse(crons(dir, ['list-jobs', '--tag', 'nope', '--json']).stdout)).toEqual([])
  })

  it('--help shows examples', () => {
    const result = crons(projectDir(), ['list-jobs', '--help'])
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('EXAMPLES')
    expect(result.stdout).toContain('crons list-jobs --tag nightly')
  })
})
