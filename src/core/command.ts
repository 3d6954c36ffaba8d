/**
 * Command jobs: a shell command line or an argv made into a job's `run`. It needs nothing of the
 * engine but `ctx`, so a command goes through the same pipeline as any job (timeout, retry, overlap,
 * history, hooks): exit code 0 succeeds; any other code, or death by a signal, fails the attempt;
 * `ctx.signal` aborting (the timeout, shutdown) stops the command's whole process group, SIGTERM
 * first and SIGKILL after the grace; each stdout/stderr line goes to `ctx.log` (stdout as info,
 * stderr as error), so it is streamed as `run:log` events and kept with the attempt, bounded like
 * any job's log.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { JobContext, ResolvedCommand } from '../config/types.js'
import { type Clock, systemClock, type TimerHandle } from './clock.js'
import { MAX_LINE_CHARS } from './output.js'

/** What a command job's successful attempt returns (kept as the run's result). */
export interface CommandResult {
  exitCode: 0
}

/** How many of the last stderr lines a failure's message quotes, and how long each may be. */
const TAIL_LINES = 3
const TAIL_LINE_CHARS = 200

/**
 * After the command exits, how long its output may still take to arrive. A background process it
 * started may hold the pipes open for as long as it lives; the run does not wait for it.
 */
const DRAIN_MS = 250

/** The job's `run` for a command. `clock` times the kill grace and the drain. */
export function commandRun(
  spec: ResolvedCommand,
  clock: Clock = systemClock,
): (ctx: JobContext) => Promise<CommandResult> {
  return (ctx) => runCommand(spec, ctx, clock)
}

/** The command as one line for people: a shell line as written, an argv with its arguments quoted as a shell would need. */
export function commandText(command: string | readonly string[]): string {
  if (typeof command === 'string') return command
  return command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ')
}

