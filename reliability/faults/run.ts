/**
 * The fault suite (`pnpm test:faults`): Corp Astro with 2 workers on real Postgres (4
 * shard databases) and a Redis it owns, under a steady load, through one fault at a
 * time. Prints a table and exits non-zero when a promise is broken. See ../README.md.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import {
  createTestDatabase,
  freePort,
  postgresAnswers,
  postgresUrl,
  type RedisCluster,
  type RedisServer,
  startRedisCluster,
  startRedisServer,
  type TestDatabase,
} from '../../packages/testing/src/index.js'
import { appRequire } from '../hostile/app.js'
import { classify, KNOWN_FINDINGS } from './findings.js'
import {
  createUsers,
  type Load,
  percentile,
  request,
  type Sample,
  startLoad,
  type VirtualUser,
} from './load.js'
import { type Child, killAll, runApp } from './processes.js'
import { type FaultResult, printTable } from './report.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const run = promisify(execFile)
// pg is the app's dependency, not this folder's: typed here by the little the suite uses.
interface PgClient {
  connect(): Promise<void>
  query<Row>(text: string, params?: unknown[]): Promise<{ rows: Row[] }>
  end(): Promise<void>
}
const pg = appRequire('pg') as { Client: new (options: { connectionString: string }) => PgClient }

const FAULT_MS = Number(process.env.FAULT_SECONDS ?? 10) * 1000
const USERS = 8
// Each user pauses 100-300 ms between requests: at most ~5 requests/s, 300/min, under the
// app's premium limits (500/min API, 1000/min content) even on an idle machine where
// answers are instant. A faster load would measure the rate limiter, not the faults.
const PAUSE_MS = 200

interface Stack {
  base: string
  app: Child
  users: VirtualUser[]
  load: Load
}

const cleanups: (() => Promise<unknown> | unknown)[] = []
const results: FaultResult[] = []
const started = Date.now()

function log(message: string): void {
  console.log(`[faults +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`)
}

async function main(): Promise<number> {
  if (!(await postgresAnswers())) throw new Error(`Postgres does not answer at ${postgresUrl()}`)
  const label = `f${randomBytes(2).toString('hex')}`
  const main = await createTestDatabase(`${label}_main`)
  const shards: TestDatabase[] = []
  for (let i = 0; i < 4; i++) shards.push(await createTestDatabase(`${label}_s${i}`))
  cleanups.push(async () => {
    for (const db of [main, ...shards])
      await db
        .drop()
        .catch(() => db.drop())
        .catch((error: unknown) => console.error(`could not drop ${db.name}: ${String(error)}`))
  })
  const pgTarget = new URL(postgresUrl())
  // Shard 3 goes through a proxy the suite can cut: its database "refuses connections".
  const proxy = await startTcpProxy({ host: pgTarget.hostname, port: Number(pgTarget.port || 5432) })
  cleanups.push(() => proxy.close())
  const shardUrls = shards.map((db, index) => {
    if (index !== 3) return db.url
    const url = new URL(db.url)
    url.hostname = '127.0.0.1'
    url.port = String(proxy.port)
    return url.toString()
  })

  const redis = await startRedisServer({ appendOnly: true })
  cleanups.push(() => redis.close())
  const astroPort = await freePort()
  const astro = runApp('src/astro/main.ts', {
    PORT: String(astroPort),
    HOST: '127.0.0.1',
    ASTRO_LATENCY_MS: '20',
  })
  cleanups.push(() => astro.stop('SIGKILL'))
  await astro.waitFor('astro service listening', 60_000)
  const astroUrl = `http://127.0.0.1:${astroPort}`

  const env = (extra: Record<string, string>) => ({
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(24).toString('hex'),
    DATABASE_URL: main.url,
    SHARD_DATABASE_URLS: shardUrls.join(','),
    WEB_CONCURRENCY: '2',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TRUST_PROXY: 'true',
    PG_POOL_MAX: '4',
    ASTRO_URL: astroUrl,
    ASTRO_TIMEOUT_MS: '250',
    // A shared 2-core box stalls now and then; load shedding is not the fault under test.
    SHED_EVENT_LOOP_DELAY_MS: '2000',
    NOTIFICATION_DELAY_MS: '300',
    ANALYTICS_FLUSH_MS: '200',
    ...extra,
  })

  const stack = await startStack(env({ REDIS_URL: redis.url, REDIS_PREFIX: `${label}a` }), 'standalone')
  await sleep(3_000)

  await redisOutage(stack, redis)
  await shardOutage(stack, proxy)
  await astroFaults(stack, astroUrl)
  await workerKill(stack)

  await stack.load.stop()
  await checkLosses(stack, [main, ...shards])
  await stack.app.stop('SIGTERM', 20_000)

  if (process.env.FAULTS_SKIP_CLUSTER !== '1') {
    log('starting a Redis Cluster (3 masters, 1 replica each)')
    const cluster = await startRedisCluster({ replicasPerMaster: 1, nodeTimeoutMs: 2_000 })
    cleanups.push(() => cluster.close())
    const nodes = cluster.startupNodes.map((node) => `${node.host}:${node.port}`).join(',')
    const onCluster = await startStack(
      env({ REDIS_CLUSTER_NODES: nodes, REDIS_PREFIX: `${label}c` }),
      'cluster',
    )
    await sleep(3_000)
    await clusterFailover(onCluster, cluster)
    await onCluster.load.stop()
    await checkLosses(onCluster, [main, ...shards], 'cluster-failover')
    await onCluster.app.stop('SIGTERM', 20_000)
  }

  printTable(results)
  let failures = 0
  const reproduced = new Set<number>()
  for (const result of results) {
    const { known, unknown } = classify(result.fault, result.broken)
    for (const [id, lines] of known) {
      reproduced.add(id)
      console.log(`\nKNOWN (FINDINGS.md #${id}) under "${result.fault}":`)
      for (const line of lines.slice(0, 5)) console.log(`  - ${line}`)
    }
    if (unknown.length > 0) {
      failures++
      console.log(`\nBROKEN PROMISES under "${result.fault}":`)
      for (const line of unknown.slice(0, 12)) console.log(`  - ${line}`)
    }
  }
  for (const finding of KNOWN_FINDINGS) {
    if (!reproduced.has(finding.id))
      console.log(
        `\nFINDINGS.md #${finding.id} did not reproduce this run (${finding.summary}); remove it from faults/findings.ts once fixed.`,
      )
  }
  log(
    `done in ${((Date.now() - started) / 1000).toFixed(0)} s: ${failures === 0 ? 'every promise kept (known findings aside)' : `${failures} fault(s) broke a promise`}`,
  )
  return failures > 0 ? 1 : 0
}

async function startStack(env: Record<string, string>, what: string): Promise<Stack> {
  const port = await freePort()
  log(`starting corp-astro (2 workers, ${what} Redis) on port ${port}`)
  const app = runApp('src/main.ts', { ...env, PORT: String(port) })
  cleanups.push(() => app.stop('SIGKILL'))
  const base = `http://127.0.0.1:${port}`
  await waitUntil(
    async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200,
    120_000,
    'the app',
  ).catch(async (error: unknown) => {
    // Say why: what /readyz answered last and what the app printed.
    const readyz = await fetch(`${base}/readyz`)
      .then(async (res) => `${res.status} ${await res.text()}`)
      .catch((cause: unknown) => `no answer (${String(cause)})`)
    throw new Error(
      `${(error as Error).message}; /readyz: ${readyz}; app output (last 4,000 characters):\n${app.output().slice(-4_000)}`,
    )
  })
  // Both workers listen once the primary has forked them; readiness of one is not enough.
  await sleep(2_000)
  const users = await createUsers(base, USERS, what)
  const load = startLoad(base, users, { pauseMs: PAUSE_MS })
  return { base, app, users, load }
}

async function waitUntil(check: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const startedAt = Date.now()
  while (Date.now() - startedAt < ms) {
    if (await check().catch(() => false)) return Date.now() - startedAt
    await sleep(200)
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}`)
}

interface FaultSpec {
  name: string
  /** The promise: recovered within this long after the fault ends. */
  recoveryBoundMs: number
  inject(): Promise<void>
  heal(): Promise<void>
  /** True once the component the fault hit works again. */
  probe(): Promise<boolean>
  /** Verdicts tolerated during this fault besides ok/clean (socket resets from a killed worker). */
  allow?: (sample: Sample, faultAt: number) => boolean
  faultMs?: number
}

