/**
 * The queued outcome writes (`finishRun`, `releaseRun`): those of one event-loop turn are written in one
 * immediate transaction on the next (docs/engine.md: "Outcome batching"); the store calls `flush()`
 * first in every other method. How one flush becomes statements is outcomes.ts.
 */
import type Database from 'better-sqlite3'
import { type FailureContext, fromSqliteError } from './failures.js'
import { OutcomeWriter, type PendingWrite, runOf } from './outcomes.js'
import type { Statements } from './statements.js'

/** The real `setImmediate`, taken at load: fake timers installed later must not stop outcome writes. */
const nextTurn = globalThis.setImmediate
const cancelNextTurn = globalThis.clearImmediate

/** The callers waiting for one flush of queued outcomes: they share its promise. */
interface PendingBatch {
  readonly promise: Promise<void>
  resolve: () => void
  reject: (error: unknown) => void
  /** Runs whose writes were refused: their owner was reaped (fencing). */
  readonly refused: Set<number>
}

function newBatch(): PendingBatch {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject, refused: new Set() }
}

export class OutcomeQueue {
  readonly #s: Statements
  readonly #context: FailureContext
  readonly #closed: () => boolean
  readonly #flushTx

  /** Writes queued since the last flush, in call order, and the callers waiting for them. */
  #pending: PendingWrite[] = []
  #batch: PendingBatch | undefined
  #flushTimer: NodeJS.Immediate | undefined

  constructor(db: Database.Database, statements: Statements, context: FailureContext, closed: () => boolean) {
    this.#s = statements
    this.#context = context
    this.#closed = closed
    const outcomes = new OutcomeWriter(statements)
    this.#flushTx = db.transaction((writes: readonly PendingWrite[]) => outcomes.write(writes))
  }

  /** Settles when the transaction carrying the write commits (or fails), with the runs it refused. */
  enqueue(write: PendingWrite): Promise<ReadonlySet<number>> {
    if (this.#closed()) {
      // Nothing will flush any more: fail the way a direct write on a closed connection fails.
      try {
        this.flush()
        this.#flushTx.immediate([write])
        return Promise.resolve(new Set<number>())
      } catch (error) {
        return Promise.reject(fromSqliteError(error, this.#context))
      }
    }
    this.#pending.push(write)
    if (this.#batch === undefined) {
      this.#batch = newBatch()
      this.#flushTimer = nextTurn(this.#onNextTurn)
    }
    const batch = this.#batch
    return batch.promise.then(() => batch.refused)
  }

  readonly #onNextTurn = (): void => this.flush()

  /** Write every queued outcome in one transaction; its callers all resolve, or all reject with its error. */
  flush(): void {
    const batch = this.#batch
    if (batch === undefined) return
    const writes = this.#pending
    this.#pending = []
    this.#batch = undefined
    if (this.#flushTimer !== undefined) {
      cancelNextTurn(this.#flushTimer)
      this.#flushTimer = undefined
    }
    try {
      this.#flushTx.immediate(this.#unfenced(writes, batch.refused))
    } catch (error) {
      batch.reject(fromSqliteError(error, this.#context))
      return
    }
    batch.resolve()
  }

  /** The writes whose run's owner was not reaped (the others go into `refused`); one count when none ever was. */
  #unfenced(writes: readonly PendingWrite[], refused: Set<number>): readonly PendingWrite[] {
    if (this.#s.anyReaped.get() === 0) return writes
    const ids = writes.map(runOf)
    for (const id of this.#s.fencedRuns.all(JSON.stringify(ids))) refused.add(id)
    if (refused.size === 0) return writes
    return writes.filter((w) => !refused.has(runOf(w)))
  }
}
