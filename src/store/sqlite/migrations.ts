/**
 * Numbered schema migrations: `MIGRATIONS[i]` takes a file from version `i` to `i + 1` (`PRAGMA
 * user_version`); `PRAGMA application_id` marks the file as ours. Never edit a released migration, only
 * append; each is plain SQL that runs inside a transaction (no `VACUUM`, no `journal_mode`).
 */
import type Database from 'better-sqlite3'

export interface Migration {
  readonly description: string
  readonly sql: string
}

/** "cron" in ASCII, in the SQLite header. */
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
  {
    description:
      'time-ordered history: runs chained per job (prev_id, jobs.last_run_id) without a job-leading index, ' +
      'slot_claims keyed (slot, job), CHECKs as OR chains, runs_status_id partial',
    // SQLite's table rebuild (new table, copy, drop, rename, indexes); why: docs/storage.md, "Schema".
    sql: `
      ALTER TABLE jobs ADD COLUMN last_run_id INTEGER;
      -- Runs started by beginRun alone never created a jobs row; every chain needs one.
      WITH RECURSIVE names(job) AS (
        SELECT (SELECT min(job) FROM runs)
        UNION ALL
        SELECT (SELECT min(job) FROM runs WHERE job > names.job) FROM names WHERE names.job IS NOT NULL
      )
      INSERT INTO jobs (name, last_slot, paused, created_at, seen_at)
      SELECT job, NULL, 0, (SELECT min(started_at) FROM runs WHERE runs.job = names.job),
        (SELECT max(started_at) FROM runs WHERE runs.job = names.job)
      FROM names WHERE job IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.name = names.job);
      UPDATE jobs SET last_run_id = (SELECT max(id) FROM runs WHERE runs.job = jobs.name);

      CREATE TABLE runs_v2 (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        job           TEXT NOT NULL,
        slot          INTEGER NOT NULL,
        "trigger"     TEXT NOT NULL CHECK ("trigger" = 'schedule' OR "trigger" = 'catch-up' OR "trigger" = 'manual'),
        attempt       INTEGER NOT NULL,
        status        TEXT NOT NULL CHECK (status = 'running' OR status = 'succeeded' OR status = 'failed'
                        OR status = 'timed_out' OR status = 'interrupted' OR status = 'skipped' OR status = 'missed'),
        started_at    INTEGER NOT NULL,
        finished_at   INTEGER,
        duration_ms   INTEGER,
        error_message TEXT,
        error_stack   TEXT,
        result        TEXT,
        output        TEXT,
        detail        TEXT,
        instance_id   TEXT NOT NULL,
        active        INTEGER NOT NULL DEFAULT 0,
        -- The job's previous run (NULL for its first): "last N runs of a job" walks this chain from
        -- jobs.last_run_id instead of an index on (job, id).
        prev_id       INTEGER
      );
      -- Ids are never reused (a prev_id must not come to name another job's run), so the new table
      -- starts from the old sequence, which is above max(id) when the newest runs were deleted. The
      -- copy below raises it only if an id is higher; DROP TABLE removes the old entry.
      INSERT INTO sqlite_sequence (name, seq) SELECT 'runs_v2', seq FROM sqlite_sequence WHERE name = 'runs';
      INSERT INTO runs_v2 (id, job, slot, "trigger", attempt, status, started_at, finished_at, duration_ms,
        error_message, error_stack, result, output, detail, instance_id, active, prev_id)
      SELECT id, job, slot, "trigger", attempt, status, started_at, finished_at, duration_ms,
        error_message, error_stack, result, output, detail, instance_id, active,
        (SELECT max(p.id) FROM runs p WHERE p.job = r.job AND p.id < r.id)
      FROM runs r ORDER BY id;
      DROP TABLE runs;
      ALTER TABLE runs_v2 RENAME TO runs;
      -- --since filters, countByStatus, keepDays pruning
      CREATE INDEX runs_started_at ON runs (started_at);
      -- overlap checks, reaping and "running" filters touch only the handful of active rows
      CREATE INDEX runs_active_job ON runs (job) WHERE active = 1;
      -- "last 50 failures" across jobs; partial so that recording a success moves no entry
      CREATE INDEX runs_status_id ON runs (status, id) WHERE status NOT IN ('running', 'succeeded');

      -- The exactly-once guard, keyed in time order: one second's claims share a few leaf pages.
      CREATE TABLE slot_claims_v2 (
        slot  INTEGER NOT NULL,
        job   TEXT NOT NULL,
        PRIMARY KEY (slot, job)
      ) WITHOUT ROWID;
      INSERT INTO slot_claims_v2 (slot, job) SELECT slot, job FROM slot_claims ORDER BY slot, job;
      DROP TABLE slot_claims;
      ALTER TABLE slot_claims_v2 RENAME TO slot_claims;
    `,
  },
  {
    description: "instances.role: 'scheduler' (serves slots) or 'runner' (manual runs only)",
    // Rows written before this version cannot be told apart; they count as schedulers, as they did.
    sql: `
      ALTER TABLE instances ADD COLUMN role TEXT NOT NULL DEFAULT 'scheduler'
        CHECK (role = 'scheduler' OR role = 'runner');
    `,
  },
  {
    description:
      'instances.process_start (a dead process on this host is seen at once), instances.reaped_at (fencing), ' +
      'runs.retry_at (a retry waiting out its backoff survives a crash)',
    sql: `
      ALTER TABLE instances ADD COLUMN process_start INTEGER;
      ALTER TABLE instances ADD COLUMN reaped_at INTEGER;
      -- A failed attempt whose retry waits out its backoff: when the retry is due (durable retries).
      ALTER TABLE runs ADD COLUMN retry_at INTEGER;
      CREATE INDEX runs_retry_at ON runs (retry_at) WHERE retry_at IS NOT NULL;
    `,
  },
  {
    description:
      "runs.status 'cancelled', jobs.paused_at (since when a job is paused), " +
      'instances.config_hash and instances.clock_offset_ms (facts a live instance reports)',
    // A CHECK cannot change in place: runs is rebuilt as in version 2, keeping ids, sequence and links.
    sql: `
      ALTER TABLE jobs ADD COLUMN paused_at INTEGER;
      ALTER TABLE instances ADD COLUMN config_hash TEXT;
      ALTER TABLE instances ADD COLUMN clock_offset_ms INTEGER;

      CREATE TABLE runs_v5 (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        job           TEXT NOT NULL,
        slot          INTEGER NOT NULL,
        "trigger"     TEXT NOT NULL CHECK ("trigger" = 'schedule' OR "trigger" = 'catch-up' OR "trigger" = 'manual'),
        attempt       INTEGER NOT NULL,
        status        TEXT NOT NULL CHECK (status = 'running' OR status = 'succeeded' OR status = 'failed'
                        OR status = 'timed_out' OR status = 'interrupted' OR status = 'cancelled'
                        OR status = 'skipped' OR status = 'missed'),
        started_at    INTEGER NOT NULL,
        finished_at   INTEGER,
        duration_ms   INTEGER,
        error_message TEXT,
        error_stack   TEXT,
        result        TEXT,
        output        TEXT,
        detail        TEXT,
        instance_id   TEXT NOT NULL,
        active        INTEGER NOT NULL DEFAULT 0,
        -- The job's previous run (NULL for its first): see version 2.
        prev_id       INTEGER,
        -- A failed attempt whose retry waits out its backoff: when the retry is due (durable retries).
        retry_at      INTEGER
      );
      -- Ids are never reused (a prev_id must not come to name another job's run): carry the sequence.
      INSERT INTO sqlite_sequence (name, seq) SELECT 'runs_v5', seq FROM sqlite_sequence WHERE name = 'runs';
      INSERT INTO runs_v5 (id, job, slot, "trigger", attempt, status, started_at, finished_at, duration_ms,
        error_message, error_stack, result, output, detail, instance_id, active, prev_id, retry_at)
      SELECT id, job, slot, "trigger", attempt, status, started_at, finished_at, duration_ms,
        error_message, error_stack, result, output, detail, instance_id, active, prev_id, retry_at
      FROM runs ORDER BY id;
      DROP TABLE runs;
      ALTER TABLE runs_v5 RENAME TO runs;
      -- The indexes of versions 2 and 4, as they were.
      CREATE INDEX runs_started_at ON runs (started_at);
      CREATE INDEX runs_active_job ON runs (job) WHERE active = 1;
      CREATE INDEX runs_status_id ON runs (status, id) WHERE status NOT IN ('running', 'succeeded');
      CREATE INDEX runs_retry_at ON runs (retry_at) WHERE retry_at IS NOT NULL;
    `,
  },
  {
    description: 'runs.cancel_request: another process asked the owner of a running attempt to cancel it',
    sql: `
      -- The message the owner aborts the attempt with; it acts on it at its next heartbeat.
      ALTER TABLE runs ADD COLUMN cancel_request TEXT;
    `,
  },
]

