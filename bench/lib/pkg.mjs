/**
 * Where the built package under test lives. bench/run.mjs copies the fresh build (dist, bin,
 * package.json, oclif.manifest.json) to a snapshot in the temp folder and passes it in
 * CRONS_BENCH_PKG, so a rebuild of the working tree during a long run cannot pull files out from
 * under a scenario. Run on their own, scenarios use the working tree's dist/.
 */
import { existsSync } from 'node:fs'
import { cp, mkdir, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const PKG = process.env.CRONS_BENCH_PKG ?? REPO

/** Import a module of the built package, e.g. `importPkg('dist/index.js')`. */
export function importPkg(path) {
  return import(pathToFileURL(join(PKG, path)).href)
}

/** Copy the build to a private folder (with node_modules linked back) and return its path. */
export async function snapshotPackage() {
  const target = join(tmpdir(), `crons-bench-pkg-${process.pid}`)
  await rm(target, { recursive: true, force: true })
  await mkdir(target, { recursive: true })
  for (let attempt = 0; ; attempt++) {
    const complete = ['dist/index.js', 'dist/commands', 'oclif.manifest.json', 'bin/run.js'].every((p) =>
      existsSync(join(REPO, p)),
    )
    if (complete) {
      try {
        for (const p of ['dist', 'bin', 'package.json', 'oclif.manifest.json']) {
          await cp(join(REPO, p), join(target, p), { recursive: true })
        }
        if (existsSync(join(target, 'dist/index.js'))) break
      } catch (error) {
        if (attempt >= 30) throw error
      }
    }
    if (attempt >= 30) throw new Error(`no complete build in ${REPO}/dist (run npm run build)`)
    // Someone is rebuilding the working tree: wait for the build to finish.
    await new Promise((r) => setTimeout(r, 2000))
  }
  await symlink(join(REPO, 'node_modules'), join(target, 'node_modules'), 'dir')
  return target
}

export async function removeSnapshot(path) {
  if (path && path !== REPO) await rm(path, { recursive: true, force: true })
}
