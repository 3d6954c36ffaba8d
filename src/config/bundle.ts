/**
 * Compiling a config file and the local files it imports into one ES module with esbuild (bare imports
 * stay imports, `cronsjs` is the running package). The on-disk cache is bundle-cache.ts.
 */
import { readFileSync, realpathSync, type Stats, statSync } from 'node:fs'
import { createRequire, isBuiltin } from 'node:module'
import { dirname, extname, isAbsolute, join, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BuildOptions, Loader, Message, Plugin } from 'esbuild'
import {
  type Built,
  cacheKey,
  fallbackCacheDir,
  freshBundle,
  inputOf,
  isFile,
  pathsOf,
  primaryCacheDir,
  writeCache,
} from './bundle-cache.js'

/** `cronsjs`, and `crons`, its earlier name: both mean the running package. */
const PACKAGE_NAMES = /^(?:cronsjs|crons)$/

/** What `import … from 'cronsjs'` means inside a config. */
export interface CronsEntry {
  /** The running package's entry: dist/index.js, or src/index.ts when running from the sources. */
  path: string
  /** Sources (tests, bin/dev.js) are bundled into each config; from dist, the modules used are imported by URL. */
  bundled: boolean
  /** The running package's version: a cache written by another version is rebuilt. */
  version: string
}

export interface Compiled {
  bundle: string
  /** What it was made from: the config, the files it imports (and symlinks' targets), the tsconfig.json and those it extends. */
  inputs: readonly string[]
  /** Files that would change what an import resolves to, were they created. */
  absent: readonly string[]
}

/** Counters, so tests can tell a cache hit (no esbuild) from a build. */
export const configCacheStats = { hits: 0, builds: 0 }

const META_GLOBAL = '__crons_import_meta'
const META_USE = /\bimport\.meta\.(?:url|dirname|filename|resolve)\b|\b__dirname\b|\b__filename\b/
/** Relative specifiers: what `import.meta.resolve` would otherwise resolve against the cached bundle. */
const RESOLVE_FROM = '__crons_resolveFrom'
const LOADERS: Record<string, Loader> = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.jsx': 'jsx' }
const SOURCE_FILE = /\.[cm]?[jt]sx?$/
const BARE = /^[^./]/
const RELATIVE = /^\.\.?\//
/** A metafile input from a plugin namespace (`ns:path`), not a file; two letters or more, so not `C:`. */
const NAMESPACED = /^[\w-]{2,}:/

/** An up-to-date bundle of `config`, built and cached if needed; a failed build rejects with esbuild's error. */
export async function compileConfig(config: string, crons: CronsEntry): Promise<Compiled> {
  const key = cacheKey(config, crons)
  const primary = primaryCacheDir(dirname(config))
  const fallback = fallbackCacheDir()
  for (const dir of primary === fallback ? [primary] : [primary, fallback]) {
    const fresh = freshBundle(dir, key, config, crons)
    if (fresh !== undefined) {
      configCacheStats.hits++
      return fresh
    }
  }
  configCacheStats.builds++
  let built = await build(config, crons, { dir: primary, absoluteImports: false })
  let bundle: string | undefined
  try {
    bundle = writeCache(primary, key, config, crons, built)
  } catch (error) {
    if (primary === fallback) throw error
  }
  // node_modules is read-only (a container image, a shared install): cache in the temp dir instead,
  // where bare imports cannot be resolved by walking up, so the bundle imports packages by file URL.
  if (bundle === undefined) {
    built = await build(config, crons, { dir: fallback, absoluteImports: true })
    bundle = writeCache(fallback, key, config, crons, built)
  }
  return { bundle, inputs: pathsOf(built.inputs), absent: built.absent }
}

/** esbuild's messages, if `error` is a build failure. */
export function buildMessages(error: unknown): Message[] | undefined {
  const errors = (error as { errors?: unknown } | null)?.errors
  return Array.isArray(errors) && errors.length > 0 ? (errors as Message[]) : undefined
}