export const SCHEMA_VERSION = MIGRATIONS.length

export interface SchemaProbe {
  applicationId: number
  version: number
  /** User tables and views (not `sqlite_*`): an empty file or someone else's database. */
  tables: string[]
}

export function probeSchema(db: Database.Database): SchemaProbe {
  // One read transaction: read one by one, they could straddle another process's migration.
  const read = db.transaction((): SchemaProbe => {
    const applicationId = db.pragma('application_id', { simple: true }) as number
    const version = db.pragma('user_version', { simple: true }) as number
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
      )
      .pluck()
      .all() as string[]
    return { applicationId, version, tables }
  })
  return read.deferred()
}

/** A file is ours to initialise only if it is marked as ours or is completely empty. */
export function isOurs(probe: SchemaProbe): boolean {
  if (probe.applicationId === APPLICATION_ID) return true
  return probe.applicationId === 0 && probe.version === 0 && probe.tables.length === 0
}

/**
 * Bring the file up to `SCHEMA_VERSION` in one immediate transaction (which also fails fast on a
 * read-only or locked file), re-reading the version under the lock: another process may have migrated
 * it meanwhile. Returns the probe taken under the lock, as migrated, with the version it found; the caller
 * refuses the file if it is not ours.
 */
export function migrate(db: Database.Database): SchemaProbe & { foundVersion: number } {
  const step = db.transaction((): SchemaProbe & { foundVersion: number } => {
    const probe = probeSchema(db)
    if (!isOurs(probe) || probe.version >= SCHEMA_VERSION) return { ...probe, foundVersion: probe.version }
    for (let version = probe.version; version < SCHEMA_VERSION; version++) {
      db.exec((MIGRATIONS[version] as Migration).sql)
    }
    // PRAGMA values cannot be bound parameters; both are integers we control.
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma(`user_version = ${SCHEMA_VERSION}`)
    return { ...probe, applicationId: APPLICATION_ID, version: SCHEMA_VERSION, foundVersion: probe.version }
  })
  return step.immediate()
}
