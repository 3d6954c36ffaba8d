/** The store contract against a real PostgreSQL (started by test/postgres/server.ts). */
import { openStore } from '../../src/store/index.js'
import { freshSchema, stateUrl } from '../postgres/schemas.js'
import { storeContract } from './contract.js'

let lastUrl = ''
storeContract('postgres', {
  open: () => {
    lastUrl = stateUrl(freshSchema())
    return openStore(lastUrl)
  },
  openSecond: () => openStore(lastUrl),
})
