/**
 * How commands open the state. Inspecting commands open it read-only and never create it: a state
 * file (or Postgres schema) that does not exist yet simply means nothing has run.
 */
import type { ResolvedConfig } from '../config/types.js'
import type { StateLocation } from '../store/location.js'
import type { Store } from '../store/types.js'

/** The store, read-only; `undefined` when no state exists there yet. */
export async function openStateForReading(config: ResolvedConfig): Promise<Store | undefined> {
  const { openExistingStore } = await import('../store/index.js')
  return openExistingStore(config.state)
}

/** The store, read-write (created and migrated if needed). */
export async function openStateForWriting(config: ResolvedConfig): Promise<Store> {
  return openStateStore(config.state)
}

/** The store registry as the engine takes it (`SchedulerOptions.openStore`), loaded on first use. */
export async function openStateStore(location: StateLocation): Promise<Store> {
  const { openStore } = await import('../store/index.js')
  return openStore(location)
}
