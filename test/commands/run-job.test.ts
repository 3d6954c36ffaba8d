/**
 * `crons run-job` as a shell meets it (spawned `bin/run.js`, needs `npm run build`): with --json,
 * stdout holds the JSON document and nothing else, whatever the config, the job or its hooks print;
 * a first Ctrl-C says what is happening, a second stops the job, and the result line says
 * "interrupted" once.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { linesOf, processScope, readRuns, runCli, tempDir, useBuiltCli, waitUntil } from '../e2e/helpers.js'

useBuiltCli()

const CONFIG = `import { defineConfig } from 'cronsjs'

console.log('loading the config')

export default defineConfig({
  state: './state.db',
  timezone: 'UTC',
  shutdownGrace: '20s',
  hooks: { beforeRun: () => console.log('config hook') },
  jobs: [
    {
      name: 'backup',
      schedule: '0 3 * * *',
      hooks: { afterRun: () => console.log('job hook') },
      run: () => {
        console.log('backing up')
        process.stdout.write('raw write\\n')
        return { ok: 1 }
      },
    },
    { name: 'done', schedule: '0 3 * * *', run: () => 'done' },
    {
      name: 'twolines',
      schedule: '0 3 * * *',
      run: () => {
        throw new Error('first line\\nsecond line')
      },
    },
    {
      name: 'retrying',
      schedule: '0 3 * * *',
      retry: { max: 1, backoff: 'constant', initial: '30s' },
      run: () => {
        throw new Error('nope')
      },
    },
    {
      // Ignores its timeout and keeps printing until the process exits.
      name: 'noisy',
      schedule: '0 3 * * *',
      run: () => {
        setInterval(() => console.log('still here'), 5)
        return new Promise(() => {})
      },
    },
    {
      // Finishes 3 s after it starts, ignoring its abort signal.
      name: 'slow',
      schedule: '0 3 * * *',
      run: () => new Promise((resolve) => setTimeout(() => resolve('finished'), 3000)),
    },
  ],
})
`

describe.concurrent('run-job --json', () => {
  it('stdout is only the JSON document; what the config, the job and its hooks print goes to stderr', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const r = await runCli(['run-job', 'backup', '--json'], { cwd })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      job: 'backup',
      runId: 1,
      status: 'succeeded',
      attempts: 1,
      durationMs: expect.any(Number),
      error: null,
    })
    const logged = JSON.parse((await runCli(['logs', '--run', '1', '--json'], { cwd })).stdout)
    expect(JSON.parse(r.stdout).durationMs).toBe(logged.durationMs)
    const printed = linesOf(r.stderr)
    for (const line of ['loading the config', 'config hook', 'backing up', 'raw write', 'job hook']) {
      expect(printed).toContain(line)
    }
    // Without --json the same lines stay on stdout, before the result line.
    const text = await runCli(['run-job', 'backup'], { cwd })
    expect(linesOf(text.stdout)).toEqual([
      'loading the config',
      'config hook',
      'backing up',
      'raw write',
      'job hook',
      expect.stringMatching(/^backup succeeded after 1 attempt\(s\) in [\d.]+s \(run 2\)$/),
    ])
  })

  it('a job still printing after its timeout does not reach stdout either', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const r = await runCli(['run-job', 'noisy', '--timeout', '0.3', '--json'], { cwd })
    expect(r.code).toBe(1)
    const view = JSON.parse(r.stdout)
    expect(view).toMatchObject({ job: 'noisy', status: 'timed_out' })
    expect(r.stderr).toContain('still here')
    // Its duration and error are the recorded attempt's, as logs gives them (the error never missing).
    const logged = JSON.parse((await runCli(['logs', '--run', String(view.runId), '--json'], { cwd })).stdout)
    expect(view.durationMs).toBe(logged.durationMs)
    expect(view.error).toEqual({ message: 'timed out after 0.3s', stack: null })
    expect(view.error).toEqual(logged.error)
  })

  it('a multi-line error: the result line keeps the first line and stays last; --json has it all', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const text = await runCli(['run-job', 'twolines'], { cwd })
    expect(text.code).toBe(1)
    expect(linesOf(text.stdout).at(-1)).toMatch(
      /^twolines failed after 1 attempt\(s\) in [\d.]+s \(run 1\): first line$/,
    )
    const json = await runCli(['run-job', 'twolines', '--json'], { cwd })
    expect(JSON.parse(json.stdout).error.message).toBe('first line\nsecond line')
  })

  it('logs --run --json: the returned value as a value, and nothing the config prints on stdout', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    expect((await runCli(['run-job', 'backup'], { cwd })).code).toBe(0)
    expect((await runCli(['run-job', 'done'], { cwd })).code).toBe(0)
    const backup = await runCli(['logs', '--run', '1', '--json'], { cwd })
    expect(JSON.parse(backup.stdout)).toMatchObject({ job: 'backup', result: { ok: 1 } })
    const done = await runCli(['logs', '--run', '2', '--json'], { cwd })
    expect(JSON.parse(done.stdout)).toMatchObject({ job: 'done', result: 'done' })
    expect(done.stderr).toBe('loading the config\n')
    for (const command of ['config', 'list-jobs']) {
      const r = await runCli([command, '--json'], { cwd })
      expect(() => JSON.parse(r.stdout), command).not.toThrow()
    }
  })
})

describe.concurrent('run-job and signals', () => {
  const START = / start {2}slow slot /

  it('a first SIGINT says it waits for the job (which then finishes); exit 0', async ({ onTestFinished }) => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const proc = processScope(onTestFinished).start(['run-job', 'slow'], { cwd })
    await proc.waitFor(() => START.test(proc.stderr), 20_000, 'the start line on stderr')
    proc.signal('SIGINT')
    const { code } = await proc.waitExit(15_000)
    expect(proc.errLines()).toContain('SIGINT: stopping, waiting up to 20s for slow to finish (send again to stop now)')
    expect(proc.stdout).toMatch(
      /^loading the config\nconfig hook\nslow succeeded after 1 attempt\(s\) in \d+(\.\d+)?s \(run 1\)\n$/,
    )
    expect(code).toBe(0)
  })

  // The figures printed are read before the stop closes the store (Scheduler.run() would be refused by then).
  it('after a first SIGINT, --json durationMs is the recorded one', async ({ onTestFinished }) => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const proc = processScope(onTestFinished).start(['run-job', 'slow', '--json'], { cwd })
    await proc.waitFor(() => START.test(proc.stderr), 20_000, 'the start line on stderr')
    proc.signal('SIGINT')
    expect((await proc.waitExit(15_000)).code).toBe(0)
    const view = JSON.parse(proc.stdout)
    const logged = JSON.parse((await runCli(['logs', '--run', String(view.runId), '--json'], { cwd })).stdout)
    expect(view.durationMs).toBe(logged.durationMs)
  })

  it('SIGINT during a retry backoff: the cancelled retry as recorded, duration and error', async ({
    onTestFinished,
  }) => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const proc = processScope(onTestFinished).start(['run-job', 'retrying', '--json'], { cwd })
    await proc.waitFor(() => proc.stderr.includes('retry in 30s'), 20_000, 'the first attempt to fail')
    proc.signal('SIGINT')
    expect((await proc.waitExit(15_000)).code).toBe(1)
    const view = JSON.parse(proc.stdout)
    expect(view).toMatchObject({ job: 'retrying', status: 'interrupted', attempts: 2 })
    const logged = JSON.parse((await runCli(['logs', '--run', String(view.runId), '--json'], { cwd })).stdout)
    expect(view.durationMs).toBe(logged.durationMs)
    expect(view.error).toEqual(logged.error)
  })

  it('a second signal stops the job: interrupted, said once on the result line; exit 1', async ({ onTestFinished }) => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const proc = processScope(onTestFinished).start(['run-job', 'slow'], { cwd })
    await proc.waitFor(() => START.test(proc.stderr), 20_000, 'the start line on stderr')
    proc.signal('SIGINT')
    await proc.waitFor(() => proc.stderr.includes('SIGINT: stopping, waiting'), 5_000, 'the waiting line')
    proc.signal('SIGTERM')
    const { code } = await proc.waitExit(15_000)
    expect(proc.errLines()).toContain('SIGTERM: stopping now, what is still running is recorded interrupted')
    const result = linesOf(proc.stdout).at(-1) ?? ''
    expect(result).toMatch(/^slow interrupted after 1 attempt\(s\) in [\d.]+s \(run 1\): \w+/)
    expect(result.match(/interrupted/g)).toHaveLength(1)
    expect(code).toBe(1)
    const [run] = await readRuns(path.join(cwd, 'state.db'))
    expect(run).toMatchObject({ job: 'slow', status: 'interrupted' })
  })

  const HANGUP = `import { defineConfig } from 'cronsjs'
export default defineConfig({
  state: './state.db',
  timezone: 'UTC',
  shutdownGrace: '1s',
  jobs: [{ name: 'long', schedule: '0 3 * * *', command: 'echo $$ > pid; exec sleep 30' }],
})
`

  /** run-job of a command that would run 30 s, its pid once written, and whether it is still running. */
  async function startLong(onTestFinished: (fn: () => void) => void) {
    const cwd = tempDir({ 'crons.config.ts': HANGUP })
    const proc = processScope(onTestFinished).start(['run-job', 'long'], { cwd })
    const pidFile = path.join(cwd, 'pid')
    const pid = await waitUntil(
      () => Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() : 0),
      20_000,
      'the command to write its pid',
    )
    onTestFinished(() => {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    })
    // A zombie waiting to be reaped is not running.
    const running = () => /^[^Z]/.test(spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout)
    return { cwd, proc, running }
  }

  it('SIGHUP stops it as SIGTERM does: the command killed, recorded interrupted', async ({ onTestFinished }) => {
    const { cwd, proc, running } = await startLong(onTestFinished)
    proc.signal('SIGHUP')
    const { code } = await proc.waitExit(15_000)
    expect(proc.errLines()).toContain('SIGHUP: stopping, waiting up to 1s for long to finish (send again to stop now)')
    expect(linesOf(proc.stdout).at(-1)).toMatch(/^long interrupted after 1 attempt\(s\) in [\d.]+s \(run 1\): /)
    expect(code).toBe(1)
    await waitUntil(() => !running(), 3_000, 'the command to be gone')
    const runs = await readRuns(path.join(cwd, 'state.db'))
    expect(runs.map((r) => [r.status, r.active])).toEqual([['interrupted', false]])
  })

  it('SIGHUP with its terminal gone (output fails): it still stops the command and records it', async ({
    onTestFinished,
  }) => {
    const { cwd, proc, running } = await startLong(onTestFinished)
    // Every later write to stdout or stderr fails (EPIPE), as writes to a closed terminal do (EIO).
    proc.child.stdout?.destroy()
    proc.child.stderr?.destroy()
    proc.signal('SIGHUP')
    const { code } = await proc.waitExit(15_000)
    expect(code).toBe(1)
    await waitUntil(() => !running(), 3_000, 'the command to be gone')
    const runs = await readRuns(path.join(cwd, 'state.db'))
    expect(runs.map((r) => [r.status, r.active])).toEqual([['interrupted', false]])
  })
})

describe('the stack of a failed run', () => {
  it("points into crons.config.ts at the throwing line, without the engine's frames", async () => {
    const cwd = tempDir({
      'crons.config.ts': [
        "import { defineConfig } from 'cronsjs'",
        '',
        'export default defineConfig({',
        "  state: './state.db',",
        '  jobs: [',
        '    {',
        "      name: 'broken',",
        "      schedule: '@daily',",
        '      run: () => {',
        "        throw new Error('boom')",
        '      },',
        '    },',
        '  ],',
        '})',
        '',
      ].join('\n'),
    })
    expect((await runCli(['run-job', 'broken'], { cwd })).code).toBe(1)
    const [run] = await readRuns(path.join(cwd, 'state.db'))
    const frames = (run?.errorStack ?? '').split('\n').slice(1)
    expect(frames).toHaveLength(1)
    expect(frames[0]).toContain(`${path.join(cwd, 'crons.config.ts')}:10:`)
  })
})
