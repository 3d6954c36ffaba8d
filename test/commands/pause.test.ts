import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { stateAccess } from '../../src/cli/state.js'
import { pauseMessage } from '../../src/commands/pause-job.js'
import type { JobContext } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import { changePaused } from '../../src/core/pause.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { CronsError, EXIT } from '../../src/errors.js'
import { openStore } from '../../src/store/index.js'
import { SCHEMA_VERSION } from '../../src/store/sqlite/index.js'
import type { Store } from '../../src/store/types.js'
import { olderStateFile } from '../store/helpers.js'
import { crons, ROOT } from './helpers.js'

const T0 = Date.parse('2026-01-15T10:00:00Z')

const CONFIG = `import { defineConfig } from 'cronsjs'

export default defineConfig({
  timezone: 'UTC',
  jobs: [
    { name: 'backup', schedule: '0 3 * * *', run: () => undefined },
    { name: 'poll', every: '5m', run: () => undefined },
  ],
})
`

const dirs: string[] = []
function projectDir(): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-pause-'))
  dirs.push(dir)
  fs.writeFileSync(path.join(dir, 'crons.config.ts'), CONFIG)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

async function pausedFlags(statePath: string): Promise<Record<string, boolean>> {
  const store = await openStore(statePath, { readonly: true })
  try {
    return Object.fromEntries((await store.listJobs()).map((j) => [j.name, j.paused]))
  } finally {
    await store.close()
  }
}

