import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const root = dirname(fileURLToPath(import.meta.url))
const at = (path: string) => join(root, path)

/** Every workspace folder with a `test/` directory is a vitest project named after the folder. */
function projectsUnder(folder: string) {
  if (!existsSync(at(folder))) return []
  return readdirSync(at(folder), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(at(`${folder}/${entry.name}/test`)))
    .map((entry) => ({
      extends: true as const,
      test: {
        name: entry.name,
        root: at(`${folder}/${entry.name}`),
        include: ['test/**/*.test.ts'],
      },
    }))
}

/** The end-to-end hostile-input and security suites, beside the packages. */
function reliabilityProject() {
  if (!existsSync(at('reliability/test'))) return []
  return [
    {
      extends: true as const,
      test: {
        name: 'reliability',
        root: at('reliability'),
        include: ['test/**/*.test.ts'],
        testTimeout: 60_000,
      },
    },
  ]
}

export default defineConfig({
  resolve: {
    // Tests run against the sources, so `pnpm test` needs no build first.
    alias: [
      { find: /^@headroom\/testing$/, replacement: at('packages/testing/src/index.ts') },
      // health's ./prometheus subpath is built from prom-client.ts (prometheus.ts is its text format).
      { find: /^@headroom\/health\/prometheus$/, replacement: at('packages/health/src/prom-client.ts') },
      { find: /^@headroom\/([a-z-]+)\/([a-z-]+)$/, replacement: at('packages/$1/src/$2.ts') },
      { find: /^@headroom\/([a-z-]+)$/, replacement: at('packages/$1/src/index.ts') },
    ],
  },
  test: {
    globalSetup: [at('packages/testing/src/global-setup.ts')],
    projects: [...projectsUnder('packages'), ...projectsUnder('examples'), ...reliabilityProject()],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The machine has two cores; integration suites share Redis and Postgres.
    maxWorkers: 2,
  },
})
