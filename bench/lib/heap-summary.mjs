/**
 * Summarise a V8 .heapsnapshot: retained-by-nobody-in-particular self sizes grouped by constructor
 * (or node type), biggest first. Enough to see what a scheduler keeps per job.
 * Usage: node bench/lib/heap-summary.mjs FILE.heapsnapshot [TOP=25]
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export function summariseHeap(snapshot, top = 25) {
  const { meta } = snapshot.snapshot
  const fields = meta.node_fields
  const types = meta.node_types[0]
  const width = fields.length
  const iType = fields.indexOf('type')
  const iName = fields.indexOf('name')
  const iSize = fields.indexOf('self_size')
  const nodes = snapshot.nodes
  const groups = new Map()
  let total = 0
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]]
    const size = nodes[i + iSize]
    total += size
    const name = type === 'object' || type === 'closure' ? snapshot.strings[nodes[i + iName]] : `(${type})`
    const key = `${name}`
    const g = groups.get(key) ?? { count: 0, size: 0 }
    g.count++
    g.size += size
    groups.set(key, g)
  }
  return {
    totalMB: total / 2 ** 20,
    groups: [...groups.entries()]
      .sort((a, b) => b[1].size - a[1].size)
      .slice(0, top)
      .map(([name, g]) => ({ name, count: g.count, MB: g.size / 2 ** 20 })),
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const s = summariseHeap(JSON.parse(readFileSync(process.argv[2], 'utf8')), Number(process.argv[3] ?? 25))
  console.log(`total self size: ${s.totalMB.toFixed(1)} MB`)
  for (const g of s.groups) console.log(`${g.MB.toFixed(2).padStart(8)} MB ${String(g.count).padStart(8)}  ${g.name}`)
}
