/**
 * `crons cancel RUN_ID` across processes: the run-job process running the attempt acts on the request
 * at its heartbeat (its job's signal aborted, the attempt recorded cancelled, no retry), and bad ids
 * are refused in one line without creating a state file.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { processScope, readRuns, runCli, tempDir, useBuiltCli, waitUntil } from './helpers.js'

useBuiltCli()

const CONFIG = `import { defineConfig } from 'cronsjs'
export default defineConfig({
  state: './state.db',
  timezone: 'UTC',
  jobs: [
    {
      name: 'long',
      schedule: '0 0 1 1 *',
      retry: { max: 2, initial: '1s' },
      run: (ctx) =>
        new Promise((_, reject) => {
          ctx.log.info('waiting to be stopped')
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))
        }),
    },
  ],
})
`

describe.concurrent('crons cancel', () => {
  it('cancels a run of another process at its heartbeat: recorded cancelled, no retry, exit 0', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const state = path.join(cwd, 'state.db')
    const runner = procs.start(['run-job', 'long'], { cwd })
    const running = await waitUntil(
      async () => (await readRuns(state)).find((r) => r.status === 'running'),
      20_000,
      'the run to be running',
    )
    const cancelled = await runCli(['cancel', String(running.id), '--reason', 'not today'], { cwd })
    expect(cancelled.stderr).toBe('')
    expect(cancelled.code).toBe(0)
    expect(cancelled.stdout).toMatch(new RegExp(`^Cancelled run ${running.id} of long after (\\d+m )?[\\d.]+s\\.\\n$`))

    // The run-job process reports the cancelled run and exits non-zero: the run did not succeed.
    const exited = await runner.waitExit(15_000)
    expect(exited.code).toBe(1)
    expect(runner.stdout).toMatch(/long cancelled after 1 attempt\(s\) in .*: not today/)
    const runs = await readRuns(state)
    expect(runs.map((r) => [r.id, r.attempt, r.status, r.errorMessage, r.active])).toEqual([
      [running.id, 1, 'cancelled', 'cancelled: not today', false],
    ])

    const again = await runCli(['cancel', String(running.id), '--json'], { cwd })
    expect(again.code).toBe(2)
    expect(again.stderr).toBe(`error: run ${running.id} of job "long" is not running: it ended cancelled\n`)
  }, 60_000)

  it('refuses a bad or unknown id in one line, creating nothing', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const bad = await runCli(['cancel', 'abc'], { cwd })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe(
      'error: run id "abc" is not valid (expected a whole number such as 42, as listed by crons logs)\n',
    )
    const none = await runCli(['cancel', '7'], { cwd })
    expect(none.code).toBe(2)
    expect(none.stderr).toBe('error: no run 7: nothing has run yet (no state)\n')
    expect(fs.existsSync(path.join(cwd, 'state.db'))).toBe(false)
  }, 30_000)

  it('needs only the state: --state without a config file finds the run', async () => {
    const cwd = tempDir({
      'crons.config.ts': `import { defineConfig } from 'cronsjs'
export default defineConfig({ state: './state.db', jobs: [{ name: 'quick', schedule: '@yearly', run: () => {} }] })
`,
    })
    const ran = await runCli(['run-job', 'quick'], { cwd })
    expect(ran.code).toBe(0)
    const elsewhere = tempDir({})
    const state = path.join(cwd, 'state.db')
    const done = await runCli(['cancel', '1', '--state', state], { cwd: elsewhere })
    expect(done.stderr).toBe('error: run 1 of job "quick" is not running: it ended succeeded\n')
    expect(done.code).toBe(2)
    const none = await runCli(['cancel', '9', '--state', state], { cwd: elsewhere })
    expect(none.stderr).toBe(`error: no run 9 in ${state}\n`)
  }, 30_000)
})
