/**
 * The queue of outcome writes (`finishRun`, `settleRun`) the SQLite store batches: writes handed over
 * in one turn of the event loop are written together, in one immediate transaction, on the next turn
 * (a commit costs far more than the update it carries, and the runs of one due second finish in the
 * same turn). Their promises resolve once that transaction has committed. The store calls `flush()`
 * at the start of every other method, so nothing read or written through it misses an outcome a
 * caller has already handed over (docs/engine.md, "Outcome batching"). How one flush's writes become
 * statements is outcomes.ts.
 */
import type Database from 'better-sqlite3'
import { type FailureContext, fromSqliteError } from './failures.js'
import { OutcomeWriter, type PendingWrite } from './outcomes.js'
import type { Statements } from './statements.js'

/**
 * The real `setImmediate`, taken when this module loads: a test that installs fake timers later must
 * not stop outcomes from being written (the promises of `finishRun` would never settle).
 */
const nextTurn = globalThis.setImmediate
const cancelNextTurn = globalThis.clearImmediate

/** The callers waiting for one flush of queued outcomes: they share its promise. */
interface PendingBatch {
  readonly promise: Promise<void>
  resolve: () => void
  reject: (error: unknown) => void
  /** Runs whose owner was reaped: their writes were refused (fencing). */
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
  /** Whether the store is closed: nothing will flush any more. */
  readonly #closed: () => boolean
  readonly #flushTx

  /** Outcome writes queued since the last flush, in call order, and the callers waiting for them. */
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

  /**
   * Queue an outcome write; the promise settles when the transaction carrying it commits (or fails),
   * with the runs of that transaction whose writes were refused (fencing).
   */
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

  readonly #onNextTurn = (): void => {
    this.#flushTimer = undefined
    this.flush()
  }

  /**
   * Write every queued outcome in one immediate transaction, then settle the waiting callers: all
   * resolve, or all reject with the same error (the transaction is all or nothing). Called on the
   * next turn, and synchronously at the start of every other method of the store.
   */
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

  /**
   * The writes whose run's owner was not reaped; the others go into `refused`. The common case (no
   * instance of the file was ever reaped) costs one indexed count.
   */
  #unfenced(writes: readonly PendingWrite[], refused: Set<number>): readonly PendingWrite[] {
    if (this.#s.anyReaped.get() === 0) return writes
    const ids = writes.map((w) => (typeof w === 'number' ? w : w.id))
    for (const id of this.#s.fencedRuns.all(JSON.stringify(ids))) refused.add(id)
    if (refused.size === 0) return writes
    return writes.filter((w) => !refused.has(typeof w === 'number' ? w : w.id))
  }
}