interface BuildSettings {
  /** Where the bundle will be written: its source map names the sources relative to it. */
  dir: string
  absoluteImports: boolean
}

async function build(config: string, crons: CronsEntry, options: BuildSettings): Promise<Built> {
  const esbuild = await import('esbuild')
  const builtAt = Date.now()
  const loaded = new Map<string, { content: Buffer; stat: Stats }>()
  // By resolved path: the paths used to reach it (the config as given, an import as written); and the
  // candidates esbuild tried before an import's file, missing then.
  const real = realpathSync.native(config)
  const used = new Map<string, Set<string>>([[real, new Set([config])]])
  const absent = new Set<string>()
  const injected = { count: 0 }
  const buildOptions = (injectMeta: boolean): BuildOptions => ({
    entryPoints: [config],
    absWorkingDir: dirname(config),
    outfile: join(options.dir, 'bundle.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
    sourcemap: 'inline',
    sourcesContent: false,
    banner: { js: banner(pathToFileURL(real).href) },
    // Node's conditions (esbuild adds "module" unless told otherwise); matters for packages it resolves.
    conditions: [],
    ...(options.absoluteImports ? {} : { packages: 'external' as const }),
    define: {
      'import.meta.url': `${META_GLOBAL}.url`,
      'import.meta.dirname': `${META_GLOBAL}.dirname`,
      'import.meta.filename': `${META_GLOBAL}.filename`,
      'import.meta.resolve': `${META_GLOBAL}.resolve`,
      __dirname: `${META_GLOBAL}.dirname`,
      __filename: `${META_GLOBAL}.filename`,
    },
    plugins: [
      cronsPlugin(crons, options.absoluteImports),
      usedPathsPlugin(crons, used, absent),
      sourcePlugin(loaded, injectMeta ? injected : undefined),
      ...(options.absoluteImports ? [absoluteImportsPlugin()] : []),
    ],
  })
  let result: Awaited<ReturnType<typeof esbuild.build>>
  try {
    result = await esbuild.build(buildOptions(true))
  } catch (error) {
    // The injected text shifts columns on its line: build again as written, for the user's file:line:col.
    if (!buildMessages(error) || injected.count === 0) throw error
    await esbuild.build(buildOptions(false))
    throw error
  }
  const code = result.outputFiles?.[0]?.text ?? ''
  const names = Object.keys(result.metafile?.inputs ?? {}).filter((name) => !NAMESPACED.test(name))
  const inputs = names.flatMap((name) => {
    const path = resolve(dirname(config), name)
    const { content, stat } = loaded.get(path) ?? { content: readFileSync(path), stat: statSync(path) }
    return [...(used.get(path) ?? [path])].map((usedPath) => {
      const input = inputOf(usedPath, content, builtAt, stat)
      // crons's own entry is built, not edited: mtime and size suffice, so a hit hashes nothing after a rebuild.
      if (path === crons.path) delete input.sha256
      return input
    })
  })
  const tsconfig = nearestTsconfig(dirname(config))
  for (const file of tsconfig === undefined ? [] : withExtended(tsconfig)) {
    inputs.push(inputOf(file, readFileSync(file), builtAt))
  }
  return { code, inputs, absent: [...absent], builtAt }
}

/** esbuild's order for a relative import: as written, `.js` as `.ts`…; without an extension, with each, then as a folder. */
const EXTENSIONS = ['.tsx', '.ts', '.jsx', '.js', '.css', '.json']
const TS_FOR_JS: Record<string, string[]> = {
  '.js': ['.ts', '.tsx'],
  '.jsx': ['.ts', '.tsx'],
  '.mjs': ['.mts'],
  '.cjs': ['.cts'],
}

function candidates(path: string): string[] {
  const ext = extname(path)
  if (SOURCE_FILE.test(ext) || ext === '.json') {
    return [path, ...(TS_FOR_JS[ext] ?? []).map((each) => path.slice(0, -ext.length) + each)]
  }
  return [path, ...EXTENSIONS.map((each) => path + each), ...EXTENSIONS.map((each) => join(path, `index${each}`))]
}

/**
 * esbuild names each file by its real path: records the path the config's own files used to reach it
 * (so a re-pointed symlink is a change) and the candidates that did not exist (so a new one that would
 * now win is a change). It asks esbuild, and leaves the resolution to it.
 */
function usedPathsPlugin(crons: CronsEntry, used: Map<string, Set<string>>, absent: Set<string>): Plugin {
  const sources = dirname(crons.path) + sep
  return {
    name: 'crons-used-paths',
    setup(build) {
      build.onResolve({ filter: /^(?:\.\.?\/|\/)/, namespace: 'file' }, async (args) => {
        if (args.pluginData?.cronsUsedPaths || args.importer.startsWith(sources)) return undefined
        if (args.importer.split(sep).includes('node_modules')) return undefined
        const found = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: { cronsUsedPaths: true },
        })
        if (found.errors.length > 0 || found.external || found.namespace !== 'file') return undefined
        const missing: string[] = []
        for (const path of candidates(resolve(args.resolveDir, args.path))) {
          if (!isFile(path)) missing.push(path)
          else if (realpathSync.native(path) === found.path) {
            used.set(found.path, (used.get(found.path) ?? new Set()).add(path))
            for (const each of missing) absent.add(each)
            break
          }
        }
        return undefined
      })
    },
  }
}

