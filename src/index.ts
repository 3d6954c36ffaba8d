/**
 * The public library. `defineConfig` types a `crons.config.ts`; `createScheduler` runs the same
 * engine the CLI runs, inside any Node process (an Express, Fastify or Nest app).
 */

import { isRecord } from './config/fields.js'
import type { CronsConfig, JobDefinition } from './config/types.js'
import { validateConfig } from './config/validate.js'
import { type OpenStore, Scheduler, type SchedulerOptions } from './core/scheduler.js'

export { defineConfig } from './config/define.js'
export type * from './config/types.js'
export { type CancelOptions, cancelInState, DEFAULT_CANCEL_WAIT_MS } from './core/cancel.js'
export { type Clock, FakeClock, systemClock, type TimerHandle } from './core/clock.js'
export type * from './core/events.js'
export { checkJobName, type HistoryFilter, latestAttempts, RunFollower } from './core/history.js'
export { DEFAULT_INSTANCE_TTL_MS } from './core/housekeeping.js'
export {
  type InstanceStatus,
  type JobSummary,
  jobSummaries,
  type RunningNow,
  type StatusReport,
  statusReport,
} from './core/inspect.js'
export { changePaused, type PauseResult, type StateAccess, setJobPaused } from './core/pause.js'
export type { ReloadResult } from './core/reload.js'
export type { RunResult } from './core/runner.js'
export { type RunJobOptions, Scheduler, type SchedulerOptions } from './core/scheduler.js'
export { reportStrayErrors } from './core/stray.js'
// Named, not `export *`: a config that imports `defineConfig` from a built crons is bundled keeping
// only the modules it uses (config/bundle.ts), which a star re-export would defeat.
export {
  type AttemptDetail,
  type AttemptDetailJson,
  type AttemptView,
  attemptDetail,
  attemptDetailJson,
  attemptView,
  type ConfigView,
  configView,
  type DurationEnd,
  type JobConfigView,
  type JobView,
  jobView,
  type RunJobView,
  type SlotsDetail,
  type StatusView,
  statusView,
  withTag,
} from './core/views.js'
export { CronsError, type ErrorCode, EXIT, isCronsError } from './errors.js'
export { nextFires, parseCron } from './schedule/index.js'
export type { Schedule } from './schedule/types.js'
export { maskUrl, type StateLocation } from './store/location.js'
export type { AttemptRecord, Heartbeat, ReapedRuns, RunStatus, Store } from './store/types.js'

/** The built-in stores, loaded when a scheduler first opens one (a config file imports this module). */
const openStore: OpenStore = async (state) => (await import('./store/index.js')).openStore(state)

/**
 * What `createScheduler` takes: the object `defineConfig` takes, except that `jobs` may be left out by an
 * app that adds its jobs later with `scheduler.add()` (a config file without them is likely the wrong file).
 */
export type SchedulerConfig = Omit<CronsConfig, 'jobs'> & {
  /** @default [] */
  jobs?: JobDefinition[]
}

/**
 * A scheduler for the object `defineConfig` takes (`state` may be `':memory:'`; a relative path is from
 * the cwd). Throws a `CronsError` listing every problem. Nothing runs until `start()`; `stop()` drains.
 */
export function createScheduler(config: SchedulerConfig, options: SchedulerOptions = {}): Scheduler {
  const withJobs = isRecord(config) && config.jobs === undefined ? { ...config, jobs: [] } : config
  const expected = 'an object such as createScheduler({ state, jobs: [...] })'
  return new Scheduler(validateConfig(withJobs, { file: 'createScheduler() config', expected }), {
    openStore,
    ...options,
  })
}