async function fault(stack: Stack, spec: FaultSpec): Promise<FaultResult> {
  log(`fault: ${spec.name}`)
  stack.load.phase(spec.name)
  const faultAt = Date.now()
  await spec.inject()
  await sleep(spec.faultMs ?? FAULT_MS)
  await spec.heal()
  const healedAt = Date.now()
  const duringFault = stack.load.samples().filter((s) => s.at < healedAt)
  let recoveredAt: number | undefined
  const deadline = healedAt + spec.recoveryBoundMs + 15_000
  while (Date.now() < deadline) {
    const ok = await spec.probe().catch(() => false)
    const lastBad = stack.load
      .samples()
      .filter((s) => s.verdict !== 'ok')
      .reduce((latest, s) => Math.max(latest, s.at + s.ms), 0)
    // Recovered: the probe passes and every request for the last 2 s succeeded.
    if (ok && Date.now() - Math.max(lastBad, healedAt) >= 2_000) {
      recoveredAt = Math.max(Date.now() - 2_000, lastBad, healedAt)
      break
    }
    await sleep(250)
  }
  const samples = stack.load.phase('steady')
  const broken: string[] = []
  for (const sample of samples) {
    if (sample.verdict === 'ok' || sample.verdict === 'clean') continue
    if (spec.allow?.(sample, faultAt)) continue
    broken.push(`${sample.op}: ${sample.verdict}${sample.detail ? ` (${sample.detail})` : ''}`)
  }
  const recoveryMs = recoveredAt === undefined ? undefined : recoveredAt - healedAt
  if (recoveryMs === undefined) broken.push(`did not recover within ${spec.recoveryBoundMs + 15_000} ms`)
  else if (recoveryMs > spec.recoveryBoundMs)
    broken.push(`recovered in ${recoveryMs} ms, promised ${spec.recoveryBoundMs} ms`)
  const result: FaultResult = {
    fault: spec.name,
    requests: samples.length,
    errors: samples.filter((s) => s.verdict !== 'ok').length,
    clean: samples.filter((s) => s.verdict === 'clean').length,
    resets: samples.filter((s) => s.verdict === 'reset').length,
    p99FaultMs: percentile(duringFault, 99),
    recoveryMs,
    recoveryBoundMs: spec.recoveryBoundMs,
    lost: 0,
    broken: dedupe(broken),
  }
  results.push(result)
  log(
    `  ${result.requests} requests, ${result.errors} errors (${result.clean} clean), p99 ${result.p99FaultMs} ms, recovered in ${recoveryMs ?? '-'} ms`,
  )
  return result
}

