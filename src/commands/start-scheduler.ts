import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { configRestoredLine, type LogFormat, printEvents, reloadRefusedLine, skewText } from '../cli/events.js'
import { parseDurationFlag } from '../cli/flags.js'
import { followConfig } from '../cli/follow-config.js'
import { formatLocal, paint, relative } from '../cli/output.js'
import { stopOnSignals } from '../cli/signals.js'
import { formatDuration } from '../config/duration.js'
import { SKEW_WARN_MS } from '../core/clock-sync.js'
import { livePeers } from '../core/inspect.js'
import { defaultLease, type Lease, leaseTooShort, MIN_PERIOD_MS } from '../core/lease.js'
import { Scheduler } from '../core/scheduler.js'
import { reportStrayErrors } from '../core/stray.js'
import { CronsError } from '../errors.js'
import { openStore } from '../store/index.js'
import type { InstanceRecord } from '../store/types.js'

export default class StartScheduler extends BaseCommand {
  static override summary = 'Run the scheduler in the foreground until SIGINT or SIGTERM.'
  static override description = `Prints a start-up summary, then one line per attempt start and finish.
On SIGINT/SIGTERM it stops claiming slots, waits up to the config's shutdownGrace for running jobs,
records the outcome of each and exits 0. A second signal stops waiting (runs are recorded interrupted).
On SIGHUP (and with --watch, when the config file or a local file it imports changes) it loads the
config again: new jobs are scheduled, removed ones stop, changed ones are replaced, and runs in
progress finish as they started. A config that does not load or validate is reported in one line and
the running one is kept; a changed state is not applied (restart for that).
Several schedulers may share one state file: every slot still fires exactly once.`

  static override examples = [
    { description: 'Run the config in the current directory', command: '<%= config.bin %> start-scheduler' },
    { description: 'Reload the config whenever it is saved', command: '<%= config.bin %> start-scheduler --watch' },
    {
      description: 'Machine-readable lines for a log shipper',
      command: '<%= config.bin %> start-scheduler --config ./crons.config.ts --log-format json',
    },
  ]

  static override enableJsonFlag = false

