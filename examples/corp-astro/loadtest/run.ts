/**
 * `pnpm --filter corp-astro loadtest`: the seed's scenario mix against the app in
 * cluster mode on real Postgres (a main and 4 shard databases) and Redis, with
 * Headroom off (no cache, no shedding, static pools) and on, each on fresh databases,
 * then a table beside the seed's published figures.
 *
 * Env: LOADTEST_POSTGRES_URL, LOADTEST_REDIS_URL, LOADTEST_CONNECTIONS (1000),
 * LOADTEST_DURATION_S (20), LOADTEST_WORKERS (WEB_CONCURRENCY, 2), LOADTEST_MODES (off,on),
 * LOADTEST_PG_POOL_MAX (5), LOADTEST_PG_POOL_MIN (2), LOADTEST_NODE_ARGS (extra node flags for the app, e.g. --cpu-prof),
 * LOADTEST_CALIBRATE (1: also time a bare Express hello on the same machine), LOADTEST_APP_LOG (file).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { Redis } from 'ioredis'
import pg from 'pg'
import { hashPassword } from '../src/auth/passwords.js'
import { createRefreshTokenStore } from '../src/auth/refresh-tokens.js'
import { createTokenService } from '../src/auth/tokens.js'
import { migrate } from '../src/db/migrate.js'
import { openPostgres } from '../src/db/postgres.js'
import { createShards } from '../src/platform/shards.js'
import { createProfileRepository } from '../src/profiles/repository.js'
import { createUserRepository } from '../src/users/repository.js'
import { type LoadUser, nextRequest, onResponse } from './scenario.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const ADMIN_URL = process.env.LOADTEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const REDIS_URL = process.env.LOADTEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const CONNECTIONS = Number(process.env.LOADTEST_CONNECTIONS ?? 1000)
const DURATION_S = Number(process.env.LOADTEST_DURATION_S ?? 20)
const WORKERS = Number(process.env.LOADTEST_WORKERS ?? 2)
const MODES = (process.env.LOADTEST_MODES ?? 'off,on').split(',') as ('on' | 'off')[]
const POOL_MAX = process.env.LOADTEST_PG_POOL_MAX ?? '5'
const SECRET = 'corp-astro-loadtest-secret-0123456789abcdef'
const PASSWORD = 'load-test-password'

/** The seed's published figures (2-vCPU t3.large). */
const SEED = { rps: 500, meanMs: 120, p99Ms: 350, errorRate: 0.001 }

interface Row {
  label: string
  rps: number
  meanMs: number
  p99Ms: number
  errorRate: number
  requests: number
  statuses: Record<string, number>
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
  })
  const urlOf = (name: string) => {
    const url = new URL(ADMIN_URL)
    url.pathname = `/${name}`
    return url.toString()
  }
  return {
    main: urlOf(names[0]!),
    shards: names.slice(1).map(urlOf),
    drop: () =>
      withAdmin(async (client) => {
        for (const name of names) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      }),
  }
}

