/**
 * Runs begun by a transaction whose COMMIT went unanswered (a network that dropped the server's
 * answer, or every packet from then on): the server may have committed them, but the caller was
 * told the call failed, so nothing in this process will ever start or finish them. Left alone, such
 * a run would stay `running` under a live instance for good, and with overlap `skip` hold its job
 * for every later slot.
 *
 * Their ids are kept here, and the next time the store gets through they are recorded
 * `interrupted` if they exist and are still `running`, as their instance left them (a transaction
 * that did not commit left no row, and one the reaper already interrupted is left as it is). The
 * slot itself stays claimed: a claim retried for it finds it taken.
 *
 * Not covered: a COMMIT delayed in the network rather than lost, reaching the server only after the
 * runs were looked for here (its session ends 5 s after its last statement: idle_in_transaction_session_timeout).
 */
import type { Queryable } from './sql.js'

/** What the run records as its error. */
export const UNANSWERED_MESSAGE =
  'interrupted: the database did not answer the commit that started this run (the network dropped it); the run never started'

interface Unanswered {
  ids: readonly number[]
  instanceId: string
  /** The instant of the call that began them: their end, since they never ran. */
  at: number
}

export class UnansweredStarts {
  #pending: Unanswered[] = []
  #writing: Promise<void> | undefined

  constructor(private readonly S: string) {}

  /** Runs of `instanceId` begun at `at` in a transaction whose COMMIT went unanswered. */
  add(ids: readonly number[], instanceId: string, at: number): void {
    if (ids.length > 0) this.#pending.push({ ids, instanceId, at })
  }

  /**
   * Record the kept runs interrupted, with `db` (one statement each). A failure keeps those not yet
   * recorded for the next time, and rejects.
   */
  resolve(db: Queryable): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve()
    this.#writing ??= this.#write(db).finally(() => {
      this.#writing = undefined
    })
    return this.#writing
  }

  async #write(db: Queryable): Promise<void> {
    while (this.#pending.length > 0) {
      const next = this.#pending[0] as Unanswered
      await db.query(
        `UPDATE ${this.S}.runs SET status = 'interrupted', finished_at = greatest(started_at, $3::bigint),
           error_message = $4, active = false
         WHERE id = ANY($1::bigint[]) AND instance_id = $2 AND status = 'running' AND active`,
        [next.ids, next.instanceId, next.at, UNANSWERED_MESSAGE],
      )
      this.#pending.shift()
    }
  }
}
