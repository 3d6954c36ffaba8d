// A scheduler's heartbeat (liveness, lease, clock, reaping, cancel requests) and pruning, on timers of
// their own. docs/engine.md: "Crash", "Self-fencing", "One statement per idle heartbeat", "Housekeeping".
import type { ResolvedConfig } from '../config/types.js'
import { hasCode } from '../errors.js'
import type { CancelRequest, Heartbeat, InstanceRecord, PendingRetry, ReapedRuns, Store } from '../store/types.js'
import type { TimerHandle } from './clock.js'
import { FILE_LEASE, type Lease, selfFenceAfterMs } from './lease.js'
import type { ClaimLoop, StoreDeps } from './loop.js'
import { processGoneHere } from './process-identity.js'

/** An instance whose heartbeat is older than this is dead (a state file's default). */
export const DEFAULT_INSTANCE_TTL_MS = FILE_LEASE.instanceTtlMs
const PRUNE_EVERY_MS = 3_600_000
const FIRST_PRUNE_AFTER_MS = 60_000
/** Housekeeping does not start this close to a claim or a start, but waits at most MAX_DELAY_MS. */
const QUIET_MS = 50
const MAX_DELAY_MS = 2000

export interface HousekeepingDeps extends StoreDeps {
  loop: ClaimLoop
  /** As they are now: a reload may change them. */
  history: () => ResolvedConfig['history']
  lease: Lease
  onFatal: (message: string, error: unknown) => void
  onLeaseLost: () => Promise<void>
  /** Those given, or (after a reaping) those the store has. */
  adoptRetries: (pending?: PendingRetry[]) => Promise<void>
  onCancelRequests: (requests: CancelRequest[]) => void
}

export class Housekeeping {
  private heartbeatTimer: TimerHandle | undefined
  private pruneTimer: TimerHandle | undefined
  /** Draining: a stop waits for its running jobs; the heartbeat only renews the lease and reads cancel requests. */
  private state: 'running' | 'draining' | 'stopped' = 'running'
  /** The beat and the pruning in progress, which a stop waits for. */
  private readonly busy = new Set<Promise<void>>()
  /** When the next heartbeat is planned, to notice a step of this host's clock. */
  private beatDueAt: number | undefined
  private renewedAt: number | undefined
  /** After an outage: the last renewal before it; until `graceUntil`, those silent only since are not reaped. */
  private blind: { from: number; graceUntil: number } | undefined

  constructor(private readonly deps: HousekeepingDeps) {}

  start(options: { prune: boolean }): void {
    if (this.state === 'stopped') return
    // Registering wrote the first heartbeat.
    this.renewedAt ??= this.deps.clock.now()
    this.armHeartbeat(this.deps.lease.heartbeatMs)
    if (options.prune && this.state === 'running' && this.pruneTimer === undefined) this.armPrune(FIRST_PRUNE_AFTER_MS)
  }

  get running(): boolean {
    return this.heartbeatTimer !== undefined
  }

  /**
   * A stop begins: no more pruning, reaping or adopting; the heartbeat goes on renewing the lease, so
   * peers do not take the jobs still running for a dead process's. Resolves when the step in progress ended.
   */
  async drain(): Promise<void> {
    if (this.state === 'running') this.state = 'draining'
    if (this.pruneTimer) this.deps.clock.clearTimeout(this.pruneTimer)
    this.pruneTimer = undefined
    await Promise.allSettled(this.busy)
  }

