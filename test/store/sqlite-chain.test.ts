/**
 * Schema version 2: a job's runs are a chain (`runs.prev_id` from `jobs.last_run_id`) instead of an
 * index keyed by job. Upgrading a version 1 file, and chain walks giving exactly what the SQL filter
 * `WHERE job = ? AND … ORDER BY id DESC LIMIT n` gives.
 */
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { APPLICATION_ID, MIGRATIONS, openSqliteStore, SCHEMA_VERSION } from '../../src/store/sqlite/index.js'
import { type AttemptRecord, RUN_STATUSES, type RunFilter, type SlotClaim, type Store } from '../../src/store/types.js'
import { pruned } from './contract-kit.js'
import { removeTempDirs, tempDir } from './helpers.js'

afterAll(removeTempDirs)

const T0 = Date.UTC(2025, 0, 1)
const MIN = 60_000
const DAY = 86_400_000

function claim(job: string, slot: number, extra: Partial<SlotClaim> = {}): SlotClaim {
  return { job, slot, trigger: 'schedule', overlap: 'allow', ...extra }
}

/** Every run of the file, newest first, read straight from the table. */
function allRuns(file: string): Record<string, unknown>[] {
  const db = new Database(file, { readonly: true })
  const rows = db.prepare('SELECT * FROM runs ORDER BY id DESC').all() as Record<string, unknown>[]
  db.close()
  return rows
}