function dedupe(lines: string[]): string[] {
  const counts = new Map<string, number>()
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1)
  return [...counts].map(([line, count]) => (count > 1 ? `${line} x${count}` : line))
}

/** A report submitted now completes: the queue (and the store behind it) works. */
async function reportCompletes(stack: Stack, timeoutMs = 3_000): Promise<boolean> {
  const user = stack.users.find((u) => u.profiles.length > 0)
  if (!user) return false
  const res = await request(stack.base, 'POST', '/api/reports/monthly', {
    token: user.token,
    ip: user.ip,
    body: { profileId: user.profiles[0], month: '2026-09' },
  })
  if (res.status !== 202) return false
  user.reports.push(res.body.id)
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const status = await request(stack.base, 'GET', `/api/reports/${res.body.id}`, {
      token: user.token,
      ip: user.ip,
    })
    if (status.body?.status === 'completed') return true
    await sleep(100)
  }
  return false
}

async function redisOutage(stack: Stack, redis: RedisServer): Promise<void> {
  await fault(stack, {
    name: 'redis stopped 10 s',
    recoveryBoundMs: 20_000,
    inject: () => redis.stop(),
    heal: () => redis.start(),
    probe: async () => (await fetch(`${stack.base}/readyz`)).status === 200 && (await reportCompletes(stack)),
  })
}

async function shardOutage(stack: Stack, proxy: TcpProxy): Promise<void> {
  await fault(stack, {
    name: 'postgres shard 3 refuses connections',
    recoveryBoundMs: 20_000,
    inject: () => proxy.close(),
    heal: () => proxy.open(),
    // Every user can write again, whichever shard holds them.
    probe: async () => {
      for (const user of stack.users) {
        const res = await request(stack.base, 'PATCH', '/api/users/me', {
          token: user.token,
          ip: user.ip,
          body: { name: 'probe' },
        })
        if (res.status !== 200) return false
      }
      return true
    },
  })
}

async function setAstro(url: string, faults: { failureRate?: number; latencyMs?: number }): Promise<void> {
  const res = await fetch(`${url}/admin/faults`, { method: 'POST', body: JSON.stringify(faults) })
  if (res.status !== 200) throw new Error(`astro faults: ${res.status}`)
}

