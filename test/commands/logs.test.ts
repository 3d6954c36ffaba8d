import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Chalk } from 'chalk'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { parseChoiceFlag, parseSinceFlag } from '../../src/cli/flags.js'
import { type RunsContext, renderAttemptDetail, renderAttemptLine, renderAttemptTable } from '../../src/cli/runs.js'
import type { Trigger } from '../../src/config/types.js'
import { latestAttempts, RunFollower } from '../../src/core/history.js'
import { type AttemptView, attemptDetail, attemptDetailJson, attemptView } from '../../src/core/views.js'
import { CronsError, EXIT } from '../../src/errors.js'
import { openStore } from '../../src/store/index.js'
import { type AttemptRecord, RUN_STATUSES, type RunOutcome, type SlotClaim, type Store } from '../../src/store/types.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const at = (iso: string) => Date.parse(iso)
const NOW = at('2025-03-10T06:01:00Z')
const plain = new Chalk({ level: 0 })
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI escapes is the point
const ANSI = /\u001b\[/

const CONFIG = `import { defineConfig } from 'cronsjs'

export default defineConfig({
  timezone: 'America/New_York',
  jobs: [
    { name: 'backup', schedule: '0 2 * * *', run: () => undefined },
    { name: 'report', schedule: '0 9 * * *', tz: 'Europe/Berlin', run: () => undefined },
  ],
})
`
const ZONES: Record<string, string> = { backup: 'America/New_York', report: 'Europe/Berlin' }
const context: RunsContext = { zoneOf: (job) => ZONES[job] ?? 'UTC', now: NOW }

const dirs: string[] = []
function projectDir(): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-logs-'))
  dirs.push(dir)
  fs.writeFileSync(path.join(dir, 'crons.config.ts'), CONFIG)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

const STACK = [
  'Error: connect ECONNREFUSED 127.0.0.1:5432',
  '    at report (/app/crons.config.ts:12:11)',
  '    at async run (/app/node_modules/cronsjs/dist/core/runner.js:200:5)',
].join('\n')

/**
 * Seven attempts through the real store, ids 1-7: a success with output and a result, a failure
 * with stack and output, its timed-out retry, a missed record, a manual run of a job no longer in
 * the config, a run still going, and the slot skipped because of it.
 */
async function seed(file: string): Promise<void> {
  const store = await openStore(file)
  const inst = 'box-1-abc'
  const begin = async (job: string, slot: string, now: string, trigger: Trigger = 'schedule', attempt = 1) => {
    const run = await store.beginRun({ job, slot: at(slot), trigger, attempt, overlap: 'allow' }, inst, at(now))
    if (run.kind !== 'started') throw new Error('not started')
    return run.runId
  }
  const finish = (id: number, status: RunOutcome['status'], when: string, more: Partial<RunOutcome> = {}) =>
    store.finishRun(id, { status, finishedAt: at(when), codeDone: true, ...more })
  const line = (when: string, level: string, text: string) => ({ at: at(when), level, text })
  const claim = (job: string, slot: string, extra: Partial<SlotClaim> = {}) =>
    store.claimSlots([{ job, slot: at(slot), trigger: 'schedule', overlap: 'skip', ...extra }], inst, at(slot))
  try {
    await store.syncJobs(['backup', 'report', 'old-job'], at('2025-03-01T00:00:00Z'))
    await finish(
      await begin('backup', '2025-03-09T07:00:00Z', '2025-03-09T07:00:00.120Z'),
      'succeeded',
      '2025-03-09T07:00:02.620Z',
      {
        result: '{"files":12}',
        output: JSON.stringify([line('2025-03-09T07:00:00.500Z', 'info', 'copying 12 files')]),
      },
    )
    await finish(
      await begin('report', '2025-03-09T08:00:00Z', '2025-03-09T08:00:00.010Z'),
      'failed',
      '2025-03-09T08:00:01.510Z',
      {
        errorMessage: 'connect ECONNREFUSED 127.0.0.1:5432',
        errorStack: STACK,
        output: JSON.stringify([
          line('2025-03-09T08:00:00.200Z', 'info', 'connecting to db'),
          line('2025-03-09T08:00:01.000Z', 'warn', 'slow response'),
          line('2025-03-09T08:00:01.500Z', 'error', 'giving up'),
        ]),
      },
    )
    const retry = await begin('report', '2025-03-09T08:00:00Z', '2025-03-09T08:00:11.510Z', 'schedule', 2)
    await finish(retry, 'timed_out', '2025-03-09T08:01:11.510Z', { errorMessage: 'timed out after 1m' })
    const missed = { count: 3, first: at('2025-03-06T07:00:00Z'), last: at('2025-03-08T07:00:00Z') }
    await store.claimSlots(
      [{ job: 'backup', slot: missed.last, trigger: 'schedule', overlap: 'skip', record: 'missed', missed }],
      inst,
      at('2025-03-09T09:00:00Z'),
    )
    const manual = await begin('old-job', '2025-03-09T10:00:00Z', '2025-03-09T10:00:00Z', 'manual')
    await finish(manual, 'succeeded', '2025-03-09T10:00:00.750Z')
    await claim('backup', '2025-03-10T06:00:00Z')
    await claim('backup', '2025-03-10T06:00:30Z')
  } finally {
    await store.close()
  }
}

/** A user's shell, not vitest's (NODE_ENV=test, FORCE_TTY... change what oclif and colour detection do). */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[key] !== undefined) env[key] = process.env[key]
  return env
}

