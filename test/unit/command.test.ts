/**
 * Command jobs with real child processes (`/bin/sh`, `node`): exit codes, signals, the timeout's
 * SIGTERM then SIGKILL, output lines, cwd, env and the argv form. The adapter is called with a bare
 * `ctx` first, then through the scheduler, whose pipeline bounds and records the output.
 */
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { JobContext, ResolvedCommand } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { type Clock, systemClock, type TimerHandle } from '../../src/core/clock.js'
import { commandRun, commandText } from '../../src/core/command.js'
import { MAX_LINE_CHARS, MAX_LINES } from '../../src/core/output.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { openStore } from '../../src/store/index.js'

const dirs: string[] = []
function tempDir(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'crons-command-')))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

interface Logged {
  level: 'info' | 'warn' | 'error'
  text: string
}

/** A bare context: the adapter needs only `signal` and `log`. */
function context(signal: AbortSignal = new AbortController().signal): { ctx: JobContext; lines: Logged[] } {
  const lines: Logged[] = []
  const log = (level: Logged['level']) => (text: unknown) => void lines.push({ level, text: String(text) })
  const ctx = {
    signal,
    attempt: 1,
    scheduledAt: new Date(),
    trigger: 'manual',
    job: { name: 'cmd', tags: [] },
    log: { info: log('info'), warn: log('warn'), error: log('error') },
  } satisfies JobContext
  return { ctx, lines }
}

function spec(command: ResolvedCommand['command'], extra: Partial<ResolvedCommand> = {}): ResolvedCommand {
  return { command, cwd: process.cwd(), env: {}, killGraceMs: 5_000, ...extra }
}

async function run(command: ResolvedCommand['command'], extra: Partial<ResolvedCommand> = {}, signal?: AbortSignal) {
  const { ctx, lines } = context(signal)
  const outcome = await commandRun(spec(command, extra))(ctx).then(
    (value) => ({ value, error: undefined }),
    (error: Error) => ({ value: undefined, error }),
  )
  return { ...outcome, lines }
}

