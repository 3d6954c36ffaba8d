/**
 * A job handed to `Scheduler.add()`: one already resolved is taken as it is; a definition is
 * validated as a config's jobs are, in the scheduler's time zone (the validator is loaded only when
 * an app adds a job this way).
 */
import type { JobDefinition, ResolvedJob } from '../config/types.js'
import { CronsError } from '../errors.js'

export async function resolveAddedJob(job: JobDefinition | ResolvedJob, timezone: string): Promise<ResolvedJob> {
  if (typeof job !== 'object' || job === null) {
    throw new CronsError(
      'CONFIG_INVALID',
      `add() takes a job definition object, got ${job === null ? 'null' : typeof job}`,
    )
  }
  if (isResolved(job)) return job
  const { validateConfig } = await import('../config/validate.js')
  const config = validateConfig({ timezone, jobs: [job] }, { file: 'scheduler.add()', configDir: process.cwd() })
  return config.jobs[0] as ResolvedJob
}

function isResolved(job: JobDefinition | ResolvedJob): job is ResolvedJob {
  return typeof job.schedule === 'object' && 'kind' in job
}
