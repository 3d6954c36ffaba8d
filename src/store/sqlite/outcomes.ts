/**
 * Writing one flush of queued outcomes. Outcomes that share every column but the run id are written by
 * one statement, a lone one by the cheaper single-row statement; a second write of a run starts a new
 * round, so writes of one run keep their order.
 */
import { Groups } from './groups.js'
import type { FinishedRun } from './rows.js'
import type { Statements } from './statements.js'

/** A queued outcome write: an outcome update, or (a bare run id) `releaseRun`'s deactivation. */
export type PendingWrite = (FinishedRun & { id: number }) | number

export const runOf = (write: PendingWrite): number => (typeof write === 'number' ? write : write.id)

/** A nullable text column as part of a grouping key: its length says where it ends. */
const part = (value: string | null): string => (value === null ? ' -' : ` ${value.length}:${value}`)

/** Writes with equal keys differ only in their run id. */
function keyOf(write: PendingWrite): string {
  if (typeof write === 'number') return 'release'
  const { status, finishedAt, errorMessage, errorStack, result, output, detail, active, retryAt } = write
  return `${status} ${finishedAt} ${active} ${retryAt}${part(errorMessage)}${part(errorStack)}${part(result)}${part(output)}${part(detail)}`
}

/** `keyOf(a) === keyOf(b)`, without building the keys. */
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

  /** Call inside a transaction. */
  write(writes: readonly PendingWrite[]): void {
    let round = new Groups(keyOf, sameOutcome)
    // Built only once an id is not above all before it: runs mostly end in the order they were claimed.
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

/** The ids as a range, when they are every id from lowest to highest (a round holds each run once). */
function idRange(ids: readonly number[]): { first: number; last: number } | undefined {
  let first = Number.POSITIVE_INFINITY
  let last = Number.NEGATIVE_INFINITY
  for (const id of ids) {
    if (id < first) first = id
    if (id > last) last = id
  }
  return last - first + 1 === ids.length ? { first, last } : undefined
}
