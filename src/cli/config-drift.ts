/** The notice `list-jobs` and `status` give when a live scheduler runs another version of the config (inspect.ts). */
import { basename } from 'node:path'
import type { ResolvedConfig } from '../config/types.js'

/** "the scheduler box pid 12 runs another version of crons.config.ts: send it SIGHUP to reload it". */
export function configDriftNotice(
  instances: readonly { host: string; pid: number }[],
  config: ResolvedConfig,
): string | undefined {
  if (instances.length === 0) return undefined
  const file = config.configPath === undefined ? 'the config' : basename(config.configPath)
  const where = instances.map((i) => `${i.host} pid ${i.pid}`).join(', ')
  const who = instances.length === 1 ? `the scheduler ${where} runs` : `${instances.length} schedulers (${where}) run`
  const them = instances.length === 1 ? 'it' : 'them'
  return `${who} another version of ${file} than the file: send ${them} SIGHUP to reload (or start with --watch)`
}
