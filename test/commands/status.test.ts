import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { renderStatus } from '../../src/commands/status.js'
import { resolveConfig } from '../../src/config/loader.js'
import type { ResolvedConfig } from '../../src/config/types.js'
import { statusReport } from '../../src/core/inspect.js'
import { type StatusView, statusView } from '../../src/core/views.js'
import { EXIT } from '../../src/errors.js'
import { openStore } from '../../src/store/index.js'
import type { RunOutcome, Store } from '../../src/store/types.js'
import { crons, ROOT } from './helpers.js'

const NOW = Date.parse('2026-01-15T10:00:00Z')
const at = (iso: string) => Date.parse(iso)
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI escapes is the point
const ANSI = /\u001b\[/

const CONFIG = `import { defineConfig } from 'cronsjs'

export default defineConfig({
  timezone: 'Europe/Berlin',
  jobs: [
    { name: 'backup', schedule: '0 3 * * *', run: () => undefined },
    { name: 'report', schedule: '30 9 * * 1-5', tz: 'America/New_York', run: () => undefined },
    { name: 'poll', every: '5m', tz: 'UTC', run: () => undefined },
  ],
})
`

const dirs: string[] = []
function projectDir(): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-status-'))
  dirs.push(dir)
  fs.writeFileSync(path.join(dir, 'crons.config.ts'), CONFIG)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

async function withStore(dir: string, work: (store: Store) => Promise<void>): Promise<void> {
  const store = await openStore(path.join(dir, 'crons.db'))
  try {
    await work(store)
  } finally {
    await store.close()
  }
}

async function attempt(
  store: Store,
  job: string,
  slot: number,
  instance: string,
  outcome?: Omit<RunOutcome, 'codeDone'>,
) {
  const [claimed] = await store.claimSlots([{ job, slot, trigger: 'schedule', overlap: 'skip' }], instance, slot)
  if (claimed?.kind !== 'started') throw new Error(`expected to start, got ${claimed?.kind}`)
  if (outcome) await store.finishRun(claimed.runId, { ...outcome, codeDone: true })
}

/** An alive instance running poll, a dead one, a cleanly stopped one, and a day of history. */
async function seedBusy(store: Store): Promise<void> {
  await store.registerInstance({
    id: 'sched-b',
    role: 'scheduler',
    host: 'box-b',
    pid: 202,
    now: at('2026-01-14T08:00:00Z'),
  })
  await store.heartbeat('sched-b', at('2026-01-15T09:40:00Z'))
  // Its host's clock was 5 minutes ahead of the database server's.
  await store.updateInstance('sched-b', { clockOffsetMs: -300_000 })
  await store.registerInstance({
    id: 'sched-a',
    role: 'scheduler',
    host: 'box-a',
    pid: 101,
    now: at('2026-01-15T09:00:00Z'),
  })
  await store.heartbeat('sched-a', at('2026-01-15T09:59:55Z'))
  await store.updateInstance('sched-a', { clockOffsetMs: 4 })
  await store.registerInstance({
    id: 'sched-c',
    role: 'scheduler',
    host: 'box-c',
    pid: 303,
    now: at('2026-01-15T09:30:00Z'),
  })
  await store.stopInstance('sched-c', at('2026-01-15T09:45:00Z'))
  const old = at('2026-01-14T09:00:00Z')
  await attempt(store, 'backup', old, 'sched-b', { status: 'succeeded', finishedAt: old + 1000 })
  const night = at('2026-01-15T02:00:00Z')
  await attempt(store, 'backup', night, 'sched-b', { status: 'failed', finishedAt: night + 3000 })
  for (const minute of ['45', '50', '55']) {
    const slot = at(`2026-01-15T09:${minute}:00Z`)
    await attempt(store, 'poll', slot, 'sched-a', { status: 'succeeded', finishedAt: slot + 500 })
  }
  await attempt(store, 'poll', at('2026-01-15T09:58:00Z'), 'sched-a')
}

async function load(dir: string): Promise<ResolvedConfig> {
  return resolveConfig({ cwd: dir, env: {} })
}

/** The state file's size depends on SQLite's page use and the WAL, not on this command. */
const sizeless = (text: string) => text.replace(/\(\d+(\.\d)? [KMG]?B, /, '(SIZE, ')

describe('status rendering (fixed now)', () => {
  beforeEach(() => {
    vi.stubEnv('NO_COLOR', '1')
    return () => vi.unstubAllEnvs()
  })

  it('no state file: unhealthy, no instances, the next slot due still shown', async () => {
    const dir = projectDir()
    const config = await load(dir)
    const report = await statusReport(config, undefined, NOW)
    expect(await renderStatus(report, NOW, { zone: config.timezone })).toBe(
      [
        'scheduler   unhealthy: no scheduler alive (no state file yet)',
        `state       ${path.join(dir, 'crons.db')} (not created yet)`,
        'next due    poll at 2026-01-15 10:05:00 UTC, in 5m',
        'last 24h    no runs',
        '',
        'Running now',
        'nothing is running',
      ].join('\n'),
    )
  })

  it('alive, dead and stopped instances, a running job, 24 h of counts', async () => {
    const dir = projectDir()
    await withStore(dir, seedBusy)
    const config = await load(dir)
    const store = await openStore(config.statePath, { readonly: true })
    const report = await statusReport(config, store, NOW)
    await store.close()
    expect(sizeless(await renderStatus(report, NOW, { zone: config.timezone }))).toBe(
      [
        'scheduler   healthy: 1 of 3 instance(s) alive',
        `state       ${path.join(dir, 'crons.db')} (SIZE, schema version ${report.state.schemaVersion})`,
        'next due    poll at 2026-01-15 10:05:00 UTC, in 5m',
        'last 24h    1 running, 3 succeeded, 1 failed',
        '',
        'Instances',
        'id       host   pid  state    since                                          heartbeat  clock',
        'sched-b  box-b  202  dead     2026-01-14 09:00:00 Europe/Berlin (UTC+01:00)  20m ago    5m ahead',
        'sched-a  box-a  101  alive    2026-01-15 10:00:00 Europe/Berlin (UTC+01:00)  5s ago     +0.004s',
        'sched-c  box-c  303  stopped  2026-01-15 10:30:00 Europe/Berlin (UTC+01:00)  30m ago    -',
        '',
        'Running now',
        'job   run  attempt  trigger   instance  where          started',
        'poll  6    1        schedule  sched-a   box-a pid 101  2m ago',
      ].join('\n'),
    )
    const view = statusView(report)
    expect({ ...view, state: { ...view.state, sizeBytes: 0 } }).toEqual({
      healthy: true,
      instances: [
        {
          id: 'sched-b',
          host: 'box-b',
          pid: 202,
          startedAt: '2026-01-14T08:00:00.000Z',
          heartbeatAt: '2026-01-15T09:40:00.000Z',
          heartbeatAgeMs: 1_200_000,
          stoppedAt: null,
          alive: false,
          configHash: null,
          configDiffers: null,
          clockOffsetMs: -300_000,
        },
        {
          id: 'sched-a',
          host: 'box-a',
          pid: 101,
          startedAt: '2026-01-15T09:00:00.000Z',
          heartbeatAt: '2026-01-15T09:59:55.000Z',
          heartbeatAgeMs: 5000,
          stoppedAt: null,
          alive: true,
          configHash: null,
          configDiffers: null,
          clockOffsetMs: 4,
        },
        {
          id: 'sched-c',
          host: 'box-c',
          pid: 303,
          startedAt: '2026-01-15T09:30:00.000Z',
          heartbeatAt: '2026-01-15T09:30:00.000Z',
          heartbeatAgeMs: 1_800_000,
          stoppedAt: '2026-01-15T09:45:00.000Z',
          alive: false,
          configHash: null,
          configDiffers: null,
          clockOffsetMs: null,
        },
      ],
      running: [
        {
          id: 6,
          job: 'poll',
          slot: '2026-01-15T09:58:00.000Z',
          trigger: 'schedule',
          attempt: 1,
          startedAt: '2026-01-15T09:58:00.000Z',
          status: 'running',
          instanceId: 'sched-a',
          host: 'box-a',
          pid: 101,
        },
      ],
      last24h: {
        since: '2026-01-14T10:00:00.000Z',
        counts: {
          running: 1,
          succeeded: 3,
          failed: 1,
          timed_out: 0,
          interrupted: 0,
          cancelled: 0,
          skipped: 0,
          missed: 0,
        },
      },
      nextDue: { job: 'poll', at: '2026-01-15T10:05:00.000Z', zone: 'UTC' },
      state: {
        kind: 'file',
        path: path.join(dir, 'crons.db'),
        exists: true,
        sizeBytes: 0,
        schemaVersion: report.state.schemaVersion,
      },
    })
  })

  it('names a PostgreSQL state as a database, not by a size a file would have', async () => {
    const config = await load(projectDir())
    const report = await statusReport(config, undefined, NOW)
    const location = 'postgres://crons:***@db.internal:5432/crons'
    report.state = { kind: 'postgres', path: location, exists: true, sizeBytes: null, schemaVersion: 3 }
    const text = await renderStatus(report, NOW, { zone: config.timezone })
    expect(text.split('\n')[1]).toBe(`state       ${location} (PostgreSQL, schema version 3)`)
  })

  it('lists every live or dead instance but only the three that stopped last; --json lists all', async () => {
    const dir = projectDir()
    await withStore(dir, async (store) => {
      await seedBusy(store)
      for (const k of [1, 2, 3, 4]) {
        const id = `restart-${k}`
        await store.registerInstance({
          id,
          role: 'scheduler',
          host: 'box-c',
          pid: 400 + k,
          now: at('2026-01-15T09:00:00Z'),
        })
        await store.stopInstance(id, at(`2026-01-15T09:0${k}:00Z`))
      }
    })
    const config = await load(dir)
    const store = await openStore(config.statePath, { readonly: true })
    const report = await statusReport(config, store, NOW)
    await store.close()
    const text = await renderStatus(report, NOW, { zone: config.timezone })
    const ids = text.split('\n').flatMap((line) => /^(sched-\w|restart-\d) /.exec(line)?.[1] ?? [])
    // In the order they started; sched-c stopped at 09:45, restart-4 at 09:04, restart-3 at 09:03, the others before.
    expect(ids).toEqual(['sched-b', 'restart-3', 'restart-4', 'sched-a', 'sched-c'])
    expect(text).toContain('\nand 2 that stopped earlier (status --json lists every one)\n')
    expect(statusView(report).instances).toHaveLength(7)
  })

  it('says whether the last scheduler crashed or stopped', async () => {
    const dir = projectDir()
    await withStore(dir, async (store) => {
      await store.registerInstance({
        id: 'gone',
        role: 'scheduler',
        host: 'h',
        pid: 1,
        now: at('2026-01-15T09:00:00Z'),
      })
      await store.heartbeat('gone', at('2026-01-15T09:57:00Z'))
    })
    const config = await load(dir)
    const head = async () => {
      const store = await openStore(config.statePath, { readonly: true })
      const report = await statusReport(config, store, NOW)
      await store.close()
      return (await renderStatus(report, NOW, { zone: config.timezone })).split('\n')[0]
    }
    expect(await head()).toBe('scheduler   unhealthy: no scheduler alive (last heartbeat 3m ago)')
    await withStore(dir, (store) => store.stopInstance('gone', at('2026-01-15T09:58:00Z')))
    expect(await head()).toBe('scheduler   unhealthy: no scheduler alive (the last one stopped 2m ago)')
  })

  it('a run-job process (a runner) is not a scheduler: unhealthy, yet its run shows where it runs', async () => {
    const dir = projectDir()
    await withStore(dir, async (store) => {
      await store.registerInstance({
        id: 'manual',
        role: 'runner',
        host: 'box',
        pid: 9,
        now: at('2026-01-15T09:59:00Z'),
      })
      const begun = await store.beginRun(
        { job: 'backup', slot: at('2026-01-15T09:59:00Z'), trigger: 'manual', attempt: 1, overlap: 'skip' },
        'manual',
        at('2026-01-15T09:59:00Z'),
      )
      expect(begun.kind).toBe('started')
    })
    const config = await load(dir)
    const store = await openStore(config.statePath, { readonly: true })
    const report = await statusReport(config, store, NOW)
    await store.close()
    expect(report.healthy).toBe(false)
    expect(report.instances).toEqual([])
    expect(report.running).toMatchObject([
      { job: 'backup', trigger: 'manual', instance: 'manual', host: 'box', pid: 9 },
    ])
    const text = await renderStatus(report, NOW, { zone: config.timezone })
    expect(text.split('\n')[0]).toBe('scheduler   unhealthy: no scheduler alive (none has registered)')
  })
})

describe('crons status (spawned)', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist/commands/status.js'))) {
      throw new Error('dist/ has no status: run `npm run build` first')
    }
  })

  it(`no state file: the JSON report, then exit ${EXIT.unhealthy}; the file is not created`, () => {
    const dir = projectDir()
    const result = crons(dir, ['status', '--json'])
    expect(result.stderr).toBe('')
    expect(result.status).toBe(EXIT.unhealthy)
    const view = JSON.parse(result.stdout) as StatusView
    expect(view).toMatchObject({
      healthy: false,
      instances: [],
      running: [],
      state: { kind: 'file', path: path.join(dir, 'crons.db'), exists: false, sizeBytes: null, schemaVersion: null },
    })
    expect(view.nextDue?.job).toBe('poll')
    expect(fs.existsSync(path.join(dir, 'crons.db'))).toBe(false)
  })

  it('an alive scheduler: exit 0, plain text when piped', async () => {
    const dir = projectDir()
    await withStore(dir, async (store) => {
      await store.registerInstance({ id: 'live', role: 'scheduler', host: 'box', pid: 7, now: Date.now() })
      await attempt(store, 'backup', Date.now() - 1000, 'live')
    })
    const result = crons(dir, ['status'])
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(result.stdout).not.toMatch(ANSI)
    expect(result.stdout).toMatch(/^scheduler {3}healthy: 1 of 1 instance\(s\) alive$/m)
    expect(result.stdout).toMatch(
      /^live +box +7 +alive +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Europe\/Berlin \(UTC\+\d\d:\d\d\) +(now|\ds ago) +-$/m,
    )
    expect(result.stdout).toMatch(/^backup +\d+ +1 +schedule +live +box pid 7 +(now|\ds ago)$/m)
    expect(result.stdout).toMatch(/^last 24h {4}1 running$/m)
  })

  it(`only a dead scheduler: the full report, then exit ${EXIT.unhealthy}; plain with NO_COLOR, colour only when forced`, async () => {
    const dir = projectDir()
    await withStore(dir, async (store) => {
      await store.registerInstance({ id: 'dead', role: 'scheduler', host: 'box', pid: 7, now: Date.now() - 120_000 })
    })
    const plain = crons(dir, ['status'], { NO_COLOR: '1' })
    expect(plain.status).toBe(EXIT.unhealthy)
    expect(plain.stderr).toBe('')
    expect(plain.stdout).not.toMatch(ANSI)
    expect(plain.stdout).toMatch(/^scheduler {3}unhealthy: no scheduler alive \(last heartbeat 2m( \ds)? ago\)$/m)
    expect(plain.stdout).toMatch(/^dead +box +7 +dead /m)
    const coloured = crons(dir, ['status'], { FORCE_COLOR: '1' })
    expect(coloured.status).toBe(EXIT.unhealthy)
    expect(coloured.stdout).toMatch(ANSI)
  })

  it('--help shows examples', () => {
    const result = crons(projectDir(), ['status', '--help'])
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('EXAMPLES')
    expect(result.stdout).toContain('crons status --json')
  })
})
