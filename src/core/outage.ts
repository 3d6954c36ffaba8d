// The store out of reach: one event when it starts, one when it ends, none for the failures between
// (their owners retry them). docs/engine.md: "The store out of reach".
import { hasCode } from '../errors.js'
import type { Clock } from './clock.js'
import type { EngineEmitter } from './events.js'

export class Outage {
  private since: number | undefined
  private failures = 0

  constructor(
    private readonly clock: Clock,
    private readonly events: EngineEmitter,
    private readonly onBack: () => void = () => {},
  ) {}

  get down(): boolean {
    return this.since !== undefined
  }

  get failureCount(): number {
    return this.failures
  }

  /** A store call failed. Any failure but the store out of reach is reported each time: one could hide another. */
  failed(message: string, error: unknown): void {
    if (!hasCode(error, 'STATE_UNREACHABLE')) {
      this.events.emit('engine:error', { message, error })
      return
    }
    this.failures++
    if (this.since !== undefined) return
    this.since = this.clock.now()
    this.events.emit('store:unreachable', { message, error })
  }

  answered(): void {
    if (this.since === undefined) return
    const downMs = Math.max(0, this.clock.now() - this.since)
    this.since = undefined
    this.failures = 0
    this.events.emit('store:reachable', { downMs })
    this.onBack()
  }
}