function crons(dir: string, args: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin/run.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: userEnv(),
  })
}

function json<T = { id: number }[]>(dir: string, args: string[]): T {
  const result = crons(dir, [...args, '--json'])
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  return JSON.parse(result.stdout) as T
}

const ids = (runs: { id: number }[]) => runs.map((run) => run.id)

describe('logs rendering (fixed now)', () => {
  let store: Store
  beforeAll(async () => {
    const file = path.join(projectDir(), 'crons.db')
    await seed(file)
    store = await openStore(file, { readonly: true })
  })
  afterAll(async () => store.close())
  const run = async (id: number) => {
    const found = await store.getRun(id)
    if (found === undefined) throw new Error(`seed has no run ${id}`)
    return found
  }
  beforeEach(() => {
    vi.stubEnv('NO_COLOR', '1')
    return () => vi.unstubAllEnvs()
  })

  it('a table of the latest attempts, oldest first, slots in each job zone (UTC when not configured)', async () => {
    const runs = (await latestAttempts(store, {}, 50)).map(attemptView)
    expect(await renderAttemptTable(runs, context, plain, { isTTY: false })).toBe(
      [
        'id  job      slot                             trigger   attempt  status     started     duration  error / reason',
        '1   backup   2025-03-09 03:00:00 (UTC-04:00)  schedule  1        succeeded  23h ago     2.5s',
        '2   report   2025-03-09 09:00:00 (UTC+01:00)  schedule  1        failed     22h ago     1.5s      connect ECONNREFUSED 127.0.0.1:5432',
        '3   report   2025-03-09 09:00:00 (UTC+01:00)  schedule  2        timed_out  22h ago     1m        timed out after 1m',
        '4   backup   2025-03-08 02:00:00 (UTC-05:00)  schedule  1        missed     21h 1m ago  -         3 missed slots (2025-03-06T07:00:00.000Z to 2025-03-08T07:00:00.000Z)',
        '5   old-job  2025-03-09 10:00:00 UTC          manual    1        succeeded  20h 1m ago  0.75s',
        '6   backup   2025-03-10 02:00:00 (UTC-04:00)  schedule  1        running    1m ago      running',
        '7   backup   2025-03-10 02:00:30 (UTC-04:00)  schedule  1        skipped    30s ago     -         still running: run 6 on instance box-1-abc since 2025-03-10T06:00:00.000Z',
      ].join('\n'),
    )
  })

  it('--run: a failure in full, with its stack and captured output timed from the start', async () => {
    expect(renderAttemptDetail(attemptDetail(await run(2)), context, plain)).toBe(
      [
        'run 2  report  failed',
        'slot       2025-03-09 09:00:00 Europe/Berlin (UTC+01:00)  2025-03-09T08:00:00.000Z',
        'trigger    schedule',
        'attempt    1',
        'started    2025-03-09T08:00:00.010Z  (22h ago)',
        'finished   2025-03-09T08:00:01.510Z',
        'duration   1.5s',
        'instance   box-1-abc',
        'error      connect ECONNREFUSED 127.0.0.1:5432',
        'stack      Error: connect ECONNREFUSED 127.0.0.1:5432',
        '               at report (/app/crons.config.ts:12:11)',
        '               at async run (/app/node_modules/cronsjs/dist/core/runner.js:200:5)',
        'output     3 line(s)',
        '    +0.190s  info   connecting to db',
        '    +0.990s  warn   slow response',
        '    +1.490s  error  giving up',
      ].join('\n'),
    )
  })

  it('--run: a success with its result, and a missed record with its reason', async () => {
    expect(renderAttemptDetail(attemptDetail(await run(1)), context, plain)).toBe(
      [
        'run 1  backup  succeeded',
        'slot       2025-03-09 03:00:00 America/New_York (UTC-04:00)  2025-03-09T07:00:00.000Z',
        'trigger    schedule',
        'attempt    1',
        'started    2025-03-09T07:00:00.120Z  (23h ago)',
        'finished   2025-03-09T07:00:02.620Z',
        'duration   2.5s',
        'instance   box-1-abc',
        'result     {"files":12}',
        'output     1 line(s)',
        '    +0.380s  info   copying 12 files',
      ].join('\n'),
    )
    expect(renderAttemptDetail(attemptDetail(await run(4)), context, plain)).toContain(
      'reason     3 missed slots (2025-03-06T07:00:00.000Z to 2025-03-08T07:00:00.000Z)\noutput     none',
    )
  })

  it('--run: a logged text of several lines (ctx.log("a\\nb"), console.error(err)) stays inside the output block', async () => {
    const text = 'upload failed\nError: the bucket is gone\n    at upload (/app/jobs.ts:3:9)'
    const output = JSON.stringify([{ at: at('2025-03-09T07:00:00.500Z'), level: 'error', text }])
    const lines = renderAttemptDetail(attemptDetail({ ...(await run(1)), output }), context, plain).split('\n')
    expect(lines.slice(lines.indexOf('output     1 line(s)') + 1)).toEqual([
      '    +0.380s  error  upload failed',
      '                    Error: the bucket is gone',
      '                        at upload (/app/jobs.ts:3:9)',
    ])
  })

  it('--run: a running attempt says it is still running and that its output comes when it ends', async () => {
    const running = await run(6)
    expect(running.status).toBe('running')
    const text = renderAttemptDetail(attemptDetail(running), context, plain)
    expect(text).toContain('finished   still running')
    expect(text).toContain('output     none yet: stored when the attempt ends')
  })

  it('--run --json: the result as a value; detail the slots a record stands for (ISO instants) or the skip reason', async () => {
    const success = await run(1)
    expect(attemptDetailJson(attemptDetail(success))).toMatchObject({ result: { files: 12 }, detail: null })
    const json = (result: string | null) => attemptDetailJson(attemptDetail({ ...success, result })).result
    expect(json('"done"')).toBe('done')
    expect(json('42')).toBe(42)
    expect(json('null')).toBeNull()
    expect(json(null)).toBeNull()
    // Cut at 4 KiB, the text no longer parses: it stays text rather than failing the command.
    const cut = `{"rows":"${'x'.repeat(4082)}...`
    expect(json(cut)).toBe(cut)
    const slots = { count: 3, first: '2025-03-06T07:00:00.000Z', last: '2025-03-08T07:00:00.000Z' }
    expect(attemptDetailJson(attemptDetail(await run(4))).detail).toEqual({ paused: false, ...slots })
    // A catch-up run and a paused stretch's skipped record say which slots the same way.
    const stored = JSON.stringify({ count: 3, first: at(slots.first), last: at(slots.last) })
    const catchUp = { ...success, trigger: 'catch-up' as const, detail: stored }
    expect(attemptDetailJson(attemptDetail(catchUp)).detail).toEqual({ paused: false, ...slots })
    const skipped = await run(7)
    const paused = { ...skipped, detail: JSON.stringify({ paused: true, ...JSON.parse(stored) }) }
    expect(attemptDetailJson(attemptDetail(paused))).toMatchObject({ detail: { paused: true, ...slots }, missed: null })
    // The text form and the JSON form say the same.
    expect(attemptDetail(paused).detail).toEqual(attemptDetailJson(attemptDetail(paused)).detail)
    // A skip reason is text, even one that would parse as JSON.
    expect(attemptDetailJson(attemptDetail(skipped)).detail).toBe(skipped.detail)
    expect(attemptDetailJson(attemptDetail({ ...skipped, detail: '42' })).detail).toBe('42')
    expect(attemptDetailJson(attemptDetail({ ...skipped, detail: '{"note":1}' })).detail).toBe('{"note":1}')
  })

  it('--follow lines: absolute start, exact duration, the reason of a skip', async () => {
    // An interruption's message starts with the status; the line says it once.
    const interrupted = {
      ...(await run(3)),
      status: 'interrupted' as const,
      errorMessage: 'interrupted: instance box-1-abc stopped heartbeating',
    }
    expect(renderAttemptLine(attemptView(interrupted), context, plain)).toMatch(
      / attempt 2 {2}interrupted in 1m \(until last heartbeat\): instance box-1-abc stopped heartbeating$/,
    )
    const table = await renderAttemptTable([attemptView(interrupted)], context, plain, { isTTY: false })
    expect(table).toMatch(/ {2}instance box-1-abc stopped heartbeating$/)
    expect(table).not.toContain('interrupted:')
    expect(table).toMatch(/ {2}1m \(until last heartbeat\) {2}/)
    expect(renderAttemptDetail(attemptDetail(interrupted), context, plain)).toMatch(
      /^duration {3}1m \(until last heartbeat\)$/m,
    )
    // An interruption recorded by the run's own process (a shutdown) ends when it was recorded.
    const stopped = { ...interrupted, errorMessage: 'interrupted: the scheduler shut down before the job finished' }
    expect(attemptView(stopped)).toMatchObject({ durationMs: 60_000, durationUntil: 'finish' })
    expect(attemptView(interrupted)).toMatchObject({ durationMs: 60_000, durationUntil: 'last-heartbeat' })
    expect(renderAttemptLine(attemptView(await run(2)), context, plain)).toBe(
      '2025-03-09T08:00:00.010Z  run 2  report  slot 2025-03-09 09:00:00 (UTC+01:00)  schedule  attempt 1  failed in 1.5s: connect ECONNREFUSED 127.0.0.1:5432',
    )
    expect(renderAttemptLine(attemptView(await run(7)), context, plain)).toBe(
      '2025-03-10T06:00:30.000Z  run 7  backup  slot 2025-03-10 02:00:30 (UTC-04:00)  schedule  attempt 1  skipped: still running: run 6 on instance box-1-abc since 2025-03-10T06:00:00.000Z',
    )
  })
})

