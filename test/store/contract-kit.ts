/** Shared pieces of the store contract suite: fixed instants, claim builder, per-test context. */
import type { AttemptRecord, SlotClaim, Store } from '../../src/store/types.js'

export const T0 = Date.UTC(2025, 0, 1)
export const MIN = 60_000
export const DAY = 86_400_000

export function claim(job: string, slot: number, extra: Partial<SlotClaim> = {}): SlotClaim {
  return { job, slot, trigger: 'schedule', overlap: 'skip', ...extra }
}

/** What each contract section gets: the store of the running test and two shortcuts. */
export interface ContractContext {
  readonly store: Store
  /** Start a run of `job` via a slot claim (default on instance `A`, at the slot's instant) and return its id. */
  started(job: string, slot: number, instance?: string, now?: number): Promise<number>
  /** The run with this id; fails the test if it does not exist. */
  run(id: number): Promise<AttemptRecord>
}

export function contractContext(current: () => Store): ContractContext {
  return {
    get store() {
      return current()
    },
    async started(job, slot, instance = 'A', now = slot) {
      const [outcome] = await current().claimSlots([claim(job, slot)], instance, now)
      if (outcome?.kind !== 'started') throw new Error(`expected started, got ${JSON.stringify(outcome)}`)
      return outcome.runId
    },
    async run(id) {
      const record = await current().getRun(id)
      if (record === undefined) throw new Error(`run ${id} not found`)
      return record
    },
  }
}

export interface PruneHistory {
  keepDays: number
  keepRuns: number
}

/** A whole prune pass, step after step: the runs deleted, and how many steps it took. */
export async function pruneAll(
  store: Store,
  now: number,
  history: PruneHistory,
  maxMs = 1_000,
): Promise<{ deleted: number; steps: number }> {
  let deleted = 0
  for (let steps = 1; ; steps++) {
    const step = await store.prune(now, history, { maxMs })
    deleted += step.deleted
    if (step.done) return { deleted, steps }
    if (steps > 100_000) throw new Error('prune never done')
  }
}

/** The runs a whole prune pass deletes. */
export async function pruned(store: Store, now: number, history: PruneHistory): Promise<number> {
  return (await pruneAll(store, now, history)).deleted
}
