// Whether a process on this host is still the one that registered an instance: its pid exists and
// (where /proc says) it started when the instance said, so a reused pid does not keep it alive.
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import type { InstanceRecord } from '../store/types.js'

/** Clock ticks per second of /proc's times: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100

let bootTimeMs: number | null | undefined

function bootTime(): number | null {
  if (bootTimeMs !== undefined) return bootTimeMs
  try {
    const btime = /^btime (.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))
    bootTimeMs = btime ? Number(btime[1]) * 1000 : null
  } catch {
    bootTimeMs = null
  }
  return bootTimeMs
}

/** When process `pid` started (epoch ms, 10-ms resolution), or null where the OS does not say. */
export function processStartOf(pid: number): number | null {
  const boot = bootTime()
  if (boot === null) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[19])
    return Number.isFinite(ticks) ? boot + (ticks * 1000) / CLOCK_TICKS : null
  } catch {
    return null
  }
}

/** Whether the process that registered `instance` is gone: false for another host's, or for this process. */
export function processGoneHere(instance: Pick<InstanceRecord, 'host' | 'pid' | 'processStart'>): boolean {
  const { pid, processStart } = instance
  if (instance.host !== hostname() || pid === process.pid) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
  if (processStart === null) return false
  const now = processStartOf(pid)
  return now !== null && now !== processStart
}
