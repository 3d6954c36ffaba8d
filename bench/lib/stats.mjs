/**
 * Small statistics and formatting helpers shared by the scenarios and the runner.
 */

/** The q-quantile (0..1) of a numeric array, nearest-rank on a sorted copy. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]
}

export function median(values) {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export function max(values) {
  let m = Number.NEGATIVE_INFINITY
  for (const v of values) if (v > m) m = v
  return values.length === 0 ? Number.NaN : m
}

/** CPU time (user + system) in milliseconds since `since` (a process.cpuUsage() value). */
export function cpuMs(since) {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1000
}

/** Collect garbage until the heap stops shrinking (needs --expose-gc). */
export function settleHeap() {
  if (typeof globalThis.gc !== 'function') return process.memoryUsage().heapUsed
  let last = Number.POSITIVE_INFINITY
  for (let i = 0; i < 10; i++) {
    globalThis.gc()
    const used = process.memoryUsage().heapUsed
    if (used >= last * 0.999) return used
    last = used
  }
  return last
}

export const MB = 1024 * 1024

/** Format a number with sensible precision for a table cell. */
export function fmt(value, unit = '') {
  if (value === null || value === undefined || Number.isNaN(value)) return '-'
  const abs = Math.abs(value)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  return `${value.toFixed(digits)}${unit}`
}

/** crons' figure divided by the peer's, formatted as `0.42×`. */
export function ratio(ours, theirs) {
  if (!Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return '-'
  const r = ours / theirs
  return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`
}

/** A plain-text table (also valid GitHub markdown). */
export function markdownTable(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)))
  const widths = header.map((_, i) => Math.max(3, ...all.map((r) => r[i].length)))
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
  return [line(all[0]), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...all.slice(1).map(line)].join('\n')
}
