import { setTimeout as sleep } from 'node:timers/promises'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { parseChoiceFlag, parseIntegerFlag, parseRunId, parseSinceFlag, wideFlag } from '../cli/flags.js'
import { isDecorated, paint } from '../cli/output.js'
import { type RunsContext, renderAttemptDetail, renderAttemptLine, renderAttemptTable } from '../cli/runs.js'
import { openStateForReading } from '../cli/state.js'
import { displayPath } from '../config/loader.js'
import type { ResolvedConfig } from '../config/types.js'
import {
  checkJobName,
  findAttempt,
  type HistoryFilter,
  latestAttempts,
  RunFollower,
  TRIGGERS,
} from '../core/history.js'
import {
  type AttemptDetailJson,
  type AttemptView,
  attemptDetail,
  attemptDetailJson,
  attemptView,
} from '../core/views.js'
import { CronsError } from '../errors.js'
import { type AttemptRecord, RUN_STATUSES, type Store } from '../store/types.js'

const FOLLOW_POLL_MS = 500

export default class Logs extends BaseCommand {
  static override summary = 'Show the run history: every attempt, its outcome and error; or follow it live.'
  static override description =
    `Lists the latest attempts (--limit, default 50) oldest first, so the newest is at the bottom;
--json prints the same attempts as an array, in the same order. Slots are shown in the job's time zone
(UTC for a job no longer in the config). The state file is only read, never created.

--run ID shows one attempt in full: error and stack, result, the lines the job logged with ctx.log.

--follow prints the latest attempts, then each new attempt once, when its outcome is known
(succeeded, failed, timed_out, interrupted, cancelled, skipped or missed), until Ctrl-C. An attempt that is
running is printed when it finishes; with --status running, attempts are printed as they start
instead. With --json, --follow prints one JSON object per line (NDJSON). Piped into a reader that
exits (| head -1), it ends when it next prints a line, not before: nothing tells it sooner.`

  static override examples = [
    { description: 'The latest 50 attempts of every job', command: '<%= config.bin %> logs' },
    {
      description: 'Failures of one job in the last day',
      command: '<%= config.bin %> logs --job backup --status failed --since 1d',
    },
    { description: 'One attempt in full, with its stack and output', command: '<%= config.bin %> logs --run 42' },
    {
      description: 'Stream outcomes as JSON lines into jq',
      command: '<%= config.bin %> logs --follow --json | jq -r \'select(.status != "succeeded") | .job\'',
    },
  ]

  static override flags = {
    job: Flags.string({ char: 'j', description: 'Only this job (configured, or remembered by the state file).' }),
    status: Flags.string({ char: 's', description: `Only attempts with this status: ${RUN_STATUSES.join(', ')}.` }),
    trigger: Flags.string({ description: `Only attempts with this trigger: ${TRIGGERS.join(', ')}.` }),
    since: Flags.string({
      description:
        'Only attempts started since then: a duration back from now (90m, 2h, 1d) or an ISO-8601 instant with offset or Z.',
    }),
    limit: Flags.string({
      char: 'n',
      description: 'At most this many of the latest attempts (1-10000).',
      default: '50',
    }),
    run: Flags.string({ char: 'r', description: 'Show the attempt with this id in full.' }),
    wide: wideFlag,
    follow: Flags.boolean({
      char: 'f',
      description: 'Keep printing attempts as their outcome is recorded, until Ctrl-C.',
      default: false,
    }),
  }

