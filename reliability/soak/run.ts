/**
 * The soak run (`pnpm soak`, not in CI): Corp Astro with 2 workers on real Postgres and
 * Redis under SOAK_MINUTES (default 10) of the fault suite's mixed load, no faults. The
 * RSS and heap of each worker are sampled every 5 s; growth after warm-up is reported.
 * Exits non-zero when a worker's heap grows 5 % or more after warm-up.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { get } from 'node:http'
import {
  createTestDatabase,
  freePort,
  startRedisServer,
  type TestDatabase,
} from '../../packages/testing/src/index.js'
import { createUsers, percentile, type Sample, startLoad } from '../faults/load.js'
import { killAll, runApp } from '../faults/processes.js'

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10)
const SAMPLE_MS = 5_000
const WARMUP_MS = Math.max(30_000, MINUTES * 60_000 * 0.2)
const HEAP_BUDGET = 0.05
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface MemorySample {
  at: number
  pid: number
  rss: number
  heap: number
}

/** One /metrics scrape over a fresh connection, so the cluster primary hands it to either worker. */
function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(
      { host: '127.0.0.1', port, path: '/metrics?worker=self', agent: false, timeout: 5_000 },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => {
          body += chunk
        })
        res.on('end', () => resolve(body))
      },
    )
    req.on('timeout', () => req.destroy(new Error('metrics timed out')))
    req.on('error', reject)
  })
}

const metric = (text: string, name: string) => {
  const match = new RegExp(`^${name}\\{[^}]*\\} ([0-9.e+]+)`, 'm').exec(text)
  return match ? Number(match[1]) : Number.NaN
}

/** Heap of each worker (from its own /metrics) and RSS (from /proc, which cannot be skewed by the scrape). */
async function sampleWorkers(port: number): Promise<MemorySample[]> {
  const seen = new Map<number, MemorySample>()
  for (let i = 0; i < 12 && seen.size < 2; i++) {
    const text = await scrape(port).catch(() => '')
    const pid = Number(/pid="(\d+)"/.exec(text)?.[1])
    if (!pid || seen.has(pid)) continue
    let rss = metric(text, 'process_resident_memory_bytes')
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) * 1024
    } catch {}
    seen.set(pid, { at: Date.now(), pid, rss, heap: metric(text, 'nodejs_heap_size_used_bytes') })
  }
  return [...seen.values()]
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

const cleanups: (() => Promise<unknown>)[] = []

async function main(): Promise<number> {
  const label = `soak${randomBytes(2).toString('hex')}`
  try {
    const dbs: TestDatabase[] = []
    for (const name of ['main', 's0', 's1', 's2', 's3'])
      dbs.push(await createTestDatabase(`${label}_${name}`))
    cleanups.push(async () => {
      for (const db of dbs)
        await db
          .drop()
          .catch(() => db.drop())
          .catch((error: unknown) => console.error(`could not drop ${db.name}: ${String(error)}`))
    })
    const redis = await startRedisServer()
    cleanups.push(() => redis.close())
    const port = await freePort()
    const app = runApp('src/main.ts', {
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(24).toString('hex'),
      DATABASE_URL: dbs[0]!.url,
      SHARD_DATABASE_URLS: dbs
        .slice(1)
        .map((db) => db.url)
        .join(','),
      REDIS_URL: redis.url,
      WEB_CONCURRENCY: '2',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      TRUST_PROXY: 'true',
      SHED_EVENT_LOOP_DELAY_MS: '2000',
      NOTIFICATION_DELAY_MS: '300',
      ANALYTICS_FLUSH_MS: '200',
    })
    cleanups.push(() => app.stop('SIGTERM', 20_000))
    const base = `http://127.0.0.1:${port}`
    for (let i = 0; i < 600; i++) {
      if ((await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200) break
      await sleep(200)
    }
    await sleep(2_000)
    const users = await createUsers(base, 8, 'soak')
    const load = startLoad([base], users, { pauseMs: 60 })
    const started = Date.now()
    const memory: MemorySample[] = []
    const requests: Sample[] = []
    console.log(
      `[soak] ${MINUTES} min of mixed load, warm-up ${Math.round(WARMUP_MS / 1000)} s, sampling every ${SAMPLE_MS / 1000} s`,
    )
    while (Date.now() - started < MINUTES * 60_000) {
      await sleep(SAMPLE_MS)
      requests.push(...load.phase('soak'))
      for (const sample of await sampleWorkers(port)) {
        memory.push(sample)
        console.log(
          `[soak +${Math.round((sample.at - started) / 1000)}s] pid ${sample.pid} rss ${mb(sample.rss)} heap ${mb(sample.heap)}`,
        )
      }
    }
    requests.push(...(await load.stop()))

    // Clean refusals (429 once a user passes its per-minute limit on a quiet machine) are
    // the service keeping a promise; anything else is a failure.
    const refused = requests.filter((s) => s.verdict === 'clean')
    const errors = requests.filter((s) => s.verdict !== 'ok' && s.verdict !== 'clean')
    console.log(
      `\n[soak] ${requests.length} requests (${(requests.length / (MINUTES * 60)).toFixed(0)}/s), ${errors.length} errors, ${refused.length} clean 429/503, p99 ${percentile(requests, 99)} ms`,
    )
    // Compare the first and the last third of the run after warm-up. Used heap is a GC sawtooth, so
    // the lowest sample of a window (just after a collection) stands for the live set.
    const window = (MINUTES * 60_000 - WARMUP_MS) / 3
    const end = Date.now()
    const rows: string[] = []
    let failed = errors.length > 0
    for (const pid of new Set(memory.map((m) => m.pid))) {
      const mine = memory.filter((m) => m.pid === pid)
      const early = mine.filter((m) => m.at - started >= WARMUP_MS && m.at - started < WARMUP_MS + window)
      const late = mine.filter((m) => m.at >= end - window)
      if (early.length === 0 || late.length === 0) continue
      const heap0 = Math.min(...early.map((m) => m.heap))
      const heap1 = Math.min(...late.map((m) => m.heap))
      const rss0 = median(early.map((m) => m.rss))
      const rss1 = median(late.map((m) => m.rss))
      const growth = (heap1 - heap0) / heap0
      if (growth >= HEAP_BUDGET) failed = true
      rows.push(
        `| ${pid} | ${mb(heap0)} | ${mb(heap1)} | ${(growth * 100).toFixed(1)} % | ${mb(rss0)} | ${mb(rss1)} | ${(((rss1 - rss0) / rss0) * 100).toFixed(1)} % |`,
      )
    }
    console.log(
      '\n| worker | heap after warm-up (floor) | heap at end (floor) | heap growth | RSS after warm-up (median) | RSS at end (median) | RSS growth |',
    )
    console.log('|---|---|---|---|---|---|---|')
    for (const row of rows) console.log(row)
    if (rows.length === 0) {
      console.log('[soak] too short to compare windows after warm-up; run with SOAK_MINUTES >= 2')
      failed = true
    }
    for (const error of errors.slice(0, 10))
      console.log(`  error: ${error.op} ${error.verdict} ${error.detail ?? ''}`)
    return failed ? 1 : 0
  } finally {
    await cleanUp()
  }
}

async function cleanUp(): Promise<void> {
  killAll()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
}

let code = 1
// Ctrl-C still stops the app and Redis and drops the databases.
process.once('SIGINT', () => {
  void cleanUp().finally(() => process.exit(130))
})
try {
  code = await main()
} catch (error) {
  console.error(error)
} finally {
  killAll()
}
process.exit(code)
