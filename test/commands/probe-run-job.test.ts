/**
 * Probes of `crons run-job` (spawned bin/run.js, needs `npm run build`): every outcome's exit code,
 * last line and --json document, against docs/cli.md.
 */
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { linesOf, processScope, readRuns, runCli, tempDir, useBuiltCli, waitUntil } from '../e2e/helpers.js'

useBuiltCli()

const CONFIG = `import { defineConfig } from 'cronsjs'
let n = 0
export default defineConfig({
  state: './state.db',
  timezone: 'UTC',
  shutdownGrace: '5s',
  hooks: {
    beforeRun: (ctx) => console.error('HOOK before ' + ctx.attempt),
    afterRun: (ctx) => console.error('HOOK after ' + ctx.attempt + ' ' + ctx.status + ' final=' + ctx.final),
    onError: (ctx) => console.error('HOOK onError ' + ctx.attempt + ' final=' + ctx.final),
  },
  jobs: [
    { name: 'ok', schedule: '0 3 * * *', run: () => 'fine' },
    { name: 'fail', schedule: '0 3 * * *', run: () => { throw new Error('boom') } },
    { name: 'multiline', schedule: '0 3 * * *', run: () => { throw new Error('first line\\nsecond line') } },
    {
      name: 'flaky', schedule: '0 3 * * *', retry: { max: 2, backoff: 'constant', initial: '1s' },
      run: () => { n++; if (n < 3) throw new Error('flake ' + n); return n },
    },
    {
      name: 'retrylong', schedule: '0 3 * * *', retry: { max: 2, backoff: 'constant', initial: '30s' },
      run: () => { throw new Error('nope') },
    },
    { name: 'hang', schedule: '0 3 * * *', timeout: '1s', run: () => new Promise(() => { setInterval(() => {}, 1000) }) },
    { name: 'off', schedule: '0 3 * * *', enabled: false, run: () => 'off ran' },
    { name: 'cmd', schedule: '0 3 * * *', command: 'echo out1; echo err1 >&2; exit 3' },
    { name: 'long', schedule: '0 3 * * *', command: 'sleep 30' },
  ],
})
`

const RESULT = (job: string, status: string) =>
  new RegExp(`^${job} ${status} after \\d+ attempt\\(s\\) in [\\d.]+s \\(run \\d+\\)`)

describe('run-job: the run figures printed are the recorded ones', () => {
  it('BUG: SIGINT during a retry backoff: --json durationMs is not the recorded attempt duration', async ({
    onTestFinished,
  }) => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const proc = processScope(onTestFinished).start(['run-job', 'retrylong', '--json'], { cwd })
    await proc.waitFor(() => proc.stderr.includes('retry in 30s'), 20_000, 'the first attempt to fail')
    await new Promise((r) => setTimeout(r, 1000))
    proc.signal('SIGINT')
    const { code } = await proc.waitExit(15_000)
    expect(code).toBe(1)
    const view = JSON.parse(proc.stdout)
    expect(view).toMatchObject({ job: 'retrylong', status: 'interrupted', attempts: 2 })
    const logged = JSON.parse((await runCli(['logs', '--run', String(view.runId), '--json'], { cwd })).stdout)
    // docs/cli.md: "the run's last attempt as it was recorded; durationMs and error ... as logs --run ID --json gives them"
    expect(view.durationMs).toBe(logged.durationMs)
  })

  it('BUG: a first SIGINT while the job runs on: --json durationMs is not the recorded one', async ({
    onTestFinished,
  }) => {
    const cwd = tempDir({
      'crons.config.ts': `import { defineConfig } from 'cronsjs'
export default defineConfig({
  state: './state.db',
  shutdownGrace: '20s',
  jobs: [{ name: 'slow', schedule: '0 3 * * *', run: () => new Promise((r) => setTimeout(() => r('x'), 1500)) }],
})
`,
    })
    const proc = processScope(onTestFinished).start(['run-job', 'slow', '--json'], { cwd })
    await proc.waitFor(() => / start {2}slow /.test(proc.stderr), 20_000, 'the start line')
    proc.signal('SIGINT')
    const { code } = await proc.waitExit(15_000)
    expect(code).toBe(0)
    const view = JSON.parse(proc.stdout)
    const logged = JSON.parse((await runCli(['logs', '--run', String(view.runId), '--json'], { cwd })).stdout)
    expect(view.durationMs).toBe(logged.durationMs)
  })

  it('BUG?: a multi-line error: the last line of stdout is not the result line', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const r = await runCli(['run-job', 'multiline'], { cwd })
    expect(r.code).toBe(1)
    expect(linesOf(r.stdout).at(-1)).toMatch(RESULT('multiline', 'failed'))
  })
})

