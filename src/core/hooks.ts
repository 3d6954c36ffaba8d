/**
 * Running `beforeRun` / `afterRun` / `onError` hooks: one after another, each bounded in time; a
 * hook that throws or hangs is recorded with the attempt and never breaks the run.
 */
import type { HookContext, Hooks, ResolvedJob } from '../config/types.js'
import type { RunStatus } from '../store/types.js'
import type { Clock, TimerHandle } from './clock.js'
import { describeError } from './describe.js'
import type { EngineEmitter } from './events.js'
import type { OutputBuffer } from './output.js'

/** A hook that takes longer than this is abandoned (and recorded) so it cannot stall a run. */
export const HOOK_TIMEOUT_MS = 10_000

type Hook = NonNullable<Hooks[keyof Hooks]>

/** Run `fns` in order (config hooks first, then the job's own); resolves whether any failed. */
export async function runHooks(
  name: keyof Hooks,
  fns: readonly (Hook | undefined)[],
  ctx: HookContext,
  env: { clock: Clock; events: EngineEmitter; job: string; runId: number; output: OutputBuffer },
): Promise<boolean> {
  const { clock, events, job, runId, output } = env
  let failed = false
  for (const fn of fns) {
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
      const message = describeError(error).message
      output.add('error', `hook ${name} failed: ${message}`, clock.now())
      events.emit('hook:failed', { job, hook: name, runId, message })
    } finally {
      if (timer) clock.clearTimeout(timer)
    }
  }
  return failed
}

/** A run's hooks: the config's and the job's own, for the runner. */
export class HookRunner {
  constructor(
    private readonly configHooks: Hooks,
    private readonly clock: Clock,
    private readonly events: EngineEmitter,
    /** Resolves on a hurried stop: no hook is waited for after it. */
    private readonly hurry: Promise<void>,
  ) {}

  has(name: keyof Hooks, job: ResolvedJob): boolean {
    return this.configHooks[name] !== undefined || job.hooks[name] !== undefined
  }

  /** Whether hooks run after an attempt that ended `status`. */
  hasAfter(job: ResolvedJob, status: RunStatus): boolean {
    return this.has('afterRun', job) || (isError(status) && this.has('onError', job))
  }

  /**
   * Config hooks first, then the job's own. A failing or hanging hook is recorded, never fatal; a
   * hurried stop does not wait for one (the outcome is already recorded). Resolves whether any failed.
   */
  run(name: keyof Hooks, job: ResolvedJob, ctx: HookContext, runId: number, output: OutputBuffer): Promise<boolean> {
    const env = { clock: this.clock, events: this.events, job: job.name, runId, output }
    const ran = runHooks(name, [this.configHooks[name], job.hooks[name]], ctx, env)
    return Promise.race([ran, this.hurry.then(() => false)])
  }

  /** `afterRun`, then for a failure `onError` (not for a cancel); resolves whether any failed. */
  async runAfter(
    job: ResolvedJob,
    status: RunStatus,
    ctx: HookContext,
    runId: number,
    output: OutputBuffer,
  ): Promise<boolean> {
    let failed = false
    if (this.has('afterRun', job)) failed = await this.run('afterRun', job, ctx, runId, output)
    if (isError(status) && this.has('onError', job)) {
      failed = (await this.run('onError', job, ctx, runId, output)) || failed
    }
    return failed
  }
}

/** An outcome `onError` hooks hear about: anything but success and a cancel (asked for, not a failure). */
function isError(status: RunStatus): boolean {
  return status !== 'succeeded' && status !== 'cancelled'
}
