/**
 * The load test's environment: fresh Postgres databases (a main and 4 shards), seeded
 * premium users with tokens and profiles, and the app in cluster mode on them, with
 * Headroom on or off. `stop()` shuts the app down, drops the databases and deletes the
 * Redis keys of the run.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import pg from 'pg'
import { hashPassword } from '../src/auth/passwords.js'
import { createRefreshTokenStore } from '../src/auth/refresh-tokens.js'
import { createTokenService, type Tier } from '../src/auth/tokens.js'
import { migrate } from '../src/db/migrate.js'
import { openPostgres } from '../src/db/postgres.js'
import { createShards } from '../src/platform/shards.js'
import { createProfileRepository } from '../src/profiles/repository.js'
import { createUserRepository } from '../src/users/repository.js'
import type { LoadUser } from './scenario.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const ADMIN_URL = process.env.LOADTEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const REDIS_URL = process.env.LOADTEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const SECRET = 'corp-astro-loadtest-secret-0123456789abcdef'
const PASSWORD = 'load-test-password'

export type Mode = 'on' | 'off'

export interface Environment {
  base: string
  port: number
  users: LoadUser[]
  /** CPU ms so far of the primary and of each worker, by pid. */
  cpuByPid(): Map<number, number>
  /** CPU time (user + system) the app's processes (primary and workers) have used so far, in ms. */
  cpuMs(): number
  /**
   * Transactions committed or rolled back so far in the run's databases. Postgres flushes
   * its statistics about once a second, so this waits 1.5 s before reading them.
   */
  pgTransactions(): Promise<number>
  stop(): Promise<void>
}

/** CPU ms of a process and its descendants, from /proc (Linux); 0 elsewhere. */
export function treeCpuMs(rootPid: number): number {
  return [...treeCpuByPid(rootPid).values()].reduce((sum, ms) => sum + ms, 0)
}

/** CPU ms of a process and of each of its descendants, by pid, from /proc (Linux); empty elsewhere. */
export function treeCpuByPid(rootPid: number): Map<number, number> {
  let entries: string[]
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return new Map()
  }
  const children = new Map<number, number[]>()
  const ticks = new Map<number, number>()
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // Fields after the parenthesised command: state ppid ... utime(14) stime(15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const pid = Number(name)
      const ppid = Number(fields[1])
      ticks.set(pid, Number(fields[11]) + Number(fields[12]))
      children.set(ppid, [...(children.get(ppid) ?? []), pid])
    } catch {
      // The process exited while we looked.
    }
  }
  const out = new Map<number, number>()
  const stack = [rootPid]
  while (stack.length > 0) {
    const pid = stack.pop()!
    // Linux reports in clock ticks of 10 ms (USER_HZ 100).
    if (ticks.has(pid)) out.set(pid, ticks.get(pid)! * 10)
    stack.push(...(children.get(pid) ?? []))
  }
  return out
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

async function createDatabases(tag: string) {
  const names = ['main', 's0', 's1', 's2', 's3'].map((label) => `corp_astro_lt_${tag}_${label}`)
  await withAdmin(async (client) => {
    for (const name of names) await client.query(`CREATE DATABASE "${name}"`)
    // LOADTEST_PG_LOG_STATEMENTS=1: Postgres logs every statement of the run (to see what reaches it).
    if (process.env.LOADTEST_PG_LOG_STATEMENTS === '1')
      for (const name of names) await client.query(`ALTER DATABASE "${name}" SET log_statement = 'all'`)
  })
  const urlOf = (name: string) => {
    const url = new URL(ADMIN_URL)
    url.pathname = `/${name}`
    return url.toString()
  }
  return {
    main: urlOf(names[0]!),
    shards: names.slice(1).map(urlOf),
    transactions: async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      return withAdmin(async (client) => {
        const { rows } = await client.query<{ n: string }>(
          'SELECT coalesce(sum(xact_commit + xact_rollback), 0) AS n FROM pg_stat_database WHERE datname = ANY($1)',
          [names],
        )
        return Number(rows[0]!.n)
      })
    },
    drop: () =>
      withAdmin(async (client) => {
        for (const name of names) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      }),
  }
}

/**
 * The tiers of the seeded users. `premium`: every user premium (never shed, 500/min), so
 * nothing refuses the traffic. `mixed`: 20 % premium, 30 % basic, 50 % free, a SaaS's
 * usual spread, so that past capacity shedding by tier and the per-user limits have
 * something to refuse.
 */
export type TierMix = 'premium' | 'mixed'

export const tierOf = (mix: TierMix, i: number): Tier =>
  mix === 'premium' ? 'premium' : i % 10 < 2 ? 'premium' : i % 10 < 5 ? 'basic' : 'free'

