// The one place an attempt's outcome is written: a failed write is kept and written again, one the
// store refuses (fencing) is reported and dropped. docs/engine.md: "The recorder", "Fencing".
import type { RunOutcome, Store } from '../store/types.js'
import type { EngineEmitter } from './events.js'
import type { Outage } from './outage.js'

export class Recorder {
  /** By run id: the latest outcome of each run wins. */
  private readonly unwritten = new Map<number, RunOutcome>()
  /** Runs whose `releaseRun` failed. */
  private readonly unreleased = new Set<number>()
  private retrying: Promise<void> | undefined

  constructor(
    private readonly store: Store,
    private readonly events: EngineEmitter,
    private readonly outage?: Outage,
  ) {}

  get backlog(): number {
    return this.unwritten.size + this.unreleased.size
  }

  /** Write `outcome`; never rejects. Resolves false when the store refused it (the run was lost). */
  async finish(runId: number, outcome: RunOutcome): Promise<boolean> {
    this.unwritten.delete(runId)
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

  /** One pass at a time; never rejects. */
  retry(): Promise<void> {
    if (this.backlog === 0) return Promise.resolve()
    this.retrying ??= this.retryAll().finally(() => {
      this.retrying = undefined
    })
    return this.retrying
  }

  private async retryAll(): Promise<void> {
    for (const [runId, outcome] of [...this.unwritten]) {
      try {
        const applied = await this.store.finishRun(runId, outcome)
        if (this.unwritten.get(runId) === outcome) this.unwritten.delete(runId)
        if (!applied) this.refused(runId)
      } catch {
        return
      }
    }
    for (const runId of [...this.unreleased]) {
      try {
        await this.store.releaseRun(runId)
        this.unreleased.delete(runId)
      } catch {
        return
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
