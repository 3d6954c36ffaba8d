import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // A real PostgreSQL for the Postgres store's tests (test/postgres/server.ts).
    globalSetup: ['test/postgres/server.ts'],
  },
})
