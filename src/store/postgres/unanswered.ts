// Runs begun by a transaction whose COMMIT went unanswered: maybe committed, never run; left alone they would stay
// `running` (and hold their job) for good. docs/engine.md: "Postgres locking".
import type { BeginOutcome, ClaimOutcome } from '../types.js'
import type { Queryable } from './sql.js'

export const UNANSWERED_MESSAGE =
  'interrupted: the database did not answer the commit that started this run (the network dropped it); the run never started'

/**
 * How long a COMMIT sent before its answer was given up on may still be applied: every transaction
 * sets this idle-in-transaction timeout (store.ts), after which the server ends it uncommitted.
 */
export const IDLE_IN_TRANSACTION_MS = 5_000

interface Unanswered {
  ids: readonly number[]
  instanceId: string
  /** The instant of the call that began them: their end, since they never ran. */
  at: number
  /** This process's monotonic time past which the COMMIT can no longer be applied. */
  applicableUntil: number
}

export class UnansweredStarts {
  #pending: Unanswered[] = []
  #writing: Promise<void> | undefined

  constructor(private readonly S: string) {}

  /** Keeps the runs these outcomes started. */
  add(outcomes: readonly (ClaimOutcome | BeginOutcome)[], instanceId: string, at: number): void {
    const ids = outcomes.flatMap((outcome) => (outcome.kind === 'started' ? [outcome.runId] : []))
    // Counted from now, after the COMMIT was sent: later than the server's own limit, never earlier.
    if (ids.length > 0)
      this.#pending.push({ ids, instanceId, at, applicableUntil: performance.now() + IDLE_IN_TRANSACTION_MS })
  }

  /**
   * Records the kept runs interrupted (if still `running`, as their instance left them); a failure keeps
   * the rest. Runs not found are looked for again at each call until their COMMIT can no longer land.
   */
  resolve(db: Queryable): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve()
    this.#writing ??= this.#write(db).finally(() => {
      this.#writing = undefined
    })
    return this.#writing
  }

  async #write(db: Queryable): Promise<void> {
    const waiting: Unanswered[] = []
    try {
      while (this.#pending.length > 0) {
        const next = this.#pending[0] as Unanswered
        const late = performance.now() >= next.applicableUntil
        const { rowCount } = await db.query(
          `UPDATE ${this.S}.runs SET status = 'interrupted', finished_at = greatest(started_at, $3::bigint),
             error_message = $4, active = false
           WHERE id = ANY($1::bigint[]) AND instance_id = $2 AND status = 'running' AND active`,
          [next.ids, next.instanceId, next.at, UNANSWERED_MESSAGE],
        )
        this.#pending.shift()
        // One transaction's rows commit together: none found yet may still mean a COMMIT on its way.
        if (!rowCount && !late) waiting.push(next)
      }
    } finally {
      this.#pending.push(...waiting)
    }
  }
}
