/**
 * Pruning history in bounded steps (`Store.prune`; docs/storage.md: "Schema", "Retention"), phase by
 * phase: keepDays, each job's keepRuns boundary (a chain walk), one sweep of all jobs in rowid order (each
 * page written once), relinking spared runs, then slot claims and instances. Runs are spared when active
 * or when they hold a pending retry (`retry_at`: its retry begins by taking that row). Each batch is its
 * own short transaction; the pass is kept between calls.
 */
import { performance } from 'node:perf_hooks'
import type Database from 'better-sqlite3'
import type { RunHistory } from './history.js'
import type { Statements } from './statements.js'

const DAY_MS = 86_400_000
/** Slot claims and instances are scheduling state, not history: kept a day whatever keepDays says. */
const MIN_STATE_RETENTION_MS = DAY_MS
/** Each a few milliseconds of work: rows per delete, chain links per walk statement, ids per sweep statement. */
export const PRUNE_BATCH = 1_000
export const CHAIN_WALK_STEP = 1_000
export const SWEEP_SPAN = 1_000
/** Jobs relinked by one transaction. */
const RELINK_BATCH = 500

export type PruneHistory = { keepDays: number; keepRuns: number }
export type PruneStep = { deleted: number; done: boolean }

type Phase = 'old' | 'bounds' | 'sweep' | 'relink' | 'claims' | 'instances'

interface Pass {
  readonly key: string
  readonly runCutoff: number
  readonly stateCutoff: number
  readonly keepRuns: number
  phase: Phase
  /** Jobs whose boundary is still to be found, and the walk under way for the first of them. */
  jobs: string[]
  walk: { job: string; at: number; left: number } | undefined
  /** Per job, the id below which its runs go (but for those spared). */
  readonly bounds: Map<string, number>
  /** The rowid range the sweep has still to cover. */
  from: number
  to: number
  /** Jobs (with their boundary) whose chain is still to be relinked. */
  relink: [string, number][]
}

/** How the store runs work: one write transaction, or one read, with its errors mapped. */
interface PruneAccess {
  write<T>(work: () => T): T
  read<T>(work: () => T): T
}

export class Pruner {
  readonly #db: Database.Database
  readonly #s: Statements
  readonly #history: RunHistory
  readonly #access: PruneAccess
  #pass: Pass | undefined
  /** Statements on the temporary table of boundaries, prepared once it exists. */
  #sql: ReturnType<typeof prepareBoundStatements> | undefined

  constructor(db: Database.Database, statements: Statements, history: RunHistory, access: PruneAccess) {
    this.#db = db
    this.#s = statements
    this.#history = history
    this.#access = access
  }

  /** About `maxMs` on the pass for these arguments: at least one batch, then more while time is left. */
  step(now: number, history: PruneHistory, maxMs: number): PruneStep {
    const pass = this.#passFor(now, history)
    const began = performance.now()
    let deleted = 0
    for (;;) {
      deleted += this.#batch(pass)
      if (pass.phase === 'instances') {
        this.#access.write(() => this.#s.pruneInstances.run(pass.stateCutoff))
        this.#pass = undefined
        return { deleted, done: true }
      }
      if (performance.now() - began >= maxMs) return { deleted, done: false }
    }
  }

