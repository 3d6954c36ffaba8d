/** Groups: rows grouped by the columns they write, keys built only when a row differs from the one before. */
import { describe, expect, it } from 'vitest'
import { Groups } from '../../src/store/sqlite/groups.js'

interface Row {
  id: number
  status: string
}

function grouped(rows: Row[]) {
  const keys: number[] = []
  const groups = new Groups<Row>(
    (row) => {
      keys.push(row.id)
      return row.status
    },
    (a, b) => a.status === b.status,
  )
  for (const row of rows) groups.add(row)
  return { groups: Array.from(groups.values(), (g) => g.map((r) => r.id)), keys }
}

describe('Groups', () => {
  it('puts rows with the same columns in one group, in the order the groups first came', () => {
    const rows = [
      { id: 1, status: 'ok' },
      { id: 2, status: 'ok' },
      { id: 3, status: 'failed' },
      { id: 4, status: 'ok' },
      { id: 5, status: 'failed' },
      { id: 6, status: 'failed' },
    ]
    const { groups, keys } = grouped(rows)
    expect(groups).toEqual([
      [1, 2, 4],
      [3, 5, 6],
    ])
    // A key is built only for a row that differs from the one before it.
    expect(keys).toEqual([1, 3, 4, 5])
  })

  it('has no groups without rows', () => {
    expect(grouped([]).groups).toEqual([])
  })
})
