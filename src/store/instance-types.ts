/** The store contract's types about instances: the processes sharing a state, their leases, reaping. */
import type { AttemptRecord, PendingRetry } from './types.js'

/**
 * A `scheduler` serves slots (`start-scheduler`, `start()`); a `runner` only starts manual runs
 * (`run-job`) and registers so its runs can name it and be reaped if it dies. Health is about schedulers.
 */
export type InstanceRole = 'scheduler' | 'runner'

export interface NewInstance extends Pick<InstanceRecord, 'id' | 'role' | 'host' | 'pid'> {
  /** When the process started, as the OS reports it: a peer on the same host can tell it is gone at once. */
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
  configHash: string | null
  /** The instance's last measured offset to the store's clock (see `Store.clockOffset`). */
  clockOffsetMs: number | null
}

/** A cancel asked for by another process (`Store.requestCancel`), with the message the attempt aborts with. */
export interface CancelRequest {
  runId: number
  message: string
}

/** What `Store.updateInstance` records about an instance; a key left out keeps its value. */
export type InstanceFacts = Partial<Pick<InstanceRecord, 'configHash' | 'clockOffsetMs'>>

/** What renewing a lease returns: enough that an idle host sends one statement per heartbeat. */
export interface Heartbeat {
  /** False when the instance was reaped: it must stop writing about its runs and register under a new id. */
  held: boolean
  /** This instance's `running` runs that another process asked to cancel, oldest first. */
  cancelRequests: CancelRequest[]
  /** The other instances neither stopped nor reaped, for the caller to judge which are dead. */
  peers: InstanceRecord[]
  /** Whether instances that stopped, were reaped or are unknown left runs active: work for `reapDeadInstances`. */
  orphanedRuns: boolean
  orphanedRetries: PendingRetry[]
}

/** What `reapDeadInstances` changed. */
export interface ReapedRuns {
  /** Runs still `running` when their instance died, now `interrupted`. */
  interrupted: AttemptRecord[]
  /** Runs that had their outcome (their code never settled), now without an overlap guard. */
  released: AttemptRecord[]
}