/**
 * From dist, crons's entry is bundled and the modules it re-exports imported by URL, free of side effects:
 * a config that imports `defineConfig` loads define.js, not the scheduler. From the sources, all is bundled.
 */
function cronsPlugin(crons: CronsEntry, absoluteImports: boolean): Plugin {
  const sources = dirname(crons.path) + sep
  return {
    name: 'crons',
    setup(build) {
      build.onResolve({ filter: PACKAGE_NAMES }, () =>
        crons.bundled ? { path: crons.path } : { path: crons.path, sideEffects: false },
      )
      if (!crons.bundled) {
        build.onResolve({ filter: RELATIVE }, (args) => {
          if (!args.importer.startsWith(sources)) return undefined
          const url = pathToFileURL(resolve(dirname(args.importer), args.path)).href
          return { path: url, external: true, sideEffects: false }
        })
        return
      }
      if (absoluteImports) return
      // The bundled sources' own dependencies (luxon, cron-parser…) are crons's, not the config's:
      // resolve them from here, so a config in a directory without node_modules still works.
      build.onResolve({ filter: BARE }, (args) => {
        if (!args.importer.startsWith(sources) || isBuiltin(args.path)) return undefined
        try {
          return { path: import.meta.resolve(args.path), external: true }
        } catch {
          return undefined
        }
      })
    },
  }
}

/**
 * Reads every source file once: keeps its content and stat for the manifest, and gives files
 * using `import.meta.url`, `__dirname`… their own location, in a `var` on their first line (see `define`).
 * `injected` counts those files; undefined: inject nothing.
 */
function sourcePlugin(
  loaded: Map<string, { content: Buffer; stat: Stats }>,
  injected: { count: number } | undefined,
): Plugin {
  return {
    name: 'crons-sources',
    setup(build) {
      build.onLoad({ filter: SOURCE_FILE, namespace: 'file' }, (args) => {
        const stat = statSync(args.path)
        const content = readFileSync(args.path)
        loaded.set(args.path, { content, stat })
        let text = content.toString('utf8')
        if (injected !== undefined && META_USE.test(text)) {
          text = withMeta(text, args.path)
          injected.count++
        }
        return { contents: text, loader: LOADERS[extname(args.path)] ?? 'js' }
      })
    },
  }
}

