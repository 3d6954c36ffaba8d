/**
 * Every `--json` speaks one vocabulary, and docs/cli.md ("JSON output") lists each shape: the fields
 * the built CLI prints are exactly the fields the docs list, no more and no fewer.
 */
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createScheduler } from '../../src/index.js'
import { openStore } from '../../src/store/index.js'
import { crons, ROOT } from './helpers.js'

const CONFIG = `import { defineConfig } from 'crons'

export default defineConfig({
  timezone: 'UTC',
  jobs: [
    { name: 'backup', description: 'Nightly backup', schedule: '0 3 * * *', tags: ['db'], run: () => ({ files: 3 }) },
    { name: 'poll', every: '5m', run: () => undefined },
  ],
})
`

const DOCS = fs.readFileSync(path.join(ROOT, 'docs/cli.md'), 'utf8')

/** The field names of the table under the heading that starts with `heading` in docs/cli.md's JSON section. */
function documented(heading: string): string[] {
  const json = DOCS.slice(DOCS.indexOf('## JSON output'), DOCS.indexOf('## Reading a state file'))
  const start = json.indexOf(`### ${heading}`)
  expect(start, `docs/cli.md has "### ${heading}"`).toBeGreaterThan(0)
  const section = json.slice(start, json.indexOf('\n### ', start + 1) >>> 0 || undefined)
  return [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1] as string)
}

/** The `{ a, b, c }` list written in a table cell of docs/cli.md for `field`. */
function documentedObject(field: string): string[] {
  const row = DOCS.split('\n').find((line) => line.startsWith(`| \`${field}\` |`)) ?? ''
  const list = /`\{ ([^}]+) \}`/.exec(row)?.[1] ?? ''
  return list.split(', ').map((name) => name.trim())
}

const keys = (value: unknown) => Object.keys(value as object).sort()
const sorted = (names: string[]) => [...names].sort()

const iso = (ms: number) => new Date(ms).toISOString()
const MIN = 60_000

let dir: string
let now: number
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-json-'))
  fs.writeFileSync(path.join(dir, 'crons.config.ts'), CONFIG)
  const store = await openStore(path.join(dir, 'crons.db'))
  try {
    now = Date.now()
    await store.syncJobs(['backup', 'poll'], now - 60 * MIN)
    await store.registerInstance({ id: 'sched-a', role: 'scheduler', host: 'box', pid: 7, now })
    // Records that stand for slots: missed ones, a catch-up run, a paused stretch of three.
    const missed = { count: 3, first: now - 50 * MIN, last: now - 48 * MIN }
    const claim = (job: string, slot: number, extra: object = {}) =>
      store.claimSlots([{ job, slot, trigger: 'schedule', overlap: 'skip', ...extra }], 'sched-a', slot)
    await claim('backup', missed.last, { record: 'missed', missed })
    const caughtUp = { count: 2, first: now - 40 * MIN, last: now - 39 * MIN }
    const [catchUp] = await claim('backup', caughtUp.last, { trigger: 'catch-up', missed: caughtUp })
    if (catchUp?.kind === 'started') {
      await store.finishRun(catchUp.runId, { status: 'succeeded', finishedAt: caughtUp.last + 500, codeDone: true })
    }
    await store.setPaused('poll', true, now - 30 * MIN)
    for (const minutes of [25, 20, 15]) await claim('poll', now - minutes * MIN)
    await store.setPaused('poll', false, now - 10 * MIN)
    const [done] = await store.claimSlots(
      [{ job: 'backup', slot: now - 60_000, trigger: 'schedule', overlap: 'skip' }],
      'sched-a',
      now - 60_000,
    )
    if (done?.kind === 'started') {
      await store.finishRun(done.runId, {
        status: 'failed',
        finishedAt: now - 58_000,
        errorMessage: 'boom',
        codeDone: true,
      })
    }
    await store.claimSlots(
      [{ job: 'poll', slot: now - 1000, trigger: 'schedule', overlap: 'skip' }],
      'sched-a',
      now - 1000,
    )
    // Skipped: the run above is still going.
    await claim('poll', now - 500)
  } finally {
    await store.close()
  }
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

function json(args: string[]): unknown {
  const result = crons(dir, [...args, '--json'])
  expect(result.stderr, args.join(' ')).toBe('')
  return JSON.parse(result.stdout) as unknown
}

