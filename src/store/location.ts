/**
 * Where the state lives, parsed from the `state` setting: a SQLite file, `:memory:`, or a PostgreSQL
 * database and schema. Every display of a location goes through `describeLocation`/`maskUrl`, so a
 * URL's password never reaches output, errors or logs.
 */
import { resolve as resolvePath } from 'node:path'

export type StateLocation =
  | { kind: 'file'; path: string }
  | { kind: 'memory' }
  /** `url` without the parameters crons reads itself: `schema`, `pool`, `connect_timeout_ms`, `query_timeout_ms`. */
  | {
      kind: 'postgres'
      url: string
      schema: string
      poolSize?: number
      connectTimeoutMs?: number
      queryTimeoutMs?: number
    }

export const DEFAULT_PG_SCHEMA = 'crons'

/** An unquoted Postgres identifier: schema names are spliced into SQL, so only these pass. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

const PG_SCHEMES = new Set(['postgres:', 'postgresql:'])
const EXPECTED_URL = 'expected postgres://user:password@host:5432/database'

/** A URL-like string with its password (the whole user info when it cannot be parsed) replaced by `***`. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password === '') return url
    parsed.password = '***'
    return parsed.toString()
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//***@')
  }
}

export function describeLocation(location: StateLocation): string {
  switch (location.kind) {
    case 'file':
      return location.path
    case 'memory':
      return ':memory:'
    case 'postgres': {
      const url = maskUrl(location.url)
      return location.schema === DEFAULT_PG_SCHEMA
        ? url
        : `${url}${url.includes('?') ? '&' : '?'}schema=${location.schema}`
    }
  }
}

/** A `state` value that is not a usable location; the message is one line without the password. */
export class StateLocationError extends Error {}

/** A relative path is resolved against `base`; a URL scheme other than postgres(ql):// is refused. */
export function parseStateLocation(value: string, base: string): StateLocation {
  if (value === ':memory:') return { kind: 'memory' }
  if (value === '') throw new StateLocationError('state file path is empty')
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]
  if (scheme === undefined) return { kind: 'file', path: resolvePath(base, value) }
  if (!PG_SCHEMES.has(`${scheme.toLowerCase()}:`)) {
    throw new StateLocationError(
      `${maskUrl(value)}: unsupported URL scheme "${scheme}://"; expected postgres:// or postgresql:// (or a file path)`,
    )
  }
  return parsePostgresUrl(value)
}

function parsePostgresUrl(value: string): StateLocation {
  const shown = maskUrl(value)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new StateLocationError(`${shown}: not a valid URL; ${EXPECTED_URL}`)
  }
  if (url.hostname === '' && !url.searchParams.has('host')) {
    throw new StateLocationError(`${shown}: no host; ${EXPECTED_URL}`)
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (database === '' || database.includes('/')) {
    throw new StateLocationError(`${shown}: no database name; ${EXPECTED_URL}`)
  }
  const schemas = url.searchParams.getAll('schema')
  if (schemas.length > 1) throw new StateLocationError(`${shown}: "schema" is given ${schemas.length} times`)
  const schema = schemas[0] ?? DEFAULT_PG_SCHEMA
  if (!SCHEMA_NAME.test(schema)) {
    throw new StateLocationError(
      `${shown}: schema ${JSON.stringify(schema)} is not a plain name; expected lower-case letters, digits and _ (at most 63)`,
    )
  }
  url.searchParams.delete('schema')
  const poolSize = wholeNumber(url, 'pool', 1, 100, shown)
  const connectTimeoutMs = timeoutMs(url, shown, 'connect_timeout_ms', 'connect_timeout', 1000)
  const queryTimeoutMs = timeoutMs(url, shown, 'query_timeout_ms', 'query_timeout', 1)
  return {
    kind: 'postgres',
    url: url.toString(),
    schema,
    ...(poolSize === undefined ? {} : { poolSize }),
    ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
    ...(queryTimeoutMs === undefined ? {} : { queryTimeoutMs }),
  }
}

/** At most 30 s: a claim may wait on a connection then a statement, and 60 s of waiting reads as a stuck loop. */
const MIN_TIMEOUT_MS = 100
const MAX_TIMEOUT_MS = 30_000

/**
 * A driver timeout in ms, taken out of the URL: crons' `name`, or `alias` as other tools read it in its
 * own unit (libpq's `connect_timeout` in seconds, node-postgres's `query_timeout` in ms).
 */
function timeoutMs(url: URL, shown: string, name: string, alias: string, aliasUnitMs: number): number | undefined {
  const own = wholeNumber(url, name, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, shown)
  const min = Math.ceil(MIN_TIMEOUT_MS / aliasUnitMs)
  const other = wholeNumber(url, alias, min, MAX_TIMEOUT_MS / aliasUnitMs, shown)
  if (own !== undefined && other !== undefined) {
    throw new StateLocationError(`${shown}: both ${name} and ${alias} are given; keep one`)
  }
  return own ?? (other === undefined ? undefined : other * aliasUnitMs)
}

/** The URL's parameter `name` as a whole number, taken out of the URL; undefined when absent. */
function wholeNumber(url: URL, name: string, min: number, max: number, shown: string): number | undefined {
  const values = url.searchParams.getAll(name)
  url.searchParams.delete(name)
  if (values.length === 0) return undefined
  if (values.length > 1) throw new StateLocationError(`${shown}: "${name}" is given ${values.length} times`)
  const value = values[0] as string
  const number = Number(value)
  if (value.trim() === '' || !Number.isInteger(number) || number < min || number > max) {
    throw new StateLocationError(
      `${shown}: ${name} ${JSON.stringify(value)} is not valid; expected a whole number from ${min} to ${max}`,
    )
  }
  return number
}