  async run(): Promise<AttemptView[] | AttemptDetailJson | undefined> {
    const { flags } = await this.parse(Logs)
    const now = Date.now()
    // Every flag is checked before the config loads, so a typo fails fast and alone.
    const filter: HistoryFilter = {}
    if (flags.status !== undefined) filter.status = parseChoiceFlag('status', flags.status, RUN_STATUSES)
    if (flags.trigger !== undefined) filter.trigger = parseChoiceFlag('trigger', flags.trigger, TRIGGERS)
    if (flags.since !== undefined) filter.since = parseSinceFlag('since', flags.since, now)
    const limit = parseIntegerFlag('limit', flags.limit, 1, 10_000)
    const runId = flags.run === undefined ? undefined : parseRunId(flags.run, '--run', 'a run id: a whole number')
    if (runId !== undefined) {
      const others = (['job', 'status', 'trigger', 'since', 'follow'] as const).filter(
        (name) => flags[name] !== undefined && flags[name] !== false,
      )
      if (others.length > 0) {
        const list = others.map((name) => `--${name}`).join(', ')
        throw new CronsError('FLAG_INVALID', `--run shows one attempt and cannot be combined with ${list}`)
      }
    }

    const { config, store } = await this.openForReading(flags)
    try {
      if (flags.job !== undefined) {
        const stored = store === undefined ? [] : (await store.listJobs()).map((job) => job.name)
        const configured = config.jobs.map((job) => job.name)
        checkJobName(flags.job, configured, stored)
        filter.job = flags.job
      }
      const zones = new Map(config.jobs.map((job) => [job.name, job.zone]))
      const context: RunsContext = { zoneOf: (job) => zones.get(job) ?? 'UTC', now, wide: flags.wide }
      if (runId !== undefined) {
        const detail = attemptDetail(await findAttempt(store, runId, displayPath(config.statePath)))
        if (!this.jsonEnabled()) this.out(renderAttemptDetail(detail, context, paint()))
        return attemptDetailJson(detail)
      }
      if (flags.follow) {
        await this.follow(store, config, filter, limit, context)
        return undefined
      }
      return await this.list(store, filter, limit, context)
    } finally {
      await store?.close()
    }
  }

  private async list(
    store: Store | undefined,
    filter: HistoryFilter,
    limit: number,
    context: RunsContext,
  ): Promise<AttemptView[]> {
    const runs = store === undefined ? [] : await latestAttempts(store, filter, limit)
    const views = runs.map(attemptView)
    if (this.jsonEnabled()) return views
    const p = paint()
    if (views.length === 0) {
      const filtered = Object.keys(filter).length > 0
      this.out(filtered ? 'No runs match these filters.' : 'No runs recorded yet.')
    } else {
      this.out(await renderAttemptTable(views, context, p))
      // A pipe gets only the table: awk and diff see no stray line.
      if (views.length === limit && isDecorated()) this.out(p.dim(`(the latest ${limit}; --limit N for more)`))
    }
    return views
  }

  /** Until SIGINT/SIGTERM or a write into a closed pipe; a state file not there yet is waited for, not an error. */
  private async follow(
    opened: Store | undefined,
    config: ResolvedConfig,
    filter: HistoryFilter,
    limit: number,
    context: RunsContext,
  ): Promise<void> {
    const json = this.jsonEnabled()
    const p = paint()
    const stop = new AbortController()
    // `crons logs -f | head` closing the pipe ends following too, at the next line written (EPIPE): it is
    // not a crash. Nothing says so sooner: a pipe's writer learns its reader is gone only by writing a
    // byte (an empty write succeeds), and Node has no poll() of stdout, so with no new attempt it waits.
    const onStop = () => stop.abort()
    process.once('SIGINT', onStop)
    process.once('SIGTERM', onStop)
    process.stdout.on('error', onStop)
    const print = (runs: readonly AttemptRecord[]) => {
      for (const run of runs) {
        const view = attemptView(run)
        process.stdout.write(`${json ? JSON.stringify(view) : renderAttemptLine(view, context, p)}\n`)
      }
    }
    let store = opened
    try {
      // A scheduler creates the file whole, with its schema (store/sqlite/open.ts): any failure is real.
      while (store === undefined && !stop.signal.aborted) {
        await pause(stop.signal)
        store = await openStateForReading(config)
      }
      if (store === undefined) return
      const follower = new RunFollower(store, filter)
      print(await follower.start(limit))
      while (!stop.signal.aborted) {
        await pause(stop.signal)
        if (!stop.signal.aborted) print(await follower.poll())
      }
    } finally {
      if (store !== opened) await store?.close()
      process.off('SIGINT', onStop)
      process.off('SIGTERM', onStop)
      process.stdout.off('error', onStop)
    }
  }
}

async function pause(signal: AbortSignal): Promise<void> {
  await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined)
}