describe('crons pause-job / resume-job (spawned)', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist/commands/pause-job.js'))) {
      throw new Error('dist/ has no pause-job: run `npm run build` first')
    }
  })

  it(`an unknown job: one line with did-you-mean, exit ${EXIT.usage}, no state file created`, () => {
    const dir = projectDir()
    const result = crons(dir, ['pause-job', 'bakup'])
    expect(result.status).toBe(EXIT.usage)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      `error: no job named "bakup" in ${path.join(dir, 'crons.config.ts')} (known jobs: backup, poll) (did you mean "backup"?)\n`,
    )
    expect(fs.existsSync(path.join(dir, 'crons.db'))).toBe(false)
    expect(crons(dir, ['resume-job', 'nothing-like-it']).status).toBe(EXIT.usage)
  })

  it('persists the flag, is idempotent, and says so; --json gives {job, paused, changed}', async () => {
    const dir = projectDir()
    const json = (args: string[]) => {
      const result = crons(dir, [...args, '--json'])
      expect(result.status).toBe(0)
      return JSON.parse(result.stdout)
    }
    // A job that never ran has no row until a scheduler starts: pausing creates it.
    const first = json(['pause-job', 'backup'])
    expect(first).toEqual({ job: 'backup', paused: true, changed: true, pausedAt: expect.any(String) })
    // Pausing again changes nothing: the same pausedAt.
    expect(json(['pause-job', 'backup'])).toEqual({
      job: 'backup',
      paused: true,
      changed: false,
      pausedAt: first.pausedAt,
    })
    expect(await pausedFlags(path.join(dir, 'crons.db'))).toEqual({ backup: true })
    expect(crons(dir, ['pause-job', 'backup'])).toMatchObject({
      status: 0,
      stdout: 'backup was already paused.\n',
      stderr: '',
    })
    expect(crons(dir, ['resume-job', 'backup'])).toMatchObject({
      status: 0,
      stdout: 'Resumed backup: its next slot runs as scheduled.\n',
    })
    expect(json(['resume-job', 'backup'])).toEqual({ job: 'backup', paused: false, changed: false, pausedAt: null })
    expect(await pausedFlags(path.join(dir, 'crons.db'))).toEqual({ backup: false })
  })

  it('list-jobs says since when a job is paused; pausing again keeps it, resuming clears it', () => {
    const dir = projectDir()
    type Listed = { name: string; paused: boolean; pausedAt: string | null }
    const listed = () => JSON.parse(crons(dir, ['list-jobs', '--json']).stdout) as Listed[]
    const before = Date.now()
    expect(crons(dir, ['pause-job', 'poll']).status).toBe(0)
    const after = Date.now()
    const [backup, poll] = listed()
    expect(backup).toMatchObject({ name: 'backup', paused: false, pausedAt: null })
    expect(poll).toMatchObject({ name: 'poll', paused: true })
    const since = Date.parse(poll?.pausedAt ?? '')
    expect(since).toBeGreaterThanOrEqual(before)
    expect(since).toBeLessThanOrEqual(after)
    expect(poll?.pausedAt).toBe(new Date(since).toISOString())

    // The table says it in the job's zone, with how long ago.
    const table = crons(dir, ['list-jobs']).stdout
    const local = `${poll?.pausedAt?.slice(0, 10)} ${poll?.pausedAt?.slice(11, 19)} UTC`
    expect(table).toMatch(new RegExp(`^poll .* paused since ${local} \\((now|\\d+s ago)\\)$`, 'm'))
    expect(table).toMatch(/^backup .* active$/m)

    expect(crons(dir, ['pause-job', 'poll']).status).toBe(0)
    expect(listed()[1]?.pausedAt).toBe(poll?.pausedAt)
    expect(crons(dir, ['resume-job', 'poll']).status).toBe(0)
    expect(listed()[1]).toMatchObject({ paused: false, pausedAt: null })
    expect(crons(dir, ['list-jobs']).stdout).toMatch(/^poll .* active$/m)
  })

  it('with --state and no config file, the state alone will do: it names the jobs it knows', () => {
    const dir = projectDir()
    expect(crons(dir, ['pause-job', 'backup']).status).toBe(0)
    const elsewhere = fs.mkdtempSync(path.join(tmpdir(), 'crons-pause-state-'))
    dirs.push(elsewhere)
    const state = path.join(dir, 'crons.db')
    expect(crons(elsewhere, ['resume-job', 'backup', '--state', state])).toMatchObject({
      status: 0,
      stdout: 'Resumed backup: its next slot runs as scheduled.\n',
      stderr: '',
    })
    expect(crons(elsewhere, ['pause-job', 'backup'], { CRONS_STATE: state }).status).toBe(0)
    expect(crons(elsewhere, ['pause-job', 'bakup', '--state', state])).toMatchObject({
      status: EXIT.usage,
      stderr: `error: no job named "bakup" in ${state} (known jobs: backup) (did you mean "backup"?)\n`,
    })
    const none = path.join(elsewhere, 'none.db')
    expect(crons(elsewhere, ['pause-job', 'backup', '--state', none])).toMatchObject({
      status: EXIT.usage,
      stderr: `error: no job named "backup" in ${none} (no state there yet)\n`,
    })
    expect(fs.existsSync(none)).toBe(false)
    // Without --state, a folder with no config is still an error.
    expect(crons(elsewhere, ['pause-job', 'backup']).status).toBe(EXIT.config)
  })

  it('--help shows examples', () => {
    for (const command of ['pause-job', 'resume-job']) {
      const result = crons(projectDir(), [command, '--help'])
      expect(result.status).toBe(0)
      expect(result.stdout).toContain('EXAMPLES')
      expect(result.stdout).toContain(`crons ${command} backup --json`)
    }
  })
})