/** Users of the given tier mix, 2 profiles each, tokens. */
async function seedUsers(
  main: string,
  shardUrls: string[],
  count: number,
  mix: TierMix,
): Promise<LoadUser[]> {
  const databases = openPostgres({
    url: main,
    shardUrls,
    replicaUrls: [],
    shardCount: 4,
    poolMin: 1,
    poolMax: 8,
  })
  try {
    await migrate(databases)
    const shards = createShards(databases.shards)
    const users = createUserRepository(shards)
    const profiles = createProfileRepository(shards)
    const refresh = createRefreshTokenStore(shards, 86_400)
    const tokens = createTokenService({ secret: SECRET, accessTtlSeconds: 3_600, refreshTtlSeconds: 86_400 })
    const passwordHash = await hashPassword(PASSWORD)
    const out: LoadUser[] = []
    const batch = 25
    for (let start = 0; start < count; start += batch) {
      const made = await Promise.all(
        Array.from({ length: Math.min(batch, count - start) }, async (_, offset) => {
          const i = start + offset
          const email = `load-${i}@corp-astro.test`
          const user = await users.create({
            email,
            passwordHash,
            name: `Load ${i}`,
            tier: tierOf(mix, i),
            role: 'user',
          })
          if (!user) throw new Error(`could not seed ${email}`)
          const p1 = await profiles.create(user.id, {
            name: `Company ${i}`,
            industry: 'Software',
            foundingDate: `20${String(10 + (i % 14)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
            location: 'Lisbon',
          })
          const p2 = await profiles.create(user.id, {
            name: `Venture ${i}`,
            industry: 'Retail',
            foundingDate: '2018-11-02',
            location: 'Berlin',
          })
          const session = await refresh.issue(user.id)
          return {
            id: user.id,
            email,
            password: PASSWORD,
            accessToken: await tokens.signAccess({
              sub: user.id,
              tier: tierOf(mix, i),
              role: 'user',
              sid: session.familyId,
            }),
            refreshToken: session.token,
            profileIds: [p1.id, p2.id],
            contentIds: [],
            ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
            tier: tierOf(mix, i),
          } satisfies LoadUser
        }),
      )
      out.push(...made)
    }
    return out
  } finally {
    await databases.close()
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function startApp(
  port: number,
  workers: number,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  // e.g. LOADTEST_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (workers inherit them).
  const nodeArgs = (process.env.LOADTEST_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...(process.env.NODE_CLUSTER_SCHED_POLICY
        ? { NODE_CLUSTER_SCHED_POLICY: process.env.NODE_CLUSTER_SCHED_POLICY }
        : {}),
      // loadtest/eld-probe.mjs writes each worker's event-loop delay here (profile.ts sets it).
      ...(process.env.LOADTEST_ELD_DIR ? { LOADTEST_ELD_DIR: process.env.LOADTEST_ELD_DIR } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let exitCode: number | null | undefined
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code
      resolve(code)
    }),
  )
  let output = ''
  // LOADTEST_APP_LOG=<file> keeps the app's (warn and above) log for diagnosis.
  const appLog = process.env.LOADTEST_APP_LOG ? createWriteStream(process.env.LOADTEST_APP_LOG) : undefined
  if (appLog) {
    child.stdout!.pipe(appLog)
    child.stderr!.pipe(appLog)
  }
  child.stdout!.on('data', (chunk: Buffer) => {
    output = (output + chunk).slice(-4000)
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    output = (output + chunk).slice(-4000)
  })
  // Ready when every worker answers: /readyz through the shared port, a few times in a row.
  const deadline = Date.now() + 90_000
  let ok = 0
  while (ok < 2 * workers) {
    if (exitCode !== undefined) throw new Error(`app exited (${exitCode}) before it was ready:\n${output}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`app not ready within 90 s:\n${output}`)
    }
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined)
    ok = res?.status === 200 ? ok + 1 : 0
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return { child, exited }
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.unlink(...keys)
    } while (cursor !== '0')
  } catch {
    // Leftover keys carry TTLs; failing to delete them is not worth failing the run.
  } finally {
    redis.disconnect()
  }
}

/**
 * Fresh databases, `userCount` seeded premium users, and the app on them in cluster
 * mode with Headroom `mode`.
 */
export async function startEnvironment(options: {
  mode: Mode
  userCount: number
  workers: number
  poolMax: string
  poolMin: string
  /** `premium` when absent. */
  tiers?: TierMix
}): Promise<Environment> {
  const { mode } = options
  const tag = `${mode}_${randomBytes(3).toString('hex')}`
  const dbs = await createDatabases(tag)
  const prefix = `corp-astro-lt-${tag}`
  let app: Awaited<ReturnType<typeof startApp>> | undefined
  const stop = async () => {
    if (app) {
      app.child.kill('SIGTERM')
      const timer = setTimeout(() => app?.child.kill('SIGKILL'), 20_000)
      await app.exited
      clearTimeout(timer)
    }
    await dbs.drop().catch((error: unknown) => console.error('could not drop the load-test databases', error))
    await deleteKeys(prefix)
  }
  try {
    console.log(`[${mode}] seeding ${options.userCount} users...`)
    const users = await seedUsers(dbs.main, dbs.shards, options.userCount, options.tiers ?? 'premium')
    const port = await freePort()
    app = await startApp(port, options.workers, {
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      WEB_CONCURRENCY: String(options.workers),
      DATABASE_URL: dbs.main,
      SHARD_DATABASE_URLS: dbs.shards.join(','),
      PG_POOL_MAX: options.poolMax,
      PG_POOL_MIN: options.poolMin,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      JWT_SECRET: SECRET,
      ACCESS_TOKEN_TTL_SECONDS: '3600',
      TRUST_PROXY: 'true',
      LOG_LEVEL: 'warn',
      HEADROOM: mode,
      // Admission control is opt-in; the curve measures it (a no-op with HEADROOM=off).
      ADMISSION_TARGET_LAG_MS: '25',
      SEED: 'false',
    })
    const pid = app.child.pid!
    return {
      base: `http://127.0.0.1:${port}`,
      port,
      users,
      cpuMs: () => treeCpuMs(pid),
      cpuByPid: () => treeCpuByPid(pid),
      pgTransactions: dbs.transactions,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

export { freePort }
