import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { findJob } from '../cli/jobs.js'
import { paint } from '../cli/output.js'
import { openStateForReading, openStateForWriting } from '../cli/state.js'
import type { ResolvedConfig } from '../config/types.js'
import { type PauseResult, setJobPaused } from '../core/inspect.js'
import { CronsError, isCronsError, suggestClosest } from '../errors.js'

export default class PauseJob extends BaseCommand {
  static override summary = 'Pause a job: its slots are recorded as skipped until it is resumed.'
  static override description = `The flag lives in the state file: running schedulers honour it at their next slot.
Each slot that comes due while paused is recorded "skipped" with the reason "paused".
Pausing a paused job changes nothing and says so.`

  static override examples = [
    { description: 'Pause the backup job', command: '<%= config.bin %> pause-job backup' },
    { description: 'As JSON: {"job","paused","changed"}', command: '<%= config.bin %> pause-job backup --json' },
  ]

  static override args = {
    name: Args.string({ description: 'The job to pause.', required: true }),
  }

  async run(): Promise<PauseResult> {
    const { args, flags } = await this.parse(PauseJob)
    const result = await changePaused(await this.loadConfig(flags), args.name, true, Date.now())
    this.out(pauseMessage(result))
    return result
  }
}

/**
 * Check the name, then persist the flag. A job the config no longer lists may still be paused if
 * the store knows it (its slots would be skipped should it come back). The name is checked before
 * the state file is opened for writing, so a typo never creates or touches the file.
 */
export async function changePaused(
  config: ResolvedConfig,
  name: string,
  paused: boolean,
  now: number,
): Promise<PauseResult> {
  const configured = config.jobs.some((j) => j.name === name)
  if (!configured) await assertKnownToStore(config, name)
  const store = await openStateForWriting(config)
  try {
    return await setJobPaused(store, name, paused, { configured, now })
  } finally {
    await store.close()
  }
}

async function assertKnownToStore(config: ResolvedConfig, name: string): Promise<void> {
  const reading = await openStateForReading(config)
  let stored: string[] = []
  try {
    stored = reading ? (await reading.listJobs()).map((j) => j.name) : []
  } finally {
    await reading?.close()
  }
  if (stored.includes(name)) return
  try {
    findJob(config, name)
  } catch (error) {
    if (!isCronsError(error)) throw error
    // Suggest among removed jobs too: they can be paused as well.
    const suggestions = suggestClosest(name, [...config.jobs.map((j) => j.name), ...stored])
    throw new CronsError(error.code, error.message, { suggestions })
  }
}

/** One line for people; the JSON says the same with `changed`. */
export function pauseMessage(result: PauseResult, stream?: { isTTY?: boolean }): string {
  const p = paint(stream)
  const job = p.bold(result.job)
  if (result.paused) {
    return result.changed
      ? `Paused ${job}: its slots are skipped until \`crons resume-job ${result.job}\`.`
      : `${job} was already paused.`
  }
  return result.changed ? `Resumed ${job}: its next slot runs as scheduled.` : `${job} was not paused.`
}
