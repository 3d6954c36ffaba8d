/**
 * Command jobs and `enabled: false` as a shell meets them (spawned `bin/run.js`, needs `npm run
 * build`): `run-job` streams a command's output as it comes and records its exit code; a disabled
 * job is listed as disabled, refused by `run-job` unless `--force`, and left out by the scheduler.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderJobList } from '../../src/commands/list-jobs.js'
import { resolveConfig } from '../../src/config/loader.js'
import { jobSummaries, statusReport } from '../../src/core/inspect.js'
import { linesOf, processScope, readRuns, runCli, tempDir, useBuiltCli } from '../e2e/helpers.js'

useBuiltCli()

const CONFIG = `import { defineConfig } from 'crons'

export default defineConfig({
  state: './state.db',
  timezone: 'UTC',
  jobs: [
    {
      name: 'dump',
      description: 'prints, waits, prints',
      schedule: '0 3 * * *',
      command: 'echo "dumping $DB from $(pwd)"; sleep 1; echo "warning: slow" >&2; echo done',
      cwd: 'data',
      env: { DB: 'shop' },
    },
    { name: 'broken', schedule: '0 3 * * *', command: ['sh', '-c', 'echo "no space left" >&2; exit 3'] },
    { name: 'off', every: '1s', enabled: false, command: 'touch ran-off' },
    { name: 'on', every: '1s', command: 'touch ran-on' },
  ],
})
`

function project(): string {
  const dir = tempDir({ 'crons.config.ts': CONFIG })
  fs.mkdirSync(path.join(dir, 'data'))
  return dir
}

describe.concurrent('command jobs from the CLI', () => {
  it('run-job streams the output live, in the command folder with its env, and records it', async ({
    onTestFinished,
  }) => {
    const cwd = project()
    const proc = processScope(onTestFinished).start(['run-job', 'dump'], { cwd })
    // The first line is printed while the command still runs (it sleeps 1 s before the rest).
    await proc.waitFor(() => proc.stderr.includes('dumping shop'), 15_000, 'the first output line')
    expect(proc.exited).toBe(false)
    expect(proc.stderr).not.toContain('done')
    const { code } = await proc.waitExit()
    expect(code).toBe(0)
    expect(proc.stderr).toContain(`log    dump info dumping shop from ${path.join(cwd, 'data')}`)
    expect(proc.stderr).toContain('log    dump error warning: slow')
    expect(proc.stdout).toMatch(/^dump succeeded after 1 attempt\(s\)/)

    const logs = await runCli(['logs', '--run', '1', '--json'], { cwd })
    const run = JSON.parse(logs.stdout)
    expect(run).toMatchObject({ job: 'dump', status: 'succeeded', result: { exitCode: 0 }, error: null })
    expect(run.output.map((l: { level: string; text: string }) => `${l.level} ${l.text}`)).toEqual([
      `info dumping shop from ${path.join(cwd, 'data')}`,
      'error warning: slow',
      'info done',
    ])
  })

  it('a failing command fails the run: exit code and last stderr line in the result and in logs --json', async () => {
    const cwd = project()
    const r = await runCli(['run-job', 'broken'], { cwd })
    expect(r.code).toBe(1)
    expect(r.stdout.trim()).toMatch(
      /^broken failed after 1 attempt\(s\) in \S+ \(run 1\): command exited with code 3: no space left$/,
    )
    const logs = await runCli(['logs', '--json'], { cwd })
    expect(JSON.parse(logs.stdout)).toMatchObject([
      { job: 'broken', status: 'failed', error: { message: 'command exited with code 3: no space left' } },
    ])
  })

  it('list-jobs and config show the command; list-jobs --json and config --json say which job is disabled', async () => {
    const cwd = project()
    const table = await runCli(['list-jobs'], { cwd })
    expect(table.code).toBe(0)
    const rows = linesOf(table.stdout)
    expect(rows.find((l) => l.startsWith('dump'))).toContain(`($ echo "dumping $DB from $(pwd)"; sleep 1; echo "…)`)
    expect(rows.find((l) => l.startsWith('broken'))).toContain(`$ sh -c 'echo "no space left" >&2; exit 3'`)
    expect(rows.find((l) => l.startsWith('off'))).toMatch(/UTC\s+disabled\s+never ran\s+disabled$/)
    expect(rows.find((l) => l.startsWith('on '))).toMatch(/active$/)

    const list = JSON.parse((await runCli(['list-jobs', '--json'], { cwd })).stdout)
    expect(
      list.map((j: { name: string; disabled: boolean; nextRun: string | null }) => [
        j.name,
        j.disabled,
        j.nextRun === null,
      ]),
    ).toEqual([
      ['dump', false, false],
      ['broken', false, false],
      ['off', true, true],
      ['on', false, false],
    ])
    expect(list[1].command).toEqual(['sh', '-c', 'echo "no space left" >&2; exit 3'])

    const config = JSON.parse((await runCli(['config', '--json'], { cwd })).stdout)
    expect(config.jobs[0]).toMatchObject({
      name: 'dump',
      disabled: false,
      command: {
        command: expect.stringContaining('dumping'),
        cwd: path.join(cwd, 'data'),
        env: ['DB'],
        killGraceMs: 5000,
      },
    })
    expect(config.jobs[2]).toMatchObject({ name: 'off', disabled: true, nextRun: null })
    const text = await runCli(['config'], { cwd })
    expect(linesOf(text.stdout).find((l) => l.startsWith('off'))).toMatch(/UTC\s+disabled\s/)
  })

  it("next --job on a disabled job lists its schedule's fires and says, on stderr, that it never runs", async () => {
    const cwd = project()
    const r = await runCli(['next', '--job', 'off', '--count', '2', '--json'], { cwd })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toHaveLength(2)
    expect(linesOf(r.stderr)).toEqual([
      'note: job "off" is disabled (enabled: false in crons.config.ts): these are its schedule\'s fires; it never runs',
    ])
  })

  it('run-job refuses a disabled job in one line, and runs it with --force', async () => {
    const cwd = project()
    const refused = await runCli(['run-job', 'off'], { cwd })
    expect(refused.code).toBe(2)
    expect(linesOf(refused.stderr)).toEqual([
      'error: job "off" is disabled (enabled: false in crons.config.ts) (pass --force to run it anyway)',
    ])
    expect(fs.existsSync(path.join(cwd, 'ran-off'))).toBe(false)
    const forced = await runCli(['run-job', 'off', '--force'], { cwd })
    expect(forced.code).toBe(0)
    expect(fs.existsSync(path.join(cwd, 'ran-off'))).toBe(true)
  })

  it('start-scheduler leaves a disabled job out', async ({ onTestFinished }) => {
    const cwd = project()
    const proc = processScope(onTestFinished).start(['start-scheduler'], { cwd })
    await proc.waitForLine('jobs      3 (and 1 disabled, not scheduled)')
    await proc.waitFor(() => fs.existsSync(path.join(cwd, 'ran-on')), 15_000, 'the enabled job to run')
    proc.signal('SIGTERM')
    await proc.waitExit()
    expect(fs.existsSync(path.join(cwd, 'ran-off'))).toBe(false)
    const runs = await readRuns(path.join(cwd, 'state.db'))
    expect(runs.some((r) => r.job === 'on')).toBe(true)
    expect(runs.filter((r) => r.job === 'off')).toEqual([])
  })
})

describe('list-jobs rendering and status of disabled jobs (fixed now)', () => {
  const NOW = Date.parse('2026-01-15T10:00:00Z')

  it('shows a disabled job as disabled, without a next run, and status leaves it out of the next due', async () => {
    const cwd = tempDir({
      'crons.config.ts': `import { defineConfig } from 'crons'
export default defineConfig({
  timezone: 'UTC',
  jobs: [
    { name: 'soon', schedule: '*/5 * * * *', enabled: false, run: () => undefined },
    { name: 'later', schedule: '0 12 * * *', command: ['node', 'report.js'] },
  ],
})
`,
    })
    const config = await resolveConfig({ cwd, env: {} })
    const jobs = await jobSummaries(config, undefined, NOW)
    expect(jobs.map((j) => [j.name, j.disabled, j.nextRun, j.command])).toEqual([
      ['soon', true, null, null],
      ['later', false, Date.parse('2026-01-15T12:00:00Z'), ['node', 'report.js']],
    ])
    expect(linesOf(await renderJobList(jobs, NOW))).toEqual([
      'job                       schedule                         zone  next run                         last run   tags  state',
      'soon                      */5 * * * * (every 5 minutes)    UTC   disabled                         never ran        disabled',
      'later ($ node report.js)  0 12 * * * (at 12:00 every day)  UTC   2026-01-15 12:00:00 UTC (in 2h)  never ran        active',
    ])
    const report = await statusReport(config, undefined, NOW)
    expect(report.nextDue).toEqual({ job: 'later', at: Date.parse('2026-01-15T12:00:00Z'), zone: 'UTC' })
  })
})
