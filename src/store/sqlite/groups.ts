/**
 * Rows grouped by the columns they write, for statements that write a group at a time. A row like the
 * one before it joins its group without building a key: keys were most of what grouping allocated.
 */
export class Groups<T> {
  readonly #groups = new Map<string, T[]>()
  #previous: T | undefined
  #current: T[] = []

  constructor(
    private readonly keyOf: (row: T) => string,
    /** `keyOf(a) === keyOf(b)`, cheaper. */
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