describe('sqlite: upgrading a version 1 file', () => {
  /**
   * A file as crons wrote it at schema version 1: jobs a and b synced, c only ever run by hand (no
   * jobs row), runs interleaved, the newest ones and one in the middle deleted (so the sequence is
   * above max(id)), one run still active.
   */
  function versionOneFile(): { file: string; sequence: number } {
    const file = path.join(tempDir(), 'v1.db')
    const db = new Database(file)
    db.pragma('journal_mode = WAL')
    db.exec((MIGRATIONS[0] as { sql: string }).sql)
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma('user_version = 1')
    const seeJob = db.prepare('INSERT INTO jobs (name, last_slot, paused, created_at, seen_at) VALUES (?, ?, ?, ?, ?)')
    seeJob.run('a', T0 + 20 * MIN, 0, T0, T0)
    seeJob.run('b', T0 + 20 * MIN, 1, T0, T0)
    seeJob.run('idle', null, 0, T0, T0)
    const insert = db.prepare(
      `INSERT INTO runs (job, slot, "trigger", attempt, status, started_at, finished_at, instance_id, active)
       VALUES (?, ?, ?, 1, ?, ?, ?, 'A', ?)`,
    )
    const statuses = ['succeeded', 'failed', 'skipped', 'timed_out', 'missed', 'interrupted'] as const
    for (let i = 0; i < 30; i++) {
      const job = ['a', 'b', 'c'][i % 3] as string
      const trigger = job === 'c' ? 'manual' : 'schedule'
      const at = T0 + i * MIN
      insert.run(job, at, trigger, statuses[i % statuses.length], at, at + 5, 0)
    }
    // A still-running attempt of a, then runs that were deleted again.
    insert.run('a', T0 + 30 * MIN, 'schedule', 'running', T0 + 30 * MIN, null, 1)
    for (let i = 0; i < 4; i++) insert.run('b', T0 + (31 + i) * MIN, 'schedule', 'succeeded', T0, T0, 0)
    db.exec("DELETE FROM runs WHERE id > 31 OR id = 14; INSERT INTO slot_claims (job, slot) VALUES ('a', 5), ('b', 3)")
    const sequence = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").pluck().get() as number
    db.close()
    return { file, sequence }
  }

  it('keeps ids, sequence, history and claims, and links every run to its job', async () => {
    const { file, sequence } = versionOneFile()
    expect(sequence).toBe(35)
    const before = allRuns(file)

    const store = await openSqliteStore(file)
    expect(await store.info()).toMatchObject({ schemaVersion: SCHEMA_VERSION })
    const raw = new Database(file, { readonly: true })
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    expect(raw.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").pluck().all()).toEqual([35])
    expect(raw.prepare('SELECT slot, job FROM slot_claims').all()).toEqual([
      { slot: 3, job: 'b' },
      { slot: 5, job: 'a' },
    ])
    // Same columns and values, plus the link to the previous run of the same job.
    const after = allRuns(file)
    expect(after.map(({ prev_id: _, retry_at: __, cancel_request: ___, ...row }) => row)).toEqual(before)
    for (const row of after) {
      const previous = before.find((r) => r.job === row.job && (r.id as number) < (row.id as number))
      expect(row.prev_id, `run ${row.id}`).toBe(previous?.id ?? null)
    }
    const jobs = raw.prepare('SELECT * FROM jobs ORDER BY name').all()
    expect(jobs).toEqual([
      { name: 'a', last_slot: T0 + 20 * MIN, paused: 0, created_at: T0, seen_at: T0, last_run_id: 31, paused_at: null },
      { name: 'b', last_slot: T0 + 20 * MIN, paused: 1, created_at: T0, seen_at: T0, last_run_id: 29, paused_at: null },
      // Created from its runs: first and last start.
      {
        name: 'c',
        last_slot: null,
        paused: 0,
        created_at: T0 + 2 * MIN,
        seen_at: T0 + 29 * MIN,
        last_run_id: 30,
        paused_at: null,
      },
      { name: 'idle', last_slot: null, paused: 0, created_at: T0, seen_at: T0, last_run_id: null, paused_at: null },
    ])
    const indexes = raw
      .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL")
      .all() as { name: string; sql: string }[]
    expect(indexes.map((i) => i.name).sort()).toEqual([
      'runs_active_job',
      'runs_retry_at',
      'runs_started_at',
      'runs_status_id',
    ])
    for (const { name } of indexes) {
      const first = raw.prepare(`SELECT name FROM pragma_index_info('${name}') WHERE seqno = 0`).pluck().get()
      if (name !== 'runs_active_job') expect(first, name).not.toBe('job')
    }
    raw.close()

    for (const job of ['a', 'b', 'c']) {
      const expected = before.filter((r) => r.job === job).map((r) => r.id)
      expect((await store.listRuns({ job, limit: 100 })).map((r) => r.id)).toEqual(expected)
    }
    const last = await store.lastRuns()
    expect([...last.keys()].sort()).toEqual(['a', 'b', 'c'])
    // a's newest run is still running: its last finished one is the one before.
    expect(last.get('a')?.id).toBe(28)
    expect(last.get('b')?.id).toBe(29)
    expect(last.get('c')?.id).toBe(30)

    // Ids are never reused: the next run comes after the deleted ones, and links to b's newest.
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    const [outcome] = await store.claimSlots([claim('b', T0 + 40 * MIN)], 'A', T0 + 40 * MIN)
    expect(outcome).toEqual({ kind: 'paused', runId: 36 })
    expect((await store.listRuns({ job: 'b', limit: 2 })).map((r) => r.id)).toEqual([36, 29])
    await store.close()

    // Opening again changes nothing.
    const again = await openSqliteStore(file)
    expect((await again.listRuns({ job: 'b', limit: 2 })).map((r) => r.id)).toEqual([36, 29])
    await again.close()
  })

  it('upgrades a file without any runs', async () => {
    const file = path.join(tempDir(), 'empty-v1.db')
    const db = new Database(file)
    db.exec((MIGRATIONS[0] as { sql: string }).sql)
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma('user_version = 1')
    db.close()
    const store = await openSqliteStore(file)
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    const [outcome] = await store.claimSlots([claim('a', T0)], 'A', T0)
    expect(outcome).toEqual({ kind: 'started', runId: 1 })
    await store.close()
  })
})

describe('sqlite: chains of runs', () => {
  /** Runs of three jobs with every status and trigger, interleaved. Returns them newest first. */
  async function history(store: Store): Promise<AttemptRecord[]> {
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    const outcomes = ['succeeded', 'failed', 'timed_out', 'interrupted'] as const
    for (let i = 0; i < 90; i++) {
      const job = ['a', 'b', 'c'][(i * 7) % 3] as string
      const at = T0 + i * MIN
      if (i % 11 === 5) {
        await store.claimSlots(
          [claim(job, at, { record: 'missed', missed: { count: 2, first: at, last: at } })],
          'A',
          at,
        )
        continue
      }
      if (i % 13 === 7) {
        // Skipped: another run of the job is active.
        await store.claimSlots([claim(job, at), claim(job, at + 1, { overlap: 'skip' })], 'A', at)
        continue
      }
      const begun =
        i % 4 === 0
          ? await store.beginRun({ job, slot: at, trigger: 'manual', attempt: 1, overlap: 'allow' }, 'A', at)
          : (await store.claimSlots([claim(job, at, { trigger: i % 5 === 0 ? 'catch-up' : 'schedule' })], 'A', at))[0]
      const runId = (begun as { runId: number }).runId
      // Some stay running.
      if (i % 17 !== 3) {
        const status = outcomes[i % outcomes.length] as (typeof outcomes)[number]
        await store.finishRun(runId, { status, finishedAt: at + 1_000, codeDone: true })
      }
    }
    return store.listRuns({ limit: 10_000 })
  }

  it('gives exactly what filtering every run gives, for every filter and limit', async () => {
    const store = await openSqliteStore(':memory:')
    const all = await history(store)
    expect(all).toHaveLength(90 + 7)
    const filters: RunFilter[] = []
    for (const job of ['a', 'b', 'c', 'nope']) {
      for (const status of [undefined, ...RUN_STATUSES]) {
        for (const trigger of [undefined, 'schedule', 'manual', 'catch-up'] as const) {
          for (const since of [undefined, T0 + 40 * MIN]) {
            for (const limit of [1, 3, 50]) filters.push({ job, status, trigger, since, limit })
          }
        }
      }
    }
    for (const filter of filters) {
      const expected = all
        .filter(
          (r) =>
            r.job === filter.job &&
            (filter.status === undefined || r.status === filter.status) &&
            (filter.trigger === undefined || r.trigger === filter.trigger) &&
            (filter.since === undefined || r.startedAt >= filter.since),
        )
        .slice(0, filter.limit)
      expect(await store.listRuns(filter), JSON.stringify(filter)).toEqual(expected)
    }
    // Across jobs (SQL, the status spelled as a literal): the same answers.
    for (const status of RUN_STATUSES) {
      for (const since of [undefined, T0 + 40 * MIN]) {
        const expected = all.filter((r) => r.status === status && (since === undefined || r.startedAt >= since))
        expect(await store.listRuns({ status, since, limit: 500 }), `${status} ${since}`).toEqual(expected)
      }
    }
    expect(await store.listRuns({ status: 'bogus' as never })).toEqual([])
    await store.close()
  })

  it('prunes beyond keepRuns along the chain, keeping an active run and what is still linked', async () => {
    const file = path.join(tempDir(), 'prune.db')
    const store = await openSqliteStore(file)
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    const ids: number[] = []
    for (let i = 0; i < 8; i++) {
      const [outcome] = await store.claimSlots([claim('a', T0 + i * MIN), claim('b', T0 + i * MIN)], 'A', T0 + i * MIN)
      const id = (outcome as { runId: number }).runId
      ids.push(id)
      await store.finishRun(id + 1, { status: 'succeeded', finishedAt: T0 + i * MIN + 5, codeDone: true })
      // The second run of a never finishes: it is still active, far beyond the newest three.
      if (i !== 1) await store.finishRun(id, { status: 'succeeded', finishedAt: T0 + i * MIN + 5, codeDone: true })
    }
    const activeId = ids[1] as number
    expect(await pruned(store, T0 + DAY / 2, { keepDays: 30, keepRuns: 3 })).toBe(4 + 5)
    const kept = [ids[7], ids[6], ids[5], activeId]
    expect((await store.listRuns({ job: 'a' })).map((r) => r.id)).toEqual(kept)
    expect((await store.listRuns({ job: 'a', status: 'running' })).map((r) => r.id)).toEqual([activeId])
    expect(await store.listRuns({ job: 'b' })).toHaveLength(3)
    expect(
      allRuns(file)
        .filter((r) => r.job === 'a')
        .map((r) => r.id),
    ).toEqual(kept)
    expect(allRuns(file)).toHaveLength(7)

    // A new run links on; the next prune walks past the active run again and deletes nothing new.
    const [next] = await store.claimSlots([claim('a', T0 + 9 * MIN)], 'A', T0 + 9 * MIN)
    const nextId = (next as { runId: number }).runId
    await store.finishRun(nextId, { status: 'succeeded', finishedAt: T0 + 9 * MIN + 5, codeDone: true })
    expect(await pruned(store, T0 + DAY / 2, { keepDays: 30, keepRuns: 3 })).toBe(1)
    expect((await store.listRuns({ job: 'a' })).map((r) => r.id)).toEqual([nextId, ids[7], ids[6], activeId])
    // Once it settles it is pruned like any other.
    await store.finishRun(activeId, { status: 'failed', finishedAt: T0 + DAY / 4, codeDone: true })
    expect(await pruned(store, T0 + DAY / 2, { keepDays: 30, keepRuns: 3 })).toBe(1)
    expect((await store.listRuns({ job: 'a' })).map((r) => r.id)).toEqual([nextId, ids[7], ids[6]])
    await store.close()
  })

  it('lists runs spared by keepDays pruning below a deleted part of the chain', async () => {
    const store = await openSqliteStore(':memory:')
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    const hung = (await store.claimSlots([claim('a', T0)], 'A', T0))[0] as { runId: number }
    const old = (await store.claimSlots([claim('a', T0 + MIN)], 'A', T0 + MIN))[0] as { runId: number }
    await store.finishRun(old.runId, { status: 'succeeded', finishedAt: T0 + MIN + 5, codeDone: true })
    const now = T0 + 40 * DAY
    const recent = (await store.claimSlots([claim('a', now - DAY)], 'A', now - DAY))[0] as { runId: number }
    expect(await pruned(store, now, { keepDays: 30, keepRuns: 100 })).toBe(1)
    expect((await store.listRuns({ job: 'a' })).map((r) => r.id)).toEqual([recent.runId, hung.runId])
    await store.close()
  })

  it('claims and begins runs of a job the file has never seen', async () => {
    const store = await openSqliteStore(':memory:')
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    const [outcome] = await store.claimSlots([claim('new', T0)], 'A', T0 + 3)
    const begun = await store.beginRun(
      { job: 'manual-only', slot: T0, trigger: 'manual', attempt: 1, overlap: 'skip' },
      'A',
      T0 + 4,
    )
    expect(outcome?.kind).toBe('started')
    expect(begun.kind).toBe('started')
    expect(await store.listJobs()).toEqual([
      { name: 'manual-only', lastSlot: null, paused: false, pausedAt: null, createdAt: T0 + 4, seenAt: T0 + 4 },
      { name: 'new', lastSlot: T0, paused: false, pausedAt: null, createdAt: T0 + 3, seenAt: T0 + 3 },
    ])
    expect((await store.listRuns({ job: 'new' })).map((r) => r.id)).toEqual([(outcome as { runId: number }).runId])
    expect((await store.listRuns({ job: 'manual-only' })).map((r) => r.id)).toEqual([
      (begun as { runId: number }).runId,
    ])
    await store.close()
  })

  it.each([
    ['a small batch', 0],
    ['a batch that reads every active run once', 30],
  ])('sees a run started earlier in the same batch as the holder (overlap skip), in %s', async (_, others) => {
    const store = await openSqliteStore(':memory:')
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    // Another job already running: the batch must not take it for a's holder.
    const [running] = await store.claimSlots([claim('other-0', T0 - MIN)], 'A', T0 - MIN)
    const padding = Array.from({ length: others }, (_, i) => claim(`other-${i}`, T0, { overlap: 'skip' }))
    const all = await store.claimSlots(
      [
        claim('a', T0, { overlap: 'allow' }),
        claim('a', T0 + MIN, { overlap: 'skip' }),
        claim('b', T0, { overlap: 'skip' }),
        ...padding,
      ],
      'A',
      T0 + MIN,
    )
    const outcomes = all.slice(0, 3)
    if (others > 0) {
      expect(all[3]).toMatchObject({
        kind: 'skipped',
        reason: expect.stringContaining(`run ${(running as { runId: number }).runId} `),
      })
      expect(all.slice(4).every((o) => o.kind === 'started')).toBe(true)
    }
    const first = (outcomes[0] as { runId: number }).runId
    const since = new Date(T0 + MIN).toISOString()
    expect(outcomes).toEqual([
      { kind: 'started', runId: first },
      { kind: 'skipped', runId: first + 1, reason: `still running: run ${first} on instance A since ${since}` },
      { kind: 'started', runId: first + 2 },
    ])
    expect((await store.listRuns({ job: 'a' })).map((r) => [r.id, r.status])).toEqual([
      [first + 1, 'skipped'],
      [first, 'running'],
    ])
    expect((await store.listJobs()).slice(0, 2).map((j) => [j.name, j.lastSlot])).toEqual([
      ['a', T0 + MIN],
      ['b', T0],
    ])
    await store.close()
  })

  it('prunes a long chain in batches, and keepRuns 0 keeps only active runs', async () => {
    const file = path.join(tempDir(), 'long.db')
    const store = await openSqliteStore(file)
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    const total = 12_000
    const active = new Set([3, 4_999, 5_000, 5_001, 11_950])
    for (let first = 0; first < total; first += 1_000) {
      const claims = Array.from({ length: 1_000 }, (_, i) => claim(i % 2 === 0 ? 'a' : 'b', T0 + (first + i) * 1_000))
      const outcomes = await store.claimSlots(claims, 'A', T0 + first * 1_000)
      await Promise.all(
        outcomes.map((o, i) =>
          active.has(first + i)
            ? undefined
            : store.finishRun((o as { runId: number }).runId, { status: 'succeeded', finishedAt: T0, codeDone: true }),
        ),
      )
    }
    const before = allRuns(file)
    const keep = 100
    const expected = (job: string) => {
      const rows = before.filter((r) => r.job === job)
      return rows.filter((r, i) => i < keep || r.active === 1).map((r) => r.id)
    }
    const deleted = await pruned(store, T0 + DAY / 2, { keepDays: 30, keepRuns: keep })
    expect(deleted).toBe(total - 2 * keep - 4)
    for (const job of ['a', 'b']) {
      expect((await store.listRuns({ job, limit: 1_000 })).map((r) => r.id)).toEqual(expected(job))
    }
    expect(allRuns(file).map((r) => r.id)).toEqual(
      before.filter((r) => expected(r.job as string).includes(r.id)).map((r) => r.id),
    )
    expect(await pruned(store, T0 + DAY / 2, { keepDays: 30, keepRuns: keep })).toBe(0)

    expect(await pruned(store, T0 + DAY / 2, { keepDays: 30, keepRuns: 0 })).toBe(2 * keep - 1)
    const left = (await store.listRuns({ limit: 1_000 })).map((r) => r.id)
    expect((await store.activeRuns()).map((r) => r.id).reverse()).toEqual(left)
    const [next] = await store.claimSlots([claim('a', T0 + total * 1_000)], 'A', T0 + total * 1_000)
    const nextId = (next as { runId: number }).runId
    const activeOfA = before.filter((r) => r.job === 'a' && r.active === 1).map((r) => r.id)
    expect((await store.listRuns({ job: 'a' })).map((r) => r.id)).toEqual([nextId, ...activeOfA])
    await store.close()
  })
})
