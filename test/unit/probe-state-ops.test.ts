/**
 * Probes (state-ops area): shutdown grace vs. peers and cancels, older and newer state files, backup
 * while another connection writes.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { cancelRun } from '../../src/core/cancel.js'
import { FakeClock, flushCallbacks } from '../../src/core/clock.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { openStore } from '../../src/store/index.js'
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite/index.js'
import type { Store } from '../../src/store/types.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function tempFile(name = 'crons.db'): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-probe4-'))
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
  return path.join(dir, name)
}

async function storeAt(file: string): Promise<Store> {
  const store = await openStore(file)
  cleanups.push(() => store.close().catch(() => undefined))
  return store
}

function schedulerOn(store: Store, clock: FakeClock, instanceId: string, jobs: JobDefinition[]): Scheduler {
  const config = validateConfig({ timezone: 'UTC', jobs }, { file: 'test' })
  const scheduler = new Scheduler(config, { clock, store, instanceId, random: () => 0 })
  cleanups.push(() => scheduler.stop({ graceMs: 0 }).catch(() => undefined))
  return scheduler
}

describe('probe: a scheduler in its shutdown grace, seen from another process', () => {
  it('a job still running within shutdownGrace is not reaped by a peer: it is recorded as it ended', async () => {
    const file = tempFile()
    const clock = new FakeClock(T0)
    let finish!: () => void
    const stopping = schedulerOn(await storeAt(file), clock, 'A', [
      {
        name: 'long',
        schedule: '0 * * * * *',
        // Ignores its signal on purpose only to be sure the run is still executing; it ends on its own.
        run: () =>
          new Promise<string>((resolve) => {
            finish = () => resolve('done')
          }),
      },
    ])
    const peer = schedulerOn(await storeAt(file), clock, 'B', [{ name: 'other', schedule: '0 0 1 1 *', run() {} }])
    await stopping.start()
    await peer.start()
    await clock.advanceTo(T0 + 61_000) // 'long' started at T0+60s on A
    // SIGTERM on A with a two-minute grace; the job ends 50 s later, well inside it.
    const stopped = stopping.stop({ graceMs: 120_000 })
    await clock.advance(50_000)
    finish()
    await flushCallbacks()
    await clock.advance(1_000)
    await stopped
    const store = await storeAt(file)
    const runs = await store.listRuns({ job: 'long' })
    expect(runs.map((r) => [r.status, r.errorMessage])).toEqual([['succeeded', null]])
  }, 30_000)

  it('a cancel from another process during the shutdown grace is acted on', async () => {
    const file = tempFile()
    const clock = new FakeClock(T0)
    const stopping = schedulerOn(await storeAt(file), clock, 'A', [
      {
        name: 'long',
        schedule: '0 * * * * *',
        run: (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      },
    ])
    await stopping.start()
    await clock.advanceTo(T0 + 61_000)
    const store = await storeAt(file)
    const [running] = await store.listRuns({ job: 'long' })
    expect(running?.status).toBe('running')
    const stopped = stopping.stop({ graceMs: 120_000 })
    // `crons cancel RUN_ID` from another process: a request its owner acts on at its next heartbeat.
    const cancelled = cancelRun({ store, clock, cancelActive: undefined }, running?.id as number, { waitMs: 30_000 })
    const outcome = cancelled.then(
      (run) => run.status,
      (error: Error) => error.message,
    )
    for (let i = 0; i < 35; i++) await clock.advance(1_000)
    expect(await outcome).toBe('cancelled')
    await clock.advance(120_000)
    await stopped
  }, 30_000)
})

describe('probe: state files of other versions', () => {
  it('a version 1 file with history is upgraded: chains, sequence, and new runs link to the old', async () => {
    const file = tempFile()
    const db = new Database(file)
    db.exec((MIGRATIONS[0] as { sql: string }).sql)
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma('user_version = 1')
    db.exec(`
      INSERT INTO runs (id, job, slot, "trigger", attempt, status, started_at, finished_at, instance_id, active)
        VALUES (1, 'a', ${T0}, 'schedule', 1, 'succeeded', ${T0}, ${T0 + 5}, 'X', 0),
               (2, 'b', ${T0}, 'schedule', 1, 'failed', ${T0}, ${T0 + 5}, 'X', 0),
               (3, 'a', ${T0 + 60_000}, 'schedule', 1, 'succeeded', ${T0 + 60_000}, ${T0 + 60_005}, 'X', 0),
               (5, 'b', ${T0 + 60_000}, 'manual', 1, 'succeeded', ${T0 + 60_000}, ${T0 + 60_005}, 'X', 0);
      UPDATE sqlite_sequence SET seq = 8 WHERE name = 'runs';
      INSERT INTO jobs (name, last_slot, paused, created_at, seen_at) VALUES ('a', ${T0 + 60_000}, 1, ${T0}, ${T0});
      INSERT INTO slot_claims (job, slot) VALUES ('a', ${T0 + 60_000});
    `)
    db.close()
    const store = await storeAt(file)
    expect((await store.info()).schemaVersion).toBe(SCHEMA_VERSION)
    expect((await store.listRuns({ job: 'a' })).map((r) => r.id)).toEqual([3, 1])
    expect((await store.listRuns({ job: 'b' })).map((r) => r.id)).toEqual([5, 2])
    expect((await store.listJobs()).map((j) => [j.name, j.paused, j.lastSlot])).toEqual([
      ['a', true, T0 + 60_000],
      ['b', false, null],
    ])
    const began = await store.beginRun(
      { job: 'b', slot: T0 + 120_000, trigger: 'manual', attempt: 1, overlap: 'allow' } as never,
      'Y',
      T0 + 120_000,
    )
    expect(began).toMatchObject({ kind: 'started', runId: 9 })
    expect((await store.listRuns({ job: 'b' })).map((r) => r.id)).toEqual([9, 5, 2])
    // The slot claimed under version 1 is still claimed.
    const claims = await store.claimSlots(
      [{ job: 'a', slot: T0 + 60_000, trigger: 'schedule', overlap: 'skip' }],
      'Y',
      T0 + 120_000,
    )
    expect(claims[0]?.kind).toBe('taken')
  })

  it('a newer file is refused in one line, and nothing is written (its main file and -wal stay as they were)', async () => {
    const file = tempFile()
    const store = await openStore(file)
    await store.setPaused('x', true, T0)
    await store.close()
    // A newer crons wrote it and died with its last writes in the -wal (the process exits without closing).
    const script = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(file)});
      db.pragma('wal_autocheckpoint = 0'); db.pragma('user_version = ${SCHEMA_VERSION + 1}');
      db.exec('CREATE TABLE future (x)'); process.exit(0)`
    const died = spawnSync(process.execPath, ['-e', script], { cwd: path.resolve(import.meta.dirname, '../..') })
    expect(died.status, String(died.stderr)).toBe(0)
    const hash = (name: string) =>
      createHash('sha256')
        .update(fs.readFileSync(`${file}${name}`))
        .digest('hex')
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0)
    const before = [hash(''), hash('-wal')]
    await expect(openStore(file)).rejects.toThrow(
      `${file}: state file has schema version ${SCHEMA_VERSION + 1}, this crons understands up to ${SCHEMA_VERSION} (upgrade crons)`,
    )
    expect(fs.existsSync(`${file}-wal`)).toBe(true)
    expect([hash(''), hash('-wal')]).toEqual(before)
  })
})

describe("probe: another application's database in WAL mode", () => {
  it('is refused and never modified: its -wal is not folded into it', async () => {
    const file = tempFile('app.db')
    const script = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(file)});
      db.pragma('journal_mode = WAL'); db.pragma('wal_autocheckpoint = 0');
      db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'Ada')");
      process.exit(0)`
    const died = spawnSync(process.execPath, ['-e', script], { cwd: path.resolve(import.meta.dirname, '../..') })
    expect(died.status, String(died.stderr)).toBe(0)
    const hash = (name: string) =>
      createHash('sha256')
        .update(fs.readFileSync(`${file}${name}`))
        .digest('hex')
    const before = [hash(''), hash('-wal')]
    await expect(openStore(file)).rejects.toThrow(
      'not a crons state file (SQLite database with other tables: customers)',
    )
    expect(fs.existsSync(`${file}-wal`)).toBe(true)
    expect([hash(''), hash('-wal')]).toEqual(before)
  })
})

describe('probe: backup while another connection writes', () => {
  it('the copy opens and holds every run committed before the backup began', async () => {
    const file = tempFile()
    const writer = await storeAt(file)
    await writer.registerInstance({ id: 'W', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    let slot = T0
    const claimBatch = async () => {
      slot += 1000
      await writer.claimSlots(
        Array.from(
          { length: 50 },
          (_, i) => ({ job: `job-${i}`, slot, trigger: 'schedule', overlap: 'allow' }) as const,
        ),
        'W',
        slot,
      )
    }
    for (let i = 0; i < 40; i++) await claimBatch()
    const reader = await openStore(file, { readonly: true })
    const committed = (await reader.listRuns({ limit: 100_000 })).length
    let writing = true
    const writes = (async () => {
      while (writing) {
        await claimBatch()
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    const copy = path.join(path.dirname(file), 'copy.db')
    await reader.backup?.(copy)
    writing = false
    await writes
    await reader.close()
    const restored = await openStore(copy, { readonly: true })
    const runs = await restored.listRuns({ limit: 100_000 })
    await restored.close()
    expect(committed).toBe(2000)
    expect(runs.length).toBeGreaterThanOrEqual(committed)
  })
})

describe('probe: cancel of a run that just finished', () => {
  it('from another connection: RUN_FINISHED naming how it ended, no request left on the row', async () => {
    const file = tempFile()
    const clock = new FakeClock(T0)
    const owner = schedulerOn(await storeAt(file), clock, 'A', [
      { name: 'quick', schedule: '0 * * * * *', run: () => 'ok' },
    ])
    await owner.start()
    await clock.advanceTo(T0 + 60_000)
    await flushCallbacks()
    const other = await storeAt(file)
    const [run] = await other.listRuns({ job: 'quick' })
    expect(run?.status).toBe('succeeded')
    await expect(cancelRun({ store: other, clock, cancelActive: undefined }, run?.id as number)).rejects.toThrow(
      `run ${run?.id} of job "quick" is not running: it ended succeeded`,
    )
  })
})