  static override flags = {
    'log-format': Flags.option({
      options: ['text', 'json'] as const,
      default: 'text' as const,
      description: 'Lines as text, or one JSON object per line.',
    })(),
    heartbeat: Flags.string({
      description:
        'How often this scheduler renews its lease in the state (a duration such as "2s"). Default: 10s for a state file, 2s on PostgreSQL.',
    }),
    'instance-ttl': Flags.string({
      description:
        'A scheduler silent this long is dead: a peer interrupts its runs and refuses its late writes. Default: 30s for a state file, 10s on PostgreSQL; keep it several heartbeats long.',
    }),
    watch: Flags.boolean({
      description:
        'Reload the config when the config file or a local file it imports changes (SIGHUP always reloads it).',
      default: false,
    }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(StartScheduler)
    const format: LogFormat = flags['log-format']
    const config = await this.loadConfig(flags, { hash: true })
    const lease = leaseFrom(defaultLease(config.state), flags)
    const scheduler = new Scheduler(config, {
      initiator: 'scheduler',
      openStore,
      preciseStart: true,
      echoConsole: false,
      ...lease,
    })
    const write = (line: string) => process.stdout.write(`${line}\n`)
    const say = (event: Record<string, unknown>, text: string) =>
      write(format === 'json' ? JSON.stringify({ time: new Date().toISOString(), ...event }) : text)
    const store = await scheduler.open()
    const peers = await livePeers(store, scheduler.instanceId, scheduler.now(), lease.instanceTtlMs)
    // A job paused in the state is said so: its slots are skipped until `resume-job`.
    const paused = new Map((await store.listJobs()).filter((j) => j.paused).map((j) => [j.name, j.pausedAt]))
    this.summary(scheduler, peers, paused, format, write, flags.watch)
    printEvents(scheduler.events, format, write)
    // One job's stray error must not end the process, and with it every other job (SEMANTICS §5).
    reportStrayErrors(scheduler.events)

    // A scheduler that could not go on stops itself; the process exits non-zero for a supervisor to restart it.
    let failed: string | undefined
    scheduler.events.on('scheduler:failed', ({ message }) => {
      failed = message
    })
    const stoppedItself = new Promise<void>((resolve) => scheduler.events.on('stopped', () => resolve()))
    const signals = stopOnSignals({
      stop: () => scheduler.stop(),
      waitingFor: 'running jobs',
      graceMs: () => scheduler.config.shutdownGraceMs,
      announce: (note, signal) => say({ event: 'stopping', signal, note }, note),
    })
    // Listening before the start: a SIGHUP that comes during it must not end the process.
    // SIGHUP, and with --watch a change of the config's files, reload the config (cli/follow-config.ts).
    const { configSources } = await import('../config/loader.js')
    const configPath = config.configPath
    const follower = followConfig({
      scheduler,
      load: () => this.loadConfig(flags, { hash: true }),
      refused: (message) => write(reloadRefusedLine(message, format)),
      restored: () => write(configRestoredLine(format)),
      ...(flags.watch && configPath !== undefined ? { sources: () => configSources(configPath) } : {}),
    })
    await scheduler.start()
    await Promise.race([signals.stopped, stoppedItself])
    follower.dispose()
    say({ event: 'stopped', instanceId: scheduler.instanceId }, 'scheduler stopped')
    if (failed !== undefined) {
      process.exitCode = 1
      process.stderr.write(`error: ${failed}\n`)
    }
    this.exitWhenDone()
  }

  private summary(
    scheduler: Scheduler,
    peers: InstanceRecord[],
    paused: ReadonlyMap<string, number | null>,
    format: LogFormat,
    write: (line: string) => void,
    watch: boolean,
  ): void {
    const { config } = scheduler
    const scheduled = scheduler.list()
    const fires = new Map(scheduler.nextRuns().map((f) => [f.job, f.nextRun]))
    const now = Date.now()
    if (format === 'json') {
      write(
        JSON.stringify({
          time: new Date(now).toISOString(),
          event: 'started',
          config: config.configPath ?? null,
          configHash: config.configHash ?? null,
          watch,
          state: config.statePath,
          instanceId: scheduler.instanceId,
          clockOffsetMs: scheduler.clockOffsetMs,
          peers: peers.map((i) => ({ id: i.id, host: i.host, pid: i.pid })),
          jobs: scheduled.map((job) => {
            const pausedAt = paused.get(job.name)
            return {
              name: job.name,
              schedule: job.scheduleText,
              zone: job.zone,
              nextRun: fires.get(job.name) ?? null,
              paused: pausedAt !== undefined,
              pausedAt: typeof pausedAt === 'number' ? new Date(pausedAt).toISOString() : null,
            }
          }),
        }),
      )
      return
    }
    const p = paint()
    write(`${p.bold('crons')} scheduler started`)
    write(
      `  config    ${config.configPath ?? '-'}${watch ? ' (watched: reloaded when it or a file it imports is saved)' : ''}`,
    )
    write(`  state     ${config.statePath}`)
    write(`  instance  ${scheduler.instanceId}`)
    // Measured when the store opened: a skew is said here, later changes as events.
    if (Math.abs(scheduler.clockOffsetMs) > SKEW_WARN_MS)
      write(`  clock     ${p.yellow(skewText(scheduler.clockOffsetMs))}`)
    if (peers.length > 0) write(`  peers     ${peersText(peers)}`)
    const disabled = config.jobs.length - scheduled.length
    write(`  jobs      ${scheduled.length}${disabled > 0 ? ` (and ${disabled} disabled, not scheduled)` : ''}`)
    const width = Math.max(0, ...config.jobs.map((j) => j.name.length))
    for (const job of scheduled) {
      const at = (ms: number) => `${formatLocal(ms, job.zone)} (${relative(ms, now)})`
      const nextRun = fires.get(job.name)
      const pausedAt = paused.get(job.name)
      const when =
        pausedAt !== undefined
          ? p.yellow(pausedAt === null ? 'paused' : `paused since ${at(pausedAt)}`)
          : `next ${nextRun ? at(Date.parse(nextRun)) : 'never again'}`
      write(`    ${p.bold(job.name.padEnd(width))}  ${job.scheduleText}  ${when}`)
    }
  }
}

/** `--heartbeat` and `--instance-ttl` over the state's defaults, checked together: a lease must outlast two heartbeats. */
function leaseFrom(defaults: Readonly<Lease>, flags: { heartbeat?: string; 'instance-ttl'?: string }): Lease {
  const rule = {
    minMs: MIN_PERIOD_MS,
    seconds: false,
    expected: `a duration of at least ${MIN_PERIOD_MS}ms, such as "2s"`,
  }
  const parse = (flag: string, raw: string | undefined, fallback: number): number =>
    raw === undefined ? fallback : parseDurationFlag(flag, raw, rule)
  const lease = {
    heartbeatMs: parse('heartbeat', flags.heartbeat, defaults.heartbeatMs),
    instanceTtlMs: parse('instance-ttl', flags['instance-ttl'], defaults.instanceTtlMs),
  }
  const short = leaseTooShort(lease)
  if (short !== undefined) {
    throw new CronsError('FLAG_INVALID', `--instance-ttl ${formatDuration(lease.instanceTtlMs)} ${short}`)
  }
  return lease
}

/** "1 other scheduler shares this state (box-a pid 12): each slot runs once among the 2". */
function peersText(peers: readonly InstanceRecord[]): string {
  const which = peers.map((i) => `${i.host} pid ${i.pid}`).join(', ')
  const others = peers.length === 1 ? '1 other scheduler shares' : `${peers.length} other schedulers share`
  return `${others} this state (${which}): each slot runs once among the ${peers.length + 1}`
}
