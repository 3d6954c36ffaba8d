/**
 * Every `--json` speaks one vocabulary, and docs/cli.md ("JSON output") lists each shape: the fields
 * the built CLI prints are exactly the fields the docs list, no more and no fewer.
 */
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

let dir: string
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-json-'))
  fs.writeFileSync(path.join(dir, 'crons.config.ts'), CONFIG)
  const store = await openStore(path.join(dir, 'crons.db'))
  try {
    const now = Date.now()
    await store.syncJobs(['backup', 'poll'], now - 60_000)
    await store.registerInstance({ id: 'sched-a', role: 'scheduler', host: 'box', pid: 7, now })
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
