/**
 * `pnpm --filter corp-astro loadtest`: the seed's scenario mix against the app in
 * cluster mode on real Postgres (a main and 4 shard databases) and Redis, with
 * Headroom off (no cache, no shedding, static pools) and on, each on fresh databases,
 * then a table beside the seed's published figures.
 *
 * Each mode is measured twice with 1,000 connections, one user each:
 * - closed loop: every connection sends its next request the moment the last one
 *   answered. This finds the most the app serves; its latency is queueing by
 *   construction (Little's law: 1,000 requests always in flight at R requests/s wait
 *   1,000 / R s on average), so it cannot show a p99 under 100 ms below 10,000 RPS.
 * - paced at the target: every connection sends 5 requests a second (5,000 RPS in all),
 *   the way the seed's own figures were taken (500 RPS at 120 ms mean is 60 requests
 *   in flight, not 1,000). This shows the latency users see at that rate, and whether
 *   the app keeps up: when it cannot, the achieved RPS falls short.
 *
 * Env: LOADTEST_POSTGRES_URL, LOADTEST_REDIS_URL, LOADTEST_CONNECTIONS (1000),
 * LOADTEST_DURATION_S (20), LOADTEST_WARMUP_S (15), LOADTEST_RATE (5000, the paced run's RPS; 0 skips it),
 * LOADTEST_WORKERS (WEB_CONCURRENCY, 2), LOADTEST_MODES (off,on),
 * LOADTEST_PG_POOL_MAX (5), LOADTEST_PG_POOL_MIN (2), LOADTEST_NODE_ARGS (extra node flags for the app, e.g. --cpu-prof),
 * LOADTEST_CALIBRATE (1: also time a bare Express hello on the same machine), LOADTEST_APP_LOG (file),
 * LOADTEST_PG_LOG_STATEMENTS (1: Postgres logs every statement of the run's databases to its server log).
 */
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { freePort, type Mode, startEnvironment } from './environment.js'
import { fire, type Outcome } from './fire.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const CONNECTIONS = Number(process.env.LOADTEST_CONNECTIONS ?? 1000)
const DURATION_S = Number(process.env.LOADTEST_DURATION_S ?? 20)
const RATE = Number(process.env.LOADTEST_RATE ?? 5000)
const WORKERS = Number(process.env.LOADTEST_WORKERS ?? 2)
const WARMUP_S = Number(process.env.LOADTEST_WARMUP_S ?? 15)
const MODES = (process.env.LOADTEST_MODES ?? 'off,on').split(',') as Mode[]

/** The seed's published figures (2-vCPU t3.large). */
const SEED = { rps: 500, meanMs: 120, p99Ms: 350, errorRate: 0.001 }
const TARGET = { rps: SEED.rps * 10, p99Ms: 100, errorRate: 0.001 }

interface Row extends Outcome {
  label: string
  /** CPU the app's processes spent per request (µs); the load generator, Postgres and Redis not included. */
  appCpuUs?: number
  /** Postgres transactions (all 5 databases) per request: what the cache and batching leave to the database. */
  pgPerRequest?: number
}

