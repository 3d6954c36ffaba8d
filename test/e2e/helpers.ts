/**
 * Shared utilities for the end-to-end tests: run the built CLI (`bin/run.js`) in fresh temp folders,
 * capture stdout/stderr/exit code, drive long-running `start-scheduler` processes (wait for a line
 * with a deadline, send signals, kill -9), and read the state file with the project's own store.
 *
 * Every process started here is tracked. Tests that run concurrently must not kill each other's
 * processes, so a test that starts long-running processes takes a `processScope(onTestFinished)`:
 * when that test ends (pass or fail) its own processes still alive are SIGKILLed. `killAll()` in
 * afterAll is the safety net for everything else.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll } from 'vitest'
import { type AttemptRecord, openStore } from '../../src/store/index.js'

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
/**
 * The package whose bin/run.js is tested: this repository, or (CRONS_E2E_ROOT) a copy of its bin/,
 * dist/, package.json and oclif.manifest.json, for a stable run while someone rebuilds dist/.
 */
export const ROOT = process.env.CRONS_E2E_ROOT ? path.resolve(process.env.CRONS_E2E_ROOT) : REPO
export const BIN = path.join(ROOT, 'bin/run.js')

// ---------------------------------------------------------------------------------------------
// Temp folders
// ---------------------------------------------------------------------------------------------

const made: string[] = []

/** A fresh folder under the OS temp dir, with the given files (relative names → text). */
export function tempDir(files: Record<string, string> = {}): string {
  // realpath: the CLI reports paths as process.cwd() sees them (no symlinked /tmp surprises).
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'crons-e2e-')))
  made.push(dir)
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), text)
  }
  return dir
}

/** Remove every temp folder (restoring write access first: a test may have made something read-only). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) {
    const walk = (p: string) => {
      try {
        const st = fs.lstatSync(p)
        if (st.isDirectory()) {
          fs.chmodSync(p, 0o755)
          for (const name of fs.readdirSync(p)) walk(path.join(p, name))
        } else if (st.isFile()) fs.chmodSync(p, 0o644)
      } catch {
        // best effort
      }
    }
    walk(dir)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// Build check
// ---------------------------------------------------------------------------------------------

const BUILT = [
  'oclif.manifest.json',
  'dist/index.js',
  'dist/store/index.js',
  'dist/commands/next.js',
  'dist/commands/config.js',
  'dist/commands/run-job.js',
  'dist/commands/start-scheduler.js',
]

/**
 * The CLI runs from dist/. Others may be rebuilding (the build starts by deleting dist/), so wait a
 * while for a complete build instead of failing every test at once; fail with a clear message if
 * there is none.
 */
export async function ensureBuilt(timeoutMs = 45_000): Promise<void> {
  const missing = () => BUILT.filter((f) => !fs.existsSync(path.join(ROOT, f)))
  const deadline = Date.now() + timeoutMs
  while (missing().length > 0) {
    if (Date.now() > deadline) {
      throw new Error(`the CLI is not built in ${ROOT} (missing ${missing().join(', ')}): run \`npm run build\` first`)
    }
    await sleep(250)
  }
}

/**
 * For a test file that spawns the CLI: wait for the build before its tests, and after them kill
 * whatever they left running and remove their temporary folders.
 */
export function useBuiltCli(): void {
  beforeAll(() => ensureBuilt())
  afterAll(async () => {
    await killAll()
    removeTempDirs()
  })
}

// ---------------------------------------------------------------------------------------------
// Running the CLI
// ---------------------------------------------------------------------------------------------

export interface CliOptions {
  cwd: string
  /** Extra environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>
  /** Kill the process (and fail) if it has not exited by then. @default 30_000 */
  timeoutMs?: number
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Wall time from spawn to exit. */
  ms: number
}

/**
 * The environment the CLI runs in: like CI (CI=true, no TTY since stdio are pipes), with nothing
 * inherited that changes what the CLI prints or reads (colour forcing, DEBUG, CRONS_*, and the
 * NODE_ENV=test vitest sets, which makes oclif print development warnings).
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' }
  for (const name of ['FORCE_COLOR', 'NO_COLOR', 'DEBUG', 'CRONS_CONFIG', 'CRONS_STATE', 'NODE_OPTIONS', 'NODE_ENV']) {
    delete env[name]
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return env
}

const live = new Set<CliProcess>()

/** A spawned CLI process with its output collected as it arrives. */
export class CliProcess {
  readonly child: ChildProcess
  readonly startedAt = Date.now()
  stdout = ''
  stderr = ''
  exitCode: number | null = null
  exitSignal: NodeJS.Signals | null = null
  exitedAt: number | undefined
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>

