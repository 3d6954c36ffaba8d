/**
 * Rows grouped by the columns they write, for the statements that write a group at a time (claim
 * batches, queued outcomes). Rows mostly come in runs of equal columns (the jobs of one instant, the
 * runs that ended in one millisecond), so a row with the same columns as the one before it joins that
 * one's group without its key being built: formatting keys was most of what grouping allocated.
 */
export class Groups<T> {
  readonly #groups = new Map<string, T[]>()
  #previous: T | undefined
  #current: T[] = []

  constructor(
    /** Equal for rows that write the same columns, different otherwise. */
    private readonly keyOf: (row: T) => string,
    /** Whether two rows write the same columns: `keyOf` would give both the same key. */
    private readonly same: (a: T, b: T) => boolean,
  ) {}

  add(row: T): void {
    if (this.#previous !== undefined && this.same(this.#previous, row)) {
      this.#current.push(row)
      return
    }
    const key = this.keyOf(row)
    let group = this.#groups.get(key)
    if (group === undefined) {
      group = []
      this.#groups.set(key, group)
    }
    group.push(row)
    this.#current = group
    this.#previous = row
  }

  /** The groups, in the order their first rows came. */
  values(): IterableIterator<T[]> {
    return this.#groups.values()
  }
}