async function runMode(mode: Mode): Promise<Row[]> {
  const env = await startEnvironment({
    mode,
    userCount: CONNECTIONS,
    workers: WORKERS,
    poolMax: process.env.LOADTEST_PG_POOL_MAX ?? '5',
    poolMin: process.env.LOADTEST_PG_POOL_MIN ?? '2',
  })
  try {
    const common = { base: env.base, users: env.users, connections: CONNECTIONS, durationS: DURATION_S }
    // Every user once through the mix before measuring: the first request of the day for a
    // profile generates its horoscope (astro call, insert), which a steady state has done.
    console.log(`[${mode}] warming up (${WARMUP_S} s, ${CONNECTIONS} connections at 2 requests/s each)...`)
    const warm = await fire({ ...common, durationS: WARMUP_S, perConnection: 2 })
    console.log(
      `[${mode}] warm-up: ${fmt(warm.rps)} RPS, p99 ${fmt(warm.p99Ms)} ms, ${JSON.stringify(warm.statuses)}`,
    )
    const rows: Row[] = []
    const measured = async (label: string, run: () => Promise<Outcome>) => {
      const xactsBefore = await env.pgTransactions()
      const before = env.cpuMs()
      const out = await run()
      const appCpuUs = ((env.cpuMs() - before) * 1000) / Math.max(1, out.requests)
      const pgPerRequest = ((await env.pgTransactions()) - xactsBefore) / Math.max(1, out.requests)
      rows.push({ label, ...out, appCpuUs, pgPerRequest })
    }
    if (RATE > 0) {
      const perConnection = RATE / CONNECTIONS
      console.log(
        `[${mode}] paced: ${RATE} RPS (${perConnection}/s on each of ${CONNECTIONS} connections), ${DURATION_S} s...`,
      )
      await measured(`Headroom ${mode}, paced at ${fmt(RATE)} RPS`, () => fire({ ...common, perConnection }))
    }
    console.log(`[${mode}] closed loop: ${CONNECTIONS} connections, ${DURATION_S} s...`)
    await measured(`Headroom ${mode}, closed loop`, () => fire(common))
    return rows
  } finally {
    await env.stop()
  }
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

function table(rows: Row[]): string {
  return [
    '| Run | RPS | Mean (ms) | p50 (ms) | p99 (ms) | Errors | x seed RPS | App CPU per request | Postgres transactions per request |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| Seed (published, 2-vCPU t3.large) | ${fmt(SEED.rps)} | ${fmt(SEED.meanMs)} | | ${fmt(SEED.p99Ms)} | < 0.1 % | 1.0 | | |`,
    ...rows.map(
      (r) =>
        `| ${r.label} | ${fmt(r.rps)} | ${fmt(r.meanMs, 1)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms)} | ${fmt(r.errorRate * 100, 3)} % | ${fmt(r.rps / SEED.rps, 1)} | ${r.appCpuUs === undefined ? '' : `${fmt(r.appCpuUs)} µs`} | ${r.pgPerRequest === undefined ? '' : fmt(r.pgPerRequest, 2)} |`,
    ),
  ].join('\n')
}

/**
 * Calibration: a bare Express "hello" on one process, same connections, same machine,
 * same minute, with the app's listen backlog (Node's default of 511 overflows when 1,000
 * clients connect at once, and the dropped SYNs would show as client timeouts). On a
 * shared box the absolute figures swing with the neighbours' load; this row says how much
 * the machine itself could serve while the runs were made.
 */
async function calibrate(): Promise<Row> {
  const port = await freePort()
  const code = `const app = require('express')(); app.get('/', (q, r) => r.json({ ok: true }));
    app.listen({ port: ${port}, host: '127.0.0.1', backlog: 4096 }, () => console.log('ready'))`
  const child = spawn(process.execPath, ['-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve())
      child.once('exit', (exitCode) => reject(new Error(`calibration server exited (${exitCode})`)))
    })
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/`,
      connections: CONNECTIONS,
      // As long as the app's runs: autocannon's 10 s client timeouts at 1,000 connections
      // appear in runs past ~10 s even against this bare server, and the row must show them.
      duration: DURATION_S,
      timeout: 10,
    })
    const failed = result.non2xx + result.errors
    return {
      label: 'Calibration: bare Express hello, 1 process, closed loop',
      rps: result.requests.average,
      meanMs: result.latency.mean,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errorRate: failed / Math.max(1, result.requests.total + result.errors),
      requests: result.requests.total,
      statuses: {},
      failuresByKind: {},
      p99ByKind: {},
    }
  } finally {
    child.kill('SIGKILL')
  }
}

function verdict(rows: Row[]): string[] {
  const paced = rows.find((r) => r.label.startsWith('Headroom on, paced'))
  if (!paced) return []
  // The pacing is per second per connection: a run that kept up lands within 1 % of the rate.
  const kept = paced.rps >= TARGET.rps * 0.99
  return [
    `Target (Headroom on, paced): >= ${fmt(TARGET.rps)} RPS: ${kept ? 'MET' : 'MISS'} (${fmt(paced.rps)}); ` +
      `p99 < ${TARGET.p99Ms} ms: ${paced.p99Ms < TARGET.p99Ms ? 'MET' : 'MISS'} (${fmt(paced.p99Ms)}); ` +
      `errors < ${TARGET.errorRate * 100} %: ${paced.errorRate < TARGET.errorRate ? 'MET' : 'MISS'} (${fmt(paced.errorRate * 100, 3)} %)`,
  ]
}

const rows: Row[] = []
for (const mode of MODES) rows.push(...(await runMode(mode)))
if (process.env.LOADTEST_CALIBRATE !== '0') rows.push(await calibrate())
const report = [
  `Corp Astro load test, ${new Date().toISOString()}: ${CONNECTIONS} connections, ${DURATION_S} s per run, ${WORKERS} workers,`,
  'Postgres (main + 4 shard databases) and Redis on the same shared 2-core machine as autocannon.',
  '',
  table(rows),
  '',
  ...verdict(rows),
  '',
  `Machine load average at the end: ${loadavg()
    .map((n) => n.toFixed(1))
    .join(' / ')} (1/5/15 min, 2 cores).`,
  '',
  `Status codes: ${rows.map((r) => `${r.label}: ${JSON.stringify(r.statuses)}`).join('; ')}`,
  '',
  `Refusals and failures by request kind: ${rows
    .filter((r) => Object.keys(r.failuresByKind).length > 0)
    .map((r) => `${r.label}: ${JSON.stringify(r.failuresByKind)}`)
    .join('; ')}`,
  '',
  ...rows
    .filter((r) => Object.keys(r.p99ByKind).length > 0)
    .map(
      (r) =>
        `p99 by request kind (ms), ${r.label}: ${Object.entries(r.p99ByKind)
          .sort(([, a], [, b]) => b - a)
          .map(([kind, ms]) => `${kind} ${fmt(ms)}`)
          .join(', ')}`,
    ),
].join('\n')
console.log(`\n${report}\n`)
mkdirSync(`${root}loadtest/results`, { recursive: true })
writeFileSync(`${root}loadtest/results/latest.md`, `${report}\n`)
writeFileSync(
  `${root}loadtest/results/latest.json`,
  `${JSON.stringify({ at: new Date().toISOString(), seed: SEED, target: TARGET, rows }, null, 2)}\n`,
)
process.exit(0)
