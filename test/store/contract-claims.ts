/** Contract: serving slots, attempts and their outcomes, reaping dead instances. */
import { describe, expect, it } from 'vitest'
import { type ContractContext, claim, MIN, T0 } from './contract-kit.js'

export function claimContract(ctx: ContractContext): void {
  const { started, run } = ctx

  describe('claimSlots', () => {
    it('starts a run for a new slot and reports later claims of it as taken', async () => {
      const id = await started('a', T0, 'A', T0 + 5)
      expect(await run(id)).toEqual({
        id,
        job: 'a',
        slot: T0,
        trigger: 'schedule',
        attempt: 1,
        status: 'running',
        startedAt: T0 + 5,
        finishedAt: null,
        durationMs: null,
        errorMessage: null,
        errorStack: null,
        result: null,
        output: null,
        detail: null,
        instanceId: 'A',
        active: true,
      })
      expect(await ctx.store.claimSlots([claim('a', T0)], 'A', T0 + 6)).toEqual([{ kind: 'taken' }])
      expect(await ctx.store.claimSlots([claim('a', T0, { overlap: 'allow' })], 'B', T0 + 7)).toEqual([
        { kind: 'taken' },
      ])
      expect(await ctx.store.listRuns({})).toHaveLength(1)
    })

    it('keeps order, creates unknown jobs and only ever raises lastSlot', async () => {
      const outcomes = await ctx.store.claimSlots(
        [
          claim('x', T0 + 2 * MIN),
          claim('y', T0),
          claim('x', T0 + 2 * MIN),
          claim('x', T0 + MIN, { overlap: 'allow' }),
        ],
        'A',
        T0,
      )
      expect(outcomes.map((o) => o.kind)).toEqual(['started', 'started', 'taken', 'started'])
      const jobs = await ctx.store.listJobs()
      expect(jobs.map((j) => [j.name, j.lastSlot])).toEqual([
        ['x', T0 + 2 * MIN],
        ['y', T0],
      ])
      expect(await ctx.store.claimSlots([], 'A', T0)).toEqual([])
    })

    it('records a paused stretch as ONE skipped record that grows with each slot, then a new one after a run', async () => {
      await ctx.store.syncJobs(['a'], T0)
      await ctx.store.setPaused('a', true, T0)
      const [outcome] = await ctx.store.claimSlots([claim('a', T0)], 'A', T0)
      expect(outcome).toMatchObject({ kind: 'paused' })
      const id = (outcome as { runId: number }).runId
      expect(await run(id)).toMatchObject({
        status: 'skipped',
        detail: JSON.stringify({ paused: true, count: 1, first: T0, last: T0 }),
        active: false,
        startedAt: T0,
        finishedAt: T0,
      })
      const [second, third] = await ctx.store.claimSlots([claim('a', T0 + MIN), claim('a', T0 + 2 * MIN)], 'A', T0)
      expect([second, third]).toEqual([
        { kind: 'paused', runId: id },
        { kind: 'paused', runId: id },
      ])
      expect(JSON.parse((await run(id)).detail ?? '')).toEqual({
        paused: true,
        count: 3,
        first: T0,
        last: T0 + 2 * MIN,
      })
      expect((await ctx.store.listJobs())[0]?.lastSlot).toBe(T0 + 2 * MIN)
      expect(await ctx.store.activeRuns()).toEqual([])
      // Resumed, a run; paused again: a new stretch.
      await ctx.store.setPaused('a', false, T0 + 3 * MIN)
      await ctx.store.claimSlots([claim('a', T0 + 3 * MIN)], 'A', T0 + 3 * MIN)
      await ctx.store.setPaused('a', true, T0 + 3 * MIN)
      const [again] = await ctx.store.claimSlots([claim('a', T0 + 4 * MIN)], 'A', T0 + 4 * MIN)
      expect(again).toMatchObject({ kind: 'paused' })
      expect((again as { runId: number }).runId).not.toBe(id)
    })

    it('skips a slot while the job runs on another instance (overlap skip)', async () => {
      const holder = await started('a', T0, 'A', T0)
      const [outcome] = await ctx.store.claimSlots([claim('a', T0 + MIN)], 'B', T0 + MIN)
      const since = new Date(T0).toISOString()
      expect(outcome).toEqual({
        kind: 'skipped',
        runId: expect.any(Number),
        reason: `still running: run ${holder} on instance A since ${since}`,
      })
      const record = await run((outcome as { runId: number }).runId)
      expect(record).toMatchObject({ status: 'skipped', instanceId: 'B', active: false, slot: T0 + MIN })
      expect(record.detail).toContain(`run ${holder} on instance A`)
      expect((await ctx.store.listJobs())[0]?.lastSlot).toBe(T0 + MIN)
    })

    it('runs concurrently with overlap allow', async () => {
      await started('a', T0)
      const [outcome] = await ctx.store.claimSlots([claim('a', T0 + MIN, { overlap: 'allow' })], 'B', T0 + MIN)
      expect(outcome?.kind).toBe('started')
      expect(await ctx.store.activeRuns()).toHaveLength(2)
    })

    it('lets later claims in one batch see earlier ones', async () => {
      const skip = await ctx.store.claimSlots([claim('a', T0), claim('a', T0 + MIN)], 'A', T0 + MIN)
      expect(skip.map((o) => o.kind)).toEqual(['started', 'skipped'])
      const allow = await ctx.store.claimSlots(
        [claim('b', T0, { overlap: 'allow' }), claim('b', T0 + MIN, { overlap: 'allow' })],
        'A',
        T0 + MIN,
      )
      expect(allow.map((o) => o.kind)).toEqual(['started', 'started'])
    })

    it('records missed slots as one missed row with count, first and last', async () => {
      const missed = { count: 3, first: T0, last: T0 + 2 * MIN }
      const [outcome] = await ctx.store.claimSlots(
        [claim('a', T0 + 2 * MIN, { record: 'missed', missed })],
        'A',
        T0 + 10 * MIN,
      )
      expect(outcome).toMatchObject({ kind: 'missed' })
      const record = await run((outcome as { runId: number }).runId)
      expect(record).toMatchObject({
        status: 'missed',
        slot: T0 + 2 * MIN,
        trigger: 'schedule',
        startedAt: T0 + 10 * MIN,
        finishedAt: T0 + 10 * MIN,
        active: false,
      })
      expect(JSON.parse(record.detail ?? 'null')).toEqual(missed)
      expect((await ctx.store.listJobs())[0]?.lastSlot).toBe(T0 + 2 * MIN)
      expect(await ctx.store.claimSlots([claim('a', T0 + 2 * MIN)], 'A', T0 + 10 * MIN)).toEqual([{ kind: 'taken' }])
    })

    it('starts a catch-up run carrying the missed slots', async () => {
      const missed = { count: 5, first: T0, last: T0 + 4 * MIN }
      const [outcome] = await ctx.store.claimSlots(
        [claim('a', T0 + 4 * MIN, { trigger: 'catch-up', missed })],
        'A',
        T0 + 10 * MIN,
      )
      const record = await run((outcome as { runId: number }).runId)
      expect(record).toMatchObject({ status: 'running', trigger: 'catch-up', active: true })
      expect(JSON.parse(record.detail ?? 'null')).toEqual(missed)
      // Its outcome keeps the missed slots it carries.
      await ctx.store.finishRun(record.id, { status: 'succeeded', finishedAt: T0 + 11 * MIN, codeDone: true })
      expect(JSON.parse((await run(record.id)).detail ?? 'null')).toEqual(missed)
    })

    it("starts each run at its claim's startAt (its instant when claimed ahead), else at the batch's now", async () => {
      const outcomes = await ctx.store.claimSlots(
        [claim('a', T0 + MIN, { startAt: T0 + MIN }), claim('b', T0, { startAt: T0 + 7 }), claim('c', T0)],
        'A',
        T0 + 9,
      )
      const ids = outcomes.map((o) => (o as { runId: number }).runId)
      const started = await Promise.all(ids.map(async (id) => (await run(id)).startedAt))
      expect(started).toEqual([T0 + MIN, T0 + 7, T0 + 9])
      // A slot skipped ahead of its instant is recorded at that instant.
      const [skipped] = await ctx.store.claimSlots([claim('a', T0 + 2 * MIN, { startAt: T0 + 2 * MIN })], 'A', T0 + 10)
      expect(skipped?.kind).toBe('skipped')
      expect(await run((skipped as { runId: number }).runId)).toMatchObject({
        startedAt: T0 + 2 * MIN,
        finishedAt: T0 + 2 * MIN,
      })
    })

    it('records a run claimed ahead as missed when its instant was found too late, with its own detail', async () => {
      const id = await started('a', T0, 'A', T0 - 100)
      const detail = JSON.stringify({ count: 1, first: T0, last: T0 })
      await ctx.store.finishRun(id, { status: 'missed', finishedAt: T0 + 10 * MIN, detail, codeDone: true })
      expect(await run(id)).toMatchObject({ status: 'missed', detail, active: false, finishedAt: T0 + 10 * MIN })
      expect(await ctx.store.activeRuns()).toEqual([])
    })
  })

  describe('beginRun, finishRun, releaseRun', () => {
    const manual = { job: 'a', slot: T0, trigger: 'manual' as const, attempt: 1, overlap: 'skip' as const }

    it('a begin refused by a run claimed ahead of its instant says it is about to run, and when', async () => {
      const [ahead] = await ctx.store.claimSlots([claim('a', T0 + MIN, { startAt: T0 + MIN })], 'A', T0 + MIN - 200)
      const held = (ahead as { runId: number }).runId
      const retry = { job: 'a', slot: T0, trigger: 'schedule' as const, attempt: 2, overlap: 'skip' as const }
      const outcome = await ctx.store.beginRun({ ...retry, whenBusy: 'record' }, 'B', T0 + MIN - 100)
      const at = new Date(T0 + MIN).toISOString()
      expect((outcome as { reason: string }).reason).toBe(`about to run: run ${held} on instance A starts at ${at}`)
    })

    it('a refused begin with whenBusy record leaves a skipped attempt naming the holder, in the same write', async () => {
      const held = await started('a', T0, 'A', T0)
      const retry = { job: 'a', slot: T0 - MIN, trigger: 'schedule' as const, attempt: 2, overlap: 'skip' as const }
      const outcome = await ctx.store.beginRun({ ...retry, whenBusy: 'record' }, 'B', T0 + 5)
      expect(outcome).toMatchObject({ kind: 'skipped', holder: { runId: held, instanceId: 'A' } })
      const { runId, reason } = outcome as { runId: number; reason: string }
      expect(reason).toBe(`still running: run ${held} on instance A since ${new Date(T0).toISOString()}`)
      expect(await run(runId)).toMatchObject({
        job: 'a',
        attempt: 2,
        status: 'skipped',
        detail: reason,
        startedAt: T0 + 5,
        finishedAt: T0 + 5,
        active: false,
        instanceId: 'B',
      })
      // Without it, nothing is written.
      const before = (await ctx.store.listRuns({ job: 'a' })).length
      expect((await ctx.store.beginRun(retry, 'B', T0 + 6)).kind).toBe('busy')
      expect(await ctx.store.listRuns({ job: 'a' })).toHaveLength(before)
    })

    it('starts an attempt outside the slot table', async () => {
      const outcome = await ctx.store.beginRun({ ...manual, attempt: 2, detail: 'retry' }, 'A', T0 + 1)
      expect(outcome.kind).toBe('started')
      const record = await run((outcome as { runId: number }).runId)
      expect(record).toMatchObject({ job: 'a', trigger: 'manual', attempt: 2, detail: 'retry', active: true })
      // Manual runs do not claim the slot: the scheduler may still serve it.
      expect((await ctx.store.claimSlots([claim('a', T0, { overlap: 'allow' })], 'A', T0))[0]?.kind).toBe('started')
    })

    it('refuses with the holder when the job runs anywhere, unless overlap allow', async () => {
      const holder = await started('a', T0, 'B', T0 + 3)
      expect(await ctx.store.beginRun(manual, 'A', T0 + MIN)).toEqual({
        kind: 'busy',
        holder: { runId: holder, instanceId: 'B', host: 'host-b', pid: 202, startedAt: T0 + 3 },
      })
      expect((await ctx.store.beginRun({ ...manual, overlap: 'allow' }, 'A', T0 + MIN)).kind).toBe('started')
    })

    it('records the outcome and keeps a timed-out run active until it settles', async () => {
      const id = await started('a', T0, 'A', T0 + 1_000)
      await ctx.store.finishRun(id, {
        status: 'timed_out',
        finishedAt: T0 + 31_000,
        errorMessage: 'timed out after 30s',
        errorStack: 'stack',
        output: '[]',
        codeDone: false,
      })
      expect(await run(id)).toMatchObject({
        status: 'timed_out',
        finishedAt: T0 + 31_000,
        durationMs: 30_000,
        errorMessage: 'timed out after 30s',
        errorStack: 'stack',
        result: null,
        output: '[]',
        active: true,
      })
      expect((await ctx.store.beginRun(manual, 'B', T0 + 40_000)).kind).toBe('busy')
      expect((await ctx.store.activeRuns()).map((r) => r.id)).toEqual([id])
      await ctx.store.releaseRun(id)
      expect(await run(id)).toMatchObject({ status: 'timed_out', active: false })
      expect((await ctx.store.beginRun(manual, 'B', T0 + 50_000)).kind).toBe('started')
    })

    it('records a cancelled run, final and listed as such, holding its job until its code settles', async () => {
      const id = await started('a', T0, 'A', T0)
      await ctx.store.finishRun(id, {
        status: 'cancelled',
        finishedAt: T0 + 4_000,
        errorMessage: 'cancelled',
        codeDone: false,
      })
      expect(await run(id)).toMatchObject({ status: 'cancelled', durationMs: 4_000, active: true })
      expect((await ctx.store.beginRun(manual, 'B', T0 + 5_000)).kind).toBe('busy')
      await ctx.store.releaseRun(id)
      expect(await run(id)).toMatchObject({ status: 'cancelled', active: false })
      expect((await ctx.store.listRuns({ status: 'cancelled' })).map((r) => r.id)).toEqual([id])
      expect(await ctx.store.countByStatus(0)).toEqual({ cancelled: 1 })
      expect((await ctx.store.lastRuns()).get('a')).toMatchObject({ id, status: 'cancelled' })
      expect(await ctx.store.orphanedRetries()).toEqual([])
    })

    it('cancelRetry takes a pending retry once and records it as a finished cancelled attempt', async () => {
      const failed = await started('a', T0, 'A', T0)
      const outcome = { status: 'failed' as const, finishedAt: T0 + 10, errorMessage: 'boom', codeDone: true }
      await ctx.store.finishRun(failed, { ...outcome, retryAt: T0 + MIN })
      const cancelled = await ctx.store.cancelRetry(failed, 'cancelled: enough', T0 + 20)
      expect(cancelled).toEqual({
        id: expect.any(Number),
        job: 'a',
        slot: T0,
        trigger: 'schedule',
        attempt: 2,
        status: 'cancelled',
        startedAt: T0 + 20,
        finishedAt: T0 + 20,
        durationMs: 0,
        errorMessage: 'cancelled: enough',
        errorStack: null,
        result: null,
        output: null,
        detail: null,
        instanceId: 'A',
        active: false,
      })
      expect(await run(cancelled?.id ?? 0)).toEqual(cancelled)
      expect(await ctx.store.cancelRetry(failed, 'again', T0 + 30)).toBeUndefined()
      expect(await ctx.store.orphanedRetries()).toEqual([])
      const retry = { job: 'a', slot: T0, trigger: 'schedule' as const, attempt: 2, overlap: 'allow' as const }
      expect(await ctx.store.beginRun({ ...retry, retryOf: failed }, 'A', T0 + MIN)).toEqual({ kind: 'taken' })
      expect((await ctx.store.lastRuns()).get('a')).toMatchObject({ id: cancelled?.id, status: 'cancelled' })
      expect(await ctx.store.activeRuns()).toEqual([])
    })

    it('cancelRetry records nothing when no retry is pending or it was begun', async () => {
      const ended = await started('a', T0, 'A', T0)
      await ctx.store.finishRun(ended, { status: 'failed', finishedAt: T0 + 10, errorMessage: 'boom', codeDone: true })
      const running = await started('b', T0, 'A', T0)
      const begunFrom = await started('c', T0, 'A', T0)
      const outcome = { status: 'failed' as const, finishedAt: T0 + 10, codeDone: true, retryAt: T0 + MIN }
      await ctx.store.finishRun(begunFrom, outcome)
      const retry = { job: 'c', slot: T0, trigger: 'schedule' as const, attempt: 2, overlap: 'allow' as const }
      expect((await ctx.store.beginRun({ ...retry, retryOf: begunFrom }, 'A', T0 + MIN)).kind).toBe('started')
      for (const id of [ended, running, begunFrom, 9_999]) {
        expect(await ctx.store.cancelRetry(id, 'cancelled by request', T0 + 2 * MIN)).toBeUndefined()
      }
      expect(await ctx.store.listRuns({ status: 'cancelled' })).toEqual([])
      expect(await ctx.store.listRuns({})).toHaveLength(4)
    })

    it('records outcomes handed over in the same turn, in call order, and reads see them before they resolve', async () => {
      const timedOut = await started('a', T0, 'A', T0)
      const succeeded = await started('b', T0, 'A', T0)
      const failed = await started('c', T0, 'A', T0)
      // Not awaited one by one: the runs of one due second finish together.
      const written = [
        ctx.store.finishRun(timedOut, { status: 'timed_out', finishedAt: T0 + 30_000, codeDone: false }),
        ctx.store.finishRun(succeeded, { status: 'succeeded', finishedAt: T0 + 10, result: '1', codeDone: true }),
        ctx.store.releaseRun(timedOut),
        ctx.store.finishRun(failed, { status: 'failed', finishedAt: T0 + 20, errorMessage: 'boom', codeDone: true }),
      ]
      // A read issued before those promises settle already sees every outcome handed over.
      expect(await ctx.store.activeRuns()).toEqual([])
      expect(await run(succeeded)).toMatchObject({ status: 'succeeded', result: '1', durationMs: 10 })
      await Promise.all(written)
      expect(await run(timedOut)).toMatchObject({ status: 'timed_out', durationMs: 30_000, active: false })
      expect(await run(failed)).toMatchObject({ status: 'failed', errorMessage: 'boom', active: false })
      expect(await ctx.store.countByStatus(0)).toEqual({ timed_out: 1, succeeded: 1, failed: 1 })
    })

    it('lets a later outcome of the same run replace an earlier one of the same turn', async () => {
      const id = await started('a', T0, 'A', T0)
      const first = ctx.store.finishRun(id, { status: 'failed', finishedAt: T0 + 5, errorMessage: 'x', codeDone: true })
      const second = ctx.store.finishRun(id, {
        status: 'failed',
        finishedAt: T0 + 5,
        errorMessage: 'x',
        output: '[{"text":"afterRun hook failed"}]',
        codeDone: true,
      })
      await Promise.all([first, second])
      expect(await run(id)).toMatchObject({ output: '[{"text":"afterRun hook failed"}]', active: false })
    })

    it('records text holding a NUL byte: kept in JSON, as is or as U+FFFD (Postgres text cannot hold it) elsewhere', async () => {
      const nul = (text: string) => [text, text.replaceAll('\0', '\uFFFD')]
      const begun = await ctx.store.beginRun({ ...manual, job: 'b\0c', detail: 'retry\0' }, 'A', T0)
      const cancelled = (begun as { runId: number }).runId
      await ctx.store.requestCancel(cancelled, 'cancelled: x\0y')
      const [request] = (await ctx.store.heartbeat('A', T0 + 1)).cancelRequests
      expect(nul('cancelled: x\0y')).toContain(request?.message)
      expect(nul('b\0c')).toContain((await run(cancelled)).job)

      const id = await started('a', T0, 'A', T0)
      const output = JSON.stringify([{ text: 'a\0b' }])
      const result = JSON.stringify({ v: '\0' })
      // Handed over with another run's outcome in the same turn: that one is recorded too.
      await Promise.all([
        ctx.store.finishRun(id, {
          status: 'failed',
          finishedAt: T0 + 5,
          errorMessage: 'command exited with code 1: bad\0byte',
          errorStack: 'Error: x\0y\n    at job',
          result,
          output,
          detail: 'd\0',
          codeDone: true,
        }),
        ctx.store.finishRun(cancelled, { status: 'cancelled', finishedAt: T0 + 5, codeDone: true }),
      ])
      const record = await run(id)
      expect(record).toMatchObject({ status: 'failed', active: false, result, output })
      expect(nul('command exited with code 1: bad\0byte')).toContain(record.errorMessage)
      expect(nul('Error: x\0y\n    at job')).toContain(record.errorStack)
      expect(nul('d\0')).toContain(record.detail)
      expect(await run(cancelled)).toMatchObject({ status: 'cancelled', active: false })
      expect(await ctx.store.activeRuns()).toEqual([])
    })

    it('records success with result', async () => {
      const id = await started('a', T0, 'A', T0)
      await ctx.store.finishRun(id, { status: 'succeeded', finishedAt: T0 + 250, result: '{"n":1}', codeDone: true })
      expect(await run(id)).toMatchObject({ status: 'succeeded', durationMs: 250, result: '{"n":1}', active: false })
      expect(await ctx.store.getRun(id + 1000)).toBeUndefined()
    })
  })

  describe('heartbeat', () => {
    it('renews the lease and says, in the same call, what the instance must act on', async () => {
      const quiet = await ctx.store.heartbeat('A', T0 + 1_000)
      expect(quiet).toEqual({
        held: true,
        cancelRequests: [],
        peers: [expect.objectContaining({ id: 'B', host: 'host-b', pid: 202, heartbeatAt: T0 })],
        orphanedRuns: false,
        orphanedRetries: [],
      })
      expect((await ctx.store.listInstances()).find((i) => i.id === 'A')?.heartbeatAt).toBe(T0 + 1_000)

      // Cancel requests for A's running runs, oldest first; none for B's.
      const first = await started('a', T0, 'A', T0)
      const second = await started('b', T0, 'A', T0)
      const others = await started('c', T0, 'B', T0)
      await ctx.store.requestCancel(second, 'cancelled: second')
      await ctx.store.requestCancel(first, 'cancelled: first')
      await ctx.store.requestCancel(others, 'cancelled: others')
      expect((await ctx.store.heartbeat('A', T0 + 2_000)).cancelRequests).toEqual([
        { runId: first, message: 'cancelled: first' },
        { runId: second, message: 'cancelled: second' },
      ])

      // B stops with a running run and a retry waiting: A learns both are orphaned.
      const failed = await started('d', T0, 'B', T0)
      await ctx.store.finishRun(failed, { status: 'failed', finishedAt: T0 + 10, retryAt: T0 + 60_000, codeDone: true })
      await ctx.store.stopInstance('B', T0 + 3_000)
      const after = await ctx.store.heartbeat('A', T0 + 4_000)
      expect(after.peers).toEqual([])
      expect(after.orphanedRuns).toBe(true)
      expect(after.orphanedRetries).toEqual([
        { runId: failed, job: 'd', slot: T0, trigger: 'schedule', attempt: 1, retryAt: T0 + 60_000 },
      ])
      await ctx.store.reapDeadInstances(T0 + 5_000, 30_000)
      expect((await ctx.store.heartbeat('A', T0 + 6_000)).orphanedRuns).toBe(false)
    })

    it('tells a reaped instance it lost its lease, and renews nothing', async () => {
      await ctx.store.reapDeadInstances(T0 + 100_000, 30_000, ['A'])
      const beat = await ctx.store.heartbeat('A', T0 + 101_000)
      expect(beat.held).toBe(false)
      expect((await ctx.store.listInstances()).find((i) => i.id === 'A')).toMatchObject({
        heartbeatAt: T0,
        reapedAt: T0 + 100_000,
      })
    })
  })

  describe('reapDeadInstances', () => {
    it('interrupts running runs of instances whose heartbeat expired, stopped or unknown', async () => {
      const ttl = 30_000
      const deadRun = await started('a', T0, 'A', T0)
      const timedOut = await started('b', T0, 'A', T0)
      await ctx.store.finishRun(timedOut, { status: 'timed_out', finishedAt: T0 + 10_000, codeDone: false })
      const liveRun = await started('c', T0, 'B', T0)
      const ghostRun = (
        await ctx.store.beginRun({ job: 'd', slot: T0, trigger: 'manual', attempt: 1, overlap: 'skip' }, 'ghost', T0)
      ).kind
      expect(ghostRun).toBe('started')
      await ctx.store.registerInstance({ id: 'C', role: 'scheduler', host: 'host-c', pid: 3, now: T0 })
      const stoppedRun = await started('e', T0, 'C', T0)
      await ctx.store.stopInstance('C', T0 + 20_000)

      await ctx.store.heartbeat('A', T0 + 15_000)
      await ctx.store.heartbeat('B', T0 + 95_000)
      const now = T0 + 100_000
      const reaped = await ctx.store.reapDeadInstances(now, ttl)

      // 'b' had its outcome (a timeout whose code never settled): only its guard is released.
      expect(reaped.interrupted.map((r) => r.job).sort()).toEqual(['a', 'd', 'e'])
      expect(reaped.released.map((r) => r.job)).toEqual(['b'])
      const byJob = new Map([...reaped.interrupted, ...reaped.released].map((r) => [r.job, r]))
      expect(byJob.get('a')).toMatchObject({
        id: deadRun,
        status: 'interrupted',
        active: false,
        finishedAt: T0 + 15_000,
        durationMs: 15_000,
        errorMessage: 'interrupted: instance A stopped heartbeating',
      })
      expect(byJob.get('b')).toMatchObject({ status: 'timed_out', active: false, finishedAt: T0 + 10_000 })
      expect(byJob.get('d')).toMatchObject({ status: 'interrupted', active: false })
      expect(byJob.get('d')?.errorMessage).toContain('ghost')
      expect(byJob.get('e')).toMatchObject({ id: stoppedRun, status: 'interrupted', finishedAt: T0 + 20_000 })
      expect(await run(liveRun)).toMatchObject({ status: 'running', active: true })
      expect(await ctx.store.reapDeadInstances(now, ttl)).toEqual({ interrupted: [], released: [] })
      expect((await ctx.store.activeRuns()).map((r) => r.id)).toEqual([liveRun])
    })

    it('sees an outcome handed over before it, even one not yet awaited', async () => {
      const finished = await started('a', T0, 'A', T0)
      const unfinished = await started('b', T0, 'A', T0)
      const written = ctx.store.finishRun(finished, { status: 'succeeded', finishedAt: T0 + 1_000, codeDone: true })
      const reaped = await ctx.store.reapDeadInstances(T0 + 100_000, 30_000)
      expect(reaped.interrupted.map((r) => r.id)).toEqual([unfinished])
      expect(reaped.released).toEqual([])
      await written
      expect(await run(finished)).toMatchObject({ status: 'succeeded', active: false, errorMessage: null })
    })

    it('a clean stop releases the guard of its runs whose code never settled; the reaper then has nothing to do', async () => {
      const timedOut = await started('a', T0, 'A', T0)
      await ctx.store.finishRun(timedOut, { status: 'timed_out', finishedAt: T0 + 5_000, codeDone: false })
      const interrupted = await started('b', T0, 'A', T0)
      await ctx.store.finishRun(interrupted, {
        status: 'interrupted',
        finishedAt: T0 + 6_000,
        errorMessage: 'interrupted: the scheduler shut down before the job finished',
        codeDone: false,
      })
      const stillRunning = await started('c', T0, 'A', T0)
      const otherInstance = await started('d', T0, 'B', T0)
      await ctx.store.finishRun(otherInstance, { status: 'timed_out', finishedAt: T0 + 5_000, codeDone: false })
      await ctx.store.stopInstance('A', T0 + 7_000)
      expect(await run(timedOut)).toMatchObject({ status: 'timed_out', active: false })
      expect(await run(interrupted)).toMatchObject({ status: 'interrupted', active: false })
      // A run with no outcome is left to the reaper, which records it interrupted.
      expect(await run(stillRunning)).toMatchObject({ status: 'running', active: true })
      expect(await run(otherInstance)).toMatchObject({ status: 'timed_out', active: true })
      await ctx.store.heartbeat('B', T0 + 95_000)
      const reaped = await ctx.store.reapDeadInstances(T0 + 100_000, 30_000)
      expect(reaped.interrupted.map((r) => r.id)).toEqual([stillRunning])
      expect(reaped.released).toEqual([])
    })

    it('refuses a late outcome of a run the reaper interrupted (fencing), and says so', async () => {
      const id = await started('a', T0, 'A', T0)
      expect((await ctx.store.reapDeadInstances(T0 + 100_000, 30_000)).interrupted.map((r) => r.id)).toEqual([id])
      // The "dead" instance was only stalled; when it wakes, its write changes nothing.
      expect(await ctx.store.finishRun(id, { status: 'succeeded', finishedAt: T0 + 101_000, codeDone: true })).toBe(
        false,
      )
      expect(await run(id)).toMatchObject({ status: 'interrupted', active: false })
      // It learns it lost its lease at its next heartbeat.
      expect((await ctx.store.heartbeat('A', T0 + 102_000)).held).toBe(false)
      const [a] = (await ctx.store.listInstances()).filter((i) => i.id === 'A')
      expect(a?.reapedAt).toBe(T0 + 100_000)
    })

    it('keeps a pending retry with its run until one process begins it (durable retries)', async () => {
      const id = await started('a', T0, 'A', T0)
      await ctx.store.finishRun(id, { status: 'failed', finishedAt: T0 + 10, retryAt: T0 + 60_010, codeDone: true })
      // Its owner is alive: nobody else may take the retry.
      expect(await ctx.store.orphanedRetries()).toEqual([])
      await ctx.store.reapDeadInstances(T0 + 100_000, 30_000)
      expect(await ctx.store.orphanedRetries()).toEqual([
        { runId: id, job: 'a', slot: T0, trigger: 'schedule', attempt: 1, retryAt: T0 + 60_010 },
      ])
      const retry = {
        job: 'a',
        slot: T0,
        trigger: 'schedule' as const,
        attempt: 2,
        overlap: 'skip' as const,
        retryOf: id,
      }
      const [one, two] = [
        await ctx.store.beginRun(retry, 'B', T0 + 100_000),
        await ctx.store.beginRun(retry, 'B', T0 + 100_000),
      ]
      expect(one.kind).toBe('started')
      expect(two).toEqual({ kind: 'taken' })
      expect(await ctx.store.orphanedRetries()).toEqual([])
    })

    it('reaps an instance named dead at once, whatever its heartbeat says', async () => {
      const id = await started('a', T0, 'A', T0)
      await ctx.store.heartbeat('A', T0 + 1_000)
      const reaped = await ctx.store.reapDeadInstances(T0 + 2_000, 30_000, ['A'])
      expect(reaped.interrupted.map((r) => r.id)).toEqual([id])
      // Its duration runs to its owner's last sign of life.
      expect(await run(id)).toMatchObject({ status: 'interrupted', finishedAt: T0 + 1_000, durationMs: 1_000 })
    })

    it('accepts outcomes of a live instance while another is fenced', async () => {
      const lost = await started('a', T0, 'A', T0)
      const kept = await started('b', T0, 'B', T0)
      await ctx.store.heartbeat('B', T0 + 90_000)
      await ctx.store.reapDeadInstances(T0 + 100_000, 30_000)
      const [a, b] = await Promise.all([
        ctx.store.finishRun(lost, { status: 'succeeded', finishedAt: T0 + 101_000, codeDone: true }),
        ctx.store.finishRun(kept, { status: 'succeeded', finishedAt: T0 + 101_000, codeDone: true }),
      ])
      expect([a, b]).toEqual([false, true])
      expect(await run(kept)).toMatchObject({ status: 'succeeded' })
    })
  })
}
