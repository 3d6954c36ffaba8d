/**
 * What a job throws or returns, described for its record. Every function here is total: it never
 * throws, whatever the job handed over (throwing getters, revoked Proxies, null prototypes).
 */
import { fileURLToPath } from 'node:url'
import { format } from 'node:util'

const UNREADABLE_ERROR = '<unreadable error>'
const UNREADABLE_MESSAGE = '<unreadable message>'
const UNREADABLE_VALUE = '<unreadable value>'
const UNSERIALISABLE_RESULT = JSON.stringify('<unserialisable result>')

/** Message and stack of anything thrown, Error or not; what cannot be read is left out or said unreadable. */
export function describeError(error: unknown): { message: string; stack?: string } {
  try {
    return describe(error)
  } catch {
    return { message: UNREADABLE_ERROR }
  }
}

function describe(error: unknown): { message: string; stack?: string } {
  if (typeof error === 'string') return { message: error }
  if (!isError(error)) return { message: `non-Error thrown: ${inspectSafely(error) ?? UNREADABLE_VALUE}` }
  const message = readText(error, 'message')
  const name = readText(error, 'name')
  const stack = readText(error, 'stack')
  // A stack of one line (no frames, as the engine's own timeout errors have) says only the message.
  const withStack = (text: string) => (stack?.includes('\n') ? { message: text, stack } : { message: text })
  if (message !== undefined) return withStack(message || name || 'Error')
  // The message cannot be read (a throwing getter; V8's stack then cannot be read either).
  return name === undefined ? withStack(UNREADABLE_ERROR) : withStack(`${name || 'Error'}: ${UNREADABLE_MESSAGE}`)
}

/** `instanceof Error`, false where asking throws (a revoked Proxy, a throwing getPrototypeOf trap). */
function isError(value: unknown): value is Error {
  try {
    return value instanceof Error
  } catch {
    return false
  }
}

/** A property as text: '' when absent, undefined when it cannot be read or made text. */
function readText(target: object, key: 'message' | 'name' | 'stack'): string | undefined {
  let value: unknown
  try {
    value = (target as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
  if (typeof value === 'string') return value
  if (value === undefined || value === null) return ''
  if (typeof value !== 'object' && typeof value !== 'function') return String(value)
  return inspectSafely(value)
}

/** `util.format('%O')` of a value, or undefined if inspecting it throws (a custom inspect, a getter). */
function inspectSafely(value: unknown): string | undefined {
  try {
    return format('%O', value)
  } catch {
    // Not even `String(value)`: it calls the value's own toString.
    return undefined
  }
}

/** A ctx.log line; arguments whose inspection throws are replaced rather than fail the job's call. */
export function formatLog(args: unknown[]): string {
  try {
    return format(...args)
  } catch {
    return args.map((arg) => (typeof arg === 'string' ? arg : (inspectSafely(arg) ?? UNREADABLE_VALUE))).join(' ')
  }
}

/** JSON of a job's return value, bounded, for the run record. */
export function summarise(value: unknown): string | null {
  if (value === undefined) return null
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch {
    // Cyclic, a BigInt, a toJSON or getter that throws: what inspection shows, else a marker.
    const shown = inspectSafely(value)
    return shown === undefined ? UNSERIALISABLE_RESULT : JSON.stringify(shown.slice(0, 4096))
  }
  if (text === undefined) return null
  return text.length > 4096 ? `${text.slice(0, 4093)}...` : text
}

/** The engine's own folder (`dist/` or `src/`): its frames say nothing about the job. */
const ENGINE_DIR = fileURLToPath(new URL('..', import.meta.url))
const ENGINE_URL = new URL('..', import.meta.url).href

/** A job's error without the engine's (and node:async_hooks') frames: the stack ends at the job's code. */
export function withoutEngineFrames(error: { message: string; stack?: string }): { message: string; stack?: string } {
  if (error.stack === undefined) return error
  const lines = error.stack.split('\n')
  const kept = lines.filter(
    (line, i) =>
      i === 0 ||
      !/^\s+at /.test(line) ||
      !(line.includes(ENGINE_DIR) || line.includes(ENGINE_URL) || line.includes('node:async_hooks')),
  )
  return kept.length === lines.length ? error : { ...error, stack: kept.join('\n') }
}