describe.concurrent('a command job', () => {
  it('succeeds on exit 0, stdout lines as info and stderr lines as error, in order per stream', async () => {
    const r = await run('echo one; echo two; echo oops >&2; printf "no newline"')
    expect(r.error).toBeUndefined()
    expect(r.value).toEqual({ exitCode: 0 })
    expect(r.lines.filter((l) => l.level === 'info').map((l) => l.text)).toEqual(['one', 'two', 'no newline'])
    expect(r.lines.filter((l) => l.level === 'error').map((l) => l.text)).toEqual(['oops'])
  })

  it('runs a string through /bin/sh -c: pipes, redirections and variables work', async () => {
    const dir = tempDir()
    const r = await run(`printf 'b\\na\\n' | sort > out.txt && cat out.txt && echo "$0"`, { cwd: dir })
    expect(r.error).toBeUndefined()
    expect(r.lines.map((l) => l.text)).toEqual(['a', 'b', '/bin/sh'])
  })

  it('fails on a non-zero exit, naming the code and quoting the last stderr lines', async () => {
    const r = await run('echo working; for i in 1 2 3 4; do echo "problem $i" >&2; done; exit 2')
    expect(r.error?.message).toBe('command exited with code 2: problem 2 | problem 3 | problem 4')
    expect(r.error?.stack).toBe('')
    const silent = await run('exit 7')
    expect(silent.error?.message).toBe('command exited with code 7')
  })

  it('fails when killed by a signal, naming the signal', async () => {
    const r = await run('kill -KILL $$')
    expect(r.error?.message).toBe('command was killed by SIGKILL')
  })

  it('on abort (the timeout) sends SIGTERM to the process group: a trap sees it, children die with it', async () => {
    const controller = new AbortController()
    const started = Date.now()
    const running = run(`trap 'echo got TERM; exit 3' TERM; echo ready; sleep 10 & wait`, {}, controller.signal)
    setTimeout(() => controller.abort(new Error('timed out after 0.2s')), 200)
    const r = await running
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(r.lines.map((l) => l.text)).toEqual(['ready', 'got TERM'])
    expect(r.error?.message).toBe('command exited with code 3')
  })

  it('leaves no SIGKILL timer behind once the whole group is gone', async () => {
    const pending = new Set<TimerHandle>()
    const clock: Clock = {
      now: () => systemClock.now(),
      setTimeout: (callback, ms) => {
        const handle: TimerHandle = systemClock.setTimeout(() => {
          pending.delete(handle)
          callback()
        }, ms)
        pending.add(handle)
        return handle
      },
      clearTimeout: (handle) => {
        pending.delete(handle)
        systemClock.clearTimeout(handle)
      },
    }
    const controller = new AbortController()
    const { ctx } = context(controller.signal)
    const running = commandRun(
      spec('echo ready; sleep 10', { killGraceMs: 60_000 }),
      clock,
    )(ctx).catch((error: Error) => error)
    setTimeout(() => controller.abort(new Error('timed out')), 100)
    expect(((await running) as Error).message).toBe('command was killed by SIGTERM')
    // Far sooner than the 60 s grace: only until the dead processes are reaped.
    await waitFor(() => pending.size === 0, 2_000)
  })

  it('sends SIGKILL after the grace to a command that ignores SIGTERM', async () => {
    const controller = new AbortController()
    const marker = path.join(tempDir(), 'still-alive')
    const started = Date.now()
    // Ignored signals stay ignored across exec: the sleep ignores SIGTERM too.
    const running = run(`trap '' TERM; echo ready; sleep 10; touch ${marker}`, { killGraceMs: 300 }, controller.signal)
    setTimeout(() => controller.abort(new Error('timed out')), 150)
    const r = await running
    const took = Date.now() - started
    expect(r.error?.message).toBe('command was killed by SIGKILL')
    expect(took).toBeGreaterThanOrEqual(400)
    expect(took).toBeLessThan(3_000)
    expect(fs.existsSync(marker)).toBe(false)
  })

  it('is not started when its signal is already aborted', async () => {
    const controller = new AbortController()
    controller.abort(new Error('stopping'))
    const r = await run('echo never', {}, controller.signal)
    expect(r.error?.message).toBe('command not started: stopping')
    expect(r.lines).toEqual([])
  })

  it('runs an argv without a shell: arguments are passed as they are', async () => {
    const r = await run([
      process.execPath,
      '-e',
      'console.log(JSON.stringify(process.argv.slice(1)))',
      'a b',
      '$HOME;|',
    ])
    expect(r.error).toBeUndefined()
    expect(r.lines.map((l) => l.text)).toEqual([JSON.stringify(['a b', '$HOME;|'])])
  })

  it('runs in its cwd, with its env over the process environment', async () => {
    const dir = tempDir()
    process.env.CRONS_TEST_INHERITED = 'inherited'
    const r = await run('pwd; echo "$CRONS_TEST_VAR $CRONS_TEST_INHERITED"', {
      cwd: dir,
      env: { CRONS_TEST_VAR: 'set by the job' },
    })
    delete process.env.CRONS_TEST_INHERITED
    expect(r.lines.map((l) => l.text)).toEqual([dir, 'set by the job inherited'])
  })

  it('says when the program or the cwd is not there, or the cwd is not a folder', async () => {
    const missing = await run(['crons-no-such-program'])
    expect(missing.error?.message).toBe('command not found: "crons-no-such-program"')
    const noDir = path.join(tempDir(), 'nope')
    const badCwd = await run('true', { cwd: noDir })
    expect(badCwd.error?.message).toBe(`command could not be started: its cwd ${JSON.stringify(noDir)} does not exist`)
    const file = path.join(tempDir(), 'file')
    fs.writeFileSync(file, '')
    const fileCwd = await run('true', { cwd: file })
    expect(fileCwd.error?.message).toBe(`command could not be started: its cwd ${JSON.stringify(file)} is not a folder`)
    const nul = await run(['echo', 'a\u0000b'])
    expect(nul.error?.message).toMatch(/^command could not be started: /)
    const viaShell = await run('crons-no-such-program')
    expect(viaShell.error?.message).toMatch(/^command exited with code 127: .*crons-no-such-program.*not found/)
  })

  it('does not wait for a background process that keeps its output open', async () => {
    const started = Date.now()
    const r = await run('sleep 3 & echo done')
    expect(r.error).toBeUndefined()
    expect(r.lines.map((l) => l.text)).toEqual(['done'])
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('cuts a line longer than a log line as it arrives', async () => {
    const r = await run([process.execPath, '-e', `process.stdout.write('x'.repeat(100000) + '\\nshort\\n')`])
    expect(r.lines.map((l) => l.text.length)).toEqual([MAX_LINE_CHARS, 5])
    expect(r.lines[0]?.text.endsWith('...')).toBe(true)
  })
})

describe('commandText', () => {
  it('shows a shell line as written and an argv quoted as a shell would need', () => {
    expect(commandText('pg_dump db > /tmp/x.sql')).toBe('pg_dump db > /tmp/x.sql')
    expect(commandText(['node', 'scripts/report.js', '--to', 'a b', "it's"])).toBe(
      `node scripts/report.js --to 'a b' 'it'\\''s'`,
    )
  })
})

describe('a command job in the scheduler', () => {
  const schedulers: Scheduler[] = []
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.stop({ graceMs: 0 })
  })

  async function scheduler(job: Record<string, unknown>, configDir = process.cwd()) {
    const store = await openStore(':memory:')
    const config = validateConfig(
      { timezone: 'UTC', jobs: [{ name: 'cmd', schedule: '0 3 * * *', ...job }] },
      { file: 'test', configDir },
    )
    const s = new Scheduler(config, { store })
    schedulers.push(s)
    const output = async (runId: number) => {
      const row = (await store.listRuns({ limit: 100 })).find((r) => r.id === runId)
      return { row, lines: JSON.parse(row?.output ?? '[]') as Logged[] }
    }
    return { s, store, output }
  }

  it('records success with the exit code as the result and the output with the attempt', async () => {
    const { s, output } = await scheduler({ command: 'echo hello; echo warning >&2' })
    const result = await s.runJob('cmd')
    expect(result).toMatchObject({ status: 'succeeded', attempts: 1 })
    const { row, lines } = await output(result.runId)
    expect(row?.result).toBe('{"exitCode":0}')
    expect(lines.map((l) => [l.level, l.text])).toEqual([
      ['info', 'hello'],
      ['error', 'warning'],
    ])
  })

  it('retries a failing command and records the exit code of each attempt', async () => {
    const { s, store } = await scheduler({ command: 'echo nope >&2; exit 4', retry: { max: 1, initial: '10ms' } })
    const result = await s.runJob('cmd')
    expect(result).toMatchObject({
      status: 'failed',
      attempts: 2,
      error: { message: 'command exited with code 4: nope' },
    })
    const rows = await store.listRuns({ limit: 10 })
    expect(rows.map((r) => [r.status, r.errorMessage])).toEqual([
      ['failed', 'command exited with code 4: nope'],
      ['failed', 'command exited with code 4: nope'],
    ])
  })

  it('times out: recorded timed_out at the deadline, the command stopped with SIGTERM', async () => {
    const marker = path.join(tempDir(), 'got-term')
    const { s } = await scheduler({ command: `trap 'touch ${marker}; exit 0' TERM; sleep 10 & wait`, timeout: 0.3 })
    const started = Date.now()
    const result = await s.runJob('cmd')
    expect(result).toMatchObject({ status: 'timed_out', error: { message: 'timed out after 0.3s' } })
    expect(Date.now() - started).toBeLessThan(3_000)
    await waitFor(() => fs.existsSync(marker), 3_000)
  })

  it('cancelled: recorded cancelled at once, the command stopped with SIGTERM, no retry', async () => {
    const marker = path.join(tempDir(), 'got-term')
    const { s, store } = await scheduler({
      command: `trap 'touch ${marker}; exit 0' TERM; echo ready; sleep 10 & wait`,
      retry: { max: 2, initial: '10ms' },
    })
    // Cancelled once the shell has set its trap and said so.
    const ready = new Promise<number>((resolve) =>
      s.events.on('run:log', (e) => e.text === 'ready' && resolve(e.runId)),
    )
    const result = s.runJob('cmd')
    const runId = await ready
    const view = await s.cancel(runId)
    expect(view).toMatchObject({ status: 'cancelled', error: { message: 'cancelled by request' } })
    expect(await result).toMatchObject({ status: 'cancelled', attempts: 1 })
    await waitFor(() => fs.existsSync(marker), 3_000)
    expect((await store.listRuns({ limit: 10 })).map((r) => r.status)).toEqual(['cancelled'])
  })

  it('bounds the output kept with the attempt like ctx.log output', async () => {
    const { s, output } = await scheduler({ command: `i=0; while [ $i -lt 250 ]; do echo "line $i"; i=$((i+1)); done` })
    const result = await s.runJob('cmd')
    const { lines } = await output(result.runId)
    expect(lines).toHaveLength(MAX_LINES + 1)
    expect(lines[0]?.text).toBe('line 0')
    expect(lines.at(-1)?.text).toBe(`[50 more line(s) dropped: output is kept up to ${MAX_LINES} lines]`)
  })

  it('runs in a cwd relative to the config folder, by default that folder', async () => {
    const dir = tempDir()
    fs.mkdirSync(path.join(dir, 'sub'))
    const relative = await scheduler({ command: 'pwd', cwd: 'sub' }, dir)
    const r1 = await relative.s.runJob('cmd')
    expect((await relative.output(r1.runId)).lines.map((l) => l.text)).toEqual([path.join(dir, 'sub')])
    const byDefault = await scheduler({ command: ['pwd'] }, dir)
    const r2 = await byDefault.s.runJob('cmd')
    expect((await byDefault.output(r2.runId)).lines.map((l) => l.text)).toEqual([dir])
  })
})