  /** For good; resolves when the beat or pruning step in progress has ended. */
  async stop(): Promise<void> {
    this.state = 'stopped'
    if (this.heartbeatTimer) this.deps.clock.clearTimeout(this.heartbeatTimer)
    this.heartbeatTimer = undefined
    await this.drain()
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.busy.delete(tracked))
    this.busy.add(tracked)
  }

  /** Interrupt the runs of dead instances: gone from this host at once, others when their heartbeat expired. */
  async reap(now: number, dead?: readonly string[]): Promise<ReapedRuns> {
    const store = await this.deps.store()
    const self = this.deps.instanceId()
    const live = (i: InstanceRecord) => i.id !== self && i.stoppedAt === null && i.reapedAt === null
    dead ??= goneHere((await store.listInstances()).filter(live))
    const reaped = await store.reapDeadInstances(now, this.reapTtl(now), dead)
    if (reaped.interrupted.length > 0) {
      this.deps.events.emit('runs:interrupted', { runIds: reaped.interrupted.map((r) => r.id) })
    }
    return reaped
  }

  /** Within a lease after an outage, an instance silent only since it began (as cut off as this one) gets a lease. */
  private reapTtl(now: number): number {
    const ttl = this.deps.lease.instanceTtlMs
    if (this.blind !== undefined && now >= this.blind.graceUntil) this.blind = undefined
    return this.blind === undefined ? ttl : Math.max(ttl, now - this.blind.from + ttl)
  }

  /** Self-fencing: a stale lease is renewed before a claim (a rejection forbids the claim); undefined if fresh. */
  renewIfStale(now: number): Promise<unknown> | undefined {
    if (this.renewedAt !== undefined && Math.abs(now - this.renewedAt) < selfFenceAfterMs(this.deps.lease)) return
    return this.deps.store().then((store) => this.renew(store, now))
  }

  private async renew(store: Store, now: number): Promise<Heartbeat> {
    const id = this.deps.instanceId()
    const beat = await store.heartbeat(id, now)
    this.renewed(now)
    if (beat.held && beat.cancelRequests.length > 0) this.deps.onCancelRequests(beat.cancelRequests)
    // The heartbeat and a claim may both have found the lease lost: the instance moves on once.
    if (!beat.held && id === this.deps.instanceId()) await this.deps.onLeaseLost()
    return beat
  }

  private renewed(now: number): void {
    if (this.deps.outage.down) {
      const from = Math.min(this.blind?.from ?? Number.POSITIVE_INFINITY, this.renewedAt ?? now)
      this.blind = { from, graceUntil: now + this.deps.lease.instanceTtlMs }
    }
    this.renewedAt = now
    this.deps.outage.answered()
  }

  private armHeartbeat(delayMs: number, plannedAt?: number): void {
    const { clock } = this.deps
    if (this.heartbeatTimer) clock.clearTimeout(this.heartbeatTimer)
    this.beatDueAt = clock.now() + delayMs
    this.heartbeatTimer = clock.setTimeout(() => this.track(this.beat(plannedAt)), delayMs)
  }

  /** How long work planned for `planned` waits for a quiet moment (0: none). */
  private postponeBy(now: number, planned: number): number {
    return now - planned >= MAX_DELAY_MS ? 0 : this.deps.loop.busyFor(now, QUIET_MS)
  }

  private async beat(plannedAt: number | undefined): Promise<void> {
    const { clock, loop } = this.deps
    let now = clock.now()
    const postponeBy = this.postponeBy(now, plannedAt ?? now)
    if (postponeBy > 0) return this.armHeartbeat(postponeBy, plannedAt ?? now)
    // After a clock step every age read is wrong until measured again: liveness waits for the next beat.
    const stepped = this.deps.clockSync.noteTimer(this.beatDueAt)
    const draining = this.state !== 'running'
    if (!stepped && !draining && !loop.alive(now)) {
      this.heartbeatTimer = undefined
      this.deps.onFatal('the scheduling loop stopped waking up; no more slots would fire', undefined)
      return
    }
    try {
      const store = await this.deps.store()
      if (await this.deps.clockSync.check(store)) now = clock.now()
      const beat = await this.renew(store, now)
      await this.deps.recorder()?.retry()
      if (draining) return this.rearm()
      // Reaping is a transaction of several statements: only when the renewal shows work for it.
      const dead = goneHere(beat.peers)
      const cutoff = now - this.reapTtl(now)
      if (beat.orphanedRuns || dead.length > 0 || beat.peers.some((peer) => peer.heartbeatAt < cutoff)) {
        await this.reap(now, dead)
        await this.deps.adoptRetries()
      } else if (beat.orphanedRetries.length > 0) {
        await this.deps.adoptRetries(beat.orphanedRetries)
      }
    } catch (error) {
      if (hasCode(error, 'STATE_GONE')) {
        this.heartbeatTimer = undefined
        this.deps.onFatal((error as Error).message, error)
        return
      }
      this.deps.outage.failed('heartbeat failed', error)
    }
    this.rearm()
  }

  private rearm(): void {
    if (this.state !== 'stopped') this.armHeartbeat(this.deps.lease.heartbeatMs)
  }

  private armPrune(delayMs: number, plannedAt?: number): void {
    this.pruneTimer = this.deps.clock.setTimeout(() => this.track(this.prune(plannedAt)), delayMs)
  }

  private async prune(plannedAt: number | undefined): Promise<void> {
    const now = this.deps.clock.now()
    const postponeBy = this.postponeBy(now, plannedAt ?? now)
    if (postponeBy > 0) return this.armPrune(postponeBy, plannedAt ?? now)
    try {
      const store = await this.deps.store()
      // Bounded steps, a turn of the event loop between them: claims and starts wait one step at most.
      while (!(await store.prune(now, this.deps.history(), { maxMs: 20 })).done && this.state === 'running') {
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    } catch (error) {
      this.deps.outage.failed('pruning history failed', error)
    }
    if (this.state === 'running') this.armPrune(PRUNE_EVERY_MS)
  }
}

function goneHere(instances: readonly InstanceRecord[]): string[] {
  return instances.filter(processGoneHere).map((i) => i.id)
}
