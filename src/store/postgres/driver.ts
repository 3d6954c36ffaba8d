// Loading the optional `pg` driver; its failures as one-line `CronsError`s naming host and database (no password).
import type pg from 'pg'
import { CronsError } from '../../errors.js'
import { describeLocation, type StateLocation } from '../location.js'
import type { Queryable } from './sql.js'

export type PostgresLocation = Extract<StateLocation, { kind: 'postgres' }>
export type PgModule = typeof pg

export async function loadDriver(location: PostgresLocation): Promise<PgModule> {
  try {
    const loaded = (await import('pg')) as unknown as { default?: PgModule } & PgModule
    return loaded.default ?? loaded
  } catch (error) {
    const missing = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND'
    throw new CronsError(
      'STATE_INVALID',
      missing
        ? `${describeLocation(location)}: a Postgres state needs the "pg" package, which is not installed; install it with: npm install pg`
        : `${describeLocation(location)}: the "pg" package failed to load: ${oneLine(String(error))}`,
      { cause: error },
    )
  }
}

/** What messages about this location name; the password only to be scrubbed from driver text. */
export type PgTarget = ReturnType<typeof targetOf>

export function targetOf(location: PostgresLocation) {
  const url = new URL(location.url)
  return {
    host: url.hostname || (url.searchParams.get('host') ?? 'localhost'),
    port: url.port || '5432',
    database: decodeURIComponent(url.pathname.replace(/^\//, '')),
    user: decodeURIComponent(url.username) || process.env.PGUSER || 'the default user',
    schema: location.schema,
    password: decodeURIComponent(url.password),
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}

function scrub(text: string, target: PgTarget): string {
  const line = oneLine(text)
  return target.password.length >= 3 ? line.split(target.password).join('***') : line
}

/** Socket errors of a server that cannot be reached. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'])
/** A connection that was open and broke: the server went away, or the network between. */
const BROKEN_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])
const BROKEN_TEXT = /Connection terminated|connection error and is not queryable|Query read timeout|socket hang up/i

/** A driver or server failure as one line: where, what, and what to do. */
export function fromPgError(error: unknown, target: PgTarget, doing?: string): CronsError {
  if (error instanceof CronsError) return error
  const where = `postgres ${target.host}:${target.port} database "${target.database}"`
  const { code, message } = error as { code?: string; message?: string }
  const text = scrub(message ?? String(error), target)
  const fail = (what: string, suggestion?: string, kind: 'STATE_INVALID' | 'STATE_UNREACHABLE' = 'STATE_INVALID') =>
    new CronsError(kind, `${where}: ${what}`, {
      cause: error,
      ...(suggestion === undefined ? {} : { suggestions: [suggestion] }),
    })
  // Their own code: a running scheduler waits them out and retries.
  const unreachable = (what: string, suggestion: string) => fail(what, suggestion, 'STATE_UNREACHABLE')
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return unreachable(
      `cannot connect (${code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'unknown host' : text})`,
      'Check the host and port in the URL, and that PostgreSQL is running and reachable from here',
    )
  }
  if (/timeout expired|Connection terminated due to connection timeout/i.test(text)) {
    return unreachable('cannot connect (timed out)', 'Check the host and port in the URL, and any firewall in between')
  }
  if ((code !== undefined && (BROKEN_CODES.has(code) || code.startsWith('08'))) || BROKEN_TEXT.test(text)) {
    return unreachable(`the connection was lost (${text})`, 'Check that PostgreSQL is running and reachable from here')
  }
  switch (code) {
    case '28P01':
    case '28000':
      return fail(
        `authentication failed for user "${target.user}"`,
        'Check the user and password in the URL (special characters in a password must be percent-encoded)',
      )
    case '3D000':
      return fail(
        'the database does not exist',
        `Create it (createdb ${target.database}) or fix the database name in the URL`,
      )
    case '42501':
      return fail(
        `user "${target.user}" has no permission ${doing ?? 'for this'} (${text})`,
        `Grant it, or have an owner run \`crons state migrate\` once to create schema "${target.schema}"`,
      )
    case '57P01':
    case '57P02':
    case '57P03':
      return unreachable(`the server is shutting down or starting up (${text})`, 'Try again in a moment')
    case '53300':
      return fail(`too many connections (${text})`, 'Lower the pool size or raise max_connections on the server')
  }
  return fail(doing === undefined ? text : `${doing}: ${text}${code === undefined ? '' : ` (SQLSTATE ${code})`}`)
}

/**
 * A statement parameter as Postgres takes it: text cannot hold U+0000 (the server refuses the whole statement), so a
 * NUL in a string, or in a string of an array, becomes U+FFFD. JSON kept as text escapes it (`\u0000`) and is kept.
 */
export function bindable(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value
  return Array.isArray(value) ? value.map(bindable) : value
}

export interface CheckedOut {
  /** Every statement of this store goes through here: its parameters `bindable`. */
  client: Queryable
  /** Why it was lost while checked out: the server's own reason, which the failing statement's error lacks. */
  readonly lost: unknown
  /** Gives the connection back, or drops it when broken. */
  release(destroy?: boolean): void
}

/**
 * The pool, handing out only connections opened since the last time one was lost or a statement went unanswered:
 * the network that did it may have forgotten the others' flows too (docs/engine.md: "Connections distrusted after a
 * loss").
 */
export class Connections {
  readonly pool: pg.Pool
  #losses = 0
  /** Each connection with the number of losses seen when it opened. */
  readonly #openedAfter = new WeakMap<pg.ClientBase, number>()

  constructor(pool: pg.Pool) {
    this.pool = pool
    pool.on('connect', (client) => this.#openedAfter.set(client, this.#losses))
  }

  /** A connection was lost or a statement unanswered: every connection open now is dropped instead of used. */
  lost(): void {
    this.#losses++
  }

  /** A connection out of the pool; its `error` event, which the pool no longer handles, is kept in `lost`, not thrown. */
  async checkOut(): Promise<CheckedOut> {
    let client = await this.pool.connect()
    while (this.#openedAfter.get(client) !== this.#losses) {
      client.release(true)
      client = await this.pool.connect()
    }
    let lost: unknown
    const onError = (error: unknown) => {
      lost ??= error
    }
    client.on('error', onError)
    return {
      client: { query: (text, values) => client.query(text, values?.map(bindable)) },
      get lost() {
        return lost
      },
      release: (destroy = false) => {
        client.off('error', onError)
        client.release(destroy || lost !== undefined)
      },
    }
  }
}
