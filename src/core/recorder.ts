// The one place an attempt's outcome is written: a failed write is kept and written again, one the
// store refuses (fencing) is reported and dropped. docs/engine.md: "The recorder", "Fencing".
import { hasCode } from '../errors.js'
import type { RunOutcome, Store } from '../store/types.js'
import type { EngineEmitter } from './events.js'
import type { Outage } from './outage.js'

export class Recorder {
  /** By run id: the latest outcome of each run wins. */
  private readonly unwritten = new Map<number, RunOutcome>()
  /** Runs whose `releaseRun` failed. */
  private readonly unreleased = new Set<number>()
  private retrying: Promise<void> | undefined
  /** The scheduler closed the store at the end of its stop. */
  private closed = false

  constructor(
    private readonly store: Store,
    private readonly events: EngineEmitter,
    private readonly outage?: Outage,
  ) {}

  /** Write `outcome`; never rejects. Resolves false when the store refused it (the run was lost). */
  async finish(runId: number, outcome: RunOutcome): Promise<boolean> {
    this.unwritten.delete(runId)
    if (this.closed) {
      // Nothing can write it any more (say, a stray error from a job's timer after the stop): say so once.
      const what = outcome.errorMessage ? `${outcome.status}: ${outcome.errorMessage}` : outcome.status
      const message = `run ${runId} changed after the scheduler stopped; not recorded (${what})`
      this.events.emit('engine:error', { message, error: undefined })
      return true
    }
    try {
      const applied = await this.store.finishRun(runId, outcome)
      if (!applied) this.refused(runId)
      return applied
    } catch (error) {
      this.unwritten.set(runId, outcome)
      this.report(`could not record the outcome of run ${runId}; it is kept and written again`, error)
      return true
    }
  }

  /** The run's code settled after its outcome was recorded: release its overlap guard. */
  async release(runId: number): Promise<void> {
    // Stopping the instance released its runs (`Store.stopInstance`): a job's code ending later has nothing to add.
    if (this.closed) return
    const waiting = this.unwritten.get(runId)
    if (waiting) {
      this.unwritten.set(runId, { ...waiting, codeDone: true })
      return
    }
    try {
      await this.store.releaseRun(runId)
      this.unreleased.delete(runId)
    } catch (error) {
      if (!this.unreleased.has(runId)) this.report(`could not release run ${runId}; it is written again`, error)
      this.unreleased.add(runId)
    }
  }

  /** The store is closed after its instance was stopped: later outcomes are reported, not written. */
  close(): void {
    this.closed = true
  }

  /** One pass at a time; never rejects. */
  retry(): Promise<void> {
    if (this.unwritten.size === 0 && this.unreleased.size === 0) return Promise.resolve()
    this.retrying ??= this.retryAll().finally(() => {
      this.retrying = undefined
    })
    return this.retrying
  }

  // A write that fails on its own (an outcome this store cannot take) is kept and passed over: it must not keep
  // the others from being written. Only the store out of reach (or its file locked) ends the pass.
  private async retryAll(): Promise<void> {
    for (const [runId, outcome] of [...this.unwritten]) {
      try {
        const applied = await this.store.finishRun(runId, outcome)
        if (this.unwritten.get(runId) === outcome) this.unwritten.delete(runId)
        if (!applied) this.refused(runId)
      } catch (error) {
        if (storeWide(error)) return
      }
    }
    for (const runId of [...this.unreleased]) {
      try {
        await this.store.releaseRun(runId)
        this.unreleased.delete(runId)
      } catch (error) {
        if (storeWide(error)) return
      }
    }
  }

  private report(message: string, error: unknown): void {
    if (this.outage) this.outage.failed(message, error)
    else this.events.emit('engine:error', { message, error })
  }

  private refused(runId: number): void {
    this.events.emit('engine:error', {
      message: `run ${runId} was taken over by another instance (this one was thought dead); its outcome here was not recorded`,
      error: undefined,
    })
  }
}

/** A failure of the whole store, which every other write would meet too. */
function storeWide(error: unknown): boolean {
  return hasCode(error, 'STATE_UNREACHABLE') || hasCode(error, 'STATE_LOCKED')
}
