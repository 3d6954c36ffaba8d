/**
 * How commands open the state file. Inspecting commands open it read-only and never create it: a
 * state file that does not exist yet simply means nothing has run.
 */
import { statSync } from 'node:fs'
import type { ResolvedConfig } from '../config/types.js'
import type { Store } from '../store/types.js'

/** The store, read-only; `undefined` when no state file exists yet (or an empty one). */
export async function openStateForReading(config: ResolvedConfig): Promise<Store | undefined> {
  if (config.statePath !== ':memory:' && !holdsState(config.statePath)) return undefined
  const { openStore } = await import('../store/index.js')
  return openStore(config.statePath, { readonly: true })
}

/** The store, read-write (created and migrated if needed). */
export async function openStateForWriting(config: ResolvedConfig): Promise<Store> {
  const { openStore } = await import('../store/index.js')
  return openStore(config.statePath)
}

/**
 * Whether anything can be read at `path`. A missing file, or an empty one (touched by hand, or just
 * created by a scheduler that has not written its first page), holds no state yet; anything else
 * (even a folder) is opened, so that what is wrong with it is said.
 */
function holdsState(path: string): boolean {
  const stats = statSync(path, { throwIfNoEntry: false })
  return stats !== undefined && (stats.size > 0 || !stats.isFile())
}
