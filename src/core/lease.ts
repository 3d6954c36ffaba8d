// How often a scheduler proves it is alive, and how long a silent one is trusted, by kind of state:
// short on a shared database, whose hosts learn of a peer's death only from its silence.
import { formatDuration } from '../config/duration.js'
import type { StateLocation } from '../store/location.js'

export interface Lease {
  heartbeatMs: number
  /** An instance whose heartbeat is older than this is dead: a peer interrupts its runs. */
  instanceTtlMs: number
}

export const FILE_LEASE: Readonly<Lease> = Object.freeze({ heartbeatMs: 10_000, instanceTtlMs: 30_000 })
export const SHARED_LEASE: Readonly<Lease> = Object.freeze({ heartbeatMs: 2_000, instanceTtlMs: 10_000 })

/** The shortest heartbeat, lease or sleep a scheduler takes: anything more often only loads the store and the CPU. */
export const MIN_PERIOD_MS = 100

/**
 * What is wrong with a lease shorter than two heartbeats (one late renewal would get a live scheduler
 * reaped by a peer), or nothing; said after the lease's value as its caller names it (a flag, an option).
 */
export function leaseTooShort(lease: Lease): string | undefined {
  const beat = lease.heartbeatMs
  if (lease.instanceTtlMs >= 2 * beat) return undefined
  return `is shorter than two heartbeats (${formatDuration(beat)} each); expected at least ${formatDuration(2 * beat)}`
}

export function defaultLease(state: StateLocation | undefined): Readonly<Lease> {
  return state?.kind === 'postgres' ? SHARED_LEASE : FILE_LEASE
}

/** After this long since its last renewal, a scheduler renews before claiming (docs/engine.md: "Self-fencing"). */
export function selfFenceAfterMs(lease: Lease): number {
  return Math.max(lease.instanceTtlMs - lease.heartbeatMs, lease.instanceTtlMs / 2)
}
