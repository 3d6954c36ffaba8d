/**
 * What a config loaded from a file was made from: the files a scheduler following its config watches
 * (`start-scheduler --watch`), and the config's fingerprint, which a scheduler records so that
 * `list-jobs` and `status` can tell when it runs another version of the file than the one on disk.
 */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { sha256 } from './hash.js'

export interface ConfigSources {
  /** The config and the local files it imports, and the tsconfig.json that applied; no package, not crons. */
  files: string[]
  /** The fingerprint of those files, see {@link fingerprintOf}. */
  hash: string
  /**
   * A file the last build failed in that is not among `files` (a file the config has just started to
   * import, with a syntax error): watched until a build succeeds, not part of the fingerprint.
   */
  pending: string[]
}

/**
 * 16 hex digits of a SHA-256 over each source file's path (relative to the config's folder) and
 * content, in path order. Two processes loading the same files agree, whichever crons installation or
 * cache folder they use; any edit of one of them changes it (a comment too: the notice it causes
 * ends with the next reload). A file that is gone counts as gone, not as an error.
 */
export function fingerprintOf(configDir: string, files: readonly string[]): string {
  const lines = files
    .map((file) => {
      let content: string
      try {
        content = sha256(readFileSync(file))
      } catch {
        content = 'missing'
      }
      return `${relative(configDir, file)}\0${content}`
    })
    .sort()
  return sha256(lines.join('\n')).slice(0, 16)
}
