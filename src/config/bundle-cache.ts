/**
 * The on-disk cache of config bundles: where it lives, the manifest of what each was made from, whether
 * it is still fresh (a hit stats its inputs: no esbuild), writing it and removing the ones it supersedes.
 */
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import type { Compiled, CronsEntry } from './bundle.js'
import { crypto, pathHash, sha256 } from './hash.js'

/** Bump when the bundle's shape changes. */
const CACHE_FORMAT = 3
/** Files changed this close to a build are "racy": an edit in the same mtime tick is only visible in the content. */
const RACY_MS = 2000
/** Bundles superseded for longer than this are deleted (younger ones may be being imported right now). */
const STALE_BUNDLE_MS = 60_000

export interface Input {
  /** The path used: the config as given, an import as written (with the extension it resolved with). */
  path: string
  /** What `path` resolved to, if a symlink is on the way: re-pointing it, or replacing it by a file, is a change. */
  real?: string
  mtimeMs: number
  size: number
  /** Only for racy files: compared when mtime and size match. */
  sha256?: string
}

export interface Built {
  code: string
  inputs: Input[]
  /** Paths an import would have resolved to, had they existed (`./lib.ts` for `./lib` that found lib/index.ts). */
  absent: string[]
  builtAt: number
}

interface Manifest extends Omit<Built, 'code'> {
  format: number
  config: string
  crons: { entry: string; version: string }
  bundle: string
}

/** One file per config (and per crons entry, so tests from src and the CLI from dist do not thrash). */
export function cacheKey(config: string, crons: CronsEntry): string {
  return `${basename(config)}-${pathHash(`${config}\0${crons.path}`)}`
}

/** `<nearest node_modules>/.cache/crons`, so bare imports resolve as from the config; else the temp dir. */
export function primaryCacheDir(configDir: string): string {
  for (let dir = configDir; ; dir = dirname(dir)) {
    const modules = basename(dir) === 'node_modules' ? dir : join(dir, 'node_modules')
    if (statSync(modules, { throwIfNoEntry: false })?.isDirectory()) return join(modules, '.cache', 'crons')
    if (dirname(dir) === dir) return fallbackCacheDir()
  }
}

/** Per user, so one user never imports a bundle another user planted in the shared temp dir. */
export function fallbackCacheDir(): string {
  const uid = process.getuid?.()
  return join(tmpdir(), uid === undefined ? 'crons-config-cache' : `crons-config-cache-${uid}`)
}

/** The cached bundle of `config` in `dir`, if its manifest matches and none of its inputs changed. */
export function freshBundle(dir: string, key: string, config: string, crons: CronsEntry): Compiled | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as Manifest
    const valid =
      manifest.format === CACHE_FORMAT &&
      manifest.config === config &&
      manifest.crons.entry === crons.path &&
      manifest.crons.version === crons.version &&
      manifest.inputs.every(unchanged) &&
      !manifest.absent.some(isFile) &&
      trusted(dir)
    const bundle = join(dir, manifest.bundle)
    if (!valid || basename(bundle) !== manifest.bundle || !isFile(bundle)) return undefined
    return { bundle, inputs: pathsOf(manifest.inputs), absent: manifest.absent }
  } catch {
    return undefined // no manifest, or one of the wrong shape: rebuild
  }
}

/** The paths used and, where a symlink was on the way, the files they led to (both are watched). */
export function pathsOf(inputs: readonly Input[]): string[] {
  return [...new Set(inputs.flatMap((input) => (input.real === undefined ? [input.path] : [input.path, input.real])))]
}

/** One lstat per input; only a path that is or was reached through a symlink pays for a realpath. */
function unchanged(input: Input): boolean {
  let stat = lstatSync(input.path, { throwIfNoEntry: false })
  if (stat?.isSymbolicLink() || input.real !== undefined) {
    if (stat === undefined || realpathSync.native(input.path) !== (input.real ?? input.path)) return false
    stat = statSync(input.path)
  }
  if (stat === undefined || stat.mtimeMs !== input.mtimeMs || stat.size !== input.size) return false
  return input.sha256 === undefined || input.sha256 === sha256(readFileSync(input.path))
}

/** The temp dir is shared: only trust a cache dir that is ours and that nobody else can write to. */
function trusted(dir: string): boolean {
  if (dir !== fallbackCacheDir() || process.getuid === undefined) return true
  const stat = statSync(dir)
  return stat.uid === process.getuid() && (stat.mode & 0o022) === 0
}

export function inputOf(path: string, content: Buffer, builtAt: number, stat = statSync(path)): Input {
  const real = realpathSync.native(path)
  const input: Input = { path, ...(real === path ? {} : { real }), mtimeMs: stat.mtimeMs, size: stat.size }
  if (stat.mtimeMs >= builtAt - RACY_MS) input.sha256 = sha256(content)
  return input
}

export function writeCache(dir: string, key: string, config: string, crons: CronsEntry, built: Built): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  if (!trusted(dir)) throw new Error(`${dir} is not private to this user`)
  const name = `${key}.${sha256(built.code).slice(0, 12)}.mjs`
  const bundle = join(dir, name)
  // Content-addressed: an existing file is complete (written by rename) and identical.
  if (!isFile(bundle)) writeAtomic(bundle, built.code)
  const manifest: Manifest = {
    format: CACHE_FORMAT,
    config,
    crons: { entry: crons.path, version: crons.version },
    bundle: name,
    builtAt: built.builtAt,
    inputs: built.inputs,
    absent: built.absent,
  }
  writeAtomic(join(dir, `${key}.json`), `${JSON.stringify(manifest, null, 2)}\n`)
  removeStale(dir, key, name)
  return bundle
}

/** Temp file + rename: a concurrent reader sees the old file or the new one, never half of one. */
function writeAtomic(path: string, text: string): void {
  const temp = `${path}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(temp, text, { mode: 0o600 })
    renameSync(temp, path)
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}

/** Best effort, on a miss: this config's superseded bundles and temp files, and entries whose config is gone. */
function removeStale(dir: string, key: string, keep: string): void {
  const before = Date.now() - STALE_BUNDLE_MS
  try {
    const names = readdirSync(dir)
    const gone = names
      .filter((name) => name.endsWith('.json') && name !== `${key}.json` && !configExists(join(dir, name)))
      .map((name) => name.slice(0, -'json'.length))
    for (const name of names) {
      const path = join(dir, name)
      if (name.startsWith(`${key}.`) && name !== keep && name !== `${key}.json`) {
        if ((statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? before) < before) rmSync(path, { force: true })
      } else if (gone.some((prefix) => name.startsWith(prefix))) rmSync(path, { force: true })
    }
  } catch {
    // another process may be cleaning up too
  }
}

function configExists(manifest: string): boolean {
  try {
    return isFile((JSON.parse(readFileSync(manifest, 'utf8')) as Manifest).config)
  } catch {
    return true // unreadable or being written: leave it
  }
}

export function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false
}