/** A newly created profile's daily content carries the astro forecast again. */
async function astroAnswers(stack: Stack): Promise<boolean> {
  const user = stack.users[0]!
  const created = await request(stack.base, 'POST', '/api/business-profiles', {
    token: user.token,
    ip: user.ip,
    body: { name: 'Probe', industry: 'Retail', foundingDate: '2011-01-11', location: 'Rome' },
  })
  if (created.status !== 201) return false
  user.profiles.push(created.body.id)
  const daily = await request(stack.base, 'GET', `/api/content/daily?profileId=${created.body.id}`, {
    token: user.token,
    ip: user.ip,
  })
  return daily.status === 200 && daily.body?.source === 'astro'
}

async function astroFaults(stack: Stack, astroUrl: string): Promise<void> {
  await fault(stack, {
    name: 'astro slow (2 s per call)',
    // The breaker's half-open probe has to come round before forecasts return.
    recoveryBoundMs: 30_000,
    faultMs: 8_000,
    inject: () => setAstro(astroUrl, { latencyMs: 2_000 }),
    heal: () => setAstro(astroUrl, { latencyMs: 20 }),
    probe: () => astroAnswers(stack),
  })
  await fault(stack, {
    name: 'astro failing (100 % 503)',
    recoveryBoundMs: 30_000,
    faultMs: 8_000,
    inject: () => setAstro(astroUrl, { failureRate: 1 }),
    heal: () => setAstro(astroUrl, { failureRate: 0 }),
    probe: () => astroAnswers(stack),
  })
}

/** The worker processes of a node:cluster primary (its children running main.ts). */
async function workerPids(primary: number): Promise<number[]> {
  const { stdout } = await run('ps', ['-o', 'pid=,args=', '--ppid', String(primary)])
  return stdout
    .split('\n')
    .filter((line) => line.includes('main.ts'))
    .map((line) => Number(line.trim().split(/\s+/)[0]))
    .filter((pid) => Number.isInteger(pid) && pid > 0)
}

async function workerKill(stack: Stack): Promise<void> {
  const primary = stack.app.process.pid!
  const before = await workerPids(primary)
  if (before.length < 2) throw new Error(`expected 2 workers, found ${before.length}`)
  let killedAt = 0
  await fault(stack, {
    name: 'worker SIGKILLed mid-job',
    // A job whose worker died is run again once its lease (10 s) expires; a new worker boots meanwhile.
    recoveryBoundMs: 30_000,
    faultMs: 1_000,
    async inject() {
      // Queue a burst of reports so jobs are running when the worker dies.
      await Promise.all(
        stack.users.slice(0, 6).map(async (user) => {
          if (user.profiles.length === 0) return
          const res = await request(stack.base, 'POST', '/api/reports/monthly', {
            token: user.token,
            ip: user.ip,
            body: { profileId: user.profiles[0], month: '2026-08' },
          })
          if (res.status === 202) user.reports.push(res.body.id)
        }),
      )
      killedAt = Date.now()
      process.kill(before[0]!, 'SIGKILL')
    },
    async heal() {},
    async probe() {
      const now = await workerPids(primary)
      if (now.length < 2 || now.includes(before[0]!)) return false
      return reportCompletes(stack)
    },
    // Requests in flight on the killed worker lose their connection: nobody can answer them.
    // So do requests sent in the next moment on a pooled keep-alive connection to it, which
    // the client has not yet seen close (a retryable reset, not a server answer).
    allow: (sample) =>
      sample.verdict === 'reset' && sample.at <= killedAt + 1_000 && sample.at + sample.ms >= killedAt,
  })
}

async function clusterFailover(stack: Stack, cluster: RedisCluster): Promise<void> {
  let victim: RedisServer | undefined
  for (const node of cluster.nodes) {
    const { stdout } = await run('redis-cli', ['-p', String(node.port), 'role'])
    if (stdout.startsWith('master')) {
      victim = node
      break
    }
  }
  if (!victim) throw new Error('no master found in the cluster')
  const node = victim
  await fault(stack, {
    name: 'redis cluster master killed (replica promoted)',
    recoveryBoundMs: 20_000,
    // The replica takes over after cluster-node-timeout (2 s) plus an election.
    faultMs: 6_000,
    inject: () => node.kill(),
    heal: async () => {},
    probe: () => reportCompletes(stack),
  })
}

