/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time, and self time
 * per source file. Usage: node bench/lib/profile-summary.mjs FILE.cpuprofile [TOP=25]
 */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export function summarise(profile, top = 25) {
  const { nodes, samples, timeDeltas } = profile
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const self = new Map()
  for (let i = 0; i < samples.length; i++) {
    const dt = timeDeltas[i] ?? 0
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt)
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const root = process.cwd()
  const where = (cf) => {
    let url = cf.url || ''
    if (url.startsWith('file://')) url = relative(root, fileURLToPath(url))
    return url ? `${url}:${cf.lineNumber + 1}` : ''
  }
  const byFunction = new Map()
  const byFile = new Map()
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame
    const key = `${cf.functionName || '(anonymous)'} ${where(cf)}`.trim()
    byFunction.set(key, (byFunction.get(key) ?? 0) + us)
    let file = cf.url || `(${cf.functionName || 'native'})`
    if (file.startsWith('file://')) file = relative(root, fileURLToPath(file))
    file = file.replace(/^.*node_modules\//, 'node_modules/')
    byFile.set(file, (byFile.get(file) ?? 0) + us)
  }
  const rows = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ ms: us / 1000, pct: (100 * us) / total, name: k }))
  return { totalMs: total / 1000, functions: rows(byFunction), files: rows(byFile) }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2]
  const top = Number(process.argv[3] ?? 25)
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')), top)
  console.log(`total sampled: ${s.totalMs.toFixed(0)} ms`)
  console.log('\nself time by function:')
  for (const r of s.functions)
    console.log(`${r.ms.toFixed(1).padStart(9)} ms ${r.pct.toFixed(1).padStart(5)}%  ${r.name}`)
  console.log('\nself time by file:')
  for (const r of s.files) console.log(`${r.ms.toFixed(1).padStart(9)} ms ${r.pct.toFixed(1).padStart(5)}%  ${r.name}`)
}
