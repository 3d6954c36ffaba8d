import type { ResolvedConfig, ResolvedJob } from '../config/types.js'
import { unknownJob } from '../errors.js'

/** The configured job with this name, or a one-line error with the closest name as a suggestion. */
export function findJob(config: ResolvedConfig, name: string): ResolvedJob {
  const job = config.jobs.find((j) => j.name === name)
  if (job) return job
  const names = config.jobs.map((j) => j.name)
  throw unknownJob(name, names, config.configPath)
}
