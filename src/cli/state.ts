/**
 * How commands open the state file. Inspecting commands open it read-only and never create it: a
 * state file that does not exist yet simply means nothing has run.
 */
import { existsSync } from 'node:fs'
import type { ResolvedConfig } from '../config/types.js'
import type { Store } from '../store/types.js'

/** The store, read-only; `undefined` when no state file exists yet. */
export async function openStateForReading(config: ResolvedConfig): Promise<Store | undefined> {
  if (config.statePath !== ':memory:' && !existsSync(config.statePath)) return undefined
  const { openStore } = await import('../store/index.js')
  return openStore(config.statePath, { readonly: true })
}

/** The store, read-write (created and migrated if needed). */
export async function openStateForWriting(config: ResolvedConfig): Promise<Store> {
  const { openStore } = await import('../store/index.js')
  return openStore(config.statePath)
}
