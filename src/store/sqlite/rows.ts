/**
 * Row shapes as SQLite returns them: the shared rows (../rows.ts) with 0/1 for booleans, plus the
 * columns that chain each job's runs. Kept apart from the queries so the column list lives in one place.
 */
import {
  type InstanceRow,
  RUN_COLUMNS,
  rowReader,
  type JobRow as SharedJobRow,
  type RunRow as SharedRunRow,
} from '../rows.js'

export type { InstanceRow }
export { RUN_COLUMNS }

export type RunRow = SharedRunRow<number>

/** A run with the link to the job's previous run, as chain walks read it. */
export interface ChainRow extends RunRow {
  prev_id: number | null
}

export interface JobRow extends SharedJobRow<number> {
  /** The job's newest run: where its chain of runs starts. */
  last_run_id: number | null
}

/** SQLite has no boolean type: flags are the integers 0 and 1. */
export const { toRun, toJob, toInstance } = rowReader<number>((value) => value === 1)