  #passFor(now: number, history: PruneHistory): Pass {
    const keepRuns = Math.max(0, Math.floor(history.keepRuns))
    const key = `${now} ${history.keepDays} ${keepRuns}`
    if (this.#pass?.key === key) return this.#pass
    const runCutoff = now - history.keepDays * DAY_MS
    this.#pass = {
      key,
      runCutoff,
      stateCutoff: Math.min(runCutoff, now - MIN_STATE_RETENTION_MS),
      keepRuns,
      phase: 'old',
      jobs: [],
      walk: undefined,
      bounds: new Map(),
      from: 0,
      to: -1,
      relink: [],
    }
    return this.#pass
  }

  /** One batch of the current phase, moving on when it is over; returns runs deleted. */
  #batch(pass: Pass): number {
    const s = this.#s
    switch (pass.phase) {
      case 'old': {
        const deleted = this.#access.write(() => s.pruneOld.run(pass.runCutoff, PRUNE_BATCH).changes)
        if (deleted < PRUNE_BATCH) {
          pass.phase = 'bounds'
          pass.jobs = this.#access.read(() => s.jobHeads.all().map((head) => head.name)).reverse()
        }
        return deleted
      }
      case 'bounds':
        this.#walk(pass)
        if (pass.jobs.length === 0 && pass.walk === undefined) this.#startSweep(pass)
        return 0
      case 'sweep': {
        const sql = this.#bounds()
        const to = Math.min(pass.from + SWEEP_SPAN - 1, pass.to)
        const deleted = this.#access.write(() => sql.sweep.run(pass.from, to).changes)
        pass.from = to + 1
        if (pass.from > pass.to) startRelink(pass)
        return deleted
      }
      case 'relink':
        this.#relink(pass)
        if (pass.relink.length === 0) pass.phase = 'claims'
        return 0
      case 'claims':
        if (this.#access.write(() => s.pruneClaims.run(pass.stateCutoff, PRUNE_BATCH).changes) < PRUNE_BATCH) {
          pass.phase = 'instances'
        }
        return 0
      case 'instances':
        return 0
    }
  }

  /**
   * One statement of the walk to a job's oldest kept run (`keepRuns - 1` links below its newest). A
   * chain that ends first has nothing beyond keepRuns.
   */
  #walk(pass: Pass): void {
    const history = this.#history
    if (pass.walk === undefined) {
      const job = pass.jobs.pop()
      if (job === undefined) return
      const head = this.#access.read(() => this.#s.jobHead.get(job) ?? null)
      if (head === null) return
      if (pass.keepRuns === 0) {
        pass.bounds.set(job, head + 1)
        return
      }
      pass.walk = { job, at: head, left: pass.keepRuns - 1 }
    }
    const walk = pass.walk
    if (walk.left > 0) {
      const n = Math.min(walk.left, CHAIN_WALK_STEP)
      const at = this.#access.read(() => history.chainStep(walk.at, n))
      if (at === null) {
        pass.walk = undefined
        return
      }
      walk.at = at
      walk.left -= n
    }
    if (walk.left === 0) {
      pass.bounds.set(walk.job, walk.at)
      pass.walk = undefined
    }
  }

  #startSweep(pass: Pass): void {
    if (pass.bounds.size === 0) {
      pass.phase = 'claims'
      return
    }
    const sql = this.#bounds()
    this.#access.write(() => {
      sql.clear.run()
      for (const [job, below] of pass.bounds) sql.insert.run(job, below)
    })
    pass.from = this.#access.read(() => this.#s.firstRunId.get()) ?? 0
    let highest = 0
    for (const below of pass.bounds.values()) highest = Math.max(highest, below)
    pass.to = highest - 1
    if (pass.from > pass.to) startRelink(pass)
    else pass.phase = 'sweep'
  }

  /**
   * Link each job's oldest kept run to the runs spared below it, newest first. With keepRuns 0
   * the head moves to the newest spared run, unless a new run came on top (its chain then ends at a
   * deleted row, which readers allow for).
   */
  #relink(pass: Pass): void {
    const s = this.#s
    const jobs = pass.relink.splice(0, RELINK_BATCH)
    const keepers = pass.keepRuns > 0
    this.#access.write(() => {
      for (const [job, below] of jobs) {
        const spared = s.sparedBefore.all(job, below).map((row) => row.id)
        if (keepers) spared.unshift(below)
        else s.relinkJob.run(spared[0] ?? null, job, below - 1)
        for (let i = 0; i < spared.length; i++) s.relinkRun.run(spared[i + 1] ?? null, spared[i] as number)
      }
    })
  }

  /** The temporary table of boundaries and its statements, created on first use. */
  #bounds(): ReturnType<typeof prepareBoundStatements> {
    if (this.#sql === undefined) {
      const db = this.#db
      this.#sql = this.#access.read(() => {
        db.exec('CREATE TEMP TABLE IF NOT EXISTS prune_bounds (job TEXT PRIMARY KEY NOT NULL, below INTEGER NOT NULL)')
        return prepareBoundStatements(db)
      })
    }
    return this.#sql
  }
}

function startRelink(pass: Pass): void {
  pass.phase = 'relink'
  pass.relink = [...pass.bounds]
}

function prepareBoundStatements(db: Database.Database) {
  return {
    clear: db.prepare('DELETE FROM temp.prune_bounds'),
    insert: db.prepare<[string, number]>('INSERT INTO temp.prune_bounds (job, below) VALUES (?, ?)'),
    /** A job without a boundary keeps its runs; every job keeps those pruning spares (see `pruneOld`). */
    sweep: db.prepare<[number, number]>(
      `DELETE FROM runs WHERE id BETWEEN ? AND ? AND active = 0 AND retry_at IS NULL
       AND id < (SELECT below FROM temp.prune_bounds b WHERE b.job = runs.job)`,
    ),
  }
}