describe('--json shapes are the ones docs/cli.md lists', () => {
  it('logs: a run', () => {
    const runs = json(['logs']) as unknown[]
    expect(runs.length).toBeGreaterThan(0)
    for (const run of runs) expect(keys(run)).toEqual(sorted(documented('Run')))
  })

  it('list-jobs: a job, whose lastRun is a run', () => {
    const jobs = json(['list-jobs']) as { lastRun: unknown; description: unknown; scheduleInWords: unknown }[]
    for (const job of jobs) expect(keys(job)).toEqual(sorted(documented('Job')))
    expect(jobs[0]).toMatchObject({ description: 'Nightly backup', scheduleInWords: 'at 03:00 every day' })
    expect(keys(jobs[0]?.lastRun)).toEqual(sorted(documented('Run')))
  })

  it('status: instances and running entries as listed', () => {
    const status = json(['status']) as { instances: unknown[]; running: unknown[] }
    expect(keys(status)).toEqual(sorted(documented('Status')))
    expect(keys(status.instances[0])).toEqual(sorted(documentedObject('instances')))
    expect(keys(status.running[0])).toEqual(sorted(documentedObject('running')))
  })

  it('config: the same words for the same things (description, scheduleInWords, nextRun)', () => {
    const config = json(['config']) as { jobs: { description: unknown; nextRun: unknown }[] }
    expect(keys(config)).toEqual(sorted(documented('Config')))
    const jobFields = /Per job: (.*)\. \|$/m.exec(DOCS)?.[1] ?? ''
    const names = [...jobFields.matchAll(/`(\w+)`(?! \()|`(\w+)` \(/g)].map((m) => m[1] ?? m[2])
    const perJob = names.filter((name): name is string => name !== undefined && !/^(cron|every|at)$/.test(name))
    expect(keys(config.jobs[0])).toEqual(sorted(perJob))
    expect(config.jobs[0]).toMatchObject({
      description: 'Nightly backup',
      nextRun: expect.stringMatching(/T03:00:00\.000Z$/),
    })
  })
})

describe('logs --run ID --json: detail', () => {
  const run = (id: number) => json(['logs', '--run', String(id)]) as { detail: unknown; missed: unknown }
  const runs = () => json(['logs', '--limit', '100']) as { id: number; job: string; status: string; trigger: string }[]
  const idOf = (job: string, status: string, trigger = 'schedule') => {
    const found = runs().find((r) => r.job === job && r.status === status && r.trigger === trigger)
    expect(found, `a ${status} ${trigger} run of ${job}`).toBeDefined()
    return found?.id as number
  }

  it('is, for a record that stands for slots, the slots it stands for with ISO instants, in the shape docs/cli.md lists', () => {
    const missed = run(idOf('backup', 'missed'))
    expect(missed.detail).toEqual({ paused: false, count: 3, first: iso(now - 50 * MIN), last: iso(now - 48 * MIN) })
    expect(missed.missed).toEqual({ count: 3, first: iso(now - 50 * MIN), last: iso(now - 48 * MIN) })
    const catchUp = run(idOf('backup', 'succeeded', 'catch-up'))
    expect(catchUp.detail).toEqual({ paused: false, count: 2, first: iso(now - 40 * MIN), last: iso(now - 39 * MIN) })
    const paused = run(idOf('poll', 'skipped'))
    expect(paused.detail).toEqual({ paused: true, count: 3, first: iso(now - 25 * MIN), last: iso(now - 15 * MIN) })
    expect(paused.missed).toBeNull()
    const listed = /`detail` \(`\{ ([^}]+) \}`/.exec(DOCS)?.[1]?.split(', ')
    expect(keys(paused.detail)).toEqual(sorted(listed ?? []))
  })

  it('is the skip reason as text for an overlap skip, null for a run that stands for its own slot', () => {
    const skipped = runs().filter((r) => r.job === 'poll' && r.status === 'skipped')
    const overlap = run(skipped[skipped.length - 1]?.id as number)
    expect(overlap.detail).toMatch(/^still running: run \d+ on instance sched-a since /)
    expect(run(idOf('poll', 'running')).detail).toBeNull()
  })
})

// Last: the scheduler registers in the state as a runner and runs jobs in it.
describe('the library answers as --json prints, on the same state', () => {
  const run = (id: number) => json(['logs', '--run', String(id)])

  it('run(id) is logs --run ID --json (results as values, not JSON text), runs() is logs --json', async () => {
    const scheduler = createScheduler({
      state: path.join(dir, 'crons.db'),
      timezone: 'UTC',
      jobs: [
        { name: 'number', schedule: '@yearly', run: () => 42 },
        { name: 'text', schedule: '@yearly', run: () => 'ok' },
        { name: 'object', schedule: '@yearly', run: () => ({ a: 1 }) },
      ],
    })
    try {
      const ran: number[] = []
      for (const name of ['number', 'text', 'object']) ran.push((await scheduler.runJob(name)).runId)
      const results = await Promise.all(ran.map(async (id) => (await scheduler.run(id))?.result))
      expect(results).toEqual([42, 'ok', { a: 1 }])
      const listed = await scheduler.runs({ limit: 100 })
      expect(listed).toEqual(json(['logs', '--limit', '100']))
      expect(listed.length).toBeGreaterThan(ran.length)
      for (const { id } of listed) expect(await scheduler.run(id), `run ${id}`).toEqual(run(id))
    } finally {
      await scheduler.stop()
    }
  })
})