  constructor(
    readonly args: string[],
    options: CliOptions,
  ) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: cliEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk
    })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
    })
    live.add(this)
    this.exit = new Promise((resolve) => {
      // 'close' (not 'exit') so all output has been read.
      this.child.on('close', (code, signal) => {
        this.exitCode = code
        this.exitSignal = signal
        this.exitedAt = Date.now()
        live.delete(this)
        resolve({ code, signal })
      })
      this.child.on('error', () => {
        live.delete(this)
        resolve({ code: null, signal: null })
      })
    })
  }

  get pid(): number {
    return this.child.pid as number
  }

  get exited(): boolean {
    return this.exitedAt !== undefined
  }

  /** Non-empty stdout lines. */
  lines(): string[] {
    return this.stdout.split('\n').filter((line) => line.trim() !== '')
  }

  /** Non-empty stderr lines. */
  errLines(): string[] {
    return this.stderr.split('\n').filter((line) => line.trim() !== '')
  }

  describe(): string {
    const status = this.exited ? `exited ${this.exitCode ?? this.exitSignal}` : 'still running'
    const rebuilt = /Cannot find module .*\/dist\/|MODULE_NOT_FOUND/.test(this.stderr)
      ? '\n(dist/ was missing files: it was probably being rebuilt while this ran)'
      : ''
    return `crons ${this.args.join(' ')} (${status})\n--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}${rebuilt}`
  }

  /**
   * Wait until a stdout line matches (a RegExp or a substring), or `pick` returns something, with a
   * deadline. Fails early (with the output) if the process exits first.
   */
  async waitForLine(match: RegExp | string, timeoutMs = 15_000, from = 0): Promise<string> {
    const test = (line: string) => (typeof match === 'string' ? line.includes(match) : match.test(line))
    return this.waitFor(() => this.lines().slice(from).find(test), timeoutMs, `a stdout line matching ${String(match)}`)
  }

  /** Wait until `pick()` returns a truthy value (polled), failing with the output at the deadline. */
  async waitFor<T>(pick: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = pick()
      if (found) return found
      if (this.exited) throw new Error(`process exited before ${what}\n${this.describe()}`)
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms\n${this.describe()}`)
      await sleep(50)
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(signal)
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(): Promise<void> {
    if (this.exited) return
    this.child.kill('SIGKILL')
    await this.exit
  }

  /** Wait for the process to exit; fails (leaving it to killAll) if it does not within the deadline. */
  async waitExit(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`process did not exit within ${timeoutMs} ms\n${this.describe()}`)),
        timeoutMs,
      )
    })
    try {
      const { code, signal } = await Promise.race([this.exit, timedOut])
      return { code, signal, ms: (this.exitedAt as number) - this.startedAt }
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Start a CLI command that keeps running (start-scheduler); see CliProcess. */
export function startCli(args: string[], options: CliOptions): CliProcess {
  return new CliProcess(args, options)
}

/** Run a CLI command to completion and capture its output and exit code. */
export async function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  const proc = new CliProcess(args, options)
  const timeoutMs = options.timeoutMs ?? 30_000
  try {
    const { code, signal, ms } = await proc.waitExit(timeoutMs)
    return { code, signal, stdout: proc.stdout, stderr: proc.stderr, ms }
  } catch (error) {
    await proc.kill9()
    throw error
  }
}

/**
 * Processes owned by one test: pass the test context's `onTestFinished`; whatever this scope started
 * and is still alive when the test ends is SIGKILLed (even if the test failed or timed out).
 */
export function processScope(onTestFinished: (fn: () => Promise<void>) => void): {
  start: (args: string[], options: CliOptions) => CliProcess
} {
  const mine = new Set<CliProcess>()
  onTestFinished(async () => {
    await Promise.all([...mine].map((proc) => proc.kill9()))
  })
  return {
    start: (args, options) => {
      const proc = startCli(args, options)
      mine.add(proc)
      return proc
    },
  }
}

/** SIGKILL every CLI process still alive and wait until they are gone (afterAll only: it is not per test). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((proc) => proc.kill9()))
}

/** Lines of a text (empty ones dropped). */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '')
}

// ---------------------------------------------------------------------------------------------
// Waiting and the state file
// ---------------------------------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Poll `pick` (sync or async) until it returns a truthy value, or fail with `what` at the deadline. */
export async function waitUntil<T>(
  pick: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const found = await pick()
      if (found) return found
      lastError = undefined
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await sleep(intervalMs)
  }
}

/**
 * Every run record in a state file, oldest first, read with the project's store opened read-only (so
 * a scheduler writing it meanwhile is not disturbed). Returns [] while the file does not exist yet.
 */
export async function readRuns(statePath: string): Promise<AttemptRecord[]> {
  if (!fs.existsSync(statePath)) return []
  const store = await openStore(statePath, { readonly: true })
  try {
    const runs = await store.listRuns({ limit: 100_000 })
    return runs.sort((a, b) => a.id - b.id)
  } finally {
    await store.close()
  }
}

/** A run's `detail` JSON (catch-up and missed records carry `{ count, first, last }`). */
export function detailOf(run: AttemptRecord): unknown {
  return run.detail === null ? null : JSON.parse(run.detail)
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting ANSI colour codes is the point
export const ANSI = /\u001b\[/

export const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/
