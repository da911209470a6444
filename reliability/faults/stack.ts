// One running Corp Astro (a node:cluster primary and its 2 workers) with the load on it.
import { freePort, waitUntil } from '../../packages/testing/src/index.js'
import { cleanups } from './cleanups.js'
import { createUsers, type Load, startLoad, type VirtualUser } from './load.js'
import { log } from './log.js'
import { type Child, runApp } from './processes.js'
import { sleep } from './wait.js'

export const USERS = 8
// Each user pauses 100-300 ms between requests: at most ~5 requests/s, 300/min, under the
// app's premium limits (500/min API, 1000/min content) even on an idle machine where
// answers are instant. A faster load would measure the rate limiter, not the faults.
const PAUSE_MS = 200

export interface Stack {
  /** The first instance (2 workers). */
  base: string
  /** Every instance the load uses: the first, and the second when there is one. */
  bases: string[]
  app: Child
  /** A second instance (1 process) sharing the databases and the Redis prefix. */
  second?: Child
  users: VirtualUser[]
  load: Load
}

export interface StackOptions {
  /** A second instance (1 process) on this environment, sharing the databases and the cache. */
  secondEnv?: Record<string, string>
  /** Registers the load's users (by default {@link USERS} premium users). */
  users?: (base: string) => Promise<VirtualUser[]>
  /** Each user logs in again this often (see `LoadOptions`). */
  loginEveryMs?: number
}

/**
 * Starts Corp Astro with 2 workers on `env`, and, with `secondEnv`, a second instance
 * (one process) beside it: two deployments behind one balancer, sharing the databases
 * and the cache, as a fault that hits one instance only needs.
 */
export async function startStack(
  env: Record<string, string>,
  what: string,
  options: StackOptions = {},
): Promise<Stack> {
  const { secondEnv } = options
  const base = await startInstance(env, `2 workers, ${what} Redis`)
  let second: { base: string; app: Child } | undefined
  if (secondEnv)
    second = await startInstance({ ...secondEnv, WEB_CONCURRENCY: '1' }, '1 process, second instance')
  // Both workers listen once the primary has forked them; readiness of one is not enough.
  await sleep(2_000)
  const users = options.users ? await options.users(base.base) : await createUsers(base.base, USERS, what)
  const bases = [base.base, ...(second ? [second.base] : [])]
  const load = startLoad(bases, users, {
    pauseMs: PAUSE_MS,
    ...(options.loginEveryMs !== undefined ? { loginEveryMs: options.loginEveryMs } : {}),
  })
  return { base: base.base, bases, app: base.app, ...(second ? { second: second.app } : {}), users, load }
}

async function startInstance(
  env: Record<string, string>,
  what: string,
): Promise<{ base: string; app: Child }> {
  const port = await freePort()
  log(`starting corp-astro (${what}) on port ${port}`)
  const app = runApp('src/main.ts', { ...env, PORT: String(port) })
  cleanups.push(() => app.stop('SIGKILL'))
  const base = `http://127.0.0.1:${port}`
  await waitUntil(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, {
    timeoutMs: 120_000,
    intervalMs: 200,
    what: 'the app',
  }).catch(async (error: unknown) => {
    // Say why: what /readyz answered last and what the app printed.
    const readyz = await fetch(`${base}/readyz`)
      .then(async (res) => `${res.status} ${await res.text()}`)
      .catch((cause: unknown) => `no answer (${String(cause)})`)
    throw new Error(
      `${(error as Error).message}; /readyz: ${readyz}; app output (last 4,000 characters):\n${app.output().slice(-4_000)}`,
    )
  })
  return { base, app }
}
