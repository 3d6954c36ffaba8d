/**
 * How often a scheduler proves it is alive, and how long a silent one is trusted, by kind of state.
 *
 * A state file lives on one host: its schedulers are usually one process, restarted by a supervisor
 * that starts the next one at once, and a dead process on this host is recognised without waiting
 * (process-identity.ts). A database server is shared by hosts that can only learn of a peer's death
 * from its silence, so its lease is short: a peer killed with runs in flight has them `interrupted`
 * by another host within a heartbeat after the lease runs out (2 s + 10 s).
 */
import type { StateLocation } from '../store/location.js'

export interface Lease {
  /** How often the instance renews its lease. */
  heartbeatMs: number
  /** An instance whose heartbeat is older than this is dead: a peer interrupts its runs. */
  instanceTtlMs: number
}

/** A state file (or memory): 10 s heartbeats, dead after 30 s. */
export const FILE_LEASE: Readonly<Lease> = Object.freeze({ heartbeatMs: 10_000, instanceTtlMs: 30_000 })
/** A database server shared by many hosts: 2 s heartbeats, dead after 10 s. */
export const SHARED_LEASE: Readonly<Lease> = Object.freeze({ heartbeatMs: 2_000, instanceTtlMs: 10_000 })

/** The lease used on `state` unless told otherwise. */
export function defaultLease(state: StateLocation | undefined): Readonly<Lease> {
  return state?.kind === 'postgres' ? SHARED_LEASE : FILE_LEASE
}

/**
 * How long before its lease runs out a scheduler stops claiming on the strength of its last renewal:
 * from then on it renews first (and claims only once renewed), so it never claims a slot under a
 * lease a peer may already have found expired.
 */
export function selfFenceAfterMs(lease: Lease): number {
  return Math.max(lease.instanceTtlMs - lease.heartbeatMs, lease.instanceTtlMs / 2)
}
