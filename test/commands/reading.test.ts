/**
 * Reading commands read a state file from its own world: without a config when only --state is
 * given, and never with another project's config mixed in (docs/cli.md, "Reading a state file").
 */
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import { crons } from './helpers.js'

const APP_CONFIG = `import { defineConfig } from 'crons'
export default defineConfig({
  timezone: 'UTC',
  jobs: [
    { name: 'send-emails', schedule: '*/5 * * * *', run: () => undefined },
    { name: 'reindex', schedule: '0 4 * * *', run: () => undefined },
  ],
})
`

const dirs: string[] = []
function folder(files: Record<string, string> = {}): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'crons-reading-')))
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** A state file of another project: jobs "backup" (a failed run) and "cleanup" (paused, at `pausedAt`). */
let state: string
let pausedAt: string
beforeAll(async () => {
  state = path.join(folder(), 'other.db')
  const store = await openStore(state)
  try {
    const now = Date.now()
    pausedAt = new Date(now).toISOString()
    await store.syncJobs(['backup', 'cleanup'], now - 3_600_000)
    await store.setPaused('cleanup', true, now)
    await store.registerInstance({ id: 'sched-x', role: 'scheduler', host: 'box', pid: 9, now })
    const [run] = await store.claimSlots(
      [{ job: 'backup', slot: now - 60_000, trigger: 'schedule', overlap: 'skip' }],
      'sched-x',
      now - 60_000,
    )
    if (run?.kind === 'started') {
      await store.finishRun(run.runId, {
        status: 'failed',
        finishedAt: now - 59_000,
        errorMessage: 'disk full',
        codeDone: true,
      })
    }
  } finally {
    await store.close()
  }
})

interface Job {
  name: string
  schedule: string | null
  nextRun: string | null
  paused: boolean
  pausedAt: string | null
  removed: boolean
}

describe('with --state and no config', () => {
  it('logs, list-jobs and status read the state alone, with a note on stderr', () => {
    const cwd = folder()
    const logs = crons(cwd, ['logs', '--state', state])
    expect(logs.status).toBe(0)
    expect(logs.stdout).toMatch(/^1 +backup +.* failed .* disk full$/m)
    expect(logs.stderr).toBe(`note: no config file in ${cwd}: reading ${state} alone\n`)

    const jobs = JSON.parse(crons(cwd, ['list-jobs', '--state', state, '--json']).stdout) as Job[]
    expect(jobs.map((j) => [j.name, j.schedule, j.nextRun, j.paused, j.removed])).toEqual([
      ['backup', null, null, false, false],
      ['cleanup', null, null, true, false],
    ])
    expect(jobs.map((j) => j.pausedAt)).toEqual([null, pausedAt])
    const listed = crons(cwd, ['list-jobs', '--state', state])
    expect(listed.stdout).not.toContain('removed')
    // Without a config a job has no zone: the instant is shown in UTC.
    const since = `${pausedAt.slice(0, 10)} ${pausedAt.slice(11, 19)} UTC`
    expect(listed.stdout).toMatch(
      new RegExp(`^cleanup +- +- +- +never ran +paused since ${since} \\((now|.+ ago)\\)$`, 'm'),
    )

    const status = crons(cwd, ['status', '--state', state])
    expect(status.status).toBe(0)
    expect(status.stdout).toMatch(/^next due {4}unknown \(read without a config\)$/m)
    expect(crons(cwd, ['logs', '--state', state, '--job', 'backup', '--json']).status).toBe(0)
  })

  it('CRONS_STATE works the same; without any state, a missing config is still an error', () => {
    const cwd = folder()
    const viaEnv = crons(cwd, ['list-jobs', '--json'], { CRONS_STATE: state })
    expect((JSON.parse(viaEnv.stdout) as Job[]).map((j) => j.name)).toEqual(['backup', 'cleanup'])
    const none = crons(cwd, ['list-jobs'])
    expect(none.status).toBe(3)
    expect(none.stderr).toMatch(/^error: no crons\.config\.ts/)
  })

  it('an explicit --config that is missing is not silently skipped', () => {
    const cwd = folder()
    const result = crons(cwd, ['logs', '--state', state, '--config', 'nope.config.ts'])
    expect(result.status).toBe(3)
    expect(result.stderr).toMatch(/^error: config file not found/)
  })
})

describe("with --state and another project's config", () => {
  it("never reports the config's jobs as the state's, nor the state's jobs as removed", () => {
    const cwd = folder({ 'crons.config.ts': APP_CONFIG })
    const listed = crons(cwd, ['list-jobs', '--state', state, '--json'])
    const jobs = JSON.parse(listed.stdout) as Job[]
    expect(jobs.map((j) => [j.name, j.removed])).toEqual([
      ['backup', false],
      ['cleanup', false],
    ])
    expect(listed.stderr).toBe(
      `note: crons.config.ts lists none of the 2 job(s) in ${state}: reading the state alone (pass --config to read it with its own config)\n`,
    )
    const status = crons(cwd, ['status', '--state', state, '--json'])
    expect((JSON.parse(status.stdout) as { nextDue: unknown }).nextDue).toBeNull()
  })

  it('a config that shares a job with the state is its own: schedules shown, dropped jobs removed', async () => {
    const cwd = folder({
      'crons.config.ts': APP_CONFIG.replace("name: 'reindex'", "name: 'backup'"),
    })
    const jobs = JSON.parse(crons(cwd, ['list-jobs', '--state', state, '--json']).stdout) as Job[]
    expect(jobs.map((j) => [j.name, j.schedule, j.removed])).toEqual([
      ['send-emails', '*/5 * * * *', false],
      ['backup', '0 4 * * *', false],
      ['cleanup', null, true],
    ])
  })
})
