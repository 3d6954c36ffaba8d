// Keeping the scheduler on the store's time (SEMANTICS §9): the offset is measured at open, every
// minute, and when this host's clock steps. docs/engine.md: "Store time, re-measured".
import type { Store } from '../store/types.js'
import type { StoreTimeClock } from './clock.js'
import type { EngineEmitter } from './events.js'

/** A host clock this far from the store's is worth a warning. */
export const SKEW_WARN_MS = 1000
const CLOCK_CHECK_MS = 60_000
/** A timer firing this far from its plan means the host's clock stepped. */
const STEP_MS = 1000

export interface ClockSyncDeps {
  clock: StoreTimeClock
  events: EngineEmitter
  measured?: (offsetMs: number) => Promise<unknown>
}

export class ClockSync {
  /** On the host's clock. */
  private measuredAt: number | undefined
  private stepped = false
  /** The offset last reported by `clock:skew` while skewed; undefined while within the limit. */
  private reported: number | undefined

  constructor(private readonly deps: ClockSyncDeps) {}

  get stale(): boolean {
    return this.stepped
  }

  async measure(store: Store): Promise<number> {
    const { clock } = this.deps
    const offsetMs = await store.clockOffset(() => clock.base.now())
    this.measuredAt = clock.base.now()
    this.stepped = false
    clock.offsetMs = offsetMs
    this.report(offsetMs)
    await this.deps.measured?.(offsetMs)
    return offsetMs
  }

  /** A timer planned for `plannedAt` just fired: whether the clock stepped (synchronous: free on a wake-up). */
  noteTimer(plannedAt: number | undefined): boolean {
    if (plannedAt !== undefined && Math.abs(this.deps.clock.now() - plannedAt) > STEP_MS) this.stepped = true
    return this.stepped
  }

  /** Measure again if the clock stepped or the last measurement is old; resolves whether it measured. */
  async check(store: Store): Promise<boolean> {
    const { measuredAt } = this
    const old = measuredAt === undefined || Math.abs(this.deps.clock.base.now() - measuredAt) >= CLOCK_CHECK_MS
    if (!this.stepped && !old) return false
    await this.measure(store)
    return true
  }

  /** When the skew appears, changes by more than the limit, or goes away: not at every measurement. */
  private report(offsetMs: number): void {
    const skewed = Math.abs(offsetMs) > SKEW_WARN_MS
    const last = this.reported
    const news = skewed ? last === undefined || Math.abs(offsetMs - last) > SKEW_WARN_MS : last !== undefined
    if (!news) return
    this.reported = skewed ? offsetMs : undefined
    this.deps.events.emit('clock:skew', { offsetMs, skewed })
  }
}
