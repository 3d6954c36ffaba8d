// How often a scheduler proves it is alive, and how long a silent one is trusted, by kind of state:
// short on a shared database, whose hosts learn of a peer's death only from its silence.
import type { StateLocation } from '../store/location.js'

export interface Lease {
  heartbeatMs: number
  /** An instance whose heartbeat is older than this is dead: a peer interrupts its runs. */
  instanceTtlMs: number
}

export const FILE_LEASE: Readonly<Lease> = Object.freeze({ heartbeatMs: 10_000, instanceTtlMs: 30_000 })
export const SHARED_LEASE: Readonly<Lease> = Object.freeze({ heartbeatMs: 2_000, instanceTtlMs: 10_000 })

export function defaultLease(state: StateLocation | undefined): Readonly<Lease> {
  return state?.kind === 'postgres' ? SHARED_LEASE : FILE_LEASE
}

/** After this long since its last renewal, a scheduler renews before claiming (docs/engine.md: "Self-fencing"). */
export function selfFenceAfterMs(lease: Lease): number {
  return Math.max(lease.instanceTtlMs - lease.heartbeatMs, lease.instanceTtlMs / 2)
}