describe('flag parsing', () => {
  it('--since: durations back from now, or an instant with an offset', () => {
    expect(parseSinceFlag('since', '90m', NOW)).toBe(NOW - 90 * 60_000)
    expect(parseSinceFlag('since', '2d', NOW)).toBe(NOW - 2 * 86_400_000)
    expect(parseSinceFlag('since', '1h 30m', NOW)).toBe(NOW - 90 * 60_000)
    expect(parseSinceFlag('since', '2025-03-09T06:00:00+01:00', NOW)).toBe(at('2025-03-09T05:00:00Z'))
    for (const bad of ['90', 'yesterday', '-1h', '0s', '', '2025-03-09T06:00', '2025-03-09']) {
      expect(() => parseSinceFlag('since', bad, NOW), bad).toThrow(CronsError)
    }
  })

  it('--status: one of the statuses, with a did-you-mean', () => {
    expect(parseChoiceFlag('status', 'failed', RUN_STATUSES)).toBe('failed')
    expect(() => parseChoiceFlag('status', 'faild', RUN_STATUSES)).toThrow(
      expect.objectContaining({
        message:
          '--status "faild" is not valid (expected one of running, succeeded, failed, timed_out, interrupted, cancelled, skipped, missed)',
        suggestions: ['did you mean "failed"?'],
      }),
    )
  })
})

