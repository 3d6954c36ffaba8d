/**
 * Per-thread CPU time from /proc (Linux only): tells the main thread's work from V8's background
 * threads (GC, compiler) and libuv's pool when process.cpuUsage() says a process is busy.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_MS = 100 / 1000

/** { [thread name]: cpu ms } for this process, or null off Linux. */
export function threadCpu() {
  try {
    const out = {}
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const name = stat.slice(stat.indexOf('(') + 1, close)
      const fields = stat.slice(close + 2).split(' ')
      const ms = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_MS
      const key = tid === String(process.pid) ? 'main' : name
      out[key] = (out[key] ?? 0) + ms
    }
    return out
  } catch {
    return null
  }
}

/** Thread CPU used between two threadCpu() readings, busiest first, ms. */
export function threadCpuDelta(before, after) {
  if (!before || !after) return null
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)])
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1]),
  )
}
