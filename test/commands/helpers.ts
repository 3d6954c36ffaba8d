import { spawnSync } from 'node:child_process'
import path from 'node:path'

export const ROOT = path.resolve(import.meta.dirname, '../..')

/** Run the built CLI in `dir`, with the caller's colour settings removed so output is as piped. */
export function crons(dir: string, args: string[], env: Record<string, string> = {}) {
  const { FORCE_COLOR: _force, NO_COLOR: _no, ...rest } = process.env
  return spawnSync(process.execPath, [path.join(ROOT, 'bin/run.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...rest, ...env },
  })
}
