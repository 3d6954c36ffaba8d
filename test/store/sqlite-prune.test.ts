/**
 * Pruning a SQLite file in steps: whatever the steps, the store instances taking them and the reads
 * between them, the file ends as one whole prune leaves it, and every job's chain is whole.
 */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { openSqliteStore } from '../../src/store/sqlite/index.js'
import { PRUNE_BATCH, SWEEP_SPAN } from '../../src/store/sqlite/prune.js'
import type { SlotClaim } from '../../src/store/types.js'
import { DAY, pruneAll, T0 } from './contract-kit.js'
import { removeTempDirs, tempDir } from './helpers.js'

afterAll(removeTempDirs)

const SECOND = 1_000
const JOBS = ['a', 'b', 'c', 'd', 'e']

/**
 * A file with `seconds` one-second slots of every job, interleaved in id order as a scheduler
 * writes them; some runs of every age stay active. Run k of a job starts at T0 + k seconds.
 */
async function history(seconds: number): Promise<string> {
  const file = path.join(tempDir(), 'history.db')
  const store = await openSqliteStore(file)
  await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: T0 })
  for (let first = 0; first < seconds; first += 200) {
    const claims: SlotClaim[] = []
    for (let k = first; k < Math.min(seconds, first + 200); k++) {
      for (const job of JOBS) {
        claims.push({ job, slot: T0 + k * SECOND, trigger: 'schedule', overlap: 'allow', startAt: T0 + k * SECOND })
      }
    }
    const outcomes = await store.claimSlots(claims, 'A', T0 + first * SECOND)
    await Promise.all(
      outcomes.map((outcome, i) => {
        const id = (outcome as { runId: number }).runId
        // Every 997th run stays active: some far beyond keepRuns, some among the kept ones.
        if (id % 997 === 0) return undefined
        const at = (claims[i] as SlotClaim).slot + 5
        return store.finishRun(id, { status: i % 7 === 0 ? 'failed' : 'succeeded', finishedAt: at, codeDone: true })
      }),
    )
  }
  await store.close()
  return file
}

function copy(file: string, name: string): string {
  const to = path.join(path.dirname(file), name)
  fs.copyFileSync(file, to)
  return to
}

/** Every row of runs and jobs, and each job's chain walked from its head through prev_id. */
function contents(file: string) {
  const db = new Database(file, { readonly: true })
  const runs = db.prepare('SELECT * FROM runs ORDER BY id').all() as { id: number; job: string; prev_id: number }[]
  const jobs = db.prepare('SELECT * FROM jobs ORDER BY name').all() as { name: string; last_run_id: number }[]
  db.close()
  const byId = new Map(runs.map((run) => [run.id, run]))
  const chains = jobs.map((job) => {
    const ids: number[] = []
    for (let id: number | null = job.last_run_id; id !== null; id = byId.get(id)?.prev_id ?? null) {
      ids.push(id)
      // A link to a missing row would end the chain early: the walk below must reach every run.
      expect(byId.has(id), `run ${id} of ${job.name}'s chain`).toBe(true)
    }
    return { job: job.name, ids }
  })
  return { runs, jobs, chains }
}

describe('sqlite: pruning in steps', () => {
  it('leaves the file as one whole prune does, however the steps fall and whoever takes them', async () => {
    const seconds = 1_500
    const source = await history(seconds)
    const whole = copy(source, 'whole.db')
    const stepped = copy(source, 'stepped.db')
    // keepDays cuts the first 100 seconds; keepRuns keeps 400 of each job's 1,500 runs.
    const now = T0 + 100 * SECOND + DAY
    const settings = { keepDays: 1, keepRuns: 400 }

    const one = await openSqliteStore(whole)
    const all = await pruneAll(one, now, settings, 60_000)
    await one.close()
    expect(all.steps).toBe(1)

    // The same prune a batch at a time, half of it by one store instance (a process that stops),
    // the rest by another, with reads between the steps.
    let store = await openSqliteStore(stepped)
    let deleted = 0
    let steps = 0
    for (let done = false; !done; steps++) {
      const step = await store.prune(now, settings, { maxMs: 0 })
      expect(step.deleted).toBeLessThanOrEqual(Math.max(PRUNE_BATCH, SWEEP_SPAN))
      deleted += step.deleted
      done = step.done
      expect((await store.listRuns({ job: 'c', limit: 10 })).map((r) => r.slot)).toEqual(
        Array.from({ length: 10 }, (_, i) => T0 + (seconds - 1 - i) * SECOND),
      )
      if (steps === 6) {
        await store.close()
        store = await openSqliteStore(stepped)
      }
    }
    expect(steps).toBeGreaterThan(6)
    const again = await pruneAll(store, now, settings)
    await store.close()
    expect(deleted + again.deleted).toBe(all.deleted)

    const expected = contents(whole)
    const got = contents(stepped)
    expect(got).toEqual(expected)
    // Each job keeps its newest 400 runs and the active ones below them, all on its chain.
    const before = contents(source).runs
    for (const { job, ids } of expected.chains) {
      const runs = before.filter((r) => r.job === job).reverse()
      const kept = runs.filter((r, i) => i < settings.keepRuns || (r as { active?: number }).active === 1)
      expect(ids, job).toEqual(kept.map((r) => r.id))
    }
    expect(expected.runs.length).toBeLessThan(before.length)
  })

  it('with keepRuns 0 leaves only active runs, each job chained through them', async () => {
    const file = await history(300)
    const store = await openSqliteStore(file)
    const { deleted } = await pruneAll(store, T0 + DAY, { keepDays: 3650, keepRuns: 0 }, 0)
    const active = await store.activeRuns()
    expect(active.length).toBeGreaterThan(0)
    expect(deleted).toBe(300 * JOBS.length - active.length)
    for (const job of JOBS) {
      const mine = active.filter((r) => r.job === job).map((r) => r.id)
      expect((await store.listRuns({ job })).map((r) => r.id)).toEqual(mine.reverse())
    }
    await store.close()
    const { chains } = contents(file)
    expect(chains.flatMap((c) => c.ids).sort((x, y) => x - y)).toEqual(active.map((r) => r.id))
  })
})