describe('following the history (RunFollower)', () => {
  it('reports each attempt once, when its outcome is known; a running one when it finishes', async () => {
    const store = await openStore(':memory:')
    const inst = 'i'
    const start = async (job: string, slot: number) => {
      const [o] = await store.claimSlots([{ job, slot, trigger: 'schedule', overlap: 'allow' }], inst, slot)
      return o?.kind === 'started' ? o.runId : -1
    }
    const finish = (id: number, status: 'succeeded' | 'failed', when: number) =>
      store.finishRun(id, { status, finishedAt: when, codeDone: true })
    const t = at('2025-01-01T00:00:00Z')
    await finish(await start('a', t), 'succeeded', t + 1)
    const longRun = await start('a', t + 1000)
    await finish(await start('b', t + 2000), 'failed', t + 2001)

    const all = new RunFollower(store, {})
    const failures = new RunFollower(store, { status: 'failed' })
    const starts = new RunFollower(store, { status: 'running' })
    expect(ids(await all.start(50))).toEqual([1, 3])
    expect(ids(await failures.start(50))).toEqual([3])
    expect(ids(await starts.start(50))).toEqual([2])
    expect(ids(await all.poll())).toEqual([])

    const fresh = await start('b', t + 3000)
    expect(ids(await all.poll())).toEqual([])
    expect(ids(await starts.poll())).toEqual([fresh])
    await finish(fresh, 'failed', t + 3001)
    await finish(longRun, 'succeeded', t + 4000)
    expect(ids(await all.poll())).toEqual([longRun, fresh])
    expect(ids(await failures.poll())).toEqual([fresh])
    expect(ids(await all.poll())).toEqual([])
    expect(ids(await starts.poll())).toEqual([])
    await store.close()
  })

  it("with status 'running': each new attempt once, as it started, also one that ended before the poll", async () => {
    const store = await openStore(':memory:')
    const t = at('2025-01-01T00:00:00Z')
    const claim = async (claim: Partial<SlotClaim> & { job: string; slot: number }) => {
      const [o] = await store.claimSlots([{ trigger: 'schedule', overlap: 'allow', ...claim }], 'i', claim.slot)
      return o !== undefined && 'runId' in o ? o.runId : -1
    }
    const starts = new RunFollower(store, { status: 'running' })
    expect(await starts.start(50)).toEqual([])

    // Started and ended between two polls, with everything an end records.
    const short = await claim({ job: 'a', slot: t })
    await store.finishRun(short, {
      status: 'failed',
      finishedAt: t + 20,
      errorMessage: 'boom',
      errorStack: 'Error: boom',
      output: JSON.stringify([{ at: t + 10, level: 'info', text: 'hi' }]),
      codeDone: true,
    })
    const long = await claim({ job: 'b', slot: t + 1000 })
    // Never started: a slot skipped while the job runs, and a missed record.
    await claim({ job: 'b', slot: t + 2000, overlap: 'skip' })
    await claim({ job: 'c', slot: t + 3000, record: 'missed', missed: { count: 1, first: t + 3000, last: t + 3000 } })
    const ended = (await store.getRun(short)) as AttemptRecord
    const running = (await store.getRun(long)) as AttemptRecord

    const polled = await starts.poll()
    expect(ids(polled)).toEqual([short, long])
    expect(polled[0]).toEqual({
      ...ended,
      status: 'running',
      finishedAt: null,
      durationMs: null,
      errorMessage: null,
      errorStack: null,
      result: null,
      output: null,
      active: true,
    })
    expect(polled[1]).toEqual(running)
    expect(renderAttemptLine(attemptView(polled[0] as AttemptRecord), context, plain)).toMatch(/ attempt 1 {2}running$/)
    expect(await starts.poll()).toEqual([])
    await store.finishRun(long, { status: 'succeeded', finishedAt: t + 5000, codeDone: true })
    expect(await starts.poll()).toEqual([])
    await store.close()
  })

  it('an attempt that ends while the follow starts (after any of its reads) is reported once', async () => {
    const t = at('2025-01-01T00:00:00Z')
    for (const filter of [{}, { status: 'failed' as const }]) {
      // The attempt ends right after the start's nth read of the history, for every n the start makes.
      for (let endsAfter = 1; ; endsAfter++) {
        const store = await openStore(':memory:')
        const [o] = await store.claimSlots([{ job: 'a', slot: t, trigger: 'schedule', overlap: 'allow' }], 'i', t)
        const runId = o !== undefined && 'runId' in o ? o.runId : -1
        let reads = 0
        const racing = new Proxy(store, {
          get(target, key) {
            const value = Reflect.get(target, key)
            if (key !== 'listRuns') return typeof value === 'function' ? value.bind(target) : value
            return async (...args: Parameters<Store['listRuns']>) => {
              const rows = await target.listRuns(...args)
              if (++reads === endsAfter)
                await target.finishRun(runId, { status: 'failed', finishedAt: t + 5, codeDone: true })
              return rows
            }
          },
        }) as Store
        const follower = new RunFollower(racing, filter)
        const reported = [...(await follower.start(50))]
        const readsByStart = reads
        reported.push(...(await follower.poll()), ...(await follower.poll()))
        expect({ filter, endsAfter, reported: reported.map((r) => [r.id, r.status]) }).toEqual({
          filter,
          endsAfter,
          reported: [[runId, 'failed']],
        })
        await store.close()
        if (endsAfter >= readsByStart) break
      }
    }
  })
})