/** Users (premium: the per-user limits of 500/min do not cap one connection), 2 profiles each, tokens. */
async function seedUsers(main: string, shardUrls: string[], count: number): Promise<LoadUser[]> {
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
            tier: 'premium',
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
              tier: 'premium',
              role: 'user',
              sid: session.familyId,
            }),
            refreshToken: session.token,
            profileIds: [p1.id, p2.id],
            contentIds: [],
            ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
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
  env: Record<string, string>,
): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  // e.g. LOADTEST_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (workers inherit them).
  const nodeArgs = (process.env.LOADTEST_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
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
  while (ok < 2 * WORKERS) {
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

function fire(base: string, users: LoadUser[], connections: number, durationS: number) {
  let slot = 0
  return autocannon({
    url: base,
    connections,
    duration: durationS,
    timeout: 10,
    setupClient(client) {
      // One user per connection: the slot survives autocannon's per-cycle context reset.
      const iterator = (
        client as unknown as { requestIterator: { initialContext: object; resetContext(): void } }
      ).requestIterator
      iterator.initialContext = { slot: slot++ % users.length }
      iterator.resetContext()
    },
    requests: [
      {
        setupRequest(request, context) {
          // Built once before setupClient ran (no slot yet): that first request is a harmless
          // read as user 0 (a shared refresh would look like token theft and revoke the session).
          const slot = (context as { slot?: number }).slot
          const user = users[slot ?? 0]!
          const next: ReturnType<typeof nextRequest> =
            slot === undefined ? { method: 'GET', path: '/api/users/me', kind: 'me' } : nextRequest(user)
          ;(context as { kind?: string }).kind = next.kind
          return {
            ...request,
            method: next.method,
            path: next.path,
            headers: {
              'x-forwarded-for': user.ip,
              authorization: `Bearer ${user.accessToken}`,
              ...(next.body ? { 'content-type': 'application/json' } : {}),
            },
            ...(next.body ? { body: next.body } : { body: undefined }),
          }
        },
        onResponse(status, body, context) {
          const { slot, kind } = context as { slot?: number; kind?: string }
          if (slot !== undefined && kind) onResponse(users[slot]!, kind, status, body)
        },
      },
    ],
  })
}

async function runMode(mode: 'on' | 'off'): Promise<Row> {
  const tag = `${mode}_${randomBytes(3).toString('hex')}`
  const dbs = await createDatabases(tag)
  const prefix = `corp-astro-lt-${tag}`
  let app: Awaited<ReturnType<typeof startApp>> | undefined
  try {
    console.log(`[${mode}] seeding ${CONNECTIONS} users...`)
    const users = await seedUsers(dbs.main, dbs.shards, CONNECTIONS)
    const port = await freePort()
    app = await startApp(port, {
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      WEB_CONCURRENCY: String(WORKERS),
      DATABASE_URL: dbs.main,
      SHARD_DATABASE_URLS: dbs.shards.join(','),
      PG_POOL_MAX: POOL_MAX,
      PG_POOL_MIN: process.env.LOADTEST_PG_POOL_MIN ?? '2',
      REDIS_URL,
      REDIS_PREFIX: prefix,
      JWT_SECRET: SECRET,
      ACCESS_TOKEN_TTL_SECONDS: '3600',
      TRUST_PROXY: 'true',
      LOG_LEVEL: 'warn',
      HEADROOM: mode,
      SEED: 'false',
    })
    const base = `http://127.0.0.1:${port}`
    console.log(`[${mode}] warming up (5 s, 100 connections)...`)
    await fire(base, users, 100, 5)
    console.log(`[${mode}] measuring (${DURATION_S} s, ${CONNECTIONS} connections)...`)
    const result = await fire(base, users, CONNECTIONS, DURATION_S)
    const failed = result.non2xx + result.errors + result.timeouts
    const statuses: Record<string, number> = {}
    for (const [code, stats] of Object.entries(result.statusCodeStats ?? {}))
      statuses[code] = (stats as { count: number }).count
    if (result.errors) statuses.socketErrors = result.errors
    if (result.timeouts) statuses.timeouts = result.timeouts
    return {
      label: `Corp Astro, Headroom ${mode}`,
      rps: result.requests.average,
      meanMs: result.latency.mean,
      p99Ms: result.latency.p99,
      errorRate: failed / Math.max(1, result.requests.total + result.errors + result.timeouts),
      requests: result.requests.total,
      statuses,
    }
  } finally {
    if (app) {
      app.child.kill('SIGTERM')
      const timer = setTimeout(() => app?.child.kill('SIGKILL'), 20_000)
      await app.exited
      clearTimeout(timer)
    }
    await dbs.drop().catch((error: unknown) => console.error('could not drop the load-test databases', error))
    await deleteKeys(prefix)
  }
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

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

function table(rows: Row[]): string {
  const lines = [
    '| Run | RPS | Mean (ms) | p99 (ms) | Errors | x seed RPS |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    `| Seed (published, 2-vCPU t3.large) | ${fmt(SEED.rps)} | ${fmt(SEED.meanMs)} | ${fmt(SEED.p99Ms)} | < 0.1 % | 1.0 |`,
    ...rows.map(
      (r) =>
        `| ${r.label} | ${fmt(r.rps)} | ${fmt(r.meanMs, 1)} | ${fmt(r.p99Ms)} | ${fmt(r.errorRate * 100, 3)} % | ${fmt(r.rps / SEED.rps, 1)} |`,
    ),
  ]
  return lines.join('\n')
}

/**
 * Calibration: a bare Express "hello" on one process, same connections, same machine,
 * same minute. On a shared box the absolute figures swing with the neighbours' load;
 * this row says how much the machine itself could serve while the runs were made.
 */
async function calibrate(): Promise<Row> {
  const port = await freePort()
  const code = `const app = require('express')(); app.get('/', (q, r) => r.json({ ok: true }));
    app.listen(${port}, '127.0.0.1', () => console.log('ready'))`
  const child = spawn(process.execPath, ['-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve())
      child.once('exit', (exitCode) => reject(new Error(`calibration server exited (${exitCode})`)))
    })
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/`,
      connections: CONNECTIONS,
      duration: 10,
      timeout: 10,
    })
    const failed = result.non2xx + result.errors + result.timeouts
    return {
      label: 'Calibration: bare Express hello, 1 process',
      rps: result.requests.average,
      meanMs: result.latency.mean,
      p99Ms: result.latency.p99,
      errorRate: failed / Math.max(1, result.requests.total + result.errors + result.timeouts),
      requests: result.requests.total,
      statuses: {},
    }
  } finally {
    child.kill('SIGKILL')
  }
}

const rows: Row[] = []
for (const mode of MODES) rows.push(await runMode(mode))
if (process.env.LOADTEST_CALIBRATE !== '0') rows.push(await calibrate())
const on = rows.find((r) => r.label.endsWith('Headroom on'))
const verdict = on
  ? [
      `Target (Headroom on): >= ${SEED.rps * 10} RPS: ${on.rps >= SEED.rps * 10 ? 'MET' : 'MISS'}; p99 < 100 ms: ${
        on.p99Ms < 100 ? 'MET' : 'MISS'
      }; errors < 0.1 %: ${on.errorRate < 0.001 ? 'MET' : 'MISS'}`,
    ]
  : []
const report = [
  `Corp Astro load test, ${new Date().toISOString()}: ${CONNECTIONS} connections, ${DURATION_S} s per run, ${WORKERS} workers,`,
  'Postgres (main + 4 shard databases) and Redis on the same shared 2-core machine as autocannon.',
  '',
  table(rows),
  '',
  ...verdict,
  '',
  `Machine load average at the end: ${(await import('node:os'))
    .loadavg()
    .map((n) => n.toFixed(1))
    .join(' / ')} (1/5/15 min, 2 cores).`,
  '',
  'Status codes: ' + rows.map((r) => `${r.label}: ${JSON.stringify(r.statuses)}`).join('; '),
].join('\n')
console.log(`\n${report}\n`)
mkdirSync(`${root}loadtest/results`, { recursive: true })
writeFileSync(`${root}loadtest/results/latest.md`, `${report}\n`)
writeFileSync(
  `${root}loadtest/results/latest.json`,
  `${JSON.stringify({ at: new Date().toISOString(), seed: SEED, rows }, null, 2)}\n`,
)
process.exit(0)
