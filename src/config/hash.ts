/** Hashes for the config cache; node:crypto, which costs milliseconds to load, only when a hit must hash. */
import { createRequire } from 'node:module'

export function crypto(): typeof import('node:crypto') {
  return createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')
}

export function sha256(content: string | Buffer): string {
  return crypto().createHash('sha256').update(content).digest('hex')
}

/** 64-bit FNV-1a, naming a cache entry: a collision only costs a rebuild (the manifest has the paths). */
export function pathHash(text: string): string {
  let hash = 0xcbf29ce484222325n
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i))
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return hash.toString(16).padStart(16, '0')
}