describe('crons logs (spawned)', () => {
  let dir: string
  beforeAll(async () => {
    dir = projectDir()
    await seed(path.join(dir, 'crons.db'))
  })

  it('no state file: "No runs recorded yet." and [] (the file is not created)', () => {
    const empty = projectDir()
    const text = crons(empty, ['logs'])
    expect([text.status, text.stdout, text.stderr]).toEqual([0, 'No runs recorded yet.\n', ''])
    expect(json(empty, ['logs'])).toEqual([])
    expect(fs.existsSync(path.join(empty, 'crons.db'))).toBe(false)
  })

  it('an empty state file (0 bytes) reads as no state yet, and is left as it is', () => {
    const empty = projectDir()
    const file = path.join(empty, 'crons.db')
    fs.writeFileSync(file, '')
    const text = crons(empty, ['logs'])
    expect([text.status, text.stdout, text.stderr]).toEqual([0, 'No runs recorded yet.\n', ''])
    expect(json(empty, ['logs'])).toEqual([])
    const status = crons(empty, ['status'])
    expect([status.status, status.stderr]).toEqual([EXIT.unhealthy, ''])
    expect(status.stdout).toContain('no scheduler alive (no state file yet)')
    expect(crons(empty, ['list-jobs']).status).toBe(0)
    expect(fs.statSync(file).size).toBe(0)
  })

  it('lists the latest attempts oldest first, as a table and as JSON', () => {
    const text = crons(dir, ['logs'])
    expect(text.status).toBe(0)
    // Column widths depend on how long ago 2025 is; the exact layout is tested with a fixed now above.
    const header = text.stdout.split('\n')[0]?.split(/ {2,}/).join('|')
    expect(header).toBe('id|job|slot|trigger|attempt|status|started|duration|error / reason')
    expect(text.stdout.split('\n')[2]).toMatch(
      /^2 +report +2025-03-09 09:00:00 \(UTC\+01:00\) +schedule +1 +failed +\d+d( \d+h)? ago +1\.5s +connect/,
    )
    expect(text.stdout).not.toMatch(ANSI)
    expect(ids(json(dir, ['logs']))).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(json(dir, ['logs'])[1]).toEqual({
      id: 2,
      job: 'report',
      slot: '2025-03-09T08:00:00.000Z',
      trigger: 'schedule',
      attempt: 1,
      status: 'failed',
      startedAt: '2025-03-09T08:00:00.010Z',
      finishedAt: '2025-03-09T08:00:01.510Z',
      durationMs: 1500,
      durationUntil: 'finish',
      error: { message: 'connect ECONNREFUSED 127.0.0.1:5432' },
      reason: null,
    })
  })

  it('filters: --job, --status, --trigger, --since, --limit, and combinations', () => {
    expect(ids(json(dir, ['logs', '--job', 'report']))).toEqual([2, 3])
    expect(ids(json(dir, ['logs', '--job', 'old-job']))).toEqual([5])
    expect(ids(json(dir, ['logs', '--status', 'failed']))).toEqual([2])
    expect(ids(json(dir, ['logs', '--trigger', 'manual']))).toEqual([5])
    expect(ids(json(dir, ['logs', '--since', '2025-03-09T09:00:00Z']))).toEqual([4, 5, 6, 7])
    expect(ids(json(dir, ['logs', '--since', '1h']))).toEqual([])
    expect(ids(json(dir, ['logs', '--limit', '2']))).toEqual([6, 7])
    expect(ids(json(dir, ['logs', '-j', 'backup', '-s', 'running']))).toEqual([6])
    expect(ids(json(dir, ['logs', '--job', 'backup', '--since', '2025-03-09T08:00:00Z', '-n', '2']))).toEqual([6, 7])
    const none = crons(dir, ['logs', '--status', 'interrupted'])
    expect([none.status, none.stdout]).toEqual([0, 'No runs match these filters.\n'])
  })

  it('--since with a duration counts back from now', async () => {
    const recent = projectDir()
    const store = await openStore(path.join(recent, 'crons.db'))
    const now = Date.now()
    for (const ago of [2 * 3_600_000, 10 * 60_000]) {
      await store.claimSlots(
        [{ job: 'backup', slot: now - ago, trigger: 'schedule', overlap: 'allow' }],
        'i',
        now - ago,
      )
    }
    await store.close()
    expect(ids(json(recent, ['logs', '--since', '1h']))).toEqual([2])
    expect(ids(json(recent, ['logs', '--since', '3h']))).toEqual([1, 2])
  })

  it("a command's escape sequences and control characters: removed or shown as \\xNN in text, kept in --json", () => {
    const project = projectDir()
    fs.writeFileSync(
      path.join(project, 'crons.config.ts'),
      `import { defineConfig } from 'cronsjs'
export default defineConfig({
  jobs: [{ name: 'ansi', schedule: '0 2 * * *', command: [process.execPath, 'job.mjs'] }],
})
`,
    )
    fs.writeFileSync(
      path.join(project, 'job.mjs'),
      String.raw`process.stdout.write('a\x1b[32mgreen\x1b[0m\x00b\rc\tt\n')
process.stderr.write('\x1b[31mred\x1b[0m oops\x01\n')
process.exitCode = 1
`,
    )
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/
    const run = crons(project, ['run-job', 'ansi'])
    expect(run.status).toBe(EXIT.runFailed)
    expect(run.stdout).toMatch(
      /^ansi failed after 1 attempt\(s\) in \S+ \(run 1\): command exited with code 1: red oops\\x01\n$/,
    )
    expect(run.stderr).toContain('ansi info agreen\\x00b\\x0dc\tt\n')
    const table = crons(project, ['logs'])
    expect(table.stdout.split('\n')[1]).toMatch(/ {2}command exited with code 1: red oops\\x01$/)
    const detail = crons(project, ['logs', '--run', '1'])
    expect(detail.stdout).toContain('error      command exited with code 1: red oops\\x01\n')
    expect(detail.stdout).toMatch(/ {2}info {3}agreen\\x00b\\x0dc\tt\n/)
    expect(detail.stdout).toMatch(/ {2}error {2}red oops\\x01\n/)
    for (const text of [run.stdout, run.stderr, table.stdout, detail.stdout]) expect(text).not.toMatch(CONTROL)
    const stored = json<{ error: { message: string }; output: { text: string }[] }>(project, ['logs', '--run', '1'])
    expect(stored.error.message).toBe('command exited with code 1: \u001b[31mred\u001b[0m oops\u0001')
    expect(stored.output.map((line) => line.text)).toEqual([
      'a\u001b[32mgreen\u001b[0m\u0000b\rc\tt',
      '\u001b[31mred\u001b[0m oops\u0001',
    ])
  })

  it('--run ID: one attempt in full; --json includes stack, output, result', () => {
    const detail = json<Record<string, unknown>>(dir, ['logs', '--run', '2'])
    expect(detail).toMatchObject({
      id: 2,
      status: 'failed',
      error: { message: 'connect ECONNREFUSED 127.0.0.1:5432', stack: STACK },
      instanceId: 'box-1-abc',
      active: false,
      result: null,
      detail: null,
      missed: null,
      output: [
        { at: '2025-03-09T08:00:00.200Z', level: 'info', text: 'connecting to db' },
        { at: '2025-03-09T08:00:01.000Z', level: 'warn', text: 'slow response' },
        { at: '2025-03-09T08:00:01.500Z', level: 'error', text: 'giving up' },
      ],
    })
    expect(json<Record<string, unknown>>(dir, ['logs', '--run', '4'])).toMatchObject({
      status: 'missed',
      missed: { count: 3, first: '2025-03-06T07:00:00.000Z', last: '2025-03-08T07:00:00.000Z' },
      detail: { paused: false, count: 3, first: '2025-03-06T07:00:00.000Z', last: '2025-03-08T07:00:00.000Z' },
    })
    // The job's return value is the value it returned, not a string holding its JSON.
    expect(json<Record<string, unknown>>(dir, ['logs', '--run', '1']).result).toEqual({ files: 12 })
    expect(crons(dir, ['logs', '--run', '1']).stdout).toContain('\nresult     {"files":12}\n')
    const text = crons(dir, ['logs', '--run', '2'])
    expect(text.status).toBe(0)
    expect(text.stdout).toContain('stack      Error: connect ECONNREFUSED 127.0.0.1:5432\n               at report')
    expect(text.stdout).toContain('    +1.490s  error  giving up\n')
  })

  const expected = (what: string) => `is not valid (expected ${what})`
  const BAD: [string, string][] = [
    [
      '--status bad',
      `--status "bad" ${expected('one of running, succeeded, failed, timed_out, interrupted, cancelled, skipped, missed')}`,
    ],
    ['--trigger cron', `--trigger "cron" ${expected('one of schedule, catch-up, manual')}`],
    [
      '--since yesterday',
      `--since "yesterday" ${expected('a duration back from now such as 90m, 2h or 1d, or an ISO instant with an offset such as 2025-03-09T06:00:00Z')}`,
    ],
    [
      '--since 2025-03-09T06:00',
      `--since "2025-03-09T06:00" has no offset (expected "Z" or an offset such as "+01:00" at the end, so the instant does not depend on the machine's zone)`,
    ],
    ['--limit 0', `--limit "0" ${expected('a whole number from 1 to 10000')}`],
    ['--limit 2.5', `--limit "2.5" ${expected('a whole number from 1 to 10000')}`],
    ['--run abc', `--run "abc" ${expected('a run id: a whole number such as 42, as listed by crons logs')}`],
    ['--run 99', '--run 99: no run with this id in crons.db (the newest run is 7)'],
    ['--run 2 --follow', '--run shows one attempt and cannot be combined with --follow'],
    [
      '--job bakup',
      '--job "bakup": no such job in the config or the state file (known jobs: backup, old-job, report) (did you mean "backup"?)',
    ],
  ]
  it.each(BAD)('bad input `%s`: one line on stderr, exit 2', (args, message) => {
    const result = crons(dir, ['logs', ...args.split(' ')])
    expect([result.status, result.stdout, result.stderr]).toEqual([2, '', `error: ${message}\n`])
  })
})

