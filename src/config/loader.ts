import { existsSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CronsError, quote } from '../errors.js'
import { EXPECTED_EXPORT } from './define.js'
import type { ResolvedConfig } from './types.js'

/**
 * Finding and loading `crons.config.ts`. jiti runs TypeScript configs without a build step and is
 * imported lazily, as is validation (zod), so commands that never read a config do not pay for either.
 */

/** Searched in this order; the first one that exists wins. */
export const CONFIG_FILE_NAMES = ['crons.config.ts', 'crons.config.mts', 'crons.config.js', 'crons.config.mjs'] as const

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false
}

/** The first config file in `cwd` (only `cwd`: walking up could silently pick another project's jobs). */
export function findConfigFile(cwd: string): string | undefined {
  return CONFIG_FILE_NAMES.map((name) => join(cwd, name)).find(isFile)
}

/** A path as users want to read it: relative when inside `cwd`, absolute otherwise. */
export function displayPath(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path
}

/**
 * The running package's public entry, so `import { defineConfig } from 'crons'` works from a config in
 * any directory, with or without node_modules, and always means the crons that is loading it (not
 * another copy a project happens to have installed). From dist/config/loader.js that is dist/index.js;
 * from src/config/loader.ts (tests, bin/dev.js) it is src/index.ts.
 */
function packageEntry(): string {
  for (const candidate of ['../index.js', '../index.ts']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url))
    if (existsSync(path)) return path
  }
  return fileURLToPath(new URL('../index.js', import.meta.url))
}

export interface LoadOptions {
  /** How the file is named in messages. @default the path as given */
  displayPath?: string
  /** Other files named in messages (a broken module the config imports) are shown relative to this. @default process.cwd() */
  cwd?: string
}

