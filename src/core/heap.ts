// A binary min-heap keyed by a number: the claim loop's next slot per job, keyed by when it is due.
type Entry<T> = { key: number; value: T }

export class MinHeap<T> {
  private items: Entry<T>[] = []

  get size(): number {
    return this.items.length
  }

  peekKey(): number | undefined {
    return this.items[0]?.key
  }

  push(key: number, value: T): void {
    const items = this.items
    items.push({ key, value })
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.key <= key) break
      this.swap(i, parent)
      i = parent
    }
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined) return undefined
    if (items.length === 0) return top.value
    items[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let smallest = i
      if (l < items.length && items[l]!.key < items[smallest]!.key) smallest = l
      if (r < items.length && items[r]!.key < items[smallest]!.key) smallest = r
      if (smallest === i) break
      this.swap(i, smallest)
      i = smallest
    }
    return top.value
  }

  /** O(n): for a job replaced or removed. */
  remove(predicate: (value: T) => boolean): void {
    this.rebuild((key, value) => (predicate(value) ? undefined : { key, value }))
  }

  /** Map every entry in one pass (undefined drops it). O(n): for a reload replacing many jobs. */
  rebuild(fn: (key: number, value: T) => { key: number; value: T } | undefined): void {
    const items = this.items
    this.items = []
    for (const item of items) {
      const next = fn(item.key, item.value)
      if (next !== undefined) this.push(next.key, next.value)
    }
  }

  private swap(a: number, b: number): void {
    const items = this.items
    const t = items[a]!
    items[a] = items[b]!
    items[b] = t
  }
}
