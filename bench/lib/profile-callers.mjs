/**
 * Self time of one function in a .cpuprofile, split by its callers (with their source lines): for
 * native functions such as better-sqlite3's Statement#run, which statement is the expensive one.
 * Usage: node bench/lib/profile-callers.mjs FILE.cpuprofile FUNCTION_NAME [DEPTH=2]
 */
import { readFileSync } from 'node:fs'

const [file, name, depthText] = process.argv.slice(2)
const depth = Number(depthText ?? 2)
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const self = new Map()
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
}
const label = (n) => {
  const cf = n.callFrame
  const url = cf.url.replace(/^.*\/(dist|node_modules|bench)\//, '$1/')
  return `${cf.functionName || '(anonymous)'}${url ? ` ${url}:${cf.lineNumber + 1}` : ''}`
}
const out = new Map()
let total = 0
for (const n of profile.nodes) {
  if (n.callFrame.functionName !== name) continue
  const us = self.get(n.id) ?? 0
  if (!us) continue
  total += us
  const chain = []
  let p = parent.get(n.id)
  for (let d = 0; d < depth && p !== undefined; d++) {
    const pn = byId.get(p)
    chain.push(label(pn))
    p = parent.get(p)
  }
  const key = chain.join(' <- ')
  out.set(key, (out.get(key) ?? 0) + us)
}
console.log(`${name}: ${(total / 1000).toFixed(1)} ms self in total`)
for (const [k, us] of [...out].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  console.log(`${(us / 1000).toFixed(1).padStart(9)} ms  ${k}`)
}
