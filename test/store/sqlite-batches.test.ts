/**
 * Claim batches and queued outcomes are written a group at a time (rows sharing every column but the
 * job or run id go in with one statement). Whatever the mix of a batch, each claim gets the outcome
 * and the row it would get alone, every job's chain links its runs in order, and each run ends with
 * the last outcome written for it.
 */
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { RunHistory } from '../../src/store/sqlite/history.js'
import { openSqliteStore } from '../../src/store/sqlite/index.js'
import { CHAIN_WALK_STEP } from '../../src/store/sqlite/prune.js'
import type { ClaimOutcome, SlotClaim } from '../../src/store/types.js'
import { pruneAll, pruned } from './contract-kit.js'
import { removeTempDirs, tempDir } from './helpers.js'

afterAll(removeTempDirs)

const T0 = Date.UTC(2025, 0, 1)
const MIN = 60_000

function claim(job: string, slot: number, extra: Partial<SlotClaim> = {}): SlotClaim {
  return { job, slot, trigger: 'schedule', overlap: 'allow', ...extra }
}

interface Row {
  id: number
  job: string
  slot: number
  status: string
  detail: string | null
  active: number
  prev_id: number | null
}

/** Rows, chain links and job heads as the file holds them. */
function read(file: string) {
  const db = new Database(file, { readonly: true })
  const runs = db.prepare('SELECT id, job, slot, status, detail, active, prev_id FROM runs ORDER BY id').all() as Row[]
  const jobs = db.prepare('SELECT name, last_slot, last_run_id FROM jobs ORDER BY name').all() as {
    name: string
    last_slot: number | null
    last_run_id: number | null
  }[]
  db.close()
  return { runs, jobs }
}

