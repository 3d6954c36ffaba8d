/**
 * The engine through the real CLI (SEMANTICS §3–§8): exactly-once across two processes, kill -9 and
 * reaping, catch-up after downtime, shutdown on SIGTERM/SIGINT, run-job, and what start-scheduler
 * prints. Every test owns its processes (processScope) and they run concurrently: the slowest one
 * (reaping waits for a 30 s heartbeat TTL) sets the file's wall time.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { StatusView } from '../../src/core/views.js'
import { type AttemptRecord, openStore } from '../../src/store/index.js'
import {
  ANSI,
  type CliProcess,
  detailOf,
  ISO,
  linesOf,
  processScope,
  readRuns,
  runCli,
  tempDir,
  useBuiltCli,
  waitUntil,
} from './helpers.js'

useBuiltCli()

/** A config file: `state.db` beside it, UTC, and the given jobs (TypeScript source of the array). */
function config(jobs: string, options: { shutdownGrace?: number; imports?: string } = {}): string {
  return `import { defineConfig } from 'cronsjs'
${options.imports ?? ''}
export default defineConfig({
  state: './state.db',
  timezone: 'UTC',
  ${options.shutdownGrace === undefined ? '' : `shutdownGrace: ${options.shutdownGrace},`}
  jobs: ${jobs},
})
`
}

const START = new RegExp(`^(${ISO.source}) start  (\\S+) slot (${ISO.source}) attempt (\\d+) \\(([\\w-]+)\\)$`)
const FINISH = new RegExp(`^(${ISO.source}) finish (\\S+) slot (${ISO.source}) attempt (\\d+) (\\w+) in (.+?)(: .*)?$`)

/** The instance id a text-mode scheduler printed in its start-up summary. */
async function instanceOf(proc: CliProcess): Promise<string> {
  const line = await proc.waitForLine(/^ {2}instance {2}\S+$/, 30_000)
  return line.trim().split(/\s+/)[1] as string
}

/** Finish lines of a job with a status, parsed. */
function finishes(proc: CliProcess, job: string, status?: string): Array<{ slot: string; status: string }> {
  return proc
    .lines()
    .map((line) => FINISH.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2] === job && (status === undefined || m[5] === status))
    .map((m) => ({ slot: m[3] as string, status: m[5] as string }))
}

function noErrorLines(proc: CliProcess): void {
  expect(proc.stderr).toBe('')
  expect(proc.stdout).not.toMatch(/SQLITE_|error|locked|busy/i)
}

