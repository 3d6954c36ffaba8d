import { BaseCommand } from '../../cli/base.js'
import type { MigrateResult } from '../../store/index.js'

export default class StateMigrate extends BaseCommand {
  static override summary = 'Create the state or bring its schema up to this version of crons, and nothing else.'
  static override description = `Schedulers create and migrate the state themselves when they start; run this instead to
migrate before deploying (one transaction; safe while other schedulers run), or to check that the
database URL, user and permissions work. An older crons refuses a schema a newer one migrated.
The inspecting commands (status, logs, list-jobs) never migrate: they read a state an older crons left
once this (or a scheduler) has migrated it; state backup copies it as it is, before.
Only the state is needed: with --state (or CRONS_STATE) and no config file, the state given is used.`

  static override examples = [
    { description: 'Migrate the state the config names', command: '<%= config.bin %> state migrate' },
    {
      description: 'Migrate a Postgres schema before a deploy',
      command: '<%= config.bin %> state migrate --state "postgres://crons@db:5432/app?schema=crons"',
    },
  ]

  async run(): Promise<MigrateResult> {
    const { flags } = await this.parse(StateMigrate)
    const config = await this.configOrStateAlone(flags)
    const { migrateState } = await import('../../store/index.js')
    const result = await migrateState(config.state)
    this.out(migrateMessage(result))
    return result
  }
}

function migrateMessage({ location, schema, from, to }: MigrateResult): string {
  const what = schema === null ? location : `${location} schema "${schema}"`
  if (from === 0) return `${what}: created at schema version ${to}`
  if (from === to) return `${what}: already at schema version ${to}, nothing to do`
  return `${what}: migrated from schema version ${from} to ${to}`
}
