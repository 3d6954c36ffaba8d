/**
 * The one place an attempt's outcome is written. A write that fails (the store locked past its busy
 * timeout, a full disk, the database restarting) is kept and written again before the next claim and
 * at every heartbeat, so one failed write never leaves a row `running` — and so never leaves its job
 * held against later slots — for longer than the store stays unwritable. A write the store refuses
 * because this instance lost the run (a peer reaped it as dead: fencing) is reported and dropped.
 * See docs/engine.md, "The recorder" and "Fencing".
 */
import type { RunOutcome, Store } from '../store/types.js'
import type { EngineEmitter } from './events.js'
import type { Outage } from './outage.js'

export class Recorder {
  /** Outcomes the store failed to take, by run id: the latest outcome of each run wins. */
  private readonly unwritten = new Map<number, RunOutcome>()
  /** Runs whose code settled after their outcome, whose `settleRun` failed. */
  private readonly unsettled = new Set<number>()
  private retrying: Promise<void> | undefined

  constructor(
    private readonly store: Store,
    private readonly events: EngineEmitter,
    /** With it, failures of a store out of reach are reported once per outage, not once per run. */
    private readonly outage?: Outage,
  ) {}

  /** Outcomes and releases still to be written. */
  get backlog(): number {
    return this.unwritten.size + this.unsettled.size
  }

  /** Write `outcome`; never rejects. Resolves false when the store refused it (the run was lost). */
  async finish(runId: number, outcome: RunOutcome): Promise<boolean> {
    // A later outcome of the same run replaces one still waiting (an output line added by a hook).
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
  async settle(runId: number): Promise<void> {
    const waiting = this.unwritten.get(runId)
    if (waiting) {
      // Written together with its outcome.
      this.unwritten.set(runId, { ...waiting, settled: true })
      return
    }
    try {
      await this.store.settleRun(runId)
      this.unsettled.delete(runId)
    } catch (error) {
      if (!this.unsettled.has(runId)) this.report(`could not release run ${runId}; it is written again`, error)
      this.unsettled.add(runId)
    }
  }

  /** Write everything kept from failed writes (one pass at a time); never rejects. */
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
        // Still unwritable: the next pass tries again; the first failure was reported.
        return
      }
    }
    for (const runId of [...this.unsettled]) {
      try {
        await this.store.settleRun(runId)
        this.unsettled.delete(runId)
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
