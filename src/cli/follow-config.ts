/**
 * `start-scheduler` following its config: on SIGHUP (and with `--watch` when its files change) it is
 * loaded again and handed to `reload()`; a bad one is reported in one line. Reloads never overlap:
 * a change during one is picked up by one more after it.
 */
import { type FSWatcher, watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { ConfigSources } from '../config/sources.js'
import type { ResolvedConfig } from '../config/types.js'
import type { Scheduler } from '../core/scheduler.js'
import { toCronsError } from './base.js'
import type { SignalSource } from './signals.js'

/** Editors save in several steps (a temp file, a rename, a truncate then a write): wait for quiet. */
export const WATCH_DEBOUNCE_MS = 300

export interface FollowConfigOptions {
  scheduler: Scheduler
  /** Loads and validates the config again, as at start, with its `configHash`. */
  load: () => Promise<ResolvedConfig>
  /** Reports a refused reload (the running config is kept). */
  refused: (message: string) => void
  /** With `--watch`: the files are back to the running version after a refusal (else the refusal is the last word). */
  restored?: () => void
  /** With `--watch`: the files the config is made from now, and their fingerprint. */
  sources?: () => ConfigSources | undefined
  debounceMs?: number
  /** @default process */
  signals?: SignalSource
}

export interface ConfigFollower {
  /** Reload now (what SIGHUP does). Resolves when this reload, and any asked for meanwhile, are over. */
  reload(): Promise<void>
  dispose(): void
}

export function followConfig(options: FollowConfigOptions): ConfigFollower {
  const { scheduler } = options
  let disposed = false
  let reloading: Promise<void> | undefined
  let again = false
  // The last reload was refused, and the files have not been back to the running version since.
  let refusedLast = false

  const reload = (): Promise<void> => {
    if (disposed) return Promise.resolve()
    if (reloading) {
      again = true
      return reloading
    }
    reloading = (async () => {
      do {
        again = false
        try {
          await scheduler.reload(await options.load())
          refusedLast = false
        } catch (error) {
          // Asked while the scheduler stops: there is nothing left to reload, and nothing to say.
          if (toCronsError(error).code === 'SCHEDULER_STOPPED') return
          refusedLast = true
          if (!disposed) options.refused(oneLine(error))
        }
        watcher?.update()
      } while (again && !disposed)
    })().finally(() => {
      reloading = undefined
    })
    return reloading
  }

  const watcher = options.sources
    ? new SourceWatcher(options.sources, options.debounceMs ?? WATCH_DEBOUNCE_MS, () => {
        // Touched or saved unchanged: nothing to reload.
        const now = options.sources?.()
        if (now !== undefined && now.hash === scheduler.config.configHash) {
          if (refusedLast && !reloading) {
            refusedLast = false
            options.restored?.()
          }
          return
        }
        void reload()
      })
    : undefined
  watcher?.update()
  const signals = options.signals ?? process
  const onHangup = () => void reload()
  signals.on('SIGHUP', onHangup)

  return {
    reload,
    dispose: () => {
      disposed = true
      signals.off('SIGHUP', onHangup)
      watcher?.close()
    },
  }
}

/** An error as one line: its message, and a validation error's problems after it. */
function oneLine(error: unknown): string {
  const crons = toCronsError(error)
  return [crons.message, ...crons.details.map((detail) => detail.trim())].join('; ')
}

/** Watches the config files' folders (an editor's rename escapes a watch on a file); `changed` once quiet. */
class SourceWatcher {
  private readonly watchers = new Map<string, FSWatcher>()
  private names = new Map<string, Set<string>>()
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly sources: () => ConfigSources | undefined,
    private readonly debounceMs: number,
    private readonly changed: () => void,
  ) {}

  /** Watch the files the config is made from now (a reload may add or drop imports). */
  update(): void {
    if (this.closed) return
    const sources = this.sources()
    if (sources === undefined) return
    const names = new Map<string, Set<string>>()
    for (const file of [...sources.files, ...sources.pending]) {
      const dir = dirname(file)
      names.set(dir, (names.get(dir) ?? new Set<string>()).add(basename(file)))
    }
    this.names = names
    for (const [dir, watcher] of this.watchers) {
      if (names.has(dir)) continue
      watcher.close()
      this.watchers.delete(dir)
    }
    for (const dir of names.keys()) {
      if (this.watchers.has(dir)) continue
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => this.onEvent(dir, name))
        // A folder deleted or unreadable stops its watch; the other files are still watched.
        watcher.on('error', () => {
          watcher.close()
          this.watchers.delete(dir)
        })
        this.watchers.set(dir, watcher)
      } catch {
        // The folder is gone: nothing to follow.
      }
    }
  }

  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    for (const watcher of this.watchers.values()) watcher.close()
    this.watchers.clear()
  }

  private onEvent(dir: string, name: string | Buffer | null): void {
    // Some platforms give no name: then any change in the folder counts.
    if (name !== null && !this.names.get(dir)?.has(name.toString())) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (!this.closed) this.changed()
    }, this.debounceMs)
    this.timer.unref()
  }
}