describe('crons logs --follow (spawned)', () => {
  const children: ChildProcess[] = []
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode !== null || child.signalCode !== null) continue
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
  })

  interface Started {
    child: ChildProcess
    lines: string[]
    stderr: string[]
  }

  function start(dir: string, args: string[]): Started {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), ...args], { cwd: dir, env: userEnv() })
    children.push(child)
    const lines: string[] = []
    const stderr: string[] = []
    let partial = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n')
      partial = parts.pop() ?? ''
      lines.push(...parts)
    })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk))
    return { child, lines, stderr }
  }

  /** Polls `check`; at the deadline, fails with what each process printed and how it ended. */
  async function until(check: () => boolean, deadlineMs: number, processes: Record<string, Started>): Promise<void> {
    const end = Date.now() + deadlineMs
    while (!check()) {
      if (Date.now() > end) {
        const told = Object.entries(processes).map(
          ([name, { child, lines, stderr }]) =>
            `${name} (exit ${child.exitCode ?? child.signalCode ?? 'none yet'}):\n${lines.join('\n')}\n${stderr.join('')}`,
        )
        throw new Error(`deadline passed\n${told.join('\n')}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  it('against a live scheduler: prints new attempts as NDJSON lines as they are recorded, and exits 0 on SIGINT', async () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-follow-'))
    dirs.push(dir)
    fs.writeFileSync(
      path.join(dir, 'crons.config.ts'),
      `export default {
  timezone: 'UTC',
  jobs: [{ name: 'tick', schedule: '* * * * * *', run: (ctx) => ctx.log.info('tick') }],
}
`,
    )
    // Following first: a state file that does not exist yet is waited for.
    const follow = start(dir, ['logs', '--follow', '--json'])
    const scheduler = start(dir, ['start-scheduler', '--log-format', 'json'])
    await until(() => follow.lines.length >= 3, 30_000, { follow, scheduler })
    const attempts = follow.lines.map((line) => JSON.parse(line) as { id: number; job: string; status: string })
    expect(attempts.slice(0, 3).map((a) => [a.job, a.status])).toEqual([
      ['tick', 'succeeded'],
      ['tick', 'succeeded'],
      ['tick', 'succeeded'],
    ])
    expect(new Set(ids(attempts)).size).toBe(attempts.length)
    expect(scheduler.child.exitCode).toBeNull()

    const exit = new Promise<number | null>((resolve) => follow.child.once('exit', (code) => resolve(code)))
    follow.child.kill('SIGINT')
    expect(await exit).toBe(0)
  })

  it('piped into a reader that exits (| head -1): ends, exit 0, when it next prints an attempt', async () => {
    const dir = projectDir()
    const file = path.join(dir, 'crons.db')
    await seed(file)
    const follow = start(dir, ['logs', '--follow', '--json'])
    await until(() => follow.lines.length >= 1, 30_000, { follow })
    follow.child.stdout?.destroy()
    const exited = new Promise<number | null>((resolve) => follow.child.once('exit', (code) => resolve(code)))
    // Nothing tells it the reader is gone until it writes: the next attempt recorded.
    const store = await openStore(file)
    try {
      const run = await store.beginRun(
        { job: 'report', slot: at('2025-03-10T08:00:00Z'), trigger: 'manual', attempt: 1, overlap: 'allow' },
        'i',
        NOW,
      )
      if (run.kind !== 'started') throw new Error('not started')
      await store.finishRun(run.runId, { status: 'succeeded', finishedAt: NOW + 5, codeDone: true })
    } finally {
      await store.close()
    }
    expect(await exited).toBe(0)
    expect(follow.stderr.join('')).toBe('')
  })

  it('--status running prints each attempt once as it starts, also one that ended before the next poll', async () => {
    const dir = projectDir()
    const file = path.join(dir, 'crons.db')
    await seed(file)
    const json = start(dir, ['logs', '--follow', '--status', 'running', '--json'])
    const text = start(dir, ['logs', '--follow', '--status', 'running'])
    // The backlog (run 6, still running) is printed once the cursor is fixed.
    await until(() => json.lines.length >= 1 && text.lines.length >= 1, 30_000, { json, text })

    const store = await openStore(file)
    const begin = async (job: string, slot: string) => {
      const run = await store.beginRun(
        { job, slot: at(slot), trigger: 'manual', attempt: 1, overlap: 'allow' },
        'i',
        NOW,
      )
      if (run.kind !== 'started') throw new Error('not started')
      return run.runId
    }
    const short = await begin('report', '2025-03-10T08:00:00Z')
    await store.finishRun(short, { status: 'succeeded', finishedAt: NOW + 5, codeDone: true })
    // Never started: a slot skipped because run 6 still runs.
    await store.claimSlots(
      [{ job: 'backup', slot: at('2025-03-10T06:01:00Z'), trigger: 'schedule', overlap: 'skip' }],
      'i',
      NOW,
    )
    const last = await begin('report', '2025-03-10T09:00:00Z')
    await store.close()
    // Polls report in id order: once the last is printed, everything before it is.
    await until(() => json.lines.length >= 3 && text.lines.length >= 3, 30_000, { json, text })

    const views = json.lines.map((line) => JSON.parse(line) as AttemptView)
    expect(views.map((view) => [view.id, view.status, view.finishedAt, view.durationMs])).toEqual([
      [6, 'running', null, null],
      [short, 'running', null, null],
      [last, 'running', null, null],
    ])
    expect(text.lines.map((line) => line.match(/ run (\d+) .* attempt 1 {2}(\S+)$/)?.slice(1))).toEqual([
      ['6', 'running'],
      [String(short), 'running'],
      [String(last), 'running'],
    ])
    for (const follow of [json, text]) {
      const exit = new Promise<number | null>((resolve) => follow.child.once('exit', (code) => resolve(code)))
      follow.child.kill('SIGINT')
      expect(await exit).toBe(0)
    }
  })
})
