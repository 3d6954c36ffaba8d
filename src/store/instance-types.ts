/**
 * The store contract's types about instances: the processes sharing a state, their leases, and what
 * reaping a dead one changes. Re-exported by types.ts, where the `Store` interface uses them.
 */
import type { PendingRetry, RunRecord } from './types.js'

/**
 * What a process does with the state file: a `scheduler` serves slots (`start-scheduler`, or
 * `start()` in an app); a `runner` only starts manual runs (`run-job`) and registers so that its runs
 * can name it and be reaped if it dies. Health is about schedulers.
 */
export type InstanceRole = 'scheduler' | 'runner'

export interface NewInstance {
  id: string
  role: InstanceRole
  host: string
  pid: number
  /**
   * When the process started (epoch ms, as the OS reports it), so that a peer on the same host can
   * tell the process is gone (or its pid reused) without waiting for the heartbeat to expire.
   */
  processStart?: number | null
  /** A fingerprint of the config the process runs, if it has one. */
  configHash?: string | null
  now: number
}

export interface InstanceRecord {
  id: string
  role: InstanceRole
  host: string
  pid: number
  startedAt: number
  heartbeatAt: number
  /** Set when the instance shut down cleanly. */
  stoppedAt: number | null
  processStart: number | null
  /** Set when a peer found the instance dead and took its runs: its later writes are refused. */
  reapedAt: number | null
  /** A fingerprint of the config the instance runs (see `NewInstance.configHash`), null if unknown. */
  configHash: string | null
  /** The instance's last measured offset to the store's clock (see `Store.clockOffset`), null if unknown. */
  clockOffsetMs: number | null
}

/** A cancel asked for by another process (`Store.requestCancel`). */
export interface CancelRequest {
  runId: number
  /** What the attempt's signal is aborted with and its record says. */
  message: string
}

/** What `Store.updateInstance` records about an instance; a key left out keeps its value. */
export interface InstanceFacts {
  configHash?: string | null
  clockOffsetMs?: number | null
}

/**
 * What an instance learns when it renews its lease: enough to decide whether anything else needs
 * the store before the next heartbeat, so an idle host sends one statement per heartbeat.
 */
export interface Heartbeat {
  /**
   * False when the instance was reaped (a peer found it dead and took its runs): it must stop
   * writing about its runs and register again under a new id.
   */
  held: boolean
  /** This instance's runs still `running` that another process asked to cancel, oldest first. */
  cancelRequests: CancelRequest[]
  /** The other instances neither stopped nor reaped, for the caller to judge which are dead. */
  peers: InstanceRecord[]
  /**
   * Whether runs are left active by instances that stopped or were reaped (or are unknown): work for
   * `reapDeadInstances` even if no peer is dead.
   */
  orphanedRuns: boolean
  /** As `orphanedRetries()` returns them. */
  orphanedRetries: PendingRetry[]
}

/** What `reapDeadInstances` changed. */
export interface ReapedRuns {
  /** Runs still `running` when their instance died, now `interrupted`. */
  interrupted: RunRecord[]
  /** Runs that had their outcome (their code never settled), now without an overlap guard. */
  released: RunRecord[]
}
