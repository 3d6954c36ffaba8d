/**
 * Numbered schema migrations for the SQLite state file. `MIGRATIONS[i]` takes a file from schema
 * version `i` to `i + 1`; the version lives in `PRAGMA user_version` (in the file header, so it is
 * readable without knowing any table) and `PRAGMA application_id` marks the file as ours, so we never
 * mistake someone else's database for an empty crons file.
 *
 * Rules: never edit a released migration, only append. Each migration must be plain SQL that runs
 * inside a transaction (no `VACUUM`, no `journal_mode`).
 */
import type Database from 'better-sqlite3'

export interface Migration {
  /** What the step does, for `crons` maintainers reading a version history. */
  readonly description: string
  readonly sql: string
}

/** "cron" in ASCII; stored in the SQLite header so tools like `file(1)` and we can recognise the file. */
export const APPLICATION_ID = 0x63726f6e

export const MIGRATIONS: readonly Migration[] = [
  {
    description: 'initial schema: jobs, runs, instances, slot_claims',
    sql: `
      CREATE TABLE jobs (
        name        TEXT PRIMARY KEY NOT NULL,
        last_slot   INTEGER,
        paused      INTEGER NOT NULL DEFAULT 0,
        created_at  INTEGER NOT NULL,
        seen_at     INTEGER NOT NULL
      );

      CREATE TABLE runs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        job           TEXT NOT NULL,
        slot          INTEGER NOT NULL,
        "trigger"     TEXT NOT NULL CHECK ("trigger" IN ('schedule', 'catch-up', 'manual')),
        attempt       INTEGER NOT NULL,
        status        TEXT NOT NULL
                      CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'interrupted', 'skipped', 'missed')),
        started_at    INTEGER NOT NULL,
        finished_at   INTEGER,
        duration_ms   INTEGER,
        error_message TEXT,
        error_stack   TEXT,
        result        TEXT,
        output        TEXT,
        detail        TEXT,
        instance_id   TEXT NOT NULL,
        active        INTEGER NOT NULL DEFAULT 0
      );
      -- "last 50 runs of a job" (also with a status filter: one job's history is bounded by keepRuns),
      -- lastRuns(), keepRuns pruning. Every index costs each claim a b-tree insert, so only these.
      CREATE INDEX runs_job_id ON runs (job, id);
      -- "last 50 failures" across jobs
      CREATE INDEX runs_status_id ON runs (status, id);
      -- --since filters, countByStatus, keepDays pruning
      CREATE INDEX runs_started_at ON runs (started_at);
      -- overlap checks and reaping touch only the handful of active rows
      CREATE INDEX runs_active_job ON runs (job) WHERE active = 1;

      CREATE TABLE instances (
        id            TEXT PRIMARY KEY NOT NULL,
        host          TEXT NOT NULL,
        pid           INTEGER NOT NULL,
        started_at    INTEGER NOT NULL,
        heartbeat_at  INTEGER NOT NULL,
        stopped_at    INTEGER
      );

      -- The exactly-once guard: a slot is served by whoever inserts its row first.
      CREATE TABLE slot_claims (
        job   TEXT NOT NULL,
        slot  INTEGER NOT NULL,
        PRIMARY KEY (job, slot)
      ) WITHOUT ROWID;
    `,
  },
]

/** The schema version this build writes and understands. */
export const SCHEMA_VERSION = MIGRATIONS.length

/** What the header says about a database before we touch it. */
export interface SchemaProbe {
  applicationId: number
  version: number
  /** User tables and views (not `sqlite_*`), to tell an empty file from someone else's database. */
  tables: string[]
}

export function probeSchema(db: Database.Database): SchemaProbe {
  const applicationId = db.pragma('application_id', { simple: true }) as number
  const version = db.pragma('user_version', { simple: true }) as number
  const tables = db
    .prepare(
      "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .pluck()
    .all() as string[]
  return { applicationId, version, tables }
}

/** A file is ours to initialise only if it is marked as ours or is completely empty. */
export function isOurs(probe: SchemaProbe): boolean {
  if (probe.applicationId === APPLICATION_ID) return true
  return probe.applicationId === 0 && probe.version === 0 && probe.tables.length === 0
}

/**
 * Bring the file up to `SCHEMA_VERSION` in ONE immediate transaction. The version is re-read inside
 * the transaction because another process may have migrated the file between our probe and our
 * lock; the callback then returns without changes. Also serves as the open-time write probe: an
 * immediate transaction fails fast on a read-only or locked file, before the scheduler starts.
 *
 * Returns the probe taken under the lock; the caller refuses the file if it is not ours.
 */
export function migrate(db: Database.Database): SchemaProbe {
  const step = db.transaction((): SchemaProbe => {
    const probe = probeSchema(db)
    if (!isOurs(probe) || probe.version >= SCHEMA_VERSION) return probe
    for (let version = probe.version; version < SCHEMA_VERSION; version++) {
      db.exec((MIGRATIONS[version] as Migration).sql)
    }
    // PRAGMA values cannot be bound parameters; both are integers we control.
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma(`user_version = ${SCHEMA_VERSION}`)
    return { ...probe, applicationId: APPLICATION_ID, version: SCHEMA_VERSION }
  })
  return step.immediate()
}
