/**
 * The soak's invariants, read from the database once every process has stopped. Each check gives
 * pass/fail and the figures behind it; `text` is what the soak prints.
 */
import { SOAK_JOBS } from './jobs.mjs'

/** Slots this close to a server outage may be lost: nobody could reach the database to record them. */
const OUTAGE_MARGIN_MS = 2000
/** Slots this close to the start or the end of the window are not required (processes starting, stopping). */
const EDGE_MS = 3000
/** A slot claimed later than this after its instant, while a process was stalled, is late. */
const LATE_MS = 2000
/** The server ends a transaction left idle this long (the store's idle_in_transaction_session_timeout), plus 1 s. */
const FROZEN_TX_END_MS = 6000

export async function checkInvariants({ query, from, to, faults, downWindows, reapWithinMs, problems }) {
  const rows = await query(
    `SELECT id, job, slot, "trigger", attempt, status, started_at, finished_at, detail, instance_id, error_message, retry_at
     FROM runs ORDER BY id`,
  )
  for (const row of rows) {
    for (const key of ['id', 'slot', 'attempt', 'started_at', 'finished_at', 'retry_at']) {
      if (row[key] !== null) row[key] = Number(row[key])
    }
  }
  const instances = await query('SELECT id, pid, reaped_at, stopped_at FROM instances')
  const checks = []
  const check = (name, ok, detail) => checks.push({ name, ok, detail })

  // 1. Served at most once: one first attempt per (job, slot), and no slot both run and inside a
  //    missed record (or inside two).
  const served = new Map()
  const serve = (job, slot, by) => {
    const key = `${job} ${slot}`
    const list = served.get(key) ?? []
    list.push(by)
    served.set(key, list)
  }
  const period = new Map(SOAK_JOBS.map((job) => [job.name, job.periodMs]))
  let missedRecords = 0
  let missedSlots = 0
  for (const row of rows) {
    if (row.trigger === 'manual' || row.attempt !== 1) continue
    if (row.status === 'missed') {
      missedRecords++
      const { first, last } = JSON.parse(row.detail)
      for (let slot = first; slot <= last; slot += period.get(row.job)) {
        serve(row.job, slot, row.id)
        missedSlots++
      }
    } else serve(row.job, row.slot, row.id)
  }
  const twice = [...served].filter(([, by]) => by.length > 1)
  check(
    'each (job, slot) served at most once',
    twice.length === 0,
    `${served.size} slots served (${missedSlots} of them in ${missedRecords} missed records); ` +
      `${twice.length} served twice${twice.length ? `: ${sample(twice.map(([key, by]) => `${key} by runs ${by}`))}` : ''}`,
  )

  // 2. Not lost: every slot of every job in the window has a row, unless the server was down then.
  const lost = []
  const lostInOutage = []
  const inOutage = (slot) =>
    downWindows.some((w) => slot >= w.from - OUTAGE_MARGIN_MS && slot <= w.to + OUTAGE_MARGIN_MS)
  let expected = 0
  for (const job of SOAK_JOBS) {
    const first = Math.ceil((from + EDGE_MS) / job.periodMs) * job.periodMs
    for (let slot = first; slot <= to - EDGE_MS; slot += job.periodMs) {
      expected++
      if (served.has(`${job.name} ${slot}`)) continue
      ;(inOutage(slot) ? lostInOutage : lost).push(`${job.name} ${new Date(slot).toISOString()}`)
    }
  }
  check(
    'no slot lost while a process was up and the server reachable',
    lost.length === 0,
    `${expected} slots due in the window; ${lost.length} lost${lost.length ? `: ${sample(lost)}` : ''}` +
      (lostInOutage.length ? `; ${lostInOutage.length} not recorded while the server was down` : ''),
  )

  // 3. Nothing left running.
  const running = rows.filter((row) => row.status === 'running')
  check(
    'no run left running',
    running.length === 0,
    running.length === 0 ? `${rows.length} rows, none running` : `running: ${sample(running.map((r) => r.id))}`,
  )

  // 4. A killed process's attempts: interrupted by a peer within the limit of the kill.
  const kills = faults.filter((f) => f.kind === 'kill')
  const killDetails = []
  let killsOk = true
  for (const kill of kills) {
    // Its instance at the kill (one reaped earlier, after a stall, is not this kill's).
    const mine = instances.filter(
      (i) => Number(i.pid) === kill.pid && (i.reaped_at === null || Number(i.reaped_at) >= kill.at),
    )
    const ids = new Set(mine.map((i) => i.id))
    const reapedAt = mine.map((i) => (i.reaped_at === null ? null : Number(i.reaped_at)))
    // What it left unfinished: interrupted by the peer that reaped it (their end is the owner's last
    // heartbeat, before the kill), or still running.
    const runs = rows.filter((row) => ids.has(row.instance_id))
    const interrupted = runs.filter((row) => row.status === 'interrupted')
    const notInterrupted = runs.filter((row) => row.status === 'running')
    const after = reapedAt.every((r) => r !== null) ? Math.max(...reapedAt) - kill.at : null
    const ok = after !== null && after <= reapWithinMs && notInterrupted.length === 0
    if (!ok) killsOk = false
    killDetails.push(
      `${kill.worker} pid ${kill.pid}: ${interrupted.length} attempt(s) interrupted, ` +
        (after === null ? 'never reaped' : `reaped ${after} ms after the kill`) +
        (notInterrupted.length ? `; not interrupted: ${sample(notInterrupted.map((r) => `${r.id} ${r.status}`))}` : ''),
    )
  }
  check(
    `every attempt of a killed process interrupted by a peer within ${reapWithinMs / 1000} s`,
    killsOk && kills.length > 0,
    kills.length === 0 ? 'no kill happened (run longer)' : killDetails.join('; '),
  )

  // 5. A stalled process, once reaped, changes nothing.
  const stalls = faults.filter((f) => f.kind === 'stall' || f.kind === 'freeze')
  const stallDetails = []
  let stallsOk = true
  for (const stall of stalls) {
    if (stall.reapedAt === undefined) {
      stallsOk = false
      stallDetails.push(`${stall.worker}: never reaped while stalled`)
      continue
    }
    const before = new Map(stall.snapshot.map((row) => [Number(row.id), row]))
    const ids = new Set(stall.instances)
    const changed = []
    const added = []
    for (const row of rows) {
      if (!ids.has(row.instance_id)) continue
      const was = before.get(row.id)
      if (was === undefined) added.push(row.id)
      else if (
        was.status !== row.status ||
        num(was.finished_at) !== row.finished_at ||
        was.error_message !== row.error_message ||
        num(was.retry_at) !== row.retry_at
      ) {
        changed.push(`${row.id} ${was.status}→${row.status}`)
      }
    }
    const interrupted = stall.snapshot.filter((row) => row.status === 'interrupted').length
    if (changed.length || added.length) stallsOk = false
    stallDetails.push(
      `${stall.worker}${stall.kind === 'freeze' ? ' (frozen in a claim)' : ''}: reaped ${stall.reapedAt - stall.at} ms after SIGSTOP, ${interrupted} attempt(s) interrupted; ` +
        `after SIGCONT ${changed.length} changed, ${added.length} added` +
        (changed.length ? ` (${sample(changed)})` : '') +
        (added.length ? ` (runs ${sample(added)})` : ''),
    )
  }
  check(
    'no outcome written by a stalled process after it was reaped',
    stallsOk && stalls.length > 0,
    stalls.length === 0 ? 'no stall happened (run longer)' : stallDetails.join('; '),
  )

  // 5b. While a process is stalled, its peers serve on time: a slot due once the server has ended a
  //     transaction the stalled process left open, and before it woke, is claimed within LATE_MS.
  const lateDetails = []
  for (const stall of stalls.filter((s) => s.reapedAt !== undefined)) {
    const due = rows.filter(
      (row) =>
        row.attempt === 1 &&
        row.trigger === 'schedule' &&
        row.slot >= stall.at + FROZEN_TX_END_MS &&
        row.slot <= stall.resumedAt,
    )
    const late = due.filter((row) => row.status === 'missed' || row.started_at - row.slot > LATE_MS)
    const worst = Math.max(0, ...due.map((row) => row.started_at - row.slot))
    lateDetails.push(`${stall.worker}: ${due.length} slots, ${late.length} late, worst ${worst} ms`)
    stall.lateSlots = late.length
  }
  check(
    `peers kept serving while a process was stalled (slots claimed within ${LATE_MS / 1000} s)`,
    stalls.every((s) => s.lateSlots === 0),
    stalls.length === 0 ? 'no stall happened (run longer)' : lateDetails.join('; '),
  )

  // 6. Retries: each attempt once, none beyond retry.max, every failed attempt with retries left retried.
  const retrying = new Map(SOAK_JOBS.filter((job) => job.retries).map((job) => [job.name, job.retries]))
  const chains = new Map()
  for (const row of rows) {
    // A retry the overlap guard skipped (the job was running again by then) is a skipped row of
    // attempt 2 or more: the run's last word. A skipped first attempt is a slot's, not a run's.
    if (!retrying.has(row.job) || row.status === 'missed' || (row.status === 'skipped' && row.attempt === 1)) continue
    const key = `${row.job} ${row.slot} ${row.trigger}`
    const chain = chains.get(key) ?? []
    chain.push(row)
    chains.set(key, chain)
  }
  const retryProblems = []
  const endings = {}
  let retried = 0
  for (const [key, chain] of chains) {
    const max = retrying.get(chain[0].job)
    const attempts = chain.map((row) => row.attempt)
    if (new Set(attempts).size !== attempts.length) retryProblems.push(`${key}: attempt begun twice (${attempts})`)
    if (Math.max(...attempts) > max + 1) retryProblems.push(`${key}: ${Math.max(...attempts)} attempts, max ${max + 1}`)
    retried += chain.length - 1
    const last = chain.reduce((a, b) => (b.attempt > a.attempt ? b : a))
    if ((last.status === 'failed' || last.status === 'timed_out') && last.attempt <= max) {
      const all = rows.filter((row) => `${row.job} ${row.slot} ${row.trigger}` === key)
      const history = all.map(
        (row) =>
          `#${row.id} a${row.attempt} ${row.status} ${row.instance_id} ${(row.error_message ?? row.detail ?? '').slice(0, 90)}`,
      )
      retryProblems.push(`${key}: attempt ${last.attempt} ${last.status}, never retried [${history.join(' | ')}]`)
    }
    const ending = `${chain[0].job} ${last.status} at attempt ${last.attempt}`
    endings[ending] = (endings[ending] ?? 0) + 1
  }
  check(
    'retries counted: each begun once, none beyond retry.max, none lost',
    retryProblems.length === 0,
    `${chains.size} runs with retries, ${retried} retries; ended: ${Object.entries(endings)
      .sort()
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ')}${retryProblems.length ? `; problems: ${sample(retryProblems)}` : ''}`,
  )

  check(
    'every process stayed up unless killed, and stopped cleanly',
    problems.length === 0,
    problems.length === 0 ? 'yes' : sample(problems, 10),
  )

  const statuses = {}
  for (const row of rows) statuses[row.status] = (statuses[row.status] ?? 0) + 1
  const ok = checks.every((c) => c.ok)
  const lines = [
    '',
    `soak: ${Math.round((to - from) / 1000)} s, ${faults.length} faults (${kills.length} kill -9, ` +
      `${stalls.length} SIGSTOP of which ${faults.filter((f) => f.kind === 'freeze').length} in a claim transaction, ` +
      `${faults.filter((f) => f.kind === 'server-restart').length} server restarts)`,
    `rows by status: ${Object.entries(statuses)
      .sort()
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')}`,
    '',
    ...checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}\n      ${c.detail}`),
    '',
    ok ? 'soak: every invariant held' : 'soak: INVARIANTS FAILED',
    '',
  ]
  return { ok, checks, statuses, faults: faults.map(({ snapshot, ...f }) => f), text: lines.join('\n') }
}

function num(value) {
  return value === null ? null : Number(value)
}

function sample(list, n = 5) {
  return list.length <= n ? list.join(', ') : `${list.slice(0, n).join(', ')} … (${list.length})`
}
