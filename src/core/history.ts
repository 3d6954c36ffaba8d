/** Run history as `crons logs` reads it: the attempts a filter selects, and following new ones (shapes: views.ts). */
import type { Trigger } from '../config/types.js'
import { CronsError, quote, suggestClosest } from '../errors.js'
import type { AttemptRecord, RunStatus, Store } from '../store/types.js'

export const TRIGGERS = ['schedule', 'catch-up', 'manual'] as const satisfies readonly Trigger[]

/** What `--job`, `--status`, `--trigger` and `--since` select. */
export interface HistoryFilter {
  job?: string
  status?: RunStatus
  trigger?: Trigger
  /** Attempts started at or after this instant. */
  since?: number
}

/** The latest `limit` attempts the filter selects, oldest first; the store walks an index newest first. */
export async function latestAttempts(store: Store, filter: HistoryFilter, limit: number): Promise<AttemptRecord[]> {
  return (await store.listRuns({ ...filter, limit })).reverse()
}

/** One attempt by id, or a one-line usage error that says which ids exist. */
export async function findAttempt(store: Store | undefined, id: number, statePath: string): Promise<AttemptRecord> {
  const run = await store?.getRun(id)
  if (run !== undefined) return run
  const newest = store === undefined ? undefined : (await store.listRuns({ limit: 1 }))[0]
  const known = newest === undefined ? 'no runs are recorded yet' : `the newest run is ${newest.id}`
  throw new CronsError('FLAG_INVALID', `--run ${id}: no run with this id in ${statePath} (${known})`)
}

/** `--job` may name a job only the state file remembers (its history is worth reading); else it is a typo. */
export function checkJobName(name: string, configured: readonly string[], stored: readonly string[]): void {
  if (configured.includes(name) || stored.includes(name)) return
  const known = [...new Set([...configured, ...stored])].sort()
  const expected = known.length > 0 ? `known jobs: ${known.join(', ')}` : 'no jobs are configured or recorded'
  throw new CronsError(
    'JOB_UNKNOWN',
    `--job ${quote(name)}: no such job in the config or the state file (${expected})`,
    { suggestions: suggestClosest(name, known) },
  )
}

/** Store reads per poll while catching up: bounded so one poll after a long pause cannot load everything. */
const FOLLOW_BATCH = 500

/**
 * Follows the history: each attempt is reported once, when its outcome is known (one line per id, as
 * a log shipper or `jq` wants); a running one is remembered until then. With `status: 'running'`
 * attempts are reported as they start instead: every new attempt, as it was when it started, also
 * one that ended before the poll that found it. The caller decides how often to `poll`.
 */
export class RunFollower {
  #cursor = 0
  /** Ids seen `running`, in id order, waiting for their outcome. */
  readonly #pending = new Set<number>()

  constructor(
    private readonly store: Store,
    private readonly filter: HistoryFilter,
  ) {}

  /** The backlog: up to `limit` of the latest attempts with a known outcome; anything newer comes from `poll`. */
  async start(limit: number): Promise<AttemptRecord[]> {
    // The cursor is fixed first: rows inserted while the backlog is read belong to the first poll.
    this.#cursor = (await this.store.listRuns({ limit: 1 }))[0]?.id ?? 0
    const upTo = (runs: AttemptRecord[]) => runs.filter((run) => run.id <= this.#cursor)
    if (this.filter.status === 'running') return upTo(await latestAttempts(this.store, this.filter, limit))
    // The running ones before the backlog: one that ends between the two reads is in the backlog with
    // its outcome (then no longer waited for), else reported by a poll; never missed, never twice.
    const { status: _, ...sameRows } = this.filter
    const running = upTo(await this.store.listRuns({ ...sameRows, status: 'running', limit: 10_000 }))
    for (const run of running.reverse()) this.#pending.add(run.id)
    const ended = upTo(await latestAttempts(this.store, this.filter, limit)).filter((run) => run.status !== 'running')
    for (const run of ended) this.#pending.delete(run.id)
    return ended
  }

  /** Attempts whose outcome became known since the last call (or that started, for `status: 'running'`). */
  async poll(): Promise<AttemptRecord[]> {
    const out: AttemptRecord[] = []
    for (const id of [...this.#pending]) {
      const run = await this.store.getRun(id)
      // Gone (pruned) or finished: either way it is no longer waited for.
      if (run !== undefined && run.status === 'running') continue
      this.#pending.delete(id)
      if (run !== undefined && this.#wanted(run)) out.push(run)
    }
    const { status: _, ...sameRows } = this.filter
    for (;;) {
      // No status in the query: a row inserted `running` may end with the wanted status.
      const batch = await this.store.listRuns({ ...sameRows, afterId: this.#cursor, limit: FOLLOW_BATCH })
      for (const run of batch) {
        this.#cursor = run.id
        if (this.filter.status === 'running') {
          // Found by the poll after it started, it may have ended already: it is reported as it started.
          if (run.status !== 'skipped' && run.status !== 'missed') out.push(asStarted(run))
        } else if (run.status === 'running') this.#pending.add(run.id)
        else if (this.#wanted(run)) out.push(run)
      }
      if (batch.length < FOLLOW_BATCH) return out
    }
  }

  #wanted(run: AttemptRecord): boolean {
    return this.filter.status === undefined || run.status === this.filter.status
  }
}

/**
 * An attempt as it was when it started: `running`, nothing recorded of its end. Not for skipped and
 * missed records: their slots never ran (a run claimed ahead and then found missed was never called).
 */
function asStarted(run: AttemptRecord): AttemptRecord {
  if (run.status === 'running') return run
  return {
    ...run,
    status: 'running',
    finishedAt: null,
    durationMs: null,
    errorMessage: null,
    errorStack: null,
    result: null,
    output: null,
    active: true,
  }
}
