/**
 * How the lines of src/ divide between the features crons had at af32af2 (10,648 lines of src/ then)
 * and the capabilities added since:
 *
 *   node bench/source-lines.mjs
 *
 * Every line of the .ts files under src/ at HEAD is attributed by `git blame -w -M -C` to the commit that wrote
 * it. A line from af32af2 or before is a baseline line kept as it was; a later commit's line counts by
 * that commit's class in bench/source-lines.tsv: NEW (a capability or a fix of behaviour that did not
 * exist at af32af2) or RESHAPE (a rename, move, split, simplification or rewrite of what existed). A
 * commit not listed there counts as RESHAPE. Files that exist only for a new capability (the Postgres
 * store, command jobs, reload, backup, cancel, ...) are NEW whatever the blame. "The same features" is
 * then the baseline lines kept plus the RESHAPE lines. Needs the whole git history (not a shallow clone).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const BASELINE = 'af32af2'
const CLASSES = fileURLToPath(new URL('source-lines.tsv', import.meta.url))
const git = (...args) => execFileSync('git', args, { encoding: 'utf8', maxBuffer: 1 << 30 })

/** Files that exist only for a capability added after the baseline, with that capability's tag. */
const NEW_FILES = [
  [/^src\/store\/postgres\//, 'pg'],
  [/^src\/core\/command\.ts$/, 'cmd'],
  [/^src\/(core\/reload|cli\/follow-config|config\/sources|cli\/config-drift)\.ts$/, 'reload'],
  [/^src\/(commands\/state\/backup|commands\/state\/migrate|store\/sqlite\/backup)\.ts$/, 'backup'],
  [/^src\/(commands\/cancel|core\/cancel)\.ts$/, 'cancel'],
  [/^src\/core\/job-console\.ts$/, 'console'],
  [/^src\/(core\/clock-sync|core\/outage)\.ts$/, 'clock'],
  [/^src\/(core\/job-scope|core\/process-identity|store\/sqlite\/file-watch)\.ts$/, 'faults'],
  [/^src\/cli\/reading\.ts$/, 'stateonly'],
]

const classes = new Map()
for (const row of readFileSync(CLASSES, 'utf8').split('\n')) {
  if (row === '' || row.startsWith('#')) continue
  const [hash, cls, tag, reason] = row.split('\t')
  classes.set(hash, { cls, tag, reason })
}
const later = new Set(git('rev-list', `${BASELINE}..HEAD`).split('\n').filter(Boolean))
const classOf = (commit) => {
  if (!later.has(commit)) return { cls: 'BASE', tag: '-' }
  return classes.get(commit.slice(0, 7)) ?? { cls: 'RESHAPE', tag: '-', reason: 'not listed' }
}

const counts = { BASE: 0, RESHAPE: 0, NEW: 0 }
const byTag = new Map()
const byCommit = new Map()
const files = git('ls-tree', '-r', '--name-only', 'HEAD', '--', 'src').split('\n')
for (const file of files.filter((f) => f.endsWith('.ts'))) {
  const newTag = NEW_FILES.find(([pattern]) => pattern.test(file))?.[1]
  for (const line of git('blame', '--line-porcelain', '-w', '-M', '-C', 'HEAD', '--', file).split('\n')) {
    const header = /^([0-9a-f]{40}) \d+ \d+/.exec(line)
    if (header === null) continue
    const commit = header[1]
    const { cls, tag } = newTag === undefined ? classOf(commit) : { cls: 'NEW', tag: newTag }
    counts[cls]++
    if (cls === 'NEW') byTag.set(tag, (byTag.get(tag) ?? 0) + 1)
    if (cls === 'RESHAPE') byCommit.set(commit, (byCommit.get(commit) ?? 0) + 1)
  }
}

const total = counts.BASE + counts.RESHAPE + counts.NEW
const borderline = [...byCommit].filter(([commit]) => /BORDERLINE/.test(classOf(commit).reason ?? ''))
const borderlineLines = borderline.reduce((sum, [, n]) => sum + n, 0)
const fixes = byTag.get('fix-base') ?? 0
const same = counts.BASE + counts.RESHAPE
console.log(`src/ at HEAD: ${total} lines`)
console.log(`  baseline lines kept as they were: ${counts.BASE}`)
console.log(`  rewritten or moved (RESHAPE):     ${counts.RESHAPE}`)
console.log(`  new capabilities and fixes (NEW): ${counts.NEW}`)
console.log(`the same features as at ${BASELINE}: ${same} lines`)
console.log(`  with the borderline RESHAPE commits counted NEW: ${same - borderlineLines}`)
console.log(`  with the fixes of baseline behaviour counted as the same features: ${same + fixes}`)
const tags = [...byTag].sort((a, b) => b[1] - a[1]).map(([tag, n]) => `${tag} ${n}`)
console.log(`NEW by capability: ${tags.join(', ')}`)
