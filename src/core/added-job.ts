// A job handed to `Scheduler.add()`: a resolved one as it is, a definition validated as a config's
// jobs are (the validator is loaded only then).
import type { JobDefinition, ResolvedJob } from '../config/types.js'
import { CronsError } from '../errors.js'

export async function resolveAddedJob(job: JobDefinition | ResolvedJob, timezone: string): Promise<ResolvedJob> {
  if (typeof job !== 'object' || job === null) {
    const got = job === null ? 'null' : typeof job
    throw new CronsError('CONFIG_INVALID', `add() takes a job definition object, got ${got}`)
  }
  if (typeof job.schedule === 'object' && 'kind' in job) return job
  const { validateConfig } = await import('../config/validate.js')
  const config = validateConfig({ timezone, jobs: [job] }, { file: 'scheduler.add()', configDir: process.cwd() })
  return config.jobs[0] as ResolvedJob
}