describe.concurrent('start-scheduler', () => {
  it('two schedulers on one state file fire every slot exactly once, no gaps, no errors (§3)', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir()
    const slotsFile = path.join(cwd, 'slots.txt')
    fs.writeFileSync(
      path.join(cwd, 'crons.config.ts'),
      config(
        `[{ name: 'tick', schedule: '*/2 * * * * *', run: (ctx) => { appendFileSync(${JSON.stringify(slotsFile)}, ctx.scheduledAt.toISOString() + '\\n') } }]`,
        { imports: "import { appendFileSync } from 'node:fs'" },
      ),
    )
    const state = path.join(cwd, 'state.db')
    // Both start at once: they also race to create and migrate the state file.
    const a = procs.start(['start-scheduler'], { cwd })
    const b = procs.start(['start-scheduler'], { cwd })
    const ids = await Promise.all([instanceOf(a), instanceOf(b)])
    expect(ids[0]).not.toBe(ids[1])

    // At least 20 s of slots served.
    await waitUntil(
      async () => {
        const done = (await readRuns(state)).filter((r) => r.status !== 'running')
        return done.length > 0 && (done.at(-1) as AttemptRecord).slot - (done[0] as AttemptRecord).slot >= 20_000
      },
      50_000,
      'runs spanning 20 s',
      500,
    )
    a.signal('SIGTERM')
    b.signal('SIGTERM')
    const [ea, eb] = await Promise.all([a.waitExit(20_000), b.waitExit(20_000)])
    expect([ea.code, eb.code]).toEqual([0, 0])

    const runs = await readRuns(state)
    expect(runs.length).toBeGreaterThanOrEqual(11)
    for (const run of runs) {
      expect(run).toMatchObject({ job: 'tick', status: 'succeeded', trigger: 'schedule', attempt: 1, active: false })
      expect(ids).toContain(run.instanceId)
      expect(run.slot % 2000).toBe(0)
    }
    const slots = runs.map((r) => r.slot).sort((x, y) => x - y)
    expect(new Set(slots).size).toBe(slots.length)
    for (let i = 1; i < slots.length; i++) expect((slots[i] as number) - (slots[i - 1] as number)).toBe(2000)
    // The job's own side effect happened exactly once per slot too.
    const written = linesOf(fs.readFileSync(slotsFile, 'utf8')).sort()
    expect(written).toEqual(slots.map((s) => new Date(s).toISOString()))
    // Every slot printed one start and one finish line in total across the two processes.
    const printed = [...finishes(a, 'tick'), ...finishes(b, 'tick')].map((f) => Date.parse(f.slot)).sort()
    expect(printed).toEqual(slots)
    noErrorLines(a)
    noErrorLines(b)
  }, 90_000)

  it('kill -9 during a run: a restart on the same host interrupts the run at once, nothing else is lost (§7)', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir()
    const block = path.join(cwd, 'block')
    fs.writeFileSync(
      path.join(cwd, 'crons.config.ts'),
      config(
        `[{
          name: 'work',
          schedule: '*/2 * * * * *',
          run: async (ctx) => {
            if (existsSync(${JSON.stringify(block)})) {
              rmSync(${JSON.stringify(block)})
              ctx.log.info('blocking')
              await new Promise((resolve) => setTimeout(resolve, 30_000))
            }
          },
        }]`,
        { imports: "import { existsSync, rmSync } from 'node:fs'" },
      ),
    )
    const state = path.join(cwd, 'state.db')
    const a = procs.start(['start-scheduler'], { cwd })
    const idA = await instanceOf(a)
    await a.waitFor(() => finishes(a, 'work', 'succeeded').length >= 2, 20_000, 'two succeeded runs')
    fs.writeFileSync(block, '')
    await a.waitForLine(/ log {4}work info blocking$/, 10_000)
    await a.kill9()

    const beforeRestart = await readRuns(state)
    const blocked = beforeRestart.filter((r) => r.status === 'running')
    expect(blocked).toHaveLength(1)
    const blockedRun = blocked[0] as AttemptRecord
    expect(blockedRun.instanceId).toBe(idA)
    const earlier = beforeRestart.filter((r) => r.status === 'succeeded')
    expect(earlier.length).toBeGreaterThanOrEqual(2)

    // A's process is gone and it ran on this host: B does not wait for A's heartbeat to expire.
    const b = procs.start(['start-scheduler'], { cwd })
    const idB = await instanceOf(b)
    await b.waitForLine(
      `reaped run(s) ${blockedRun.id} marked interrupted: the process running them stopped heartbeating`,
      5000,
    )
    // Nor does anything call A alive within its lease: B names no peer, status counts one scheduler.
    await b.waitForLine(/^ {2}jobs {6}\d+$/, 5000)
    expect(b.lines().filter((line) => /^ {2}peers /.test(line))).toEqual([])
    const status = await runCli(['status', '--json'], { cwd })
    expect(status.code).toBe(0)
    const instances = (JSON.parse(status.stdout) as StatusView).instances.map((i) => [i.id, i.alive])
    expect(instances).toEqual(
      expect.arrayContaining([
        [idA, false],
        [idB, true],
      ]),
    )
    const reaped = (await readRuns(state)).find((r) => r.id === blockedRun.id)
    expect(reaped).toMatchObject({
      job: 'work',
      slot: blockedRun.slot,
      instanceId: idA,
      status: 'interrupted',
      active: false,
    })
    expect(reaped?.errorMessage).toContain(idA)
    // Its duration runs to A's last sign of life, not zero.
    expect(reaped?.finishedAt).not.toBeNull()
    // No slot of B's is skipped behind the dead run; the job runs again, on B.
    await waitUntil(
      async () =>
        (await readRuns(state)).some(
          (r) => r.instanceId === idB && r.status === 'succeeded' && r.slot > (reaped?.slot ?? 0),
        ),
      15_000,
      'a succeeded run on the restarted scheduler',
      500,
    )
    expect(b.lines().some((line) => / skip {3}work slot /.test(line))).toBe(false)
    b.signal('SIGTERM')
    expect((await b.waitExit(15_000)).code).toBe(0)

    const after = await readRuns(state)
    // Nothing that was there is lost or changed.
    for (const run of earlier) expect(after.find((r) => r.id === run.id)).toEqual(run)
    const slots = after.filter((r) => r.status !== 'skipped').map((r) => r.slot)
    expect(new Set(slots).size).toBe(slots.length)
    expect(after.filter((r) => r.status === 'running')).toEqual([])
    expect(after.every((r) => ['succeeded', 'interrupted', 'skipped', 'missed'].includes(r.status))).toBe(true)
    // The slots of the downtime but the latest are one missed record (§4), not a run or skip each.
    expect(after.filter((r) => r.status === 'missed').length).toBeLessThanOrEqual(1)
    noErrorLines(b)
  }, 120_000)

  it('downtime with catchUp: true gives ONE catch-up run that says how many slots were missed (§4)', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir()
    const missedFile = path.join(cwd, 'missed.json')
    fs.writeFileSync(
      path.join(cwd, 'crons.config.ts'),
      config(
        `[{
          name: 'catchy',
          schedule: '*/10 * * * * *',
          catchUp: true,
          misfireGrace: '1s',
          run: (ctx) => {
            if (ctx.missed) {
              appendFileSync(${JSON.stringify(missedFile)}, JSON.stringify({
                trigger: ctx.trigger,
                scheduledAt: ctx.scheduledAt.toISOString(),
                count: ctx.missed.count,
                first: ctx.missed.first.toISOString(),
                last: ctx.missed.last.toISOString(),
              }) + '\\n')
            }
          },
        }]`,
        { imports: "import { appendFileSync } from 'node:fs'" },
      ),
    )
    const state = path.join(cwd, 'state.db')
    const a = procs.start(['start-scheduler'], { cwd })
    const first = await a.waitFor(() => finishes(a, 'catchy', 'succeeded')[0], 25_000, 'a succeeded run')
    a.signal('SIGTERM')
    expect((await a.waitExit(15_000)).code).toBe(0)
    const served = Date.parse(first.slot)

    // The outage: slots served+10 s and served+20 s pass with nothing running. Restarting at
    // served+21 s puts both beyond their 1 s misfire grace and the next slot (served+30 s) 9 s
    // away, whatever the start-up time.
    await waitUntil(() => Date.now() >= served + 21_000, 30_000, 'the outage', 50)
    const b = procs.start(['start-scheduler'], { cwd })
    const missedLine = await b.waitForLine(/ missed catchy /, 20_000)
    const catchUp = await waitUntil(
      async () => (await readRuns(state)).find((r) => r.trigger === 'catch-up' && r.status === 'succeeded'),
      15_000,
      'the catch-up run',
      250,
    )
    b.signal('SIGTERM')
    expect((await b.waitExit(15_000)).code).toBe(0)

    const runs = await readRuns(state)
    const catchUps = runs.filter((r) => r.trigger === 'catch-up')
    expect(catchUps).toHaveLength(1)
    expect(runs.filter((r) => r.status === 'missed')).toEqual([])
    const detail = detailOf(catchUp) as { count: number; first: number; last: number }
    expect(detail.first).toBe(served + 10_000)
    expect(detail.last).toBe(catchUp.slot)
    expect(detail.count).toBe((detail.last - detail.first) / 10_000 + 1)
    expect(detail.count).toBeGreaterThanOrEqual(2)
    const iso = (ms: number) => new Date(ms).toISOString()
    expect(missedLine).toMatch(
      ` missed catchy ${detail.count} slot(s) from ${iso(detail.first)} to ${iso(detail.last)}, catching up once for the latest`,
    )
    // The job saw it in ctx.missed, once.
    expect(linesOf(fs.readFileSync(missedFile, 'utf8')).map((l) => JSON.parse(l))).toEqual([
      {
        trigger: 'catch-up',
        scheduledAt: iso(catchUp.slot),
        count: detail.count,
        first: iso(detail.first),
        last: iso(detail.last),
      },
    ])
    // Before: the served slot; after: only slots later than the catch-up, as normal runs.
    for (const run of runs.filter((r) => r.id !== catchUp.id)) {
      expect(run.trigger).toBe('schedule')
      expect(run.slot === served || run.slot > catchUp.slot).toBe(true)
    }
    noErrorLines(a)
    noErrorLines(b)
  }, 90_000)

  it('its output gone (the reader of its pipe or its terminal closed): it goes on running jobs, and stops on SIGTERM', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({
      'crons.config.ts': config(`[{ name: 'tick', schedule: '* * * * * *', run: () => { console.log('tick') } }]`),
    })
    const proc = procs.start(['start-scheduler'], { cwd })
    await proc.waitForLine(/ finish tick /, 20_000)
    // Every later write to stdout or stderr fails (EPIPE), as writes to a closed terminal do (EIO).
    proc.child.stdout?.destroy()
    proc.child.stderr?.destroy()
    const state = path.join(cwd, 'state.db')
    const before = (await readRuns(state)).filter((r) => r.status === 'succeeded').length
    await waitUntil(
      async () => (await readRuns(state)).filter((r) => r.status === 'succeeded').length >= before + 2,
      15_000,
      'two more runs recorded after its output went',
    )
    proc.signal('SIGTERM')
    expect((await proc.waitExit(15_000)).code).toBe(0)
    expect((await readRuns(state)).filter((r) => r.status === 'running')).toEqual([])
  })

  it('SIGTERM while a job runs: waits for it within shutdownGrace, records succeeded, exits 0 (§7)', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({
      'crons.config.ts': config(
        `[{ name: 'slow', schedule: '*/2 * * * * *', run: async () => { await new Promise((r) => setTimeout(r, 2000)); return 'done' } }]`,
        { shutdownGrace: 10 },
      ),
    })
    const proc = procs.start(['start-scheduler'], { cwd })
    const start = START.exec(await proc.waitForLine(START, 20_000)) as RegExpExecArray
    const signalledAt = Date.now()
    proc.signal('SIGTERM')
    const exit = await proc.waitExit(20_000)
    expect(exit.code).toBe(0)

    const runs = await readRuns(path.join(cwd, 'state.db'))
    expect(runs).toHaveLength(1)
    const run = runs[0] as AttemptRecord
    expect(run).toMatchObject({
      job: 'slow',
      slot: Date.parse(start[3] as string),
      status: 'succeeded',
      result: '"done"',
    })
    expect(run.durationMs).toBeGreaterThanOrEqual(1900)
    expect(run.finishedAt as number).toBeGreaterThanOrEqual(signalledAt)
    expect(proc.exitedAt as number).toBeGreaterThanOrEqual(run.finishedAt as number)
    // The order on stdout: stopping, the run's finish, stopped.
    const lines = proc.lines()
    const stopping = lines.indexOf(
      'SIGTERM: stopping, waiting up to 10s for running jobs to finish (send again to stop now)',
    )
    const finished = lines.findIndex((l) => FINISH.test(l) && l.includes(' succeeded in '))
    const stopped = lines.indexOf('scheduler stopped')
    expect(stopping).toBeGreaterThan(-1)
    expect(finished).toBeGreaterThan(stopping)
    expect(stopped).toBeGreaterThan(finished)
    expect(stopped).toBe(lines.length - 1)
    noErrorLines(proc)
  })

  /**
   * Jobs that never finish and ignore ctx.signal. "timer" waits on a pending timer (what a hung HTTP
   * request or a sleep looks like to Node); "promise" is a promise nothing will ever settle, which
   * keeps nothing alive.
   */
  const HANGS = {
    timer: 'new Promise((resolve) => setTimeout(resolve, 3_600_000))',
    promise: 'new Promise(() => {})',
  }

  for (const [kind, hang] of Object.entries(HANGS)) {
    it(`SIGTERM with a job that hangs forever (${kind}) and shutdownGrace 1: interrupted, exit 0 (§7)`, async ({
      onTestFinished,
    }) => {
      const procs = processScope(onTestFinished)
      const cwd = tempDir({
        'crons.config.ts': config(`[{ name: 'hang', schedule: '*/2 * * * * *', run: () => ${hang} }]`, {
          shutdownGrace: 1,
        }),
      })
      const state = path.join(cwd, 'state.db')
      const proc = procs.start(['start-scheduler'], { cwd })
      await proc.waitForLine(START, 20_000)
      const signalledAt = Date.now()
      proc.signal('SIGTERM')
      await proc.waitForLine('scheduler stopped', 10_000)
      const runs = await readRuns(state)
      expect(runs).toHaveLength(1)
      expect(runs[0]).toMatchObject({
        job: 'hang',
        status: 'interrupted',
        errorMessage: 'interrupted: the scheduler shut down before the job finished',
        // The stopped process holds the job no longer (status does not list it as still executing).
        active: false,
      })
      // The finish line says "interrupted" once.
      const finish = proc.lines().find((l) => FINISH.test(l) && l.includes(' hang '))
      expect(finish).toMatch(/ interrupted in [^:]+: the scheduler shut down before the job finished$/)
      expect((runs[0] as AttemptRecord).finishedAt as number).toBeGreaterThanOrEqual(signalledAt + 900)
      // ...and the process is gone: it must not wait for the job's code (that is what the grace is for).
      const exit = await proc.waitExit(5000)
      expect(exit.code).toBe(0)
    })

    it(`a second SIGINT stops at once (${kind} hang, shutdownGrace 30), still recording interrupted (§7)`, async ({
      onTestFinished,
    }) => {
      const procs = processScope(onTestFinished)
      const cwd = tempDir({
        'crons.config.ts': config(`[{ name: 'hang', schedule: '*/2 * * * * *', run: () => ${hang} }]`, {
          shutdownGrace: 30,
        }),
      })
      const state = path.join(cwd, 'state.db')
      const proc = procs.start(['start-scheduler'], { cwd })
      await proc.waitForLine(START, 20_000)
      proc.signal('SIGINT')
      await proc.waitForLine(
        'SIGINT: stopping, waiting up to 30s for running jobs to finish (send again to stop now)',
        5000,
      )
      const secondAt = Date.now()
      proc.signal('SIGINT')
      await proc.waitForLine('SIGINT: stopping now, what is still running is recorded interrupted', 5000)
      await proc.waitForLine('scheduler stopped', 5000)
      const runs = await readRuns(state)
      expect(runs).toHaveLength(1)
      expect(runs[0]).toMatchObject({ job: 'hang', status: 'interrupted' })
      const exit = await proc.waitExit(5000)
      expect(exit.code).toBe(0)
      expect((proc.exitedAt as number) - secondAt).toBeLessThan(5000)
    })
  }

  it('its state file replaced while it runs (a backup restored with cp and mv): exit 1, the file now there left byte for byte, the open database saved beside it with what the stop wrote', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({ 'crons.config.ts': config(`[{ name: 'tick', schedule: '* * * * * *', run: () => {} }]`) })
    // Another crons state, the one restored: one job, paused, no runs.
    const other = tempDir({ 'crons.config.ts': config(`[{ name: 'x', schedule: '0 0 1 1 *', run: () => {} }]`) })
    expect((await runCli(['pause-job', 'x'], { cwd: other })).code).toBe(0)
    const restored = fs.readFileSync(path.join(other, 'state.db'))
    const state = path.join(cwd, 'state.db')
    const proc = procs.start(['start-scheduler', '--heartbeat', '500ms', '--instance-ttl', '2s'], { cwd })
    await proc.waitFor(() => finishes(proc, 'tick').length >= 2, 15_000, 'two runs')
    fs.copyFileSync(path.join(other, 'state.db'), `${state}.new`)
    fs.renameSync(`${state}.new`, state)
    expect((await proc.waitExit(15_000)).code).toBe(1)
    const said = `error: state file ${state} was replaced by another file while in use; saved the open database to `
    expect(proc.errLines()).toEqual([expect.stringMatching(new RegExp(`^${said}${state}\\.saved-\\S+$`))])
    const saved = (proc.errLines()[0] as string).slice(said.length)
    // No -wal or -shm of the old database under the name: the next program opening the file would replay them onto it.
    const files = fs.readdirSync(cwd).filter((name) => name.startsWith('state.db'))
    expect(files.sort()).toEqual(['state.db', path.basename(saved)])
    expect(fs.readFileSync(state).equals(restored)).toBe(true)
    // Every outcome the scheduler printed, and its stop, are in the saved copy.
    const runs = await readRuns(saved)
    expect(runs.filter((r) => r.status === 'succeeded')).toHaveLength(finishes(proc, 'tick', 'succeeded').length)
    expect(runs.filter((r) => r.status === 'running' || r.active)).toEqual([])
    const store = await openStore(saved, { readonly: true })
    const instances = await store.listInstances().finally(() => store.close())
    expect(instances.map((i) => i.stoppedAt !== null)).toEqual([true])
  })

  it('prints the start-up summary and one line per attempt start and finish (text)', async ({ onTestFinished }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({
      'crons.config.ts': config(`[
        { name: 'tick', schedule: '*/2 * * * * *', run: (ctx) => { ctx.log.info('hello from', ctx.job.name) } },
        { name: 'new-year', schedule: '0 0 1 1 *', tz: 'America/New_York', run: () => {} },
      ]`),
    })
    const proc = procs.start(['start-scheduler'], { cwd })
    await proc.waitFor(() => finishes(proc, 'tick').length >= 2, 20_000, 'two finished runs')
    proc.signal('SIGTERM')
    expect((await proc.waitExit(15_000)).code).toBe(0)
    expect(proc.stdout).not.toMatch(ANSI)
    const lines = proc.lines()
    expect(lines[0]).toBe('crons scheduler started')
    expect(lines[1]).toBe(`  config    ${path.join(cwd, 'crons.config.ts')}`)
    expect(lines[2]).toBe(`  state     ${path.join(cwd, 'state.db')}`)
    expect(lines[3]).toMatch(/^ {2}instance {2}\S+-\d+-[0-9a-f]{6}$/)
    expect(lines[4]).toBe('  jobs      2')
    expect(lines[5]).toMatch(
      /^ {4}tick {6}\*\/2 \* \* \* \* \* {2}next \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \((in \d+(\.\d+)?s|now)\)$/,
    )
    expect(lines[6]).toMatch(
      /^ {4}new-year {2}0 0 1 1 \* {2}next \d{4}-01-01 00:00:00 America\/New_York \(UTC-05:00\) \(in \d+d( \d+h)?\)$/,
    )
    const instance = (lines[3] as string).trim().split(/\s+/)[1]
    // Then, per attempt: start, the job's log line, finish.
    const body = lines.slice(7)
    const runs = await readRuns(path.join(cwd, 'state.db'))
    expect(runs.length).toBeGreaterThanOrEqual(2)
    for (const run of runs) {
      const slot = new Date(run.slot).toISOString()
      const i = body.findIndex((l) => START.test(l) && l.endsWith(`start  tick slot ${slot} attempt 1 (schedule)`))
      expect(i, `start line for ${slot}`).toBeGreaterThan(-1)
      expect(body[i + 1]).toMatch(new RegExp(`^${ISO.source} log {4}tick info hello from tick$`))
      expect(body[i + 2]).toMatch(
        new RegExp(`^${ISO.source} finish tick slot ${slot.replace(/\./g, '\\.')} attempt 1 succeeded in [\\d.]+s$`),
      )
      expect(run.instanceId).toBe(instance)
    }
    expect(body.filter((l) => START.test(l))).toHaveLength(runs.length)
    expect(body.filter((l) => FINISH.test(l))).toHaveLength(runs.length)
    expect(body.at(-2)).toBe('SIGTERM: stopping, waiting up to 30s for running jobs to finish (send again to stop now)')
    expect(body.at(-1)).toBe('scheduler stopped')
    noErrorLines(proc)
  })

  it('the start-up summary says a job paused in the state is paused, since when, not its next run', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({
      'crons.config.ts': config(`[
        { name: 'held', schedule: '0 0 1 1 *', run: () => {} },
        { name: 'free', schedule: '0 0 1 1 *', run: () => {} },
      ]`),
    })
    const pause = await runCli(['pause-job', 'held', '--json'], { cwd })
    expect(pause.code).toBe(0)
    const { pausedAt } = JSON.parse(pause.stdout) as { pausedAt: string }
    const text = procs.start(['start-scheduler'], { cwd })
    const held = await text.waitForLine(/^ {4}held /, 15_000)
    const free = await text.waitForLine(/^ {4}free /, 15_000)
    text.signal('SIGTERM')
    expect((await text.waitExit(15_000)).code).toBe(0)
    const since = pausedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')
    expect(held).toMatch(new RegExp(`^ {4}held {2}0 0 1 1 \\* {2}paused since ${since} \\((\\d+s ago|now)\\)$`))
    expect(free).toMatch(/^ {4}free {2}0 0 1 1 \* {2}next \d{4}-01-01 00:00:00 UTC /)

    const json = procs.start(['start-scheduler', '--log-format', 'json'], { cwd })
    const started = JSON.parse(await json.waitForLine(/"event":"started"/, 15_000)) as { jobs: unknown[] }
    json.signal('SIGTERM')
    expect((await json.waitExit(15_000)).code).toBe(0)
    expect(started.jobs).toEqual([
      { name: 'held', schedule: '0 0 1 1 *', zone: 'UTC', nextRun: expect.stringMatching(ISO), paused: true, pausedAt },
      {
        name: 'free',
        schedule: '0 0 1 1 *',
        zone: 'UTC',
        nextRun: expect.stringMatching(ISO),
        paused: false,
        pausedAt: null,
      },
    ])
  })

  it("a job's stray errors (a throwing signal listener, a rejection nothing awaits) are pinned on its runs, not fatal (§5)", async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({
      'crons.config.ts': config(
        `[
        { name: 'stray', schedule: '* * * * * *', run: () => { Promise.reject(new Error('fire-and-forget failed')) } },
        {
          name: 'listener',
          schedule: '* * * * * *',
          timeout: '300ms',
          run: (ctx) => {
            ctx.signal.addEventListener('abort', () => { throw new Error('listener boom') })
            return new Promise(() => {})
          },
        },
        { name: 'tick', schedule: '* * * * * *', run: () => {} },
      ]`,
        { shutdownGrace: 1 },
      ),
    })
    const proc = procs.start(['start-scheduler'], { cwd })
    // The process lives on: the other jobs keep being served.
    await proc.waitFor(() => finishes(proc, 'tick').length >= 3, 20_000, 'three tick runs')
    await proc.waitFor(() => finishes(proc, 'listener').length >= 1, 20_000, 'a listener run')
    proc.signal('SIGTERM')
    expect((await proc.waitExit(15_000)).code).toBe(0)
    // Pinned on the jobs that caused them, not reported as the scheduler's own errors.
    expect(proc.lines().join('\n')).not.toMatch(/uncaught error outside any job/)
    const runs = await readRuns(path.join(cwd, 'state.db'))
    const stray = runs.filter((r) => r.job === 'stray')
    expect(stray.length).toBeGreaterThanOrEqual(2)
    // The job had returned: its record keeps its outcome and gains the error.
    for (const run of stray) {
      expect(run).toMatchObject({
        status: 'succeeded',
        errorMessage: 'uncaught error after the attempt ended: fire-and-forget failed',
      })
    }
    // The attempt whose listener threw is recorded timed_out at its deadline, and the throw is kept with it.
    const listener = runs.find((r) => r.job === 'listener')
    expect(listener).toMatchObject({ status: 'timed_out', errorMessage: 'timed out after 0.3s' })
    expect(listener?.output).toContain('listener boom')
  })

  it("--log-format json: a job's console.log and console.error are JSON run:log lines, never raw text", async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({
      'crons.config.ts': config(`[
        { name: 'chatty', schedule: '* * * * * *', run: () => { console.log('plain text'); console.error('oops') } },
      ]`),
    })
    const proc = procs.start(['start-scheduler', '--log-format', 'json'], { cwd })
    await proc.waitFor(
      () => proc.lines().some((l) => l.includes('"event":"run:finished"')),
      20_000,
      'a run:finished line',
    )
    proc.signal('SIGTERM')
    expect((await proc.waitExit(15_000)).code).toBe(0)
    expect(proc.stderr).toBe('')
    const events = proc.lines().map((line) => JSON.parse(line))
    const logs = events.filter((e) => e.event === 'run:log').map((e) => [e.level, e.text])
    expect(logs.slice(0, 2)).toEqual([
      ['info', 'plain text'],
      ['error', 'oops'],
    ])
    const [run] = await readRuns(path.join(cwd, 'state.db'))
    expect(JSON.parse(run?.output ?? '[]').map((l: { text: string }) => l.text)).toEqual(['plain text', 'oops'])
  })

  it('--log-format json prints one JSON object per line', async ({ onTestFinished }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({
      'crons.config.ts': config(`[
        { name: 'tick', schedule: '*/2 * * * * *', run: (ctx) => { ctx.log.warn('careful') } },
        { name: 'new-year', schedule: '0 0 1 1 *', run: () => {} },
      ]`),
    })
    const proc = procs.start(['start-scheduler', '--log-format', 'json'], { cwd })
    await proc.waitFor(
      () => proc.lines().some((l) => l.includes('"event":"run:finished"')),
      20_000,
      'a run:finished line',
    )
    proc.signal('SIGTERM')
    expect((await proc.waitExit(15_000)).code).toBe(0)
    expect(proc.stderr).toBe('')
    const events = proc.lines().map((line) => JSON.parse(line))
    for (const e of events) expect(e.time).toMatch(new RegExp(`^${ISO.source}$`))
    expect(events[0]).toEqual({
      time: expect.any(String),
      event: 'started',
      config: path.join(cwd, 'crons.config.ts'),
      configHash: expect.stringMatching(/^[0-9a-f]{16}$/),
      watch: false,
      state: path.join(cwd, 'state.db'),
      instanceId: expect.any(String),
      // A state file is on this host's clock.
      clockOffsetMs: 0,
      peers: [],
      jobs: [
        {
          name: 'tick',
          schedule: '*/2 * * * * *',
          zone: 'UTC',
          nextRun: expect.stringMatching(ISO),
          paused: false,
          pausedAt: null,
        },
        {
          name: 'new-year',
          schedule: '0 0 1 1 *',
          zone: 'UTC',
          nextRun: expect.stringMatching(/-01-01T00:00:00\.000Z$/),
          paused: false,
          pausedAt: null,
        },
      ],
    })
    const started = events.find((e) => e.event === 'run:started')
    expect(started).toMatchObject({
      runId: expect.any(Number),
      job: 'tick',
      slot: expect.stringMatching(ISO),
      trigger: 'schedule',
      initiator: 'scheduler',
      attempt: 1,
      startedAt: expect.stringMatching(ISO),
    })
    expect(events.find((e) => e.event === 'run:log')).toMatchObject({
      runId: started.runId,
      job: 'tick',
      level: 'warn',
      text: 'careful',
    })
    expect(events.find((e) => e.event === 'run:finished')).toMatchObject({
      runId: started.runId,
      job: 'tick',
      slot: started.slot,
      status: 'succeeded',
      durationMs: expect.any(Number),
      finishedAt: expect.stringMatching(ISO),
    })
    expect(events.at(-2)).toMatchObject({ event: 'stopping', signal: 'SIGTERM' })
    // The drain is over: a log shipper can tell a finished stop from a killed process.
    expect(events.at(-1)).toEqual({ time: expect.any(String), event: 'stopped', instanceId: events[0].instanceId })
    const runs = await readRuns(path.join(cwd, 'state.db'))
    expect(runs.every((r) => r.instanceId === events[0].instanceId)).toBe(true)
  })
})