/**
 * First in the bundle, as written (no `define` applies): a real `require` for the CommonJS files and
 * `require()` calls bundled in (esbuild's shim uses it), resolving as in a CommonJS file beside the config
 * (a config's own `require` is renamed by esbuild); and the `import.meta.resolve` given to each file,
 * which resolves a relative specifier against that file, then as Node does (symlinks, …).
 */
function banner(configUrl: string): string {
  return [
    `import { createRequire as __crons_createRequire } from 'node:module';`,
    `const require = __crons_createRequire(${JSON.stringify(configUrl)});`,
    `const ${RESOLVE_FROM} = (url) => (specifier) =>`,
    `  import.meta.resolve(/^\\.{0,2}\\//.test(specifier) ? new URL(specifier, url).href : specifier);`,
  ].join(' ')
}

function withMeta(text: string, path: string): string {
  const url = pathToFileURL(path).href
  const meta = JSON.stringify({ url, dirname: dirname(path), filename: path })
  const line = `var ${META_GLOBAL} = { ...${meta}, resolve: ${RESOLVE_FROM}(${JSON.stringify(url)}) };`
  // On the first line, so line numbers stay right; but after a #! line, which must come first.
  if (!text.startsWith('#!')) return line + text
  const end = text.indexOf('\n')
  return end === -1 ? `${text}\n${line}` : text.slice(0, end + 1) + line + text.slice(end + 1)
}

/** Packages imported by file URL (`require` gets the path), for a bundle that lives outside node_modules. */
function absoluteImportsPlugin(): Plugin {
  return {
    name: 'crons-absolute-imports',
    setup(build) {
      build.onResolve({ filter: BARE }, async (args) => {
        if (args.pluginData?.cronsResolving || isBuiltin(args.path) || isAbsolute(args.path)) return undefined
        const found = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: { cronsResolving: true },
        })
        if (found.errors.length > 0 || found.external) return { path: args.path, external: true }
        if (!found.path.split(sep).includes('node_modules')) return undefined // a tsconfig path alias: bundle it
        const path = args.kind === 'require-call' ? found.path : pathToFileURL(found.path).href
        return { path, external: true }
      })
    },
  }
}

function nearestTsconfig(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'tsconfig.json')
    if (isFile(file)) return file
    if (dirname(dir) === dir) return undefined
  }
}

/** `file` and the tsconfig files it `extends`, all the way up (esbuild reads them all). */
function withExtended(file: string, found: string[] = []): string[] {
  if (found.includes(file)) return found
  found.push(file)
  const match = EXTENDS.exec(readFileSync(file, 'utf8'))
  let names: unknown
  try {
    names = match?.[1] === undefined ? [] : JSON.parse(match[1])
  } catch {
    return found // not JSON as written: esbuild reports it, if it matters
  }
  for (const name of Array.isArray(names) ? names : [names]) {
    const parent = typeof name === 'string' ? extendedFile(name, dirname(file)) : undefined
    if (parent !== undefined) withExtended(parent, found)
  }
  return found
}

/** tsconfig.json allows comments: only `"extends": "…"` or `[…]` is read, not the whole file. */
const EXTENDS = /"extends"\s*:\s*("(?:[^"\\]|\\.)*"|\[[^\]]*\])/

/** A relative or absolute path (`.json` optional), or a package's file (`@tsconfig/node20/tsconfig.json`, `pkg/base`, `pkg`). */
function extendedFile(name: string, dir: string): string | undefined {
  if (isAbsolute(name) || RELATIVE.test(name)) return [resolve(dir, name), resolve(dir, `${name}.json`)].find(isFile)
  const require = createRequire(join(dir, 'tsconfig.json'))
  for (const each of name.endsWith('.json') ? [name] : [`${name}.json`, `${name}/tsconfig.json`]) {
    try {
      return require.resolve(each)
    } catch {
      // not this one
    }
  }
  return undefined
}
