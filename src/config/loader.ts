/**
 * Finding and loading `crons.config.ts`: compiled once into a cached ES module (bundle.ts) that Node
 * imports natively; validation is imported only when a command reads a config.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { CronsError, quote } from '../errors.js'
import { buildMessages, type Compiled, type CronsEntry, compileConfig } from './bundle.js'
import { isFile } from './bundle-cache.js'
import { EXPECTED_EXPORT } from './define.js'
import { type ConfigSources, fingerprintOf } from './sources.js'
import type { ResolvedConfig } from './types.js'

const CONFIG_FILE_NAMES = ['crons.config.ts', 'crons.config.mts', 'crons.config.js', 'crons.config.mjs'] as const

/** The first config file in `cwd` (only `cwd`: walking up could silently pick another project's jobs). */
export function findConfigFile(cwd: string): string | undefined {
  return CONFIG_FILE_NAMES.map((name) => join(cwd, name)).find(isFile)
}

/** A path as users want to read it: relative when inside `cwd`, absolute otherwise. */
export function displayPath(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path
}

let cronsEntry: CronsEntry | undefined

/**
 * What `'cronsjs'` means in a config: always the crons loading it, from any directory. From dist that is
 * dist/index.js; from the sources (tests, bin/dev.js) src/index.ts, which is bundled into the config.
 */
function packageEntry(): CronsEntry {
  if (cronsEntry === undefined) {
    const bundled = import.meta.url.endsWith('.ts')
    const path = fileURLToPath(new URL(bundled ? '../index.ts' : '../index.js', import.meta.url))
    const packageJson = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
    const { version } = JSON.parse(packageJson) as { version: string }
    cronsEntry = { path, bundled, version }
  }
  return cronsEntry
}

export interface LoadOptions {
  /** How the file is named in messages. @default the path as given */
  displayPath?: string
  /** Other files named in messages (an imported module) are shown relative to this. @default process.cwd() */
  cwd?: string
}

/** By the config's absolute path: what its last loaded bundle was made from, and the file its last build failed in. */
const loadedInputs = new Map<string, Compiled>()
const failedIn = new Map<string, string>()

/** The files (not packages, not crons) the config was last loaded from in this process; undefined if not loaded. */
export function configSources(configPath: string): ConfigSources | undefined {
  const absolute = resolve(configPath)
  const loaded = loadedInputs.get(absolute)
  if (loaded === undefined) return undefined
  const crons = dirname(packageEntry().path) + sep
  const files = loaded.inputs.filter((file) => !file.startsWith(crons) && !file.split(sep).includes('node_modules'))
  const failed = failedIn.get(absolute)
  const pending = [...(failed === undefined || files.includes(failed) ? [] : [failed]), ...loaded.absent]
  return { files, hash: fingerprintOf(dirname(absolute), files), pending }
}

/** Makes every load a new module instance: a process that reloads its config must see it evaluated again. */
const loadStamp = `${Date.now().toString(36)}-`
let loads = 0

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
  // esbuild may name the config by its real path.
  const config = { absolute, real: realpathSync(absolute), shown }
  // So that stack traces of the config's code name the lines of crons.config.ts, not of the bundle.
  process.setSourceMapsEnabled(true)
  let namespace: Record<string, unknown>
  for (let attempt = 1; ; attempt++) {
    let compiled: Compiled
    try {
      compiled = await compileConfig(absolute, packageEntry())
      failedIn.delete(absolute)
    } catch (error) {
      const location = buildMessages(error)?.[0]?.location
      if (location) failedIn.set(absolute, resolve(dirname(absolute), location.file))
      throw compileError(error, config, options.cwd)
    }
    const { bundle } = compiled
    // Known before it runs: a config that throws is still watched through the files it imports.
    loadedInputs.set(absolute, compiled)
    try {
      namespace = await import(`${pathToFileURL(bundle).href}?v=${loadStamp}${++loads}`)
      break
    } catch (error) {
      // Another process replaced the cached bundle between our check and our import: look again.
      if (attempt === 1 && !existsSync(bundle)) continue
      throw evaluationError(error, shown, bundle)
    }
  }
  if (!('default' in namespace)) {
    const names = Object.keys(namespace)
    const found = names.length > 0 ? `only named exports (${names.join(', ')})` : 'no exports'
    throw new CronsError('CONFIG_EXPORT', `${shown}: no default export (found ${found}); expected ${EXPECTED_EXPORT}`)
  }
  const value = namespace.default
  if (!isObject(value) || typeof value.then !== 'function') return value
  try {
    return await value
  } catch (error) {
    throw evaluationError(error, shown)
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null
}

