/** A schedule's one question: the first fire strictly after an instant (epoch ms, so nothing is allocated). */
export interface Schedule {
  readonly kind: 'cron' | 'every' | 'at'
  /** The schedule as written: `'0 3 * * *'`, `'every 5m'`, `'at 2026-01-01T00:00:00.000Z'`. */
  readonly text: string
  /** IANA zone the schedule is read in. */
  readonly zone: string
  /** First fire strictly after `after` (epoch ms), or `null` if it never fires again. */
  next(after: number): number | null
  /** Plain English, e.g. "at 03:00 every day". */
  describe(): string
}
