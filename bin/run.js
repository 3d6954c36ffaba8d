#!/usr/bin/env node
import { execute, settings } from '@oclif/core'

// crons always runs its compiled dist/: never map configured paths (the help class) to src/*.ts,
// which oclif would otherwise try under NODE_ENV=development or test.
settings.enableAutoTranspile = false
await execute({ dir: import.meta.url })