describe('sqlite: claim batches written a group at a time', () => {
  it('gives every claim of a mixed batch its own outcome and row, and keeps each chain in order', async () => {
    const file = path.join(tempDir(), 'mixed.db')
    const store = await openSqliteStore(file)
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
    const known = Array.from({ length: 20 }, (_, i) => `known-${i}`)
    await store.syncJobs(known, T0)
    await store.setPaused('known-3', true, T0)
    // Held by an earlier run (overlap skip), and already served by another process.
    const [holder] = await store.claimSlots([claim('known-5', T0 - MIN)], 'B', T0 - MIN)
    await store.claimSlots([claim('known-7', T0)], 'B', T0)

    const batch: SlotClaim[] = [
      ...known.map((job) => claim(job, T0, { overlap: 'skip' })),
      // Jobs the file has never seen, in the same group as the known ones.
      ...Array.from({ length: 5 }, (_, i) => claim(`new-${i}`, T0)),
      // The same (slot, job) twice: the second is taken. A second slot of a job chains after the first.
      claim('known-0', T0),
      claim('known-0', T0 + MIN),
      claim('new-0', T0 + MIN),
      claim('known-1', T0 + MIN, { overlap: 'skip' }),
      // Missed slots and a catch-up run, each with its own detail.
      claim('known-2', T0 - 2 * MIN, {
        record: 'missed',
        missed: { count: 2, first: T0 - 3 * MIN, last: T0 - 2 * MIN },
      }),
      claim('known-4', T0 - 2 * MIN, {
        trigger: 'catch-up',
        missed: { count: 1, first: T0 - 2 * MIN, last: T0 - 2 * MIN },
      }),
    ]
    const outcomes = await store.claimSlots(batch, 'A', T0 + 1)
    const kinds = outcomes.map((o) => o.kind)
    expect(kinds.slice(0, 20)).toEqual(
      known.map((job) =>
        job === 'known-3' ? 'paused' : job === 'known-5' ? 'skipped' : job === 'known-7' ? 'taken' : 'started',
      ),
    )
    expect(kinds.slice(20)).toEqual([
      ...Array(5).fill('started'),
      'taken',
      'started',
      'started',
      'skipped',
      'missed',
      'started',
    ])
    const runId = (o: ClaimOutcome | undefined) => (o as { runId: number }).runId
    expect(outcomes[5]).toMatchObject({ reason: expect.stringContaining(`run ${runId(holder)} on instance B`) })
    expect(outcomes[28]).toMatchObject({ reason: expect.stringContaining(`run ${runId(outcomes[1])} on instance A`) })

    const { runs, jobs } = read(file)
    const byId = new Map(runs.map((r) => [r.id, r]))
    // Each outcome names a row of its own job and slot, with the status it reports.
    const status = { started: 'running', paused: 'skipped', skipped: 'skipped', missed: 'missed' } as const
    const ids = new Set<number>()
    outcomes.forEach((o, i) => {
      if (o.kind === 'taken') return
      const row = byId.get(o.runId) as Row
      expect([row.job, row.slot, row.status]).toEqual([batch[i]?.job, batch[i]?.slot, status[o.kind]])
      expect(row.active).toBe(o.kind === 'started' ? 1 : 0)
      ids.add(o.runId)
    })
    expect(ids.size).toBe(outcomes.filter((o) => o.kind !== 'taken').length)
    expect(JSON.parse(byId.get(runId(outcomes[29]))?.detail as string)).toEqual({
      count: 2,
      first: T0 - 3 * MIN,
      last: T0 - 2 * MIN,
    })
    expect(byId.get(runId(outcomes[30]))?.detail).toBe(JSON.stringify(batch[30]?.missed))
    expect(JSON.parse(byId.get(runId(outcomes[3]))?.detail as string)).toMatchObject({ paused: true, count: 1 })

    // Chains: every run links to its job's previous run; each job's head is its newest run.
    for (const row of runs) {
      const earlier = runs.filter((r) => r.job === row.job && r.id < row.id)
      expect(row.prev_id).toBe(earlier.at(-1)?.id ?? null)
    }
    for (const job of jobs) {
      const own = runs.filter((r) => r.job === job.name)
      expect(job.last_run_id).toBe(own.at(-1)?.id ?? null)
      expect(job.last_slot).toBe(own.length === 0 ? null : Math.max(...own.map((r) => r.slot)))
    }
    expect(jobs.map((j) => j.name)).toEqual([...known, ...Array.from({ length: 5 }, (_, i) => `new-${i}`)].sort())
    expect((await store.listRuns({ job: 'known-0' })).map((r) => r.slot)).toEqual([T0 + MIN, T0])
    await store.close()
  })

  it('gives a job listed twice for a slot nobody has claimed one run, for its first listing', async () => {
    const store = await openSqliteStore(':memory:')
    const outcomes = await store.claimSlots([claim('a', T0), claim('b', T0), claim('a', T0)], 'A', T0)
    expect(outcomes.map((o) => o.kind)).toEqual(['started', 'started', 'taken'])
    expect((await store.listRuns({ limit: 10 })).map((r) => r.job).sort()).toEqual(['a', 'b'])
    await store.close()
  })

  it('two connections to one file: each (slot, job) goes to whoever claims it first, whole batches or parts (§3)', async () => {
    const file = path.join(tempDir(), 'two.db')
    const a = await openSqliteStore(file)
    const b = await openSqliteStore(file)
    const jobs = Array.from({ length: 6 }, (_, i) => `job-${i}`)
    const batch = (slot: number, names = jobs) => names.map((job) => claim(job, slot))
    const kinds = (outcomes: ClaimOutcome[]) => outcomes.map((o) => o.kind)
    // A slot nobody has claimed: the first connection wins it all, the second finds it all taken.
    expect(kinds(await a.claimSlots(batch(T0), 'A', T0))).toEqual(Array(6).fill('started'))
    expect(kinds(await b.claimSlots(batch(T0), 'B', T0))).toEqual(Array(6).fill('taken'))
    // Part of a slot claimed by one: the other wins exactly the rest.
    expect(kinds(await b.claimSlots(batch(T0 + MIN, ['job-1', 'job-4']), 'B', T0 + MIN))).toEqual([
      'started',
      'started',
    ])
    expect(kinds(await a.claimSlots(batch(T0 + MIN), 'A', T0 + MIN))).toEqual([
      'started',
      'taken',
      'started',
      'started',
      'taken',
      'started',
    ])
    const { runs } = read(file)
    const pairs = runs.map((r) => `${r.job}@${r.slot}`)
    expect(new Set(pairs).size).toBe(pairs.length)
    expect(pairs).toHaveLength(12)
    await a.close()
    await b.close()
  })

  it('answers a whole batch of one slot as taken when another process served it', async () => {
    const store = await openSqliteStore(':memory:')
    const batch = Array.from({ length: 50 }, (_, i) => claim(`job-${i}`, T0))
    expect((await store.claimSlots(batch, 'A', T0)).every((o) => o.kind === 'started')).toBe(true)
    expect(await store.claimSlots(batch, 'B', T0)).toEqual(batch.map(() => ({ kind: 'taken' })))
    await store.close()
  })

  it('writes each queued outcome to its run, grouped or alone, in the order they were queued', async () => {
    const store = await openSqliteStore(':memory:')
    const batch = Array.from({ length: 50 }, (_, i) => claim(`job-${i}`, T0))
    const ids = (await store.claimSlots(batch, 'A', T0)).map((o) => (o as { runId: number }).runId)
    const done = { status: 'succeeded', finishedAt: T0 + 5, codeDone: true } as const
    const missed = (n: number) => ({ ...done, status: 'missed', detail: `{"count":1,"n":${n}}` }) as const
    const writes = ids.map((id, i) => {
      if (i < 20) return store.finishRun(id, done) // one group
      if (i < 25) return store.finishRun(id, { ...done, output: '["line"]' }) // another
      if (i < 30) return store.finishRun(id, { ...done, status: 'failed', errorMessage: `boom ${i}` }) // alone
      if (i < 35) {
        // Recorded at the deadline while the code still runs, then settled in the same flush.
        const timedOut = {
          status: 'timed_out',
          finishedAt: T0 + 9,
          errorMessage: 'timed out',
          codeDone: false,
        } as const
        return Promise.all([store.finishRun(id, timedOut), store.releaseRun(id)])
      }
      if (i < 40) {
        // Written twice in one flush: the later outcome stands.
        return Promise.all([store.finishRun(id, { ...done, status: 'failed' }), store.finishRun(id, done)])
      }
      // Outcomes that differ only in their detail are not one group.
      return store.finishRun(id, missed(i < 45 ? 0 : i))
    })
    await Promise.all(writes)
    const runs = new Map((await store.listRuns({ limit: 100 })).map((r) => [r.id, r]))
    ids.forEach((id, i) => {
      const run = runs.get(id)
      const expected =
        i < 20
          ? { status: 'succeeded', output: null, errorMessage: null, detail: null }
          : i < 25
            ? { status: 'succeeded', output: '["line"]' }
            : i < 30
              ? { status: 'failed', errorMessage: `boom ${i}` }
              : i < 35
                ? { status: 'timed_out', finishedAt: T0 + 9 }
                : i < 40
                  ? { status: 'succeeded', finishedAt: T0 + 5 }
                  : { status: 'missed', detail: `{"count":1,"n":${i < 45 ? 0 : i}}` }
      expect(run).toMatchObject({ job: `job-${i}`, ...expected })
    })
    expect(await store.activeRuns()).toEqual([])
    await store.close()
  })

  it('writes a group to exactly its runs, whether their ids make one range or have gaps', async () => {
    const store = await openSqliteStore(':memory:')
    const batch = Array.from({ length: 9 }, (_, i) => claim(`job-${i}`, T0))
    const ids = (await store.claimSlots(batch, 'A', T0)).map((o) => (o as { runId: number }).runId)
    const done = { status: 'succeeded', finishedAt: T0 + 5, codeDone: true } as const
    const failed = { status: 'failed', finishedAt: T0 + 6, errorMessage: 'x', codeDone: true } as const
    const at = (i: number) => ids[i] as number
    await Promise.all([
      // Runs 0, 2 and 4: one outcome, with runs 1 and 3 between them still running.
      ...[0, 2, 4].map((i) => store.finishRun(at(i), done)),
      // Runs 6 to 8, queued out of order: one range.
      ...[8, 6, 7].map((i) => store.finishRun(at(i), failed)),
    ])
    const runs = new Map((await store.listRuns({ limit: 100 })).map((r) => [r.id, r]))
    ids.forEach((id, i) => {
      const expected = [0, 2, 4].includes(i)
        ? { status: 'succeeded', finishedAt: T0 + 5, active: false }
        : i >= 6
          ? { status: 'failed', errorMessage: 'x', finishedAt: T0 + 6, active: false }
          : { status: 'running', finishedAt: null, active: true }
      expect(runs.get(id), `run ${i}`).toMatchObject({ job: `job-${i}`, ...expected })
    })
    await store.close()
  })

  it('walks a long chain to its keepRuns boundary one statement per step when out of time', async () => {
    const store = await openSqliteStore(':memory:')
    const keep = 2 * CHAIN_WALK_STEP + 1
    const total = keep + 49
    const done = { status: 'succeeded', codeDone: true } as const
    for (let i = 0; i < total; i++) {
      const [outcome] = await store.claimSlots([claim('long', T0 + i * MIN)], 'A', T0 + i * MIN)
      await store.finishRun((outcome as { runId: number }).runId, { ...done, finishedAt: T0 + i * MIN })
    }
    // The walk to the oldest run kept (keep - 1 = 2,000 links) takes two statements; a step with no
    // time left runs one of them, and the next step the other.
    let step = 0
    const steps: { n: number; step: number }[] = []
    const chainStep = RunHistory.prototype.chainStep
    const spy = vi.spyOn(RunHistory.prototype, 'chainStep').mockImplementation(function (this: RunHistory, from, n) {
      steps.push({ n, step })
      return chainStep.call(this, from, n)
    })
    const history = { keepDays: 3650, keepRuns: keep }
    let deleted = 0
    for (;;) {
      step++
      const result = await store.prune(T0 + total * MIN, history, { maxMs: 0 })
      deleted += result.deleted
      if (result.done) break
    }
    spy.mockRestore()
    expect(steps.map((s) => s.n)).toEqual([CHAIN_WALK_STEP, CHAIN_WALK_STEP])
    expect(steps[1]?.step).toBeGreaterThan(steps[0]?.step as number)
    expect(deleted).toBe(49)
    const left = await store.listRuns({ job: 'long', limit: total })
    expect(left).toHaveLength(keep)
    expect(left.at(-1)?.slot).toBe(T0 + 49 * MIN)
    // Fewer runs than keepRuns: nothing to delete, however long the walk.
    expect(await pruned(store, T0 + total * MIN, { keepDays: 3650, keepRuns: keep + 5 })).toBe(0)
    expect((await pruneAll(store, T0 + total * MIN, history)).deleted).toBe(0)
    await store.close()
  })
})
