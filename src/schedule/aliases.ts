/** The `@` aliases (`@daily`, `@hourly`, …) and the five fields they stand for. */
import { quote, suggestClosest } from '../errors.js'
import { invalid } from './field-grammar.js'

const ALIASES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
}

/** `parts` (the words of `expression`, at least one) with an alias replaced by its fields. */
export function expandAlias(parts: string[], expression: string): string[] {
  const first = parts[0] as string
  if (!first.startsWith('@')) return parts
  const alias = ALIASES[first.toLowerCase()]
  if (alias === undefined) {
    const names = Object.keys(ALIASES)
    throw invalid(
      `unknown alias ${quote(first)} in ${quote(expression)} (expected ${names.slice(0, -1).join(', ')} or ${names.at(-1)})`,
      suggestClosest(first, names),
    )
  }
  if (parts.length > 1) throw invalid(`alias ${quote(first)} must stand alone in ${quote(expression)}`)
  return alias.split(' ')
}
