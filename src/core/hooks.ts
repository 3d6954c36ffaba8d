// `beforeRun` / `afterRun` / `onError` hooks: one after another, each bounded in time; a hook that
// throws or hangs is recorded with the attempt and never breaks the run.
import type { HookContext, Hooks, ResolvedJob } from '../config/types.js'
import type { RunStatus } from '../store/types.js'
import type { Attempt } from './attempt.js'
import type { Clock, TimerHandle } from './clock.js'
import { describeError } from './describe.js'
import type { EngineEmitter } from './events.js'

export const HOOK_TIMEOUT_MS = 10_000

export class HookRunner {
  constructor(
    /** A reload may replace them. */
    private readonly configHooks: () => Hooks,
    private readonly clock: Clock,
    private readonly events: EngineEmitter,
    /** Resolves on a hurried stop: no hook is waited for after it. */
    private readonly hurry: Promise<void>,
  ) {}

  has(name: keyof Hooks, job: ResolvedJob): boolean {
    return this.configHooks()[name] !== undefined || job.hooks[name] !== undefined
  }

  hasAfter(job: ResolvedJob, status: RunStatus): boolean {
    return this.has('afterRun', job) || (isError(status) && this.has('onError', job))
  }

  /** Config hooks first, then the job's own; a hurried stop waits for none. Resolves whether any failed. */
  run(name: keyof Hooks, begun: Attempt, ctx: HookContext = begun.hookContext()): Promise<boolean> {
    return Promise.race([this.runEach(name, begun, ctx), this.hurry.then(() => false)])
  }

  /** `afterRun`, then for a failure `onError` (not for a cancel); resolves whether any failed. */
  async runAfter(begun: Attempt, status: RunStatus, ctx: HookContext): Promise<boolean> {
    const { job } = begun.request
    let failed = false
    if (this.has('afterRun', job)) failed = await this.run('afterRun', begun, ctx)
    if (isError(status) && this.has('onError', job)) failed = (await this.run('onError', begun, ctx)) || failed
    return failed
  }

  private async runEach(name: keyof Hooks, begun: Attempt, ctx: HookContext): Promise<boolean> {
    const { clock, events } = this
    let failed = false
    for (const fn of [this.configHooks()[name], begun.request.job.hooks[name]]) {
      if (!fn) continue
      let timer: TimerHandle | undefined
      try {
        await Promise.race([
          Promise.resolve().then(() => fn(ctx)),
          new Promise((_, reject) => {
            timer = clock.setTimeout(
              () => reject(new Error(`did not finish within ${HOOK_TIMEOUT_MS / 1000}s`)),
              HOOK_TIMEOUT_MS,
            )
          }),
        ])
      } catch (error) {
        failed = true
        const { message } = describeError(error)
        begun.out().add('error', `hook ${name} failed: ${message}`, clock.now())
        events.emit('hook:failed', { job: begun.request.job.name, hook: name, runId: begun.runId, message })
      } finally {
        if (timer) clock.clearTimeout(timer)
      }
    }
    return failed
  }
}

/** `onError` hears of anything but success and a cancel (asked for, not a failure). */
function isError(status: RunStatus): boolean {
  return status !== 'succeeded' && status !== 'cancelled'
}
