/**
 * Running `beforeRun` / `afterRun` / `onError` hooks: one after another, each bounded in time; a
 * hook that throws or hangs is recorded with the attempt and never breaks the run.
 */
import type { HookContext, Hooks } from '../config/types.js'
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