function runCommand(spec: ResolvedCommand, ctx: JobContext, clock: Clock): Promise<CommandResult> {
  const { signal, log } = ctx
  if (signal.aborted) return Promise.reject(commandError(`command not started: ${reasonText(signal.reason)}`))
  return new Promise<CommandResult>((resolve, reject) => {
    const [file, args] =
      typeof spec.command === 'string'
        ? ['/bin/sh', ['-c', spec.command]]
        : [spec.command[0] as string, spec.command.slice(1)]
    let child: ChildProcess
    try {
      // Its own process group (detached), so stopping it reaches whatever the shell started too.
      child = spawn(file, args, {
        cwd: spec.cwd,
        env: { ...process.env, ...spec.env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      })
    } catch (error) {
      // Arguments Node refuses before starting anything, such as a NUL byte.
      reject(commandError(`command could not be started: ${(error as Error).message}`))
      return
    }
    const tail: string[] = []
    const stdout = new Lines((line) => log.info(line))
    const stderr = new Lines((line) => {
      log.error(line)
      if (line.trim() === '') return
      tail.push(line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS - 3)}...` : line)
      if (tail.length > TAIL_LINES) tail.shift()
    })
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk))

    const group = new Group(child, clock)
    const onAbort = () => group.stop(spec.killGraceMs)
    signal.addEventListener('abort', onAbort, { once: true })
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined
    let drain: TimerHandle | undefined
    let settled = false
    const settle = (error: Error | undefined) => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      if (drain) clock.clearTimeout(drain)
      group.done()
      if (error) reject(error)
      else resolve({ exitCode: 0 })
    }
    // Without a pid it never started; a later error (a signal that could not be sent) is not the outcome.
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) settle(startError(error, file, spec.cwd))
    })
    child.on('exit', (code, killedBy) => {
      exited = { code, signal: killedBy }
      drain = clock.setTimeout(() => {
        child.stdout?.destroy()
        child.stderr?.destroy()
      }, DRAIN_MS)
    })
    // After the exit and the end of its output (or the drain), so the last lines are in the record.
    child.on('close', () => {
      if (!exited) return
      stdout.end()
      stderr.end()
      settle(exited.code === 0 ? undefined : exitError(exited, tail))
    })
  })
}

/** The failure for a non-zero exit or a death by signal, with the last stderr lines: usually the why. */
function exitError(exited: { code: number | null; signal: NodeJS.Signals | null }, tail: string[]): Error {
  const how =
    exited.code !== null ? `command exited with code ${exited.code}` : `command was killed by ${exited.signal}`
  return commandError(tail.length === 0 ? how : `${how}: ${tail.join(' | ')}`)
}

/** Why the command could not start: the program, or the folder it was to run in, is not there or not runnable. */
function startError(error: NodeJS.ErrnoException, file: string, cwd: string): Error {
  if (!existsSync(cwd))
    return commandError(`command could not be started: its cwd ${JSON.stringify(cwd)} does not exist`)
  if (error.code === 'ENOENT') return commandError(`command not found: ${JSON.stringify(file)}`)
  if (error.code === 'EACCES')
    return commandError(`command could not be started: ${JSON.stringify(file)} is not executable`)
  return commandError(`command could not be started: ${error.message}`)
}

/** The message says it all: a stack into this module would only point at crons. */
function commandError(message: string): Error {
  const error = new Error(message)
  error.name = 'CommandError'
  error.stack = ''
  return error
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason)
}

/**
 * Splits a stream's text into lines. A line longer than a log line may be is cut (with `...`) as it
 * arrives, so a command printing megabytes without a newline cannot fill the memory.
 */
class Lines {
  #pending = ''
  #cut = false

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: string): void {
    const parts = chunk.split('\n')
    const last = parts.pop() as string
    for (const part of parts) {
      this.#append(part)
      this.#flush()
    }
    this.#append(last)
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.#pending !== '' || this.#cut) this.#flush()
  }

  #append(text: string): void {
    if (this.#cut) return
    this.#pending += text
    if (this.#pending.length > MAX_LINE_CHARS) {
      this.#pending = `${this.#pending.slice(0, MAX_LINE_CHARS - 3)}...`
      this.#cut = true
    }
  }

  #flush(): void {
    const line = this.#pending
    this.#pending = ''
    this.#cut = false
    this.emit(line.endsWith('\r') ? line.slice(0, -1) : line)
  }
}

/** How often a stopped group whose command has exited is checked for being gone. */
const GONE_POLL_MS = 50

/** Groups still running, for the process's exit (see `onProcessExit`). */
const running = new Set<Group>()

/** A command's process group: stopped with SIGTERM, then SIGKILL after the grace. */
class Group {
  #killTimer: TimerHandle | undefined
  #poll: TimerHandle | undefined
  #stopping = false

  constructor(
    private readonly child: ChildProcess,
    private readonly clock: Clock,
  ) {
    if (running.size === 0) process.once('exit', onProcessExit)
    running.add(this)
  }

  /** SIGTERM now, SIGKILL after `graceMs` to whatever of the group is still there. */
  stop(graceMs: number): void {
    if (this.#stopping) return
    this.#stopping = true
    this.signal('SIGTERM')
    this.#killTimer = this.clock.setTimeout(() => {
      this.#killTimer = undefined
      if (this.#poll) this.clock.clearTimeout(this.#poll)
      this.signal('SIGKILL')
      this.forget()
    }, graceMs)
  }

  /**
   * The command is over. A stopped group keeps its SIGKILL timer while any of it is left: the shell
   * may be gone while something it started ignores SIGTERM. Otherwise nothing is left to wait for.
   */
  done(): void {
    this.#poll = undefined
    if (this.#killTimer !== undefined) {
      // Processes that died are members until reaped: look again shortly rather than hold the
      // process open for the whole grace.
      if (this.alive()) {
        this.#poll = this.clock.setTimeout(() => this.done(), GONE_POLL_MS)
        return
      }
      this.clock.clearTimeout(this.#killTimer)
      this.#killTimer = undefined
    }
    this.forget()
  }

  /** At the process's exit (no time for a grace): SIGKILL if SIGTERM was already sent, else SIGTERM. */
  exit(): void {
    this.signal(this.#stopping ? 'SIGKILL' : 'SIGTERM')
  }

  private forget(): void {
    running.delete(this)
    if (running.size === 0) process.off('exit', onProcessExit)
  }

  /** Whether any process of the group is left (signal 0 only checks). */
  private alive(): boolean {
    const { pid } = this.child
    if (pid === undefined) return false
    try {
      process.kill(-pid, 0)
      return true
    } catch {
      return false
    }
  }

  private signal(name: NodeJS.Signals): void {
    const { pid } = this.child
    if (pid === undefined) return
    try {
      process.kill(-pid, name)
    } catch {
      // The group is gone already (ESRCH), or this platform has no process groups: the child alone.
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(name)
    }
  }
}

/**
 * The process is exiting (a second Ctrl-C, the end of a shutdown): commands still running would
 * outlive it in their own process groups, so they are signalled on the way out.
 */
function onProcessExit(): void {
  for (const group of running) group.exit()
  running.clear()
}
