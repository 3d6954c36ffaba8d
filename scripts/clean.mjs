// Removes build output so a renamed or deleted source file never lingers as a stale command.
import { rmSync } from 'node:fs'

for (const path of ['dist', 'oclif.manifest.json']) rmSync(path, { recursive: true, force: true })
