/** The one copy of every default, in resolved units (milliseconds). Frozen: callers copy before merging. */
export const DEFAULTS = Object.freeze({
  /** Relative to the config file's directory. */
  state: './crons.db',
  shutdownGraceMs: 30_000,
  history: Object.freeze({ keepDays: 30, keepRuns: 10_000 }),
  job: Object.freeze({
    timeoutMs: 0,
    retry: Object.freeze({ max: 0, backoff: 'exponential' as const, initialMs: 1_000, maxDelayMs: 300_000, jitter: 0 }),
    overlap: 'skip' as const,
    catchUp: false,
    misfireGraceMs: 60_000,
    jitterMs: 0,
    tags: Object.freeze([]) as readonly string[],
    enabled: true,
    killGraceMs: 5_000,
  }),
})
