// The Postgres schema's migrations (docs/storage.md: "Migrations"): `MIGRATIONS[i]` takes version `i` to `i + 1`.
// Never edit a released migration, only append. `S` in the SQL is the quoted schema name.
import { CronsError } from '../../errors.js'
import { type CheckedOut, type Connections, fromPgError, type PgTarget } from './driver.js'
import type { Queryable } from './sql.js'

export interface Migration {
  readonly description: string
  readonly sql: (S: string) => string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    description: 'initial schema: jobs, runs (with pending retries), instances (with fencing), slot_claims',
    sql: (S) => `
      CREATE TABLE ${S}.jobs (
        name        text PRIMARY KEY,
        last_slot   bigint,
        paused      boolean NOT NULL DEFAULT false,
        created_at  bigint NOT NULL,
        seen_at     bigint NOT NULL
      );

      -- Ids come from runs_id_seq, taken under a transaction lock held until commit (see sql.ts),
      -- so that they are commit-ordered: a cursor over ids never skips a row committed late.
      CREATE SEQUENCE ${S}.runs_id_seq;
      CREATE TABLE ${S}.runs (
        id            bigint PRIMARY KEY,
        job           text NOT NULL,
        slot          bigint NOT NULL,
        "trigger"     text NOT NULL CHECK ("trigger" IN ('schedule', 'catch-up', 'manual')),
        attempt       integer NOT NULL,
        status        text NOT NULL
                      CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'interrupted', 'skipped', 'missed')),
        started_at    bigint NOT NULL,
        finished_at   bigint,
        duration_ms   bigint,
        error_message text,
        error_stack   text,
        result        text,
        output        text,
        detail        text,
        instance_id   text NOT NULL,
        active        boolean NOT NULL DEFAULT false,
        -- A failed attempt whose retry waits out its backoff: when the retry is due (durable retries).
        retry_at      bigint
      );
      ALTER SEQUENCE ${S}.runs_id_seq OWNED BY ${S}.runs.id;
      -- "last 50 runs of a job", lastRuns(), keepRuns pruning
      CREATE INDEX runs_job_id ON ${S}.runs (job, id);
      -- "last 50 failures" across jobs
      CREATE INDEX runs_status_id ON ${S}.runs (status, id) WHERE status NOT IN ('running', 'succeeded');
      -- --since filters, countByStatus, keepDays pruning
      CREATE INDEX runs_started_at ON ${S}.runs (started_at);
      -- overlap checks and reaping touch only the handful of active rows
      CREATE INDEX runs_active_job ON ${S}.runs (job, id) WHERE active;
      CREATE INDEX runs_retry_at ON ${S}.runs (retry_at) WHERE retry_at IS NOT NULL;

      CREATE TABLE ${S}.instances (
        id            text PRIMARY KEY,
        role          text NOT NULL CHECK (role IN ('scheduler', 'runner')),
        host          text NOT NULL,
        pid           integer NOT NULL,
        started_at    bigint NOT NULL,
        heartbeat_at  bigint NOT NULL,
        stopped_at    bigint,
        -- When the process started, as its OS reports it: a peer on the same host can tell it is gone.
        process_start bigint,
        -- Set when a peer found the instance dead and took its runs: its later writes are refused.
        reaped_at     bigint
      );

      -- The exactly-once guard: a slot is served by whoever inserts its row first.
      CREATE TABLE ${S}.slot_claims (
        slot  bigint NOT NULL,
        job   text NOT NULL,
        PRIMARY KEY (slot, job)
      );
    `,
  },
  {
    description:
      "runs.status 'cancelled', jobs.paused_at (since when a job is paused), " +
      'instances.config_hash and instances.clock_offset_ms (facts a live instance reports)',
    // The status CHECK was declared on the column, so Postgres named it runs_status_check. Jobs paused
    // before this version keep paused_at NULL: when they were paused is not known.
    sql: (S) => `
      ALTER TABLE ${S}.runs DROP CONSTRAINT runs_status_check;
      ALTER TABLE ${S}.runs ADD CONSTRAINT runs_status_check
        CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'interrupted', 'cancelled', 'skipped', 'missed'));
      ALTER TABLE ${S}.jobs ADD COLUMN paused_at bigint;
      ALTER TABLE ${S}.instances ADD COLUMN config_hash text, ADD COLUMN clock_offset_ms bigint;
    `,
  },
  {
    description: 'runs.cancel_request: another process asked the owner of a running attempt to cancel it',
    sql: (S) => `
      -- The message the owner aborts the attempt with; it acts on it at its next heartbeat.
      ALTER TABLE ${S}.runs ADD COLUMN cancel_request text;
    `,
  },
]

export const PG_SCHEMA_VERSION = MIGRATIONS.length

/** The version a schema is at: 0 when it has no `schema_migrations` table (nothing created yet). */
export async function schemaVersion(db: Queryable, schema: string): Promise<number> {
  const { rows } = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    `"${schema}".schema_migrations`,
  ])
  if (!rows[0]?.present) return 0
  const version = await db.query<{ v: number | null }>(`SELECT max(version) AS v FROM "${schema}".schema_migrations`)
  return version.rows[0]?.v ?? 0
}

/** An older crons must not write a schema a newer one has changed. */
export function refuseNewer(version: number, target: PgTarget, describe: string): void {
  if (version > PG_SCHEMA_VERSION) {
    throw new CronsError(
      'STATE_VERSION',
      `${describe}: schema "${target.schema}" is at version ${version}, newer than this crons understands (${PG_SCHEMA_VERSION}); upgrade crons on this host`,
    )
  }
}

// In one transaction under a transaction-scoped lock (PgBouncer-safe); returns the version found (0: created now).
export async function migrate(connections: Connections, target: PgTarget, describe: string): Promise<number> {
  const S = `"${target.schema}"`
  let step = 'to read the schema version'
  let held: CheckedOut | undefined
  try {
    held = await connections.checkOut()
    const { client } = held
    const before = await schemaVersion(client, target.schema)
    refuseNewer(before, target, describe)
    if (before === PG_SCHEMA_VERSION) return before
    await client.query('BEGIN')
    try {
      step = 'to take the migration lock'
      await client.query("SELECT pg_advisory_xact_lock(hashtext('crons migrate'), hashtext($1))", [target.schema])
      step = `to create schema "${target.schema}"`
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${S}`)
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${S}.schema_migrations (
           version     integer PRIMARY KEY,
           description text NOT NULL,
           applied_at  timestamptz NOT NULL DEFAULT now()
         )`,
      )
      // Another host may have migrated between our read and the lock.
      const current = await schemaVersion(client, target.schema)
      refuseNewer(current, target, describe)
      for (let version = current; version < PG_SCHEMA_VERSION; version++) {
        const migration = MIGRATIONS[version] as Migration
        step = `to apply migration ${version + 1} (${migration.description})`
        await client.query(migration.sql(S))
        await client.query(`INSERT INTO ${S}.schema_migrations (version, description) VALUES ($1, $2)`, [
          version + 1,
          migration.description,
        ])
      }
      await client.query('COMMIT')
      return current
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    }
  } catch (error) {
    throw fromPgError(error, target, step)
  } finally {
    held?.release()
  }
}
