import type { CronsConfig } from './types.js'

/**
 * Identity at runtime, for type checking and completion: `export default defineConfig({ jobs: [...] })`.
 * Validation happens when the config is loaded, reporting every problem at once with the file's name.
 */
export function defineConfig(config: CronsConfig): CronsConfig {
  return config
}

/** What a config file must export; quoted by every CONFIG_EXPORT error so the fix is in the message. */
export const EXPECTED_EXPORT = 'export default defineConfig({ jobs: [...] })'
