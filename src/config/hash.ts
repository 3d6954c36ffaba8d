/**
 * Hashes for the config cache (bundle-cache.ts). node:crypto is loaded on first use: a cache hit usually
 * hashes nothing (only files changed just before a build are compared by content), and loading it
 * costs a few milliseconds per command.
 */
import { createRequire } from 'node:module'

export function crypto(): typeof import('node:crypto') {
  return createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')
}

export function sha256(content: string | Buffer): string {
  return crypto().createHash('sha256').update(content).digest('hex')
}

/**
 * 64 bits of FNV-1a, as 16 hex digits: names a cache entry after the paths it is for. Not
 * cryptographic and need not be: the manifest records both paths and is checked on every load, so a
 * collision could only cost a rebuild.
 */
export function pathHash(text: string): string {
  let hash = 0xcbf29ce484222325n
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i))
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return hash.toString(16).padStart(16, '0')
}
