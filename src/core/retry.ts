import type { ResolvedRetry } from '../config/types.js'

/** Delay before retry `k` (1-based), SEMANTICS §5; jitter shortens it so failing jobs do not retry in lockstep. */
export function retryDelayMs(retry: ResolvedRetry, k: number, random: () => number = Math.random): number {
  const base =
    retry.backoff === 'exponential'
      ? retry.initialMs * 2 ** (k - 1)
      : retry.backoff === 'linear'
        ? retry.initialMs * k
        : retry.initialMs
  return Math.round(Math.min(base, retry.maxDelayMs) * (1 - retry.jitter * random()))
}

/** A job's start offset within `jitterMs`: the same in every process for a slot, so peers agree when it is due. */
export function slotJitterMs(job: string, slot: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0
  // FNV-1a: cheap and well spread.
  let hash = 0x811c9dc5
  const text = `${job}@${slot}`
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % Math.floor(jitterMs)
}
