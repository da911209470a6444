import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Standalone config so the suite runs before the root config lists `reliability` as a
// project (`npx vitest run --config reliability/vitest.config.ts`); it mirrors the root one.
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const at = (path: string) => join(root, path)

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@headroom\/testing$/, replacement: at('packages/testing/src/index.ts') },
      { find: /^@headroom\/([a-z-]+)\/([a-z-]+)$/, replacement: at('packages/$1/src/$2.ts') },
      { find: /^@headroom\/([a-z-]+)$/, replacement: at('packages/$1/src/index.ts') },
    ],
  },
  test: {
    name: 'reliability',
    root: at('reliability'),
    include: ['test/**/*.test.ts'],
    globalSetup: [at('packages/testing/src/global-setup.ts')],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    pool: 'forks',
    maxWorkers: 2,
  },
})