/** Every acknowledged write and job is there: profiles readable, reports completed, events stored. */
async function checkLosses(stack: Stack, databases: TestDatabase[], only?: string): Promise<void> {
  log('checking for lost items')
  const lostBy = new Map<string, { count: number; lines: string[] }>()
  const lose = (fault: string, what: string, count = 1) => {
    const entry = lostBy.get(fault) ?? { count: 0, lines: [] }
    entry.count += count
    entry.lines.push(what)
    lostBy.set(fault, entry)
  }
  for (const user of stack.users) {
    for (const id of user.profiles) {
      const res = await request(stack.base, 'GET', `/api/business-profiles/${id}`, {
        token: user.token,
        ip: user.ip,
      })
      if (res.status !== 200) lose(only ?? 'all', `profile ${id} answered ${res.status}`)
    }
  }
  // Jobs of a dead worker wait out their lease; retries back off: allow a generous while.
  const pending = stack.users.flatMap((user) => user.reports.map((id) => ({ user, id })))
  const deadline = Date.now() + 60_000
  const lastSeen = new Map<string, string>()
  let open = pending
  while (open.length > 0 && Date.now() < deadline) {
    const next: typeof open = []
    for (const item of open) {
      const res = await request(stack.base, 'GET', `/api/reports/${item.id}`, {
        token: item.user.token,
        ip: item.user.ip,
      })
      if (res.body?.status !== 'completed') {
        lastSeen.set(item.id, `${res.status} ${JSON.stringify(res.body)}`)
        next.push(item)
      }
    }
    open = next
    if (open.length > 0) await sleep(1_000)
  }
  for (const item of open)
    lose(
      only ?? 'worker SIGKILLed mid-job',
      `report ${item.id} never completed (last answer: ${lastSeen.get(item.id)})`,
    )
  log(`  ${pending.length} reports acknowledged, ${open.length} not completed`)

  // Analytics: each phase's events carry its own type; the batches land within seconds.
  const acked = new Map<string, number>()
  for (const user of stack.users)
    for (const [type, n] of user.events) acked.set(type, (acked.get(type) ?? 0) + n)
  const stored = async () => {
    const counts = new Map<string, number>()
    for (const db of databases.slice(1)) {
      const client = new pg.Client({ connectionString: db.url })
      await client.connect()
      try {
        const { rows } = await client.query<{ type: string; n: string }>(
          `SELECT type, count(DISTINCT id)::text AS n FROM analytics_events WHERE user_id = ANY($1::uuid[]) GROUP BY type`,
          [stack.users.map((u) => u.id)],
        )
        for (const row of rows) counts.set(row.type, (counts.get(row.type) ?? 0) + Number(row.n))
      } finally {
        await client.end()
      }
    }
    return counts
  }
  let counts = await stored()
  for (let i = 0; i < 30 && [...acked].some(([type, n]) => (counts.get(type) ?? 0) < n); i++) {
    await sleep(500)
    counts = await stored()
  }
  for (const [type, n] of acked) {
    const missing = n - (counts.get(type) ?? 0)
    if (missing > 0)
      lose(phaseOf(type, only), `${missing} of ${n} acknowledged analytics events (${type}) never stored`)
  }
  for (const [faultName, { count, lines: items }] of lostBy) {
    const target =
      results.find((r) => r.fault === faultName) ??
      results.find((r) => faultName === 'all' || r.fault.startsWith(faultName))
    const row = target ?? results[results.length - 1]
    if (!row) continue
    row.lost += count
    row.broken.push(...dedupe(items).slice(0, 10))
  }
}

function phaseOf(type: string, only?: string): string {
  if (only) return only
  const key = type.replace(/^fault\./, '')
  const match = results.find((r) => r.fault.replace(/[^a-z0-9]/g, '') === key)
  return match?.fault ?? 'all'
}

let exitCode = 1
const cleanUp = async () => {
  killAll()
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup()
    } catch {}
  }
}
// Interrupted: still stop the app, Redis and the proxy, and drop the databases.
const interrupt = () => {
  void cleanUp().finally(() => process.exit(130))
}
process.once('SIGINT', interrupt)
process.once('SIGTERM', interrupt)
try {
  exitCode = await main()
} catch (error) {
  console.error(error)
  exitCode = 1
} finally {
  await cleanUp()
}
process.exit(exitCode)
