import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))

it('a script awaiting a task that only its timeout settles ends with E_TIMEOUT (the deadline keeps the process alive)', () => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(here, 'fixtures', 'task-timeout-exit.ts')],
    {
      cwd: join(here, '..'),
      encoding: 'utf8',
      timeout: 30_000,
    },
  )
  expect({ status: run.status, out: run.stdout.trim() }).toEqual({ status: 0, out: 'E_TIMEOUT' })
})