/** esbuild's first error as `file:line:col: message` (maybe in an imported file); a missing import as Node words it. */
function compileError(
  error: unknown,
  { absolute, real, shown }: { absolute: string; real: string; shown: string },
  cwd: string | undefined,
): CronsError {
  const fail = (code: 'CONFIG_LOAD' | 'CONFIG_SYNTAX', message: string) =>
    new CronsError(code, message, { cause: error })
  const first = buildMessages(error)?.[0]
  if (first === undefined) return fail('CONFIG_LOAD', `${shown}: could not compile the config: ${thrownLine(error)}`)
  const location = first.location
  const file = location ? resolve(dirname(absolute), location.file) : real
  const isConfig = file === real || file === absolute
  const imported = isConfig ? '' : ` (while loading ${shown})`
  const where = isConfig ? shown : displayPath(file, cwd)
  const missing = /^Could not resolve "(.*)"/.exec(first.text)
  if (missing) {
    const from = isConfig ? '' : ` imported from ${where}`
    return fail('CONFIG_LOAD', `${shown}: the config threw while loading: Cannot find module '${missing[1]}'${from}`)
  }
  const text = first.text.split('\n')[0]?.trim()
  if (location === null) return fail('CONFIG_LOAD', `${shown}: could not compile the config: ${text}`)
  // esbuild counts columns in UTF-8 bytes; people (and editors) count characters.
  const column = Buffer.from(location.lineText, 'utf8').subarray(0, location.column).toString('utf8').length + 1
  return fail('CONFIG_SYNTAX', `${where}:${location.line}:${column}: ${text}${imported}`)
}

/** The config (or its default export's promise) threw. Messages name the config, not the cached bundle. */
function evaluationError(error: unknown, shown: string, bundle?: string): CronsError {
  let message = thrownLine(error)
  if (bundle !== undefined) message = message.replaceAll(pathToFileURL(bundle).href, shown).replaceAll(bundle, shown)
  return new CronsError('CONFIG_LOAD', `${shown}: the config threw while loading: ${message}`, { cause: error })
}

/**
 * What was thrown, in one line: an error's first non-empty message line. An error with no message (Node's
 * AggregateError for a connection refused on both ::1 and 127.0.0.1) is named by what it carries, as Node
 * prints it: `AggregateError [ECONNREFUSED]: connect ECONNREFUSED ::1:5432` (its first inner error).
 */
function thrownLine(error: unknown): string {
  if (!(error instanceof Error)) return quote(error)
  const line = String(error.message)
    .split('\n')
    .map((text) => text.trim())
    .find((text) => text !== '')
  if (line !== undefined) return line
  const { code, errors } = error as { code?: unknown; errors?: unknown }
  const inner = Array.isArray(errors) && errors.length > 0 ? `: ${thrownLine(errors[0])}` : ''
  return `${error.name || 'Error'}${code === undefined ? '' : ` [${String(code)}]`}${inner}`
}

export interface ResolveOptions {
  /** `--config PATH` (a file, or a directory to search). */
  configFlag?: string
  stateFlag?: string
  /** For CRONS_CONFIG and CRONS_STATE. @default process.env */
  env?: NodeJS.ProcessEnv
  /** Where to search, and what relative flag/env paths are relative to. @default process.cwd() */
  cwd?: string
  /** Set `configHash`, the config's fingerprint (sources.ts). @default false: it costs a hash of every source */
  hash?: boolean
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
  const config = validateConfig(raw, { file, configPath, cwd, overrides: state ? { state } : {} })
  const hash = options.hash ? configSources(configPath)?.hash : undefined
  if (hash !== undefined) config.configHash = hash
  return config
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
  if (given === undefined) return configIn(cwd, 'pass --config PATH or set CRONS_CONFIG')
  const origin = given.source === 'flag' ? '--config' : 'CRONS_CONFIG'
  const path = resolve(cwd, given.value)
  const stat = statSync(path, { throwIfNoEntry: false })
  if (stat?.isDirectory()) return configIn(path, `check ${origin} (${given.value})`)
  if (stat === undefined) {
    throw new CronsError('CONFIG_NOT_FOUND', `config file not found: ${displayPath(path, cwd)} (from ${origin})`, {
      suggestions: [`check ${origin}; it is resolved against ${cwd}`],
    })
  }
  return path
}

function configIn(dir: string, suggestion: string): string {
  const found = findConfigFile(dir)
  if (found !== undefined) return found
  throw new CronsError('CONFIG_NOT_FOUND', `no crons.config.ts, .mts, .js or .mjs in ${dir}`, {
    suggestions: [suggestion],
  })
}
