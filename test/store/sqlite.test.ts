import { spawn } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { APPLICATION_ID, MIGRATIONS, openSqliteStore, SCHEMA_VERSION } from '../../src/store/sqlite/index.js'
import type { SlotClaim, Store } from '../../src/store/types.js'
import { storeContract } from './contract.js'
import { removeTempDirs, tempDir } from './helpers.js'

afterAll(removeTempDirs)

// One in-memory database has no second connection: the second is the same store, racing itself.
let memory: Store | undefined
storeContract('sqlite :memory:', {
  open: async () => {
    memory = await openSqliteStore(':memory:')
    return memory
  },
  openSecond: async () => memory as Store,
})
let lastFile = ''
storeContract('sqlite file', {
  open: () => {
    lastFile = path.join(tempDir(), `state-${Date.now()}-${Math.random()}.db`)
    return openSqliteStore(lastFile)
  },
  openSecond: () => openSqliteStore(lastFile),
})

const T0 = Date.UTC(2025, 0, 1)
const claim = (job: string, slot: number, overlap: 'skip' | 'allow' = 'allow'): SlotClaim => ({
  job,
  slot,
  trigger: 'schedule',
  overlap,
})

describe('sqlite: two connections on one file', () => {
  it('splits slots between connections and sees the other connection’s running jobs', async () => {
    const file = path.join(tempDir(), 'shared.db')
    const a = await openSqliteStore(file)
    const b = await openSqliteStore(file)
    await a.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    await b.registerInstance({ id: 'B', role: 'scheduler', host: 'h', pid: 2, now: T0 })

    const [fromA, fromB] = await Promise.all([
      a.claimSlots(
        [0, 1, 2, 3, 4].map((i) => claim('j', T0 + i)),
        'A',
        T0,
      ),
      b.claimSlots(
        [3, 4, 5, 6].map((i) => claim('j', T0 + i)),
        'B',
        T0,
      ),
    ])
    const kinds = [...fromA, ...fromB].map((o) => o.kind)
    expect(kinds.filter((k) => k === 'started')).toHaveLength(7)
    expect(kinds.filter((k) => k === 'taken')).toHaveLength(2)

    const [skipped] = await b.claimSlots([claim('j', T0 + 9, 'skip')], 'B', T0 + 9)
    expect(skipped?.kind).toBe('skipped')
    expect(await b.setPaused('j', true, T0 + 9)).toBe(true)
    expect((await a.claimSlots([claim('j', T0 + 10)], 'A', T0 + 10))[0]?.kind).toBe('paused')
    await a.close()
    await b.close()
  })

  it('gives each slot to exactly one of several processes racing for it, without SQLITE_BUSY', async () => {
    const file = path.join(tempDir(), 'race.db')
    const setup = await openSqliteStore(file)
    await setup.close()
    const worker = fileURLToPath(new URL('./fixtures/claim-worker.mjs', import.meta.url))
    const jobs = 5
    const slots = 100
    const children = ['W1', 'W2', 'W3'].map((id) =>
      spawn(process.execPath, ['--import', 'tsx', worker, file, id, String(jobs), String(slots), '7'], {
        cwd: path.dirname(worker),
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    )
    const outputs = children.map((child) => {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
      return { child, next: async () => (await lines.next()).value as string | undefined }
    })
    for (const output of outputs) expect(await output.next()).toBe('ready')
    for (const { child } of outputs) child.stdin.write('go\n')
    const results = await Promise.all(
      outputs.map(async ({ next }) => JSON.parse((await next()) ?? '{}') as { won: string[]; errors: string[] }),
    )

    expect(results.flatMap((r) => r.errors)).toEqual([])
    const won = results.flatMap((r) => r.won)
    expect(won).toHaveLength(jobs * slots)
    expect(new Set(won).size).toBe(jobs * slots)
    const check = await openSqliteStore(file)
    expect(Object.values(await check.countByStatus(0)).reduce((x, y) => x + y, 0)).toBe(jobs * slots)
    await check.close()
  })
})

describe('sqlite: queued outcomes', () => {
  const succeeded = { status: 'succeeded', finishedAt: T0 + 10, codeDone: true } as const
  async function startRuns(store: Store, count: number): Promise<number[]> {
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    const outcomes = await store.claimSlots(
      Array.from({ length: count }, (_, i) => claim(`job-${i}`, T0)),
      'A',
      T0,
    )
    return outcomes.map((o) => (o.kind === 'started' ? o.runId : Number.NaN))
  }

  it('writes the outcomes of one turn together and resolves once another connection can read them', async () => {
    const file = path.join(tempDir(), 'outcomes.db')
    const writer = await openSqliteStore(file)
    const reader = await openSqliteStore(file, { readonly: true })
    const ids = await startRuns(writer, 100)
    const written = ids.map((id) => writer.finishRun(id, succeeded))
    // Queued, not yet written: the file still shows them running.
    expect(await reader.countByStatus(0)).toEqual({ running: 100 })
    await Promise.all(written)
    expect(await reader.countByStatus(0)).toEqual({ succeeded: 100 })
    await writer.finishRun(ids[0] as number, { ...succeeded, result: '"again"' })
    expect((await reader.getRun(ids[0] as number))?.result).toBe('"again"')
    await reader.close()
    await writer.close()
  })

  it('writes queued outcomes on close', async () => {
    const file = path.join(tempDir(), 'close.db')
    const store = await openSqliteStore(file)
    const [id] = await startRuns(store, 1)
    const written = store.finishRun(id as number, succeeded)
    await store.close()
    await written
    const again = await openSqliteStore(file)
    expect(await again.getRun(id as number)).toMatchObject({ status: 'succeeded', active: false })
    await again.close()
    await expect(store.finishRun(id as number, succeeded)).rejects.toThrow('The database connection is not open')
  })

  it('rejects every caller of a failed write with the same error, and writes later outcomes', async () => {
    const file = path.join(tempDir(), 'locked.db')
    const store = await openSqliteStore(file, { busyTimeoutMs: 50 })
    const [a, b, c] = await startRuns(store, 3)
    const other = new Database(file)
    other.exec('BEGIN IMMEDIATE')
    const results = await Promise.allSettled([store.finishRun(a as number, succeeded), store.releaseRun(b as number)])
    other.exec('ROLLBACK')
    other.close()
    const [first, second] = results
    expect(first).toMatchObject({
      status: 'rejected',
      reason: { code: 'STATE_LOCKED', message: `${file}: state file is locked by another program (waited 0.05s)` },
    })
    expect(second?.status === 'rejected' && first?.status === 'rejected' && second.reason === first.reason).toBe(true)
    // Nothing of the failed transaction was written; the next turn's outcomes are.
    expect(await store.getRun(a as number)).toMatchObject({ status: 'running', active: true })
    await store.finishRun(c as number, succeeded)
    expect(await store.getRun(c as number)).toMatchObject({ status: 'succeeded', active: false })
    await store.close()
  })
})

describe('sqlite: migrations', () => {
  it('creates a marked, versioned WAL file with the schema', async () => {
    const file = path.join(tempDir(), 'fresh.db')
    const store = await openSqliteStore(file)
    expect(await store.info()).toMatchObject({ location: file, schemaVersion: SCHEMA_VERSION })
    expect((await store.info()).sizeBytes).toBeGreaterThan(0)
    const raw = new Database(file, { readonly: true })
    expect(raw.pragma('application_id', { simple: true })).toBe(APPLICATION_ID)
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal')
    const tables = raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all()
    expect(tables).toEqual(expect.arrayContaining(['instances', 'jobs', 'runs', 'slot_claims']))
    raw.close()
    await store.close()
  })

  it('numbers migrations by position', () => {
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length)
    for (const migration of MIGRATIONS) expect(migration.description).not.toBe('')
  })

  it('upgrades a version 2 file: its instances count as schedulers, and a runner can register', async () => {
    const file = path.join(tempDir(), 'v2.db')
    const db = new Database(file)
    db.pragma('journal_mode = WAL')
    for (const migration of MIGRATIONS.slice(0, 2)) db.exec(migration.sql)
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma('user_version = 2')
    db.prepare(
      "INSERT INTO instances (id, host, pid, started_at, heartbeat_at, stopped_at) VALUES ('old', 'h', 1, 5, 6, NULL)",
    ).run()
    db.close()
    const store = await openSqliteStore(file)
    expect(await store.info()).toMatchObject({ schemaVersion: SCHEMA_VERSION })
    await store.registerInstance({ id: 'manual', role: 'runner', host: 'h', pid: 2, now: 7 })
    expect((await store.listInstances()).map((i) => [i.id, i.role])).toEqual([
      ['old', 'scheduler'],
      ['manual', 'runner'],
    ])
    await store.close()
    const raw = new Database(file)
    expect(() => raw.prepare("UPDATE instances SET role = 'other' WHERE id = 'old'").run()).toThrow(/CHECK/)
    raw.close()
  })

  it('keeps data across reopen and leaves a current file alone', async () => {
    const file = path.join(tempDir(), 'reopen.db')
    const first = await openSqliteStore(file)
    await first.syncJobs(['a'], T0)
    await first.close()
    const second = await openSqliteStore(file)
    expect((await second.listJobs()).map((j) => j.name)).toEqual(['a'])
    await second.close()
  })

  it('initialises an empty file that is already marked as ours', async () => {
    const file = path.join(tempDir(), 'marked.db')
    const raw = new Database(file)
    raw.pragma(`application_id = ${APPLICATION_ID}`)
    raw.close()
    const store = await openSqliteStore(file)
    expect(await store.listJobs()).toEqual([])
    await store.close()
  })

  it('reports the memory store without a size', async () => {
    const store = await openSqliteStore(':memory:')
    expect(await store.info()).toEqual({ location: ':memory:', schemaVersion: SCHEMA_VERSION, sizeBytes: null })
    await store.close()
    await store.close()
  })
})

describe('sqlite: performance', () => {
  it('claims 1,000 slots due in the same second in one call', async () => {
    const store = await openSqliteStore(path.join(tempDir(), 'perf.db'))
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    const claims = (slot: number) => Array.from({ length: 1000 }, (_, i) => claim(`job-${i}`, slot, 'skip'))
    await store.claimSlots(claims(T0), 'A', T0) // warm up statements and pages
    const started = performance.now()
    const outcomes = await store.claimSlots(claims(T0 + 1000), 'A', T0 + 1000)
    const elapsed = performance.now() - started
    expect(outcomes.every((o) => o.kind === 'skipped')).toBe(true)
    const fresh = performance.now()
    const again = await store.claimSlots(
      claims(T0 + 2000).map((c) => ({ ...c, overlap: 'allow' as const })),
      'A',
      T0,
    )
    const elapsedStarted = performance.now() - fresh
    expect(again.every((o) => o.kind === 'started')).toBe(true)
    console.log(`1,000 claims: ${elapsed.toFixed(1)} ms (skipped), ${elapsedStarted.toFixed(1)} ms (started)`)
    // Generous for slow CI machines; typically well under 50 ms. Per-claim transactions would take seconds.
    expect(elapsedStarted).toBeLessThan(1000)
    await store.close()
  })

  it('answers history queries from indexes on a large history', async () => {
    const file = path.join(tempDir(), 'big.db')
    const setup = await openSqliteStore(file)
    await setup.close()
    const raw = new Database(file)
    // 300,000 runs over 30 jobs, a few still running, inserted directly for speed (ids are i, so
    // the previous run of the same job is i - 30), each job's chain starting at its newest run.
    raw.exec(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
      INSERT INTO runs (id, job, slot, "trigger", attempt, status, started_at, finished_at, instance_id, active, prev_id)
      SELECT i, 'job-' || (i % 30), ${T0} + i * 1000, 'schedule', 1,
        CASE WHEN i > 299990 THEN 'running' WHEN i % 97 = 0 THEN 'failed' ELSE 'succeeded' END,
        ${T0} + i * 1000, ${T0} + i * 1000 + 10, 'A', CASE WHEN i > 299990 THEN 1 ELSE 0 END,
        CASE WHEN i > 30 THEN i - 30 END
      FROM n;
      INSERT INTO jobs (name, last_slot, paused, created_at, seen_at, last_run_id)
      SELECT job, max(slot), 0, ${T0}, ${T0}, max(id) FROM runs GROUP BY job`)
    raw.close()
    const store = await openSqliteStore(file)
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 + 300_000 * 1000 })
    const time = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
      const started = performance.now()
      const value = await work()
      return [value, performance.now() - started]
    }
    const recent = T0 + 299_000 * 1000
    const checks: [string, () => Promise<unknown[] | Map<string, unknown> | object>][] = [
      ['job', () => store.listRuns({ job: 'job-7' })],
      ['job+status', () => store.listRuns({ job: 'job-7', status: 'failed' })],
      ['job+running', () => store.listRuns({ job: 'job-25', status: 'running' })],
      ['status', () => store.listRuns({ status: 'failed' })],
      ['running', () => store.listRuns({ status: 'running' })],
      ['since', () => store.listRuns({ since: recent })],
      ['since, few', () => store.listRuns({ since: T0 + 299_990 * 1000 })],
      ['failed since', () => store.listRuns({ status: 'failed', since: recent })],
      ['afterId', () => store.listRuns({ afterId: 299_900 })],
      ['lastRuns', () => store.lastRuns()],
      ['active', () => store.activeRuns()],
      ['countByStatus', () => store.countByStatus(recent)],
      ['reap', () => store.reapDeadInstances(T0 + 300_000 * 1000, 60_000)],
      // job-25 is still running, so this claim is recorded as skipped (and then taken).
      ['claim', () => store.claimSlots([claim('job-25', T0 + 400_000 * 1000, 'skip')], 'A', T0)],
    ]
    for (const [name, query] of checks) {
      await query()
      const [result, ms] = await time(query)
      expect(result, name).toBeDefined()
      expect(ms, `${name} took ${ms.toFixed(1)} ms`).toBeLessThan(100)
    }
    expect((await store.lastRuns()).size).toBe(30)
    expect(await store.activeRuns()).toHaveLength(10)
    expect(await store.reapDeadInstances(T0 + 300_000 * 1000, 60_000)).toEqual({ interrupted: [], released: [] })
    await store.close()
  })
})

describe('sqlite: read-only opening', () => {
  it('reads a file another connection is writing, and refuses writes', async () => {
    const file = path.join(tempDir(), 'inspect.db')
    const writer: Store = await openSqliteStore(file)
    await writer.syncJobs(['a'], T0)
    const reader = await openSqliteStore(file, { readonly: true })
    expect((await reader.listJobs()).map((j) => j.name)).toEqual(['a'])
    await writer.syncJobs(['b'], T0)
    expect((await reader.listJobs()).map((j) => j.name)).toEqual(['a', 'b'])
    await expect(reader.setPaused('a', true, T0)).rejects.toMatchObject({
      code: 'STATE_READONLY',
      message: `${file}: state file was opened read-only, cannot change it`,
    })
    await reader.close()
    await writer.close()
  })
})
