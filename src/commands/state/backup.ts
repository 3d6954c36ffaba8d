import fs from 'node:fs'
import path from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base.js'
import { formatBytes, paint } from '../../cli/output.js'
import { configOrStateAlone } from '../../cli/reading.js'
import { openStateToCopy } from '../../cli/state.js'
import { CronsError, quote } from '../../errors.js'

/** What `crons state backup --json` prints. */
export interface StateBackupView {
  /** The state file copied. */
  state: string
  /** The copy, an absolute path. */
  file: string
  sizeBytes: number
}

export default class StateBackup extends BaseCommand {
  static override summary = 'Copy the state file safely, while schedulers keep running.'
  static override description =
    `Copying crons.db with cp can lose history: recent writes live in its -wal file until SQLite folds them in.
This uses SQLite's online backup: one consistent snapshot of everything, whichever file it is in, written to FILE as a complete state file of its own (restore it by pointing --state at it, or by moving it into place while no scheduler runs).
A state file of an older schema version is copied as it is, so a copy can be made before crons upgrades it.

FILE must not exist unless --force is given, and may not be the state file itself or its -wal, -shm or -journal file under any path (a symlinked folder, a hard link); the copy is written under a temporary name beside it and renamed into place, so a failed backup leaves nothing behind.`

  static override examples = [
    {
      description: 'Back up the state of the config here',
      command: '<%= config.bin %> state backup ./backups/crons.db',
    },
    {
      description: "A state file on its own, replacing last night's copy, as JSON",
      command: '<%= config.bin %> state backup /backups/crons.db --state /var/lib/crons/crons.db --force --json',
    },
  ]

  static override args = { file: Args.string({ description: 'Where to write the copy.', required: true }) }

  static override flags = { force: Flags.boolean({ description: 'Replace FILE if it exists.', default: false }) }

  async run(): Promise<StateBackupView> {
    const { args, flags } = await this.parse(StateBackup)
    const target = path.resolve(args.file)
    checkTarget(args.file, target, flags.force)
    const { config, note } = await configOrStateAlone(() => this.loadConfig(flags), flags)
    const store = await openStateToCopy(config)
    this.note(note)
    if (store === undefined) {
      throw new CronsError('STATE_INVALID', `${config.statePath}: no state file yet, nothing to back up`, {
        suggestions: ['start the scheduler once to create it'],
      })
    }
    try {
      if (store.backup === undefined) {
        throw new CronsError(
          'STATE_INVALID',
          `${store.location}: this state is kept in a database server; back it up with the server's own tools (for PostgreSQL, pg_dump)`,
        )
      }
      // Refused there when FILE is the state or one of its own files (named as given).
      const copy = await store.backup(args.file, { replace: flags.force })
      const view = { state: config.statePath, file: copy.file, sizeBytes: copy.sizeBytes }
      this.out(`Backed up ${view.state} to ${paint().bold(view.file)} (${formatBytes(view.sizeBytes)}).`)
      return view
    } finally {
      await store.close()
    }
  }
}

/** Refuse before the state is opened: the destination exists, or its folder does not. */
function checkTarget(given: string, target: string, force: boolean): void {
  const dir = path.dirname(target)
  const folder = fs.statSync(dir, { throwIfNoEntry: false })
  if (folder === undefined || !folder.isDirectory()) {
    throw new CronsError(
      'FLAG_INVALID',
      `${quote(given)}: folder ${dir} does not exist (expected an existing folder)`,
      { suggestions: [`create it with: mkdir -p ${dir}`] },
    )
  }
  const existing = fs.statSync(target, { throwIfNoEntry: false })
  if (existing?.isDirectory()) {
    throw new CronsError(
      'FLAG_INVALID',
      `${quote(given)} is a folder (expected a file name, such as ${path.join(given, 'crons.db')})`,
    )
  }
  if (existing !== undefined && !force) {
    throw new CronsError('FLAG_INVALID', `${quote(given)} already exists (expected a new file name)`, {
      suggestions: ['pass --force to replace it'],
    })
  }
}