describe.concurrent('run-job outcomes (passing probes)', () => {
  it('succeeded: exit 0, result line; --json one document', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const r = await runCli(['run-job', 'ok'], { cwd })
    expect(r.code).toBe(0)
    expect(linesOf(r.stdout).at(-1)).toMatch(RESULT('ok', 'succeeded'))
    const j = await runCli(['run-job', 'ok', '--json'], { cwd })
    expect(j.code).toBe(0)
    expect(JSON.parse(j.stdout)).toMatchObject({ job: 'ok', status: 'succeeded', attempts: 1, error: null })
  })

  it('failed: exit 1, error on the result line, hooks once each', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const r = await runCli(['run-job', 'fail'], { cwd })
    expect(r.code).toBe(1)
    expect(linesOf(r.stdout).at(-1)).toMatch(/^fail failed after 1 attempt\(s\) in [\d.]+s \(run 1\): boom$/)
    expect(linesOf(r.stderr).filter((l) => l.startsWith('HOOK'))).toEqual([
      'HOOK before 1',
      'HOOK after 1 failed final=true',
      'HOOK onError 1 final=true',
    ])
  })

  it('retries: backoff waited, each attempt printed once, hooks told final/willRetry', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const r = await runCli(['run-job', 'flaky', '--json'], { cwd })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'succeeded', attempts: 3 })
    const err = linesOf(r.stderr)
    expect(err.filter((l) => / start {2}flaky /.test(l))).toHaveLength(3)
    expect(err.filter((l) => / finish flaky /.test(l))).toHaveLength(3)
    expect(err.filter((l) => l.startsWith('HOOK'))).toEqual([
      'HOOK before 1',
      'HOOK after 1 failed final=false',
      'HOOK onError 1 final=false',
      'HOOK before 2',
      'HOOK after 2 failed final=false',
      'HOOK onError 2 final=false',
      'HOOK before 3',
      'HOOK after 3 succeeded final=true',
    ])
    const runs = await readRuns(path.join(cwd, 'state.db'))
    expect(runs.map((x) => x.status)).toEqual(['failed', 'failed', 'succeeded'])
    expect((runs[1]?.startedAt ?? 0) - (runs[0]?.finishedAt ?? 0)).toBeGreaterThanOrEqual(990)
  })

  it('timed_out (--timeout 0.5 overrides the job; job ignores its signal): exit 1, prompt exit', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const r = await runCli(['run-job', 'hang', '--timeout', '0.5', '--json'], { cwd })
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout)).toMatchObject({
      status: 'timed_out',
      error: { message: 'timed out after 0.5s', stack: null },
    })
    expect(r.ms).toBeLessThan(5000)
  })

  it('--timeout bad / -1: exit 2, one error line, stdout empty with --json', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    for (const value of ['bad', '-1']) {
      const r = await runCli(['run-job', 'ok', '--timeout', value, '--json'], { cwd })
      expect(r.code).toBe(2)
      expect(r.stdout).toBe('')
      expect(linesOf(r.stderr)).toHaveLength(1)
    }
  })

  it('disabled: exit 2 with the --force hint; --force runs it', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const r = await runCli(['run-job', 'off'], { cwd })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('pass --force to run it anyway')
    expect((await runCli(['run-job', 'off', '--force'], { cwd })).code).toBe(0)
  })

  it('unknown job: exit 2, did you mean', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const r = await runCli(['run-job', 'fial'], { cwd })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('did you mean "fail"?')
  })

  it('command job: its stdout/stderr lines printed, exit code in the error, exit 1', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const r = await runCli(['run-job', 'cmd'], { cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/log {4}cmd info out1/)
    expect(r.stderr).toMatch(/log {4}cmd error err1/)
    expect(linesOf(r.stdout).at(-1)).toMatch(/^cmd failed .*: command exited with code 3/)
  })

  it('second run-job refused (exit 5) naming the first; crons cancel stops the first (exit 1, cancelled)', async ({
    onTestFinished,
  }) => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const first = processScope(onTestFinished).start(['run-job', 'long', '--json'], { cwd })
    await first.waitFor(() => / start {2}long /.test(first.stderr), 20_000, 'the start line')
    const second = await runCli(['run-job', 'long'], { cwd })
    expect(second.code).toBe(5)
    expect(second.stderr).toMatch(/already running: run 1 on instance .* \(host .*, pid \d+\)/)
    expect(second.stderr).toContain('pass --force to run it anyway')
    const cancel = await runCli(['cancel', '1'], { cwd })
    expect(cancel.code).toBe(0)
    const { code } = await first.waitExit(15_000)
    expect(code).toBe(1)
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'cancelled', error: { message: 'cancelled by request' } })
    expect(first.stderr).not.toContain('HOOK onError')
    await waitUntil(async () => (await readRuns(path.join(cwd, 'state.db'))).length === 1, 2000, 'one row')
  })
})
