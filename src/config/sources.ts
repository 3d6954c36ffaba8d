/**
 * What a config was made from: the files `start-scheduler --watch` watches, and the fingerprint a
 * scheduler records so `list-jobs` and `status` can tell it runs another version than the one on disk.
 */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { sha256 } from './hash.js'

export interface ConfigSources {
  /**
   * The config and the local files it imports, as given and as written (and a symlink's target), and the
   * tsconfig.json that applied (and those it extends); no package, not crons.
   */
  files: string[]
  hash: string
  /**
   * Watched, not hashed: a file the last build failed in, not among `files` (just imported, with a syntax
   * error), and files that would change what an import resolves to were they created (`lib.ts` beside `lib/`).
   */
  pending: string[]
}

/**
 * 16 hex digits of a SHA-256 over each file's path (relative to the config's folder, so processes agree
 * whatever their install or cache) and content. A file that is gone counts as gone, not as an error.
 */
export function fingerprintOf(configDir: string, files: readonly string[]): string {
  const lines = files.map((file) => `${relative(configDir, file)}\0${contentHash(file)}`).sort()
  return sha256(lines.join('\n')).slice(0, 16)
}

function contentHash(file: string): string {
  try {
    return sha256(readFileSync(file))
  } catch {
    return 'missing'
  }
}
