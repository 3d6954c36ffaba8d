/** Row shapes as SQLite returns them: the shared rows (../rows.ts) with 0/1 flags, plus the chain links. */
import type * as Shared from '../rows.js'
import { rowReader } from '../rows.js'

export type RunRow = Shared.RunRow<number>
/** An outcome as `finishRun` writes it. */
export type FinishedRun = Shared.FinishedRun<0 | 1>

/** A run with the link to the job's previous run, as chain walks read it. */
export interface ChainRow extends RunRow {
  prev_id: number | null
}

export type JobRow = Shared.JobRow<number>

export const { toRun, toJob, toInstance } = rowReader<number>((value) => value === 1)
