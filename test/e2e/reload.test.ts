/**
 * A running `crons start-scheduler` following its edited config: SIGHUP reloads it, `--watch` reloads
 * it when the config or a file it imports is saved, and a config that does not load is reported in one
 * line while the running one goes on.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { type CliProcess, ISO, processScope, runCli, tempDir, useBuiltCli } from './helpers.js'

useBuiltCli()

/** A config with `state.db` beside it, UTC, and the given jobs (TypeScript source of the array). */
function config(jobs: string, imports = ''): string {
  return `import { defineConfig } from 'cronsjs'
${imports}
export default defineConfig({ state: './state.db', timezone: 'UTC', jobs: ${jobs} })
`
}

const every = (name: string) => `{ name: '${name}', schedule: '* * * * * *', run: () => {} }`

/** The index of the first stdout line (from `from`) that matches, waiting for it. */
async function lineIndex(proc: CliProcess, match: RegExp, from = 0, timeoutMs = 20_000): Promise<number> {
  await proc.waitForLine(match, timeoutMs, from)
  return proc.lines().findIndex((line, i) => i >= from && match.test(line))
}

/** Wait for a finish line of `job` after line `from`. */
function finishOf(proc: CliProcess, job: string, from: number): Promise<number> {
  return lineIndex(proc, new RegExp(`^${ISO.source} finish ${job} slot `), from)
}

