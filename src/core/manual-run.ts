// A manual run (`Scheduler.runJob`, `crons run-job`): which job (a disabled one only when forced),
// and its first attempt begun outside the slot table, refused while the job runs unless forced.
import { basename } from 'node:path'
import type { Initiator, ResolvedConfig, ResolvedJob } from '../config/types.js'
import { CronsError, quote, unknownJob } from '../errors.js'
import type { Store } from '../store/types.js'
import type { RunJobOptions } from './options.js'
import type { RunRequest } from './runner.js'

/** What the library says for the way past a refusal (the CLI words it as its flag). */
const FORCE_HINT = 'pass { force: true } to run it anyway'

export function manualJob(
  config: ResolvedConfig,
  jobs: ReadonlyMap<string, ResolvedJob>,
  name: string,
  force: boolean,
): ResolvedJob {
  const scheduled = jobs.get(name)
  if (scheduled) return scheduled
  const disabled = config.jobs.find((j) => j.name === name && j.enabled === false)
  if (disabled) {
    if (force) return disabled
    const where = config.configPath === undefined ? 'the config' : basename(config.configPath)
    throw new CronsError('JOB_DISABLED', `job ${quote(name)} is disabled (enabled: false in ${where})`, {
      suggestions: [FORCE_HINT],
    })
  }
  throw unknownJob(name, [...jobs.keys()])
}

export async function beginManualRun(
  store: Store,
  job: ResolvedJob,
  options: RunJobOptions,
  at: { now: number; instanceId: string; initiator: Initiator },
): Promise<RunRequest> {
  const { now } = at
  const begun = await store.beginRun(
    { job: job.name, slot: now, trigger: 'manual', attempt: 1, overlap: options.force ? 'allow' : 'skip' },
    at.instanceId,
    now,
  )
  if (begun.kind === 'taken') throw new Error('beginRun without retryOf cannot be taken')
  if (begun.kind === 'busy') {
    const h = begun.holder
    const where = h.host ? ` (host ${h.host}, pid ${h.pid})` : ''
    const when = new Date(h.startedAt).toISOString()
    const run = `run ${h.runId} on instance ${h.instanceId}${where}`
    // A run claimed ahead of its instant holds the job a moment before it starts.
    const holding =
      h.startedAt > now ? `about to run: ${run} starts at ${when}` : `already running: ${run} since ${when}`
    throw new CronsError('JOB_RUNNING', `job ${quote(job.name)} is ${holding}`, { suggestions: [FORCE_HINT] })
  }
  return {
    job,
    runId: begun.runId,
    slot: now,
    trigger: 'manual',
    initiator: at.initiator,
    // A forced run's retries are forced too.
    ...(options.force ? { overlap: 'allow' as const } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  }
}
