/** Queued outcomes (`finishRun`, `releaseRun`) on Postgres, batched a turn at a time, one transaction a batch. */
import type { FinishedRun } from '../rows.js'
import type { Queryable } from './sql.js'

/** A queued outcome write: the run's outcome, or (`release`) only the end of its overlap guard. */
export type PendingWrite = { id: number; release: true } | ({ id: number; release: false } & FinishedRun<boolean>)

// In order, one statement per run of same-kind writes to distinct runs. Writes about runs of a reaped owner are
// refused (returned): owners are read `FOR SHARE`, so a reaper marking one waits, or this transaction sees its mark.
export async function writeOutcomes(
  db: Queryable,
  S: string,
  all: readonly PendingWrite[],
): Promise<ReadonlySet<number>> {
  const groups: PendingWrite[][] = []
  let ids = new Set<number>()
  for (const write of all) {
    const group = groups.at(-1)
    if (group?.[0]?.release === write.release && !ids.has(write.id)) group.push(write)
    else {
      groups.push([write])
      ids = new Set()
    }
    ids.add(write.id)
  }
  const { rows: fenced } = await db.query<{ id: number }>(
    `SELECT r.id FROM ${S}.runs r JOIN ${S}.instances i ON i.id = r.instance_id
     WHERE r.id = ANY($1::bigint[]) AND i.reaped_at IS NOT NULL
     FOR SHARE OF i`,
    [[...new Set(all.map((w) => w.id))]],
  )
  const refused = new Set(fenced.map((row) => row.id))
  for (const whole of groups) {
    const batch = refused.size === 0 ? whole : whole.filter((w) => !refused.has(w.id))
    if (batch.length === 0) continue
    if ((batch[0] as PendingWrite).release) {
      await db.query(`UPDATE ${S}.runs SET active = false WHERE id = ANY($1::bigint[])`, [batch.map((w) => w.id)])
      continue
    }
    const rows = batch as Extract<PendingWrite, { release: false }>[]
    const col = <K extends keyof FinishedRun<boolean>>(key: K) => rows.map((row) => row[key])
    await db.query(
      `UPDATE ${S}.runs r SET status = o.status, finished_at = o.finished_at,
         duration_ms = greatest(0, o.finished_at - r.started_at), error_message = o.error_message,
         error_stack = o.error_stack, result = o.result, output = o.output,
         detail = coalesce(o.detail, r.detail), active = o.active, retry_at = o.retry_at
       FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::text[], $9::boolean[], $10::bigint[])
         AS o(id, status, finished_at, error_message, error_stack, result, output, detail, active, retry_at)
       WHERE r.id = o.id`,
      [
        rows.map((row) => row.id),
        col('status'),
        col('finishedAt'),
        col('errorMessage'),
        col('errorStack'),
        col('result'),
        col('output'),
        col('detail'),
        col('active'),
        col('retryAt'),
      ],
    )
  }
  return refused
}

/** Outcomes handed over in one turn, written together by `write`, one flush after another (in call order). */
export class OutcomeBatches {
  #pending: PendingWrite[] = []
  #flushing: Promise<unknown> = Promise.resolve()
  /** The next flush: resolves to the runs whose writes were refused (their owner was reaped). */
  #scheduled: Promise<ReadonlySet<number>> | undefined

  constructor(private readonly write: (writes: readonly PendingWrite[]) => Promise<ReadonlySet<number>>) {}

  /** Queue `write`; resolves once its batch is committed, to the runs of the batch that were refused. */
  enqueue(write: PendingWrite): Promise<ReadonlySet<number>> {
    this.#pending.push(write)
    this.#scheduled ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#scheduled = undefined
      const writes = this.#pending
      this.#pending = []
      const flushed = this.#flushing.catch(() => undefined).then(() => this.write(writes))
      this.#flushing = flushed
      return flushed
    })
    return this.#scheduled
  }

  /** Resolves once every outcome handed over so far is committed (or failed). */
  async written(): Promise<void> {
    if (this.#scheduled !== undefined) await this.#scheduled.catch(() => undefined)
    await this.#flushing.catch(() => undefined)
  }
}
