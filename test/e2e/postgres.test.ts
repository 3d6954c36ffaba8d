/**
 * Many schedulers on one PostgreSQL schema, through the real CLI (SEMANTICS §9): every slot once
 * across four processes for over a minute, a killed scheduler's run interrupted by a peer, a stalled one's late writes
 * refused (fencing), one catch-up run however many restart together, and 20 first starts creating
 * one schema. Short heartbeats and leases (`--heartbeat`, `--instance-ttl`) keep each test to
 * seconds; every test has a schema of its own.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { type AttemptRecord, openStore } from '../../src/store/index.js'
import { freshSchema, stateUrl } from '../postgres/schemas.js'
import { type CliProcess, processScope, runCli, sleep, tempDir, useBuiltCli, waitUntil } from './helpers.js'

useBuiltCli()

/** A lease long enough that a process slowed down by a loaded machine is not taken for dead. */
const LEASE = ['--heartbeat', '250ms', '--instance-ttl', '10s']
/** A short lease, for the test that needs one to run out. */
const SHORT_LEASE = ['--heartbeat', '250ms', '--instance-ttl', '2s']

/** A project whose config names a fresh schema; returns its folder and state URL. */
function project(jobs: string, imports = ''): { cwd: string; url: string } {
  const url = stateUrl(freshSchema())
  const cwd = tempDir()
  fs.writeFileSync(
    path.join(cwd, 'crons.config.ts'),
    `${imports}
export default {
  state: ${JSON.stringify(url)},
  timezone: 'UTC',
  shutdownGrace: 2,
  jobs: ${jobs},
}
`,
  )
  return { cwd, url }
}

async function readRuns(url: string): Promise<AttemptRecord[]> {
  const store = await openStore(url, { readonly: true })
  try {
    return (await store.listRuns({ limit: 100_000 })).sort((a, b) => a.id - b.id)
  } finally {
    await store.close()
  }
}

async function instanceOf(proc: CliProcess): Promise<string> {
  const line = await proc.waitForLine(/^ {2}instance {2}\S+$/, 30_000)
  return line.trim().split(/\s+/)[1] as string
}

/** The slots a job's rows account for: its runs' slots, and every slot a missed record covers. */
function servedSlots(runs: readonly AttemptRecord[], job: string, everyMs = 1000): number[] {
  const slots: number[] = []
  for (const run of runs.filter((r) => r.job === job)) {
    if (run.status !== 'missed') {
      slots.push(run.slot)
      continue
    }
    const { first, last } = JSON.parse(run.detail as string) as { first: number; last: number }
    for (let slot = first; slot <= last; slot += everyMs) slots.push(slot)
  }
  return slots.sort((x, y) => x - y)
}

