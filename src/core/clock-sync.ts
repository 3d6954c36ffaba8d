/**
 * Keeping the scheduler on the store's time. Hosts sharing a database agree on due-ness, leases and
 * heartbeats through the server's clock (SEMANTICS §9), so each measures how far its own clock is
 * from it (`Store.clockOffset`) and schedules on corrected time (`StoreTimeClock`).
 *
 * Measured when the store opens, again at least every `everyMs` (from the heartbeat), and at once
 * when this host's clock is seen to step: a timer planned for an instant that fires more than a
 * second away from it (NTP stepping the clock, a VM resumed with a stale clock). Without that, a
 * host whose clock jumped minutes ahead would take the slots of those minutes for due, and record
 * them missed, until the next measurement.
 *
 * A skew over `SKEW_WARN_MS` is reported (`clock:skew`) when it appears, when it changes by more
 * than that much, and when it goes away: not at every measurement.
 */
import type { Store } from '../store/types.js'
import type { StoreTimeClock } from './clock.js'
import type { EngineEmitter } from './events.js'

/** A host clock this far from the store's is worth a warning. */
export const SKEW_WARN_MS = 1000
/** The offset is measured again at least this often. */
export const CLOCK_CHECK_MS = 60_000
/** A timer firing this far from its plan means the host's clock stepped. */
const STEP_MS = 1000

export interface ClockSyncDeps {
  clock: StoreTimeClock
  events: EngineEmitter
  /** Called with each new measurement (to record it with the instance). */
  measured?: (offsetMs: number) => Promise<void>
  everyMs?: number
}

export class ClockSync {
  /** When the offset was last measured, on the host's clock. */
  private measuredAt: number | undefined
  /** The host's clock was seen to step since the last measurement. */
  private stepped = false
  /** The offset last reported by `clock:skew` while skewed; undefined while within the limit. */
  private reported: number | undefined

  constructor(private readonly deps: ClockSyncDeps) {}

  /** Whether the offset must be measured before the clock is trusted again (the host's clock stepped). */
  get stale(): boolean {
    return this.stepped
  }

  /** Measure the offset now and schedule on it. */
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

  /**
   * A timer planned for `plannedAt` (store time) just fired: more than a second away from it, the
   * host's clock stepped, and the offset is stale until measured again. Synchronous, so a wake-up
   * pays nothing when the clock did not step.
   */
  noteTimer(plannedAt: number | undefined): boolean {
    if (plannedAt !== undefined && Math.abs(this.deps.clock.now() - plannedAt) > STEP_MS) this.stepped = true
    return this.stepped
  }

  /** Measure again if the clock stepped or the last measurement is `everyMs` old. Resolves whether it measured. */
  async check(store: Store): Promise<boolean> {
    const { clock } = this.deps
    const old =
      this.measuredAt === undefined ||
      Math.abs(clock.base.now() - this.measuredAt) >= (this.deps.everyMs ?? CLOCK_CHECK_MS)
    if (!this.stepped && !old) return false
    await this.measure(store)
    return true
  }

  /** A `clock:skew` event when the skew appears, changes by more than the limit, or goes away. */
  private report(offsetMs: number): void {
    const skewed = Math.abs(offsetMs) > SKEW_WARN_MS
    if (skewed) {
      if (this.reported !== undefined && Math.abs(offsetMs - this.reported) <= SKEW_WARN_MS) return
      this.reported = offsetMs
      this.deps.events.emit('clock:skew', { offsetMs, skewed: true })
    } else if (this.reported !== undefined) {
      this.reported = undefined
      this.deps.events.emit('clock:skew', { offsetMs, skewed: false })
    }
  }
}
