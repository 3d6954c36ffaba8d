#!/usr/bin/env -S node --import tsx --no-warnings
// Runs the CLI from the TypeScript sources without a build, e.g. ./bin/dev.js next "@daily"
import { readFileSync } from 'node:fs'
import { execute } from '@oclif/core'

const root = new URL('..', import.meta.url).pathname
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
pjson.oclif.commands = './src/commands'
// A different version makes oclif pass over the built manifest (its commands point at dist/).
pjson.version = '0.0.0-dev'
await execute({ dir: import.meta.url, loadOptions: { root, pjson } })