// One at a time: each test's timing (leases, kills) must not depend on what the others load.
describe('many schedulers on PostgreSQL', () => {
  it('four schedulers for over a minute serve every per-second and per-minute slot exactly once, without gaps', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const { cwd, url } = project(
      `[{ name: 'tick', every: '1s', run: () => 'ok' }, { name: 'tock', every: '1s', run: () => 'ok' },
        { name: 'minutely', schedule: '* * * * *', run: () => 'ok' }]`,
    )
    const all = [0, 1, 2, 3].map(() => procs.start(['start-scheduler', ...LEASE], { cwd }))
    const ids = await Promise.all(all.map(instanceOf))
    expect(new Set(ids).size).toBe(4)
    const started = Date.now()
    // Past a minute, and until a minute's slot has run: every process has served the same schedule.
    await waitUntil(
      async () =>
        Date.now() - started >= 61_000 &&
        (await readRuns(url)).some((r) => r.job === 'minutely' && r.status === 'succeeded'),
      120_000,
      'a minute of slots',
      1000,
    )
    for (const proc of all) proc.signal('SIGTERM')
    expect((await Promise.all(all.map((proc) => proc.waitExit(15_000)))).map((e) => e.code)).toEqual([0, 0, 0, 0])

    const runs = await readRuns(url)
    for (const [job, everyMs] of [
      ['tick', 1000],
      ['tock', 1000],
      ['minutely', 60_000],
    ] as const) {
      const slots = servedSlots(runs, job, everyMs)
      expect(new Set(slots).size, `${job}: a slot served twice`).toBe(slots.length)
      for (let i = 1; i < slots.length; i++) expect((slots[i] as number) - (slots[i - 1] as number)).toBe(everyMs)
    }
    // A slot found later than its misfire grace on a loaded machine is recorded missed, never run late.
    for (const run of runs) {
      expect(['succeeded', 'missed']).toContain(run.status)
      expect(run).toMatchObject({ trigger: 'schedule', active: false })
    }
    expect(runs.filter((r) => r.job === 'tick' && r.status === 'succeeded').length).toBeGreaterThanOrEqual(30)
    for (const proc of all) expect(proc.stderr).toBe('')
  }, 180_000)

  it('kill -9 one: a peer marks its run interrupted within the lease, and serves the job after', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const { cwd, url } = project(
      `[{ name: 'hang', every: '1s', run: () => new Promise((resolve) => setTimeout(resolve, 60_000)) }]`,
    )
    const a = procs.start(['start-scheduler', ...LEASE], { cwd })
    const idA = await instanceOf(a)
    const running = await waitUntil(
      async () => (await readRuns(url)).find((r) => r.status === 'running' && r.instanceId === idA),
      15_000,
      "a run of A's",
    )
    const b = procs.start(['start-scheduler', ...LEASE], { cwd })
    await instanceOf(b)
    await a.kill9()
    const killedAt = Date.now()
    const reaped = await waitUntil(
      async () => (await readRuns(url)).find((r) => r.id === running.id && r.status === 'interrupted'),
      15_000,
      `run ${running.id} interrupted`,
      100,
    )
    // Same host, process gone: at B's next heartbeat (250 ms), long before the lease (10 s) runs out.
    expect(Date.now() - killedAt).toBeLessThan(5000)
    expect(reaped.errorMessage).toContain(idA)
    await b.waitForLine(`reaped run(s) ${running.id} marked interrupted`, 5000)
    // B now holds the job: one run of its own, the next slots skipped while it hangs.
    await waitUntil(
      async () => (await readRuns(url)).some((r) => r.status === 'running' && r.instanceId !== idA),
      10_000,
      'a run on the peer',
    )
    b.signal('SIGTERM')
    b.signal('SIGTERM')
    await b.waitExit(15_000)
    const runs = await readRuns(url)
    expect(runs.filter((r) => r.status === 'running')).toEqual([])
    const started = runs.filter((r) => r.status !== 'skipped').map((r) => r.slot)
    expect(new Set(started).size).toBe(started.length)
  }, 60_000)

  it('SIGSTOP one past its lease, then SIGCONT: a peer took its run, and its late outcome is refused', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const { cwd, url } = project(
      `[{
        name: 'slow',
        every: '1s',
        overlap: 'skip',
        // Runs until the test releases it: its outcome comes after the process wakes up.
        run: async () => {
          while (!existsSync(${JSON.stringify('RELEASE')})) await new Promise((resolve) => setTimeout(resolve, 50))
          return 'late'
        },
      }]`,
      "import { existsSync } from 'node:fs'",
    )
    const a = procs.start(['start-scheduler', ...SHORT_LEASE], { cwd })
    const idA = await instanceOf(a)
    const held = await waitUntil(
      async () => (await readRuns(url)).find((r) => r.status === 'running' && r.instanceId === idA),
      15_000,
      "a run of A's",
    )
    const b = procs.start(['start-scheduler', ...SHORT_LEASE], { cwd })
    await instanceOf(b)
    a.signal('SIGSTOP')
    // The process is alive (not gone), so only its lease running out lets B take the run.
    const taken = await waitUntil(
      async () => (await readRuns(url)).find((r) => r.id === held.id && r.status === 'interrupted'),
      20_000,
      `run ${held.id} interrupted by the peer`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${b.describe()}`)
    })
    a.signal('SIGCONT')
    await a.waitFor(() => a.stdout.includes('was found dead by a peer'), 10_000, 'A noticing its lost lease')
    // Now A's job finishes: its outcome is refused, the interruption stands.
    fs.writeFileSync(path.join(cwd, 'RELEASE'), '')
    await a.waitFor(
      () => a.stdout.includes(`finish slow slot ${new Date(held.slot).toISOString()}`),
      10_000,
      'A finishing',
    )
    await sleep(500)
    expect((await readRuns(url)).find((r) => r.id === held.id)).toEqual(taken)
    for (const proc of [a, b]) proc.signal('SIGTERM')
    await Promise.all([a.waitExit(15_000), b.waitExit(15_000)])
    const runs = await readRuns(url)
    expect(runs.find((r) => r.id === held.id)?.status).toBe('interrupted')
    const started = runs.filter((r) => r.status !== 'skipped').map((r) => r.slot)
    expect(new Set(started).size).toBe(started.length)
  }, 60_000)

  it('three restarting together after downtime run one catch-up, and only one', async ({ onTestFinished }) => {
    const procs = processScope(onTestFinished)
    const { cwd, url } = project(`[{ name: 'sweep', every: '1s', catchUp: true, run: () => 'ok' }]`)
    const first = procs.start(['start-scheduler', ...LEASE], { cwd })
    await waitUntil(async () => (await readRuns(url)).length >= 1, 15_000, 'a first run')
    first.signal('SIGTERM')
    await first.waitExit(15_000)
    // Down for a few slots.
    await sleep(2500)
    const all = [0, 1, 2].map(() => procs.start(['start-scheduler', ...LEASE], { cwd }))
    await Promise.all(all.map(instanceOf))
    await waitUntil(
      async () => (await readRuns(url)).some((r) => r.trigger === 'catch-up' && r.status === 'succeeded'),
      15_000,
      'the catch-up run',
    )
    await sleep(500)
    for (const proc of all) proc.signal('SIGTERM')
    await Promise.all(all.map((proc) => proc.waitExit(15_000)))
    const runs = await readRuns(url)
    expect(runs.filter((r) => r.trigger === 'catch-up')).toHaveLength(1)
    const slots = runs.map((r) => r.slot)
    expect(new Set(slots).size).toBe(slots.length)
  }, 60_000)

  it('crons state migrate creates the schema, then has nothing to do', async () => {
    const { cwd } = project(`[{ name: 'x', every: '1h', run: () => 'ok' }]`)
    const first = await runCli(['state', 'migrate'], { cwd })
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/: created at schema version \d+$/m)
    expect(first.stdout).not.toContain('crons-test')
    const again = await runCli(['state', 'migrate', '--json'], { cwd })
    expect(again.code, again.stderr).toBe(0)
    const result = JSON.parse(again.stdout) as { from: number; to: number }
    expect(result.from).toBe(result.to)
  }, 60_000)
})