describe.concurrent('start-scheduler follows its config', () => {
  it('SIGHUP applies an edited config; an invalid edit is reported in one line and the old config keeps running', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({ 'crons.config.ts': config(`[${every('first')}]`) })
    const file = path.join(cwd, 'crons.config.ts')
    const proc = procs.start(['start-scheduler'], { cwd })
    await finishOf(proc, 'first', 0)

    fs.writeFileSync(file, config(`[${every('second')}]`))
    proc.signal('SIGHUP')
    const reloaded = await lineIndex(proc, /reload config reloaded: 1 added \(second\), 1 removed \(first\)$/)
    await finishOf(proc, 'second', reloaded)
    // The removed job's last run may end just after the reload; none starts after it.
    const started = proc.lines().slice(reloaded + 1)
    expect(started.some((line) => / start {2}first /.test(line))).toBe(false)

    fs.writeFileSync(file, `${config(`[${every('third')}]`)}\nexport const = broken\n`)
    proc.signal('SIGHUP')
    const refused = await lineIndex(proc, /error {2}config not reloaded, the running config is kept: /, reloaded)
    expect(proc.lines()[refused]).toMatch(/crons\.config\.ts:\d+:\d+: /)
    // Still running the config it had: `second` goes on, `third` never appears.
    await finishOf(proc, 'second', refused + 1)

    fs.writeFileSync(file, config(`[{ name: 'second', schedule: '61 * * * *', run: () => {} }]`))
    proc.signal('SIGHUP')
    const invalid = await lineIndex(proc, /config not reloaded.*minute 61 is out of range 0-59/, refused + 1)
    await finishOf(proc, 'second', invalid + 1)

    proc.signal('SIGTERM')
    expect((await proc.waitExit(20_000)).code).toBe(0)
    expect(proc.lines().some((line) => / third /.test(line))).toBe(false)
    expect(proc.stderr).toBe('')
  })

  it('--watch reloads when a file the config imports is saved, and reports a state it cannot change', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({
      'jobs.ts': `export const jobs = [${every('one')}]\n`,
      'crons.config.ts': config('jobs', "import { jobs } from './jobs'"),
    })
    const proc = procs.start(['start-scheduler', '--watch', '--log-format', 'json'], { cwd })
    const events = () => proc.lines().map((line) => JSON.parse(line) as Record<string, unknown>)
    await proc.waitFor(
      () => events().find((e) => e.event === 'run:finished' && e.job === 'one'),
      20_000,
      'a run of one',
    )

    fs.writeFileSync(path.join(cwd, 'jobs.ts'), `export const jobs = [${every('one')}, ${every('two')}]\n`)
    const reloaded = await proc.waitFor(
      () => events().find((e) => e.event === 'config:reloaded'),
      20_000,
      'a config:reloaded line',
    )
    expect(reloaded).toMatchObject({ added: ['two'], removed: [], changed: [], unchanged: 1, notApplied: [] })
    expect(reloaded.configHash).toMatch(/^[0-9a-f]{16}$/)
    expect(reloaded.configHash).not.toBe(events()[0]?.configHash)
    await proc.waitFor(
      () => events().find((e) => e.event === 'run:finished' && e.job === 'two'),
      20_000,
      'a run of two',
    )

    fs.writeFileSync(
      path.join(cwd, 'crons.config.ts'),
      config('jobs', "import { jobs } from './jobs'").replace("'./state.db'", "'./other.db'"),
    )
    const notApplied = await proc.waitFor(
      () => events().filter((e) => e.event === 'config:reloaded')[1],
      20_000,
      'a second config:reloaded line',
    )
    expect(notApplied.notApplied).toEqual([
      `state ${path.join(cwd, 'other.db')} not applied: a running scheduler keeps ${path.join(cwd, 'state.db')} (restart it to change the state)`,
    ])
    proc.signal('SIGTERM')
    expect((await proc.waitExit(20_000)).code).toBe(0)
    expect(fs.existsSync(path.join(cwd, 'other.db'))).toBe(false)
  })

  it('--watch follows a file the config starts to import even when its first save does not compile', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({ 'crons.config.ts': config(`[${every('one')}]`) })
    const proc = procs.start(['start-scheduler', '--watch'], { cwd })
    await proc.waitForLine(/^ {2}config {4}\S+ \(watched: /)
    await finishOf(proc, 'one', 0)
    fs.writeFileSync(
      path.join(cwd, 'more.ts'),
      'export const more = [{ name: "two", schedule: "* * * * * *", run: () => {} ]\n',
    )
    fs.writeFileSync(
      path.join(cwd, 'crons.config.ts'),
      config(`[${every('one')}, ...more]`, "import { more } from './more'"),
    )
    const refused = await lineIndex(proc, /config not reloaded, the running config is kept: more\.ts:1:\d+: /)
    fs.writeFileSync(
      path.join(cwd, 'more.ts'),
      'export const more = [{ name: "two", schedule: "* * * * * *", run: () => {} }]\n',
    )
    const reloaded = await lineIndex(proc, /config reloaded: 1 added \(two\)$/, refused)
    await finishOf(proc, 'two', reloaded)
    proc.signal('SIGTERM')
    expect((await proc.waitExit(20_000)).code).toBe(0)
  })

  it('a SIGHUP while it stops is dropped: no error, the stop ends as it began (exit 0)', async ({ onTestFinished }) => {
    const procs = processScope(onTestFinished)
    const slow = `[{ name: 'slow', schedule: '* * * * * *', run: () => new Promise((r) => setTimeout(r, 2000)) }]`
    const cwd = tempDir({ 'crons.config.ts': config(slow) })
    const proc = procs.start(['start-scheduler'], { cwd })
    await lineIndex(proc, / start {2}slow /)
    proc.signal('SIGTERM')
    const stopping = await lineIndex(proc, /^SIGTERM: stopping, waiting up to /)
    proc.signal('SIGHUP')
    expect((await proc.waitExit(20_000)).code).toBe(0)
    expect(proc.lines().slice(stopping + 1)).toEqual([
      expect.stringMatching(new RegExp(`^${ISO.source} finish slow slot .* succeeded in `)),
      'scheduler stopped',
    ])
    expect(proc.stderr).toBe('')
  })

  it('list-jobs and status say when the live scheduler runs another version of the config, until it reloads', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({ 'crons.config.ts': config(`[${every('first')}]`) })
    const proc = procs.start(['start-scheduler'], { cwd })
    await finishOf(proc, 'first', 0)
    const cli = async (args: string[]) => {
      const result = await runCli(args, { cwd })
      expect(result.stderr).toBe('')
      return result.stdout
    }
    const jobsJson = async () =>
      JSON.parse(await cli(['list-jobs', '--json'])) as { name: string; configDiffers: boolean }[]
    const instances = async () =>
      (
        JSON.parse(await cli(['status', '--json'])) as {
          instances: { pid: number; configHash: string; configDiffers: boolean }[]
        }
      ).instances
    const NOTE = new RegExp(
      `^Note: the scheduler \\S+ pid ${proc.pid} runs another version of crons\\.config\\.ts than the file: send it SIGHUP to reload \\(or start with --watch\\)\\.$`,
      'm',
    )

    expect(await cli(['list-jobs'])).not.toMatch(/another version/)
    expect((await jobsJson()).map((j) => j.configDiffers)).toEqual([false])
    const [before] = await instances()
    expect(before).toMatchObject({ pid: proc.pid, configDiffers: false })
    expect(before?.configHash).toMatch(/^[0-9a-f]{16}$/)

    fs.writeFileSync(path.join(cwd, 'crons.config.ts'), config(`[${every('first')}, ${every('second')}]`))
    expect(await cli(['list-jobs'])).toMatch(NOTE)
    expect((await jobsJson()).map((j) => [j.name, j.configDiffers])).toEqual([
      ['first', true],
      ['second', true],
    ])
    expect(await instances()).toMatchObject([{ pid: proc.pid, configHash: before?.configHash, configDiffers: true }])
    expect(await cli(['status'])).toMatch(
      /^config {6}the scheduler \S+ pid \d+ runs another version of crons\.config\.ts/m,
    )

    proc.signal('SIGHUP')
    await lineIndex(proc, /config reloaded: 1 added \(second\)$/)
    expect(await cli(['list-jobs'])).not.toMatch(/another version/)
    const [after] = await instances()
    expect(after).toMatchObject({ configDiffers: false })
    expect(after?.configHash).not.toBe(before?.configHash)
    expect(await cli(['status'])).not.toMatch(/^config /m)

    proc.signal('SIGTERM')
    expect((await proc.waitExit(20_000)).code).toBe(0)
  })
})
