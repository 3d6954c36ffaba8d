import type { ResolvedConfig, ResolvedJob } from '../config/types.js'
import { CronsError, closest, quote } from '../errors.js'

/** The configured job with this name, or a one-line error with the closest name as a suggestion. */
export function findJob(config: ResolvedConfig, name: string): ResolvedJob {
  const job = config.jobs.find((j) => j.name === name)
  if (job) return job
  const known = config.jobs.map((j) => j.name)
  const guess = closest(name, known)
  const where = config.configPath ? ` in ${config.configPath}` : ''
  const expected = known.length > 0 ? `known jobs: ${known.join(', ')}` : 'the config has no jobs'
  throw new CronsError('JOB_UNKNOWN', `no job named ${quote(name)}${where} (${expected})`, {
    suggestions: guess ? [`did you mean ${quote(guess)}?`] : [],
  })
}
