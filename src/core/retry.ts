import type { ResolvedRetry } from '../config/types.js'

/**
 * Delay before retry `k` (1-based), per SEMANTICS §5: exponential `initial·2^(k-1)`, linear
 * `initial·k`, constant `initial`, capped at `maxDelay`, then shortened by up to `jitter` of itself
 * so that many failing jobs do not retry in lockstep.
 */
export function retryDelayMs(retry: ResolvedRetry, k: number, random: () => number = Math.random): number {
  const base =
    retry.backoff === 'exponential'
      ? retry.initialMs * 2 ** (k - 1)
      : retry.backoff === 'linear'
        ? retry.initialMs * k
        : retry.initialMs
  const capped = Math.min(base, retry.maxDelayMs)
  return Math.round(capped * (1 - retry.jitter * random()))
}

/**
 * A job's start offset within `jitterMs`, the same in every process for the same slot (so peers
 * sharing a store agree on when a slot is due), and different across slots and jobs.
 */
export function slotJitterMs(job: string, slot: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0
  // FNV-1a over the job name and the slot; cheap and well spread.
  let hash = 0x811c9dc5
  const text = `${job}@${slot}`
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % Math.floor(jitterMs)
}
