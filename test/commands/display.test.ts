/**
 * What people read: tables that fit the terminal (`--wide` for all), no line between one-line rows,
 * one duration format, a dead owner's run marked as lasting up to its last heartbeat, zones by name
 * and offset, and help text wrapped once without repeating the summary.
 */
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import { crons } from './helpers.js'

const CONFIG = `import { defineConfig } from 'crons'
export default defineConfig({
  timezone: 'America/Sao_Paulo',
  jobs: [
    { name: 'import-customer-orders-from-the-warehouse', schedule: '0 3 * * *', run: () => undefined },
    { name: 'poll', every: '5m', tz: 'UTC', run: () => undefined },
  ],
})
`
const LONG_JOB = 'import-customer-orders-from-the-warehouse'
const LONG_ERROR = `connect ETIMEDOUT 10.0.0.12:5432 while fetching page 17 of the orders export ${'x'.repeat(40)}`

let dir: string
let reapedId = 0
beforeAll(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'crons-display-')))
  fs.writeFileSync(path.join(dir, 'crons.config.ts'), CONFIG)
  const store = await openStore(path.join(dir, 'crons.db'))
  try {
    const t0 = Date.now() - 3_600_000
    await store.syncJobs([LONG_JOB, 'poll'], t0)
    await store.registerInstance({ id: 'gone', role: 'scheduler', host: 'box', pid: 1, now: t0 })
    const claim = async (job: string, slot: number) => {
      const [c] = await store.claimSlots([{ job, slot, trigger: 'schedule', overlap: 'skip' }], 'gone', slot)
      if (c?.kind !== 'started') throw new Error('not started')
      return c.runId
    }
    await store.finishRun(await claim(LONG_JOB, t0), {
      status: 'failed',
      finishedAt: t0 + 1500,
      errorMessage: LONG_ERROR,
      codeDone: true,
    })
    await store.finishRun(await claim('poll', t0 + 60_000), {
      status: 'succeeded',
      finishedAt: t0 + 150_000,
      codeDone: true,
    })
    // The owner dies mid-run: its last heartbeat is 12.3 s after the start, and a peer reaps it.
    reapedId = await claim('poll', t0 + 300_000)
    await store.heartbeat('gone', t0 + 312_300)
    await store.reapDeadInstances(t0 + 400_000, 30_000)
  } finally {
    await store.close()
  }
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const visible = (text: string) => stripVTControlCharacters(text)

describe('tables fit the terminal', () => {
  it('with COLUMNS=80 every line fits and long cells end in "…"; --wide shows them whole', () => {
    const fitted = crons(dir, ['logs'], { COLUMNS: '80' })
    expect(fitted.status).toBe(0)
    const lines = fitted.stdout.trimEnd().split('\n')
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80)
    expect(fitted.stdout).toContain('…')
    expect(fitted.stdout).toMatch(/ failed +/)

    const wide = crons(dir, ['logs', '--wide'], { COLUMNS: '80' })
    expect(wide.stdout).toContain(LONG_JOB)
    expect(wide.stdout).toContain(LONG_ERROR.slice(0, 60))
    expect(wide.stdout).not.toContain('…')
    expect(Math.max(...wide.stdout.split('\n').map((l) => l.length))).toBeGreaterThan(80)
  })

  it('box tables on a terminal: a line under the header, none between one-line rows', () => {
    const boxed = visible(crons(dir, ['logs', '--wide'], { FORCE_COLOR: '1' }).stdout)
    expect(boxed.split('\n').filter((l) => l.startsWith('├'))).toHaveLength(1)
    expect(boxed.split('\n').filter((l) => l.startsWith('│'))).toHaveLength(4)
    // Cells of two lines (schedule and its wording) keep a line between rows.
    const jobs = visible(crons(dir, ['list-jobs', '--wide'], { FORCE_COLOR: '1' }).stdout)
    expect(jobs.split('\n').filter((l) => l.startsWith('├')).length).toBeGreaterThan(1)
  })
})

describe('durations and zones', () => {
  it('one duration format; a reaped run lasts up to its owner’s last heartbeat, and says so', () => {
    const table = crons(dir, ['logs', '--wide']).stdout
    expect(table).toMatch(/ failed +\S.* 1\.5s +connect ETIMEDOUT/)
    expect(table).toMatch(/ succeeded +.* 1m 30s\s*$/m)
    expect(table).toMatch(/ interrupted +.* 12\.3s \(until last heartbeat\) +instance gone stopped heartbeating/)
    const detail = crons(dir, ['logs', '--run', String(reapedId)]).stdout
    expect(detail).toMatch(/^duration {3}12\.3s \(until last heartbeat\)$/m)
    const json = JSON.parse(crons(dir, ['logs', '--run', String(reapedId), '--json']).stdout)
    expect(json).toMatchObject({ status: 'interrupted', durationMs: 12_300, durationUntil: 'last-heartbeat' })
  })

  it('local times name the zone and its offset, never an abbreviation such as GMT-3', () => {
    const next = crons(dir, [
      'next',
      '0 3 * * *',
      '--tz',
      'America/Sao_Paulo',
      '--from',
      '2026-01-10T00:00:00Z',
      '-n',
      '1',
    ])
    expect(next.stdout).toMatch(/^1 +2026-01-10T06:00:00\.000Z +2026-01-10 03:00:00 \(UTC-03:00\) /m)
    const status = crons(dir, ['status', '--wide']).stdout
    expect(status).toMatch(/America\/Sao_Paulo \(UTC-03:00\)/)
    expect(`${next.stdout}${status}${crons(dir, ['logs', '--wide']).stdout}`).not.toMatch(/GMT[+-]\d/)
  })
})

describe('--help', () => {
  it('shows the summary once and the description wrapped once', () => {
    const help = crons(dir, ['logs', '--help'], { COLUMNS: '200' }).stdout
    expect(help.split('Show the run history: every attempt').length).toBe(2)
    // Source line breaks inside a paragraph are gone: each line but a paragraph's last is filled.
    const description = help.slice(help.indexOf('DESCRIPTION\n') + 12, help.indexOf('\nEXAMPLES'))
    expect(description.replace(/\s+/g, ' ')).toContain(
      'so the newest is at the bottom; --json prints the same attempts',
    )
    for (const paragraph of description.trim().split('\n\n')) {
      for (const line of paragraph.split('\n').slice(0, -1)) expect(line.length, line).toBeGreaterThan(60)
    }
  })
})
