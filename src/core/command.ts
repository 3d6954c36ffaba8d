// Command jobs: a shell line or an argv made into a job's `run`, so it goes through the same pipeline
// as any job. Exit 0 succeeds; `ctx.signal` aborting stops the whole process group (SIGTERM, then
// SIGKILL after the grace); stdout lines go to `ctx.log` as info, stderr lines as error.
import { type ChildProcess, spawn } from 'node:child_process'
import { statSync } from 'node:fs'
import type { JobContext, ResolvedCommand } from '../config/types.js'
import { type Clock, systemClock, type TimerHandle } from './clock.js'
import { MAX_LINE_CHARS } from './output.js'

export interface CommandResult {
  exitCode: 0
}

/** The last stderr lines a failure's message quotes. */
const TAIL_LINES = 3
const TAIL_LINE_CHARS = 200

/** How long output may still arrive after the exit: a background process may hold the pipes open. */
const DRAIN_MS = 250

export function commandRun(
  spec: ResolvedCommand,
  clock: Clock = systemClock,
): (ctx: JobContext) => Promise<CommandResult> {
  return (ctx) => runCommand(spec, ctx, clock)
}

/** The command as one line for people: an argv's arguments quoted as a shell would need. */
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
      // Arguments Node refuses, such as a NUL byte, and start errors it throws (a cwd that is a file).
      reject(startError(error as NodeJS.ErrnoException, file, spec.cwd))
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
    let exited: Exit | undefined
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

type Exit = { code: number | null; signal: NodeJS.Signals | null }

/** With the last stderr lines: usually the why. */
function exitError(exited: Exit, tail: string[]): Error {
  const how =
    exited.code !== null ? `command exited with code ${exited.code}` : `command was killed by ${exited.signal}`
  return commandError(tail.length === 0 ? how : `${how}: ${tail.join(' | ')}`)
}

function startError(error: NodeJS.ErrnoException, file: string, cwd: string): Error {
  const problem = cwdProblem(cwd)
  if (problem) return commandError(`command could not be started: its cwd ${JSON.stringify(cwd)} ${problem}`)
  if (error.code === 'ENOENT') return commandError(`command not found: ${JSON.stringify(file)}`)
  if (error.code === 'EACCES')
    return commandError(`command could not be started: ${JSON.stringify(file)} is not executable`)
  return commandError(`command could not be started: ${error.message}`)
}

/** Why `cwd` cannot be a command's folder, if it cannot. */
function cwdProblem(cwd: string): string | undefined {
  try {
    return statSync(cwd).isDirectory() ? undefined : 'is not a folder'
  } catch {
    return 'does not exist'
  }
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

/** A stream's text as lines, each cut as it arrives so megabytes without a newline cannot fill the memory. */
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

  /** A last line without a newline still counts. */
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

const running = new Set<Group>()

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

  /** A stopped group keeps its SIGKILL timer while any of it is left (a child may ignore SIGTERM). */
  done(): void {
    this.#poll = undefined
    if (this.#killTimer !== undefined) {
      // Dead processes are members until reaped: look again shortly rather than wait the whole grace.
      if (this.alive()) {
        this.#poll = this.clock.setTimeout(() => this.done(), GONE_POLL_MS)
        return
      }
      this.clock.clearTimeout(this.#killTimer)
      this.#killTimer = undefined
    }
    this.forget()
  }

  /** No time for a grace at the process's exit. */
  exit(): void {
    this.signal(this.#stopping ? 'SIGKILL' : 'SIGTERM')
  }

  private forget(): void {
    running.delete(this)
    if (running.size === 0) process.off('exit', onProcessExit)
  }

  /** Signal 0 only checks. */
  private alive(): boolean {
    const { pid } = this.child
    if (pid === undefined) return false
    try {
      return process.kill(-pid, 0)
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

/** Commands still running would outlive the process in their own process groups. */
function onProcessExit(): void {
  for (const group of running) group.exit()
  running.clear()
}
