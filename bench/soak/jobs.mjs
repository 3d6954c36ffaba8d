/**
 * The soak's jobs: every process serves the same list. Each job's slots are whole multiples of
 * `periodMs` in UTC (second-level expressions that divide a minute, and a minute), so the checks can
 * list the slots a job should have served without parsing cron.
 */

/** Sleep `ms`, or less if the run is told to stop (a lost lease, a shutdown, a timeout). */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}

const quick = () => undefined
const slow = (ms) => (ctx) => sleep(ms, ctx.signal)

/** `retries`: the job's retry.max (total attempts = retries + 1). */
export const SOAK_JOBS = [
  ...Array.from({ length: 8 }, (_, i) => ({ name: `tick-${i}`, schedule: '* * * * * *', periodMs: 1000, run: quick })),
  // Slower than their period: every other slot is skipped (overlap 'skip', across processes).
  ...Array.from({ length: 2 }, (_, i) => ({
    name: `tick-slow-${i}`,
    schedule: '* * * * * *',
    periodMs: 1000,
    run: slow(1500),
  })),
  // Nearly always running: what a kill -9 or a stall finds in flight.
  ...Array.from({ length: 3 }, (_, i) => ({
    name: `five-slow-${i}`,
    schedule: '*/5 * * * * *',
    periodMs: 5000,
    run: slow(4000),
  })),
  {
    name: 'flaky',
    schedule: '*/10 * * * * *',
    periodMs: 10_000,
    retries: 3,
    retry: { max: 3, backoff: 'constant', initial: '1s' },
    // Fails twice, then succeeds.
    run: (ctx) => {
      if (ctx.attempt < 3) throw new Error(`flaky: attempt ${ctx.attempt} fails`)
    },
  },
  {
    name: 'broken',
    schedule: '*/15 * * * * *',
    periodMs: 15_000,
    retries: 2,
    retry: { max: 2, backoff: 'exponential', initial: '500ms' },
    run: () => {
      throw new Error('broken: always fails')
    },
  },
  {
    name: 'too-slow',
    schedule: '*/10 * * * * *',
    periodMs: 10_000,
    retries: 1,
    timeout: '2s',
    retry: { max: 1, backoff: 'constant', initial: '1s' },
    run: slow(6000),
  },
  ...Array.from({ length: 4 }, (_, i) => ({
    name: `minute-${i}`,
    schedule: '* * * * *',
    periodMs: 60_000,
    run: quick,
  })),
  { name: 'minute-slow', schedule: '* * * * *', periodMs: 60_000, run: slow(8000) },
]

/** The job definitions as a config takes them. */
export function jobDefinitions() {
  return SOAK_JOBS.map(({ periodMs, retries, ...job }) => job)
}
