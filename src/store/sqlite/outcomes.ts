/**
 * Writing queued outcomes (`finishRun`, `settleRun`) inside the store's flush transaction. Outcomes
 * that share every column but the run id (the runs of one second that succeeded in the same
 * millisecond, say) are written by one statement; a write alone takes the single-row statement,
 * which is cheaper for one row. Writes of the same run keep their queued order: a second write of a
 * run starts a new round, written after the first.
 */
import { Groups } from './groups.js'
import type { FinishedRun, Statements } from './statements.js'

/** A queued outcome write: an outcome update, or (a bare run id) `settleRun`'s deactivation. */
export type PendingWrite = (FinishedRun & { id: number }) | number

/** The run a write is for. */
const runOf = (write: PendingWrite): number => (typeof write === 'number' ? write : write.id)

/** A nullable text column as part of a grouping key: its length says where it ends. */
const part = (value: string | null): string => (value === null ? ' -' : ` ${value.length}:${value}`)

/** Writes with equal keys differ only in their run id. */
function keyOf(write: PendingWrite): string {
  if (typeof write === 'number') return 'settle'
  const { status, finishedAt, errorMessage, errorStack, result, output, detail, active, retryAt } = write
  return `${status} ${finishedAt} ${active} ${retryAt}${part(errorMessage)}${part(errorStack)}${part(result)}${part(output)}${part(detail)}`
}

/** Whether two writes have equal keys (see `keyOf`) without building them. */
function sameOutcome(a: PendingWrite, b: PendingWrite): boolean {
  if (typeof a === 'number' || typeof b === 'number') return typeof a === typeof b
  return (
    a.status === b.status &&
    a.finishedAt === b.finishedAt &&
    a.active === b.active &&
    a.retryAt === b.retryAt &&
    a.errorMessage === b.errorMessage &&
    a.errorStack === b.errorStack &&
    a.result === b.result &&
    a.output === b.output &&
    a.detail === b.detail
  )
}

export class OutcomeWriter {
  readonly #s: Statements

  constructor(statements: Statements) {
    this.#s = statements
  }

  /** Write `writes` in order; call inside a transaction. */
  write(writes: readonly PendingWrite[]): void {
    let round = new Groups(keyOf, sameOutcome)
    // The run ids of the round, made only once an id is not above all before it: runs mostly end
    // in the order they were claimed, so a higher id than any so far cannot be in the round yet.
    let inRound: Set<number> | undefined
    let highest = Number.NEGATIVE_INFINITY
    for (const write of writes) {
      const runId = runOf(write)
      if (runId <= highest) {
        inRound ??= new Set(Array.from(round.values(), (group) => group.map(runOf)).flat())
        if (inRound.has(runId)) {
          this.#writeRound(round)
          round = new Groups(keyOf, sameOutcome)
          inRound = undefined
          highest = Number.NEGATIVE_INFINITY
        }
      }
      inRound?.add(runId)
      if (runId > highest) highest = runId
      round.add(write)
    }
    this.#writeRound(round)
  }

  #writeRound(round: Groups<PendingWrite>): void {
    const s = this.#s
    for (const group of round.values()) {
      const first = group[0] as PendingWrite
      if (group.length === 1) {
        if (typeof first === 'number') s.deactivate.run(first)
        else s.finishRun.run(first)
        continue
      }
      const runIds = group.map(runOf)
      if (typeof first === 'number') {
        s.deactivateRuns.run(JSON.stringify(runIds))
        continue
      }
      const { id: _, ...outcome } = first
      const range = idRange(runIds)
      if (range) s.finishRange.run({ ...outcome, ...range })
      else s.finishRuns.run({ ...outcome, ids: JSON.stringify(runIds) })
    }
  }
}

/**
 * The range the ids make when they are every id from the lowest to the highest; a round holds each
 * run once, so that is when there are as many ids as the range is long.
 */
function idRange(ids: readonly number[]): { first: number; last: number } | undefined {
  let first = Number.POSITIVE_INFINITY
  let last = Number.NEGATIVE_INFINITY
  for (const id of ids) {
    if (id < first) first = id
    if (id > last) last = id
  }
  return last - first + 1 === ids.length ? { first, last } : undefined
}