describe('changePaused (in process)', () => {
  it('pauses a job the config no longer lists if the store knows it; suggests among those too', async () => {
    const dir = projectDir()
    const statePath = path.join(dir, 'crons.db')
    const store = await openStore(statePath)
    await store.syncJobs(['legacy'], T0)
    await store.close()
    const config = validateConfig({ state: statePath, timezone: 'UTC', jobs: [] }, { file: 'test' })
    expect(await changePaused(config, stateAccess(config), 'legacy', true, () => T0)).toEqual({
      job: 'legacy',
      paused: true,
      changed: true,
      pausedAt: new Date(T0).toISOString(),
    })
    expect(await pausedFlags(statePath)).toEqual({ legacy: true })
    const error = await changePaused(config, stateAccess(config), 'legasy', true, () => T0).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CronsError)
    expect(error).toMatchObject({
      code: 'JOB_UNKNOWN',
      message: `no job named "legasy" in ${statePath} (known jobs: legacy)`,
      suggestions: ['did you mean "legacy"?'],
    })
  })

  it('with no config, a state file an older crons wrote is checked opened for writing (which upgrades it), as with one', async () => {
    const statePath = olderStateFile(
      path.join(projectDir(), 'crons.db'),
      SCHEMA_VERSION - 1,
      `INSERT INTO jobs (name, last_slot, paused, created_at, seen_at) VALUES ('legacy', NULL, 0, ${T0}, ${T0})`,
    )
    const config = validateConfig({ state: statePath, timezone: 'UTC', jobs: [] }, { file: 'test' })
    expect(await changePaused(config, stateAccess(config), 'legacy', true, () => T0)).toMatchObject({
      paused: true,
      changed: true,
    })
    expect(await pausedFlags(statePath)).toEqual({ legacy: true })
    // Once the file needs no upgrade, a typo is found read-only: the state is never opened for writing.
    const access = stateAccess(config)
    const write = vi.spyOn(access, 'write')
    await expect(changePaused(config, access, 'legasy', false, () => T0)).rejects.toMatchObject({
      code: 'JOB_UNKNOWN',
      message: `no job named "legasy" in ${statePath} (known jobs: legacy)`,
    })
    expect(write).not.toHaveBeenCalled()
  })

  it('messages', () => {
    vi.stubEnv('NO_COLOR', '1')
    expect(pauseMessage({ job: 'backup', paused: true, changed: true })).toBe(
      'Paused backup: its slots are skipped until `crons resume-job backup`.',
    )
    expect(pauseMessage({ job: 'backup', paused: true, changed: false })).toBe('backup was already paused.')
    expect(pauseMessage({ job: 'backup', paused: false, changed: true })).toBe(
      'Resumed backup: its next slot runs as scheduled.',
    )
    expect(pauseMessage({ job: 'backup', paused: false, changed: false })).toBe('backup was not paused.')
    vi.unstubAllEnvs()
  })
})

describe('a running scheduler honours pause and resume without a restart', () => {
  let scheduler: Scheduler | undefined
  let store: Store | undefined
  afterEach(async () => {
    await scheduler?.stop({ graceMs: 0 })
    await store?.close()
  })

  it('slots due while paused are one skipped record for the stretch; after resume the job runs again', async () => {
    const statePath = path.join(projectDir(), 'crons.db')
    const fired: string[] = []
    const config = validateConfig(
      {
        state: statePath,
        timezone: 'UTC',
        jobs: [
          {
            name: 'tick',
            schedule: '*/10 * * * * *',
            run: (ctx: JobContext) => void fired.push(ctx.scheduledAt.toISOString()),
          },
        ],
      },
      { file: 'test' },
    )
    const clock = new FakeClock(T0)
    // The scheduler has its own connection; the commands open theirs, as separate processes would.
    store = await openStore(statePath)
    scheduler = new Scheduler(config, { clock, store, random: () => 0, instanceId: 'sched' })
    await scheduler.start()

    await clock.advance(30_000)
    expect(await changePaused(config, stateAccess(config), 'tick', true, () => clock.now())).toMatchObject({
      changed: true,
    })
    await clock.advance(30_000)
    expect(await changePaused(config, stateAccess(config), 'tick', false, () => clock.now())).toMatchObject({
      changed: true,
    })
    await clock.advance(20_000)

    const slot = (s: number) => new Date(T0 + s * 1000).toISOString()
    expect(fired).toEqual([10, 20, 30, 70, 80].map(slot))
    const rows = (await store.listRuns({ job: 'tick', limit: 100 })).reverse()
    expect(rows.map((r) => [new Date(r.slot).toISOString(), r.status, r.detail])).toEqual([
      [slot(10), 'succeeded', null],
      [slot(20), 'succeeded', null],
      [slot(30), 'succeeded', null],
      [slot(40), 'skipped', JSON.stringify({ paused: true, count: 3, first: T0 + 40_000, last: T0 + 60_000 })],
      [slot(70), 'succeeded', null],
      [slot(80), 'succeeded', null],
    ])
  })
})