/** Load a config file and return its default export (awaited if it is a promise). */
export async function loadConfigModule(path: string, options: LoadOptions = {}): Promise<unknown> {
  const absolute = resolve(path)
  const shown = options.displayPath ?? path
  const stat = statSync(absolute, { throwIfNoEntry: false })
  if (stat === undefined || !stat.isFile()) {
    throw new CronsError(
      'CONFIG_NOT_FOUND',
      stat === undefined ? `config file not found: ${shown}` : `${shown} is a directory, not a config file`,
      { suggestions: [`expected a file such as ${CONFIG_FILE_NAMES.join(', ')}`] },
    )
  }
  const { createJiti } = await import('jiti')
  const jiti = createJiti(import.meta.url, {
    alias: { crons: packageEntry() },
    // The transpiled source is cached on disk (keyed by content): a cold load drops from ~300 ms
    // (Babel) to ~15 ms once the file has been seen.
    fsCache: true,
    // Re-evaluate on every load: a long-running process that reloads its config must see edits.
    moduleCache: false,
    // Plain namespace objects, so "only named exports" can be told apart from a default export.
    interopDefault: false,
  })
  let namespace: unknown
  try {
    // evalModule with forceTranspile, not jiti.import: for .mjs (and .js in a "type": "module"
    // package) jiti.import tries a native import first, which Node caches forever (edits unseen on
    // reload), resolves 'crons' without the alias, and on ANY failure re-runs the file transpiled.
    namespace = await jiti.evalModule(readFileSync(absolute, 'utf8'), {
      filename: absolute,
      async: true,
      forceTranspile: true,
    })
  } catch (error) {
    throw loadError(error, absolute, shown, options.cwd)
  }
  if (!isObject(namespace) || !('default' in namespace)) {
    const names = isObject(namespace) ? Object.keys(namespace) : []
    const found = names.length > 0 ? `only named exports (${names.join(', ')})` : 'no exports'
    throw new CronsError('CONFIG_EXPORT', `${shown}: no default export (found ${found}); expected ${EXPECTED_EXPORT}`)
  }
  const value = namespace.default
  if (!isObject(value) || typeof (value as { then?: unknown }).then !== 'function') return value
  try {
    return await value
  } catch (error) {
    throw loadError(error, absolute, shown, options.cwd)
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null
}

/**
 * jiti reports a parse failure as `ParseError: <message> \n <file>:<line>:<column>` (Babel's column,
 * 0-based). The file is not always the config: it can be a module the config imports.
 */
const JITI_PARSE_ERROR = /^\w*Error: ([\s\S]*?)\s*\n\s*(.+):(\d+):(\d+)\s*$/

function loadError(error: unknown, absolute: string, shown: string, cwd?: string): CronsError {
  const message = error instanceof Error ? error.message : quote(error)
  const parse = error instanceof Error ? JITI_PARSE_ERROR.exec(message) : null
  if (parse) {
    const [, text = '', file = absolute, line, column] = parse
    const imported = file === absolute ? '' : ` (while loading ${shown})`
    const where = file === absolute ? shown : displayPath(file, cwd)
    const firstLine = text.split('\n')[0]?.trim()
    return new CronsError('CONFIG_SYNTAX', `${where}:${line}:${Number(column) + 1}: ${firstLine}${imported}`, {
      cause: error,
    })
  }
  const firstLine = message.split('\n')[0]?.trim() || quote(error)
  return new CronsError('CONFIG_LOAD', `${shown}: the config threw while loading: ${firstLine}`, { cause: error })
}

export interface ResolveOptions {
  /** `--config PATH` (a file, or a directory to search). */
  configFlag?: string
  /** `--state PATH`. */
  stateFlag?: string
  /** Reads CRONS_CONFIG and CRONS_STATE. @default process.env */
  env?: NodeJS.ProcessEnv
  /** Where to search, and what relative flag/env paths are relative to. @default process.cwd() */
  cwd?: string
}

/** Find, load and validate the config. Precedence: flag > env (CRONS_CONFIG, CRONS_STATE) > file > default. */
export async function resolveConfig(options: ResolveOptions = {}): Promise<ResolvedConfig> {
  const cwd = resolve(options.cwd ?? process.cwd())
  const env = options.env ?? process.env
  const configPath = locateConfig(cwd, options.configFlag, env.CRONS_CONFIG)
  const file = displayPath(configPath, cwd)
  const raw = await loadConfigModule(configPath, { displayPath: file, cwd })
  const state = pick('--state', options.stateFlag, env.CRONS_STATE)
  const { validateConfig } = await import('./validate.js')
  return validateConfig(raw, { file, configPath, cwd, overrides: state ? { state } : {} })
}

/** The flag if given (an empty flag is a mistake), else a non-empty env var (an empty one counts as unset). */
function pick(flag: string, flagValue: string | undefined, envValue: string | undefined) {
  if (flagValue !== undefined) {
    if (flagValue.trim() === '') throw new CronsError('FLAG_INVALID', `${flag}: expected a path, got ""`)
    return { value: flagValue, source: 'flag' as const }
  }
  return envValue ? { value: envValue, source: 'env' as const } : undefined
}

function locateConfig(cwd: string, configFlag: string | undefined, envConfig: string | undefined): string {
  const given = pick('--config', configFlag, envConfig)
  if (given === undefined) {
    const found = findConfigFile(cwd)
    if (found !== undefined) return found
    throw notFoundIn(cwd, 'pass --config PATH or set CRONS_CONFIG')
  }
  const origin = given.source === 'flag' ? '--config' : 'CRONS_CONFIG'
  const path = resolve(cwd, given.value)
  const stat = statSync(path, { throwIfNoEntry: false })
  if (stat?.isDirectory()) {
    const found = findConfigFile(path)
    if (found !== undefined) return found
    throw notFoundIn(path, `check ${origin} (${given.value})`)
  }
  if (stat === undefined) {
    throw new CronsError('CONFIG_NOT_FOUND', `config file not found: ${displayPath(path, cwd)} (from ${origin})`, {
      suggestions: [`check ${origin}; it is resolved against ${cwd}`],
    })
  }
  return path
}

function notFoundIn(dir: string, suggestion: string): CronsError {
  return new CronsError('CONFIG_NOT_FOUND', `no crons.config.ts, .mts, .js or .mjs in ${dir}`, {
    suggestions: [suggestion],
  })
}
