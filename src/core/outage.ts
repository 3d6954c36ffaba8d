/**
 * The store out of reach (the database server restarting, the network between down): one line when
 * it starts, one when it ends, and nothing for each of the failed claims, heartbeats and writes in
 * between. Those are retried by their owners (the claim loop with a growing delay, the heartbeat on
 * its interval, the recorder before each claim and at each heartbeat); what could not be served
 * meanwhile is recorded missed by the claim loop once the store answers (the misfire rules).
 *
 * Any other store failure is reported as it happens (`engine:error`): it is not the store being
 * away, and saying it once per outage could hide a second, different one.
 */
import type { Clock } from './clock.js'
import type { EngineEmitter } from './events.js'

export class Outage {
  /** When the store was first found out of reach (the caller's clock); undefined while it answers. */
  private since: number | undefined
  private failures = 0

  constructor(
    private readonly clock: Clock,
    private readonly events: EngineEmitter,
    /** Called when the store answers again, e.g. to wake the claim loop from its back-off. */
    private readonly onBack: () => void = () => {},
  ) {}

  /** Whether the store is out of reach as far as anything here knows. */
  get down(): boolean {
    return this.since !== undefined
  }

  /** Failed calls since the store went out of reach (0 while it answers). */
  get failureCount(): number {
    return this.failures
  }

  /**
   * A store call failed: `message` says what failed. Out of reach: reported once per outage.
   * Anything else: reported now, as an `engine:error`.
   */
  failed(message: string, error: unknown): void {
    if (!isUnreachable(error)) {
      this.events.emit('engine:error', { message, error })
      return
    }
    this.failures++
    if (this.since !== undefined) return
    this.since = this.clock.now()
    this.events.emit('store:unreachable', { message, error })
  }

  /** A store call succeeded: an outage, if any, is over. */
  answered(): void {
    if (this.since === undefined) return
    const downMs = Math.max(0, this.clock.now() - this.since)
    this.since = undefined
    this.failures = 0
    this.events.emit('store:reachable', { downMs })
    this.onBack()
  }
}

/** The store said it cannot be reached (as opposed to refusing or failing a statement). */
export function isUnreachable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'STATE_UNREACHABLE'
}