describe.concurrent('run-job', () => {
  const RUN_JOB_CONFIG = config(
    `[
    {
      name: 'slow',
      schedule: '*/2 * * * * *',
      // Scheduled runs hold the job until the test creates "release"; manual runs are quick.
      run: async (ctx) => {
        if (ctx.trigger === 'manual') return { manual: true }
        while (!existsSync('release') && !ctx.signal.aborted) await new Promise((r) => setTimeout(r, 100))
      },
    },
    { name: 'fine', schedule: '0 0 1 1 *', run: () => 42 },
    { name: 'boom', schedule: '0 0 1 1 *', run: () => { throw new Error('kaboom') } },
    { name: 'hang', schedule: '0 0 1 1 *', run: () => new Promise((resolve) => setTimeout(resolve, 3_600_000)) },
    { name: 'brief', schedule: '0 0 1 1 *', timeout: '50ms', run: () => new Promise((r) => setTimeout(r, 300)) },
  ]`,
    { imports: "import { existsSync } from 'node:fs'" },
  )

  it('is refused while the scheduler runs the job (exit 5, names the holder) and allowed with --force', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({ 'crons.config.ts': RUN_JOB_CONFIG })
    const scheduler = procs.start(['start-scheduler'], { cwd })
    const holder = await instanceOf(scheduler)
    await scheduler.waitForLine(/ start {2}slow slot /, 20_000)
    const state = path.join(cwd, 'state.db')
    const running = (await readRuns(state)).find((r) => r.status === 'running') as AttemptRecord

    const refused = await runCli(['run-job', 'slow'], { cwd })
    expect(refused.stdout).toBe('')
    expect(linesOf(refused.stderr)).toHaveLength(1)
    expect(refused.stderr).toMatch(
      new RegExp(
        `^error: job "slow" is already running: run ${running.id} on instance ${holder} \\(host \\S+, pid ${scheduler.pid}\\) since ${ISO.source} \\(pass --force to run it anyway\\)\\n$`,
      ),
    )
    expect(refused.code).toBe(5)

    const forced = await runCli(['run-job', 'slow', '--force'], { cwd })
    expect(forced.stdout).toMatch(/^slow succeeded after 1 attempt\(s\) in [\d.]+s \(run \d+\)\n$/)
    expect(forced.code).toBe(0)

    fs.writeFileSync(path.join(cwd, 'release'), '')
    scheduler.signal('SIGTERM')
    expect((await scheduler.waitExit(15_000)).code).toBe(0)
    const runs = await readRuns(state)
    const manual = runs.filter((r) => r.trigger === 'manual')
    // The refusal left no row; the forced run is one succeeded manual row.
    expect(manual).toHaveLength(1)
    expect(manual[0]).toMatchObject({ job: 'slow', status: 'succeeded', result: '{"manual":true}' })
    expect(runs.find((r) => r.id === running.id)).toMatchObject({ status: 'succeeded', trigger: 'schedule' })
  })

  it('exit 1 when the job fails, with the error on the result line and in the state', async () => {
    const cwd = tempDir({ 'crons.config.ts': RUN_JOB_CONFIG })
    const r = await runCli(['run-job', 'boom'], { cwd })
    expect(r.stdout).toMatch(/^boom failed after 1 attempt\(s\) in [\d.]+s \(run 1\): kaboom\n$/)
    expect(r.code).toBe(1)
    const runs = await readRuns(path.join(cwd, 'state.db'))
    expect(runs).toHaveLength(1)
    expect(runs[0]).toMatchObject({ job: 'boom', trigger: 'manual', status: 'failed', errorMessage: 'kaboom' })
    expect(runs[0]?.errorStack).toContain('kaboom')
  })

  it('--timeout 1 on a hanging job: timed_out, exit 1, and the process ends', async () => {
    const cwd = tempDir({ 'crons.config.ts': RUN_JOB_CONFIG })
    const state = path.join(cwd, 'state.db')
    const r = runCli(['run-job', 'hang', '--timeout', '1'], { cwd, timeoutMs: 10_000 })
    // Recorded at the deadline even though the job ignores its signal...
    const run = await waitUntil(
      async () => (await readRuns(state)).find((x) => x.status === 'timed_out'),
      12_000,
      'the timed_out record',
      250,
    )
    expect(run).toMatchObject({ job: 'hang', trigger: 'manual', errorMessage: 'timed out after 1s' })
    // ...and the command reports it and exits 1 (it must not wait for the job's code forever).
    const result = await r
    expect(result.stdout).toMatch(/^hang timed_out after 1 attempt\(s\) in 1(\.\d+)?s \(run 1\): timed out after 1s\n$/)
    expect(result.code).toBe(1)
  })

  it("a job's stray rejection while it runs fails its run, and is said on the result line (§5)", async () => {
    const cwd = tempDir({
      'crons.config.ts': config(`[
        {
          name: 'stray',
          schedule: '0 0 1 1 *',
          run: async () => {
            Promise.reject(new Error('fire-and-forget failed'))
            await new Promise((resolve) => setTimeout(resolve, 50))
            return 'done'
          },
        },
      ]`),
    })
    const r = await runCli(['run-job', 'stray'], { cwd })
    expect(r.stdout).toMatch(/^stray failed after 1 attempt\(s\) in [\d.]+s \(run 1\): fire-and-forget failed\n$/)
    expect(r.code).toBe(1)
    expect(await readRuns(path.join(cwd, 'state.db'))).toMatchObject([
      { job: 'stray', status: 'failed', errorMessage: 'fire-and-forget failed' },
    ])
  })

  it('--json prints the result object only (progress goes to stderr)', async () => {
    const cwd = tempDir({ 'crons.config.ts': RUN_JOB_CONFIG })
    const [ok, failed] = await Promise.all([
      runCli(['run-job', 'fine', '--json'], { cwd }),
      runCli(['run-job', 'boom', '--json', '--state', path.join(cwd, 'other.db')], { cwd }),
    ])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toEqual({
      job: 'fine',
      runId: 1,
      status: 'succeeded',
      attempts: 1,
      durationMs: expect.any(Number),
      error: null,
    })
    expect(ok.stderr).toMatch(/ start {2}fine slot /)
    expect(failed.code).toBe(1)
    expect(JSON.parse(failed.stdout)).toEqual({
      job: 'boom',
      runId: 1,
      status: 'failed',
      attempts: 1,
      durationMs: expect.any(Number),
      error: { message: 'kaboom', stack: expect.stringContaining('kaboom') },
    })
    expect((await readRuns(path.join(cwd, 'state.db')))[0]).toMatchObject({ job: 'fine', result: '42' })
  })

  it('an unknown job: one line with did-you-mean, exit 2, no state file created', async () => {
    const cwd = tempDir({ 'crons.config.ts': RUN_JOB_CONFIG })
    for (const json of [false, true]) {
      const r = await runCli(['run-job', 'slwo', ...(json ? ['--json'] : [])], { cwd })
      expect(r.stdout).toBe('')
      expect(r.stderr).toBe(
        `error: no job named "slwo" in ${path.join(cwd, 'crons.config.ts')} (known jobs: slow, fine, boom, hang, brief) (did you mean "slow"?)\n`,
      )
      expect(r.code).toBe(2)
    }
    expect(fs.existsSync(path.join(cwd, 'state.db'))).toBe(false)
  })

  it("a bad --timeout is one line, exit 2; --timeout 0 runs without the job's own timeout, as timeout: 0 does", async () => {
    const cwd = tempDir({ 'crons.config.ts': RUN_JOB_CONFIG })
    for (const bad of ['-1', 'soon']) {
      const r = await runCli(['run-job', 'fine', '--timeout', bad], { cwd })
      expect(r.stdout).toBe('')
      expect(r.stderr).toBe(
        `error: --timeout "${bad}" is not valid (expected seconds (0 for none), or a duration such as "90s" or "5m")\n`,
      )
      expect(r.code).toBe(2)
    }
    expect((await runCli(['run-job', 'brief', '--json'], { cwd })).code).toBe(1)
    const unbounded = await runCli(['run-job', 'brief', '--timeout', '0', '--json'], { cwd })
    expect(JSON.parse(unbounded.stdout)).toMatchObject({ job: 'brief', status: 'succeeded' })
    expect(unbounded.code).toBe(0)
  })
})
