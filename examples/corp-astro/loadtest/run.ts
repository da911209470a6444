/**
 * `pnpm --filter corp-astro loadtest`: the load curve. The seed's scenario mix against the
 * app in cluster mode (2 workers) on real Postgres (a main and 4 shard databases) and
 * Redis, with Headroom on and off, and a bare Express hello behind the same connections,
 * each paced (open loop, constant arrival rate) at the seed's 500 RPS and at 0.25x-3x of
 * the capacity measured in the same run; then the all-at-once reconnect storm; then a
 * table, raw JSON and two SVG plots in `loadtest/results/`.
 *
 * 1,000 users, one keep-alive connection each, opened over a ramp and kept open; a 10 s
 * client timeout. Users are 20 % premium, 30 % basic, 50 % free.
 *
 * Env: LOADTEST_QUICK (1: shorter runs and fewer points), LOADTEST_POSTGRES_URL,
 * LOADTEST_REDIS_URL, LOADTEST_USERS (1000), LOADTEST_DURATION_S (per point, ramp
 * included), LOADTEST_RAMP_S, LOADTEST_SEED_RPS (500), LOADTEST_MULTIPLIERS (of capacity,
 * comma separated), LOADTEST_MODES (on,off,hello), LOADTEST_WORKERS (2),
 * LOADTEST_PG_POOL_MAX (5), LOADTEST_PG_POOL_MIN (2), LOADTEST_NODE_ARGS (extra node flags
 * for the app, e.g. --cpu-prof), LOADTEST_APP_LOG (file), LOADTEST_PG_LOG_STATEMENTS.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import {
  type GroupReads,
  hitRateLine,
  hitRateTable,
  readsBetween,
  scrapeCacheReads,
} from './cache-hit-rate.js'
import { type Environment, type Mode, startEnvironment, treeCpuByPid } from './environment.js'
import { startHello } from './hello.js'
import { type LoadResult, runLoad } from './open-loop.js'
import { type LoadUser, nextRequest, onResponse } from './scenario.js'
import { lineChart } from './svg.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const QUICK = process.env.LOADTEST_QUICK === '1'
const USERS = Number(process.env.LOADTEST_USERS ?? 1000)
const DURATION_S = Number(process.env.LOADTEST_DURATION_S ?? (QUICK ? 8 : 20))
const RAMP_S = Number(process.env.LOADTEST_RAMP_S ?? (QUICK ? 2 : 5))
const WARMUP_S = QUICK ? 8 : 15
const CAPACITY_S = QUICK ? 8 : 15
const IDLE_S = QUICK ? 5 : 15
const SEED_RPS = Number(process.env.LOADTEST_SEED_RPS ?? 500)
const MULTIPLIERS = (process.env.LOADTEST_MULTIPLIERS ?? (QUICK ? '0.5,1,2' : '0.25,0.5,0.75,1,1.5,2,3'))
  .split(',')
  .map(Number)
const MODES = (process.env.LOADTEST_MODES ?? 'on,off,hello').split(',') as Kind[]
const WORKERS = Number(process.env.LOADTEST_WORKERS ?? 2)
const TIMEOUT_MS = 10_000

type Kind = Mode | 'hello'
const LABEL: Record<Kind, string> = { on: 'Headroom on', off: 'Headroom off', hello: 'bare Express hello' }

interface Point extends LoadResult {
  mode: Kind
  /** What the point is: `seed`, `x<multiplier>`, `capacity` (closed loop), `storm`. */
  name: string
  multiplier?: number
  rampS: number
  /** CPU of the app's processes (primary and workers) per answered request, µs. */
  appCpuUs: number
  loadAverage: number[]
  /** Cache reads by key group during the point (Headroom on only). */
  cacheReads?: Map<string, GroupReads>
}

interface Target {
  /** The server under test, its CPU, and how its requests look. */
  host: string
  port: number
  users: LoadUser[]
  cpuMs(): number
  cpuByPid(): Map<number, number>
  request: (user: LoadUser) => ReturnType<typeof nextRequest>
  headers?: (user: LoadUser) => Record<string, string>
  onAnswer?: typeof onResponse
  stop(): Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

async function appTarget(mode: Mode): Promise<Target> {
  const env: Environment = await startEnvironment({
    mode,
    userCount: USERS,
    workers: WORKERS,
    poolMax: process.env.LOADTEST_PG_POOL_MAX ?? '5',
    poolMin: process.env.LOADTEST_PG_POOL_MIN ?? '2',
    tiers: 'mixed',
  })
  return {
    host: '127.0.0.1',
    port: env.port,
    users: env.users,
    cpuMs: env.cpuMs,
    cpuByPid: env.cpuByPid,
    request: nextRequest,
    headers: (user) => ({ 'x-forwarded-for': user.ip, authorization: `Bearer ${user.accessToken}` }),
    onAnswer: onResponse,
    stop: env.stop,
  }
}

async function helloTarget(users: LoadUser[]): Promise<Target> {
  const hello = await startHello()
  const cpuByPid = () => treeCpuByPid(hello.pid)
  return {
    host: '127.0.0.1',
    port: hello.port,
    users,
    cpuByPid,
    cpuMs: () => [...cpuByPid().values()].reduce((a, b) => a + b, 0),
    request: () => ({ method: 'GET', path: '/', kind: 'hello' }),
    stop: hello.stop,
  }
}

async function measure(
  target: Target,
  mode: Kind,
  name: string,
  load: { rate?: number; durationS: number; rampS: number; multiplier?: number },
): Promise<Point> {
  const cpuBefore = target.cpuMs()
  const cacheBefore =
    mode === 'on' ? await scrapeCacheReads(target.host, target.port).catch(() => undefined) : undefined
  const result = await runLoad({
    host: target.host,
    port: target.port,
    users: target.users,
    ...(load.rate === undefined ? {} : { rate: load.rate }),
    durationS: load.durationS,
    rampS: load.rampS,
    timeoutMs: TIMEOUT_MS,
    next: target.request,
    ...(target.onAnswer ? { onAnswer: target.onAnswer } : {}),
    ...(target.headers ? { headers: target.headers } : {}),
  })
  const appCpuUs = ((target.cpuMs() - cpuBefore) * 1000) / Math.max(1, result.answered)
  const cacheAfter = cacheBefore
    ? await scrapeCacheReads(target.host, target.port).catch(() => undefined)
    : undefined
  const point: Point = {
    ...result,
    mode,
    name,
    ...(load.multiplier === undefined ? {} : { multiplier: load.multiplier }),
    rampS: load.rampS,
    appCpuUs,
    loadAverage: loadavg(),
    ...(cacheBefore && cacheAfter ? { cacheReads: readsBetween(cacheBefore, cacheAfter) } : {}),
  }
  if (point.cacheReads)
    console.log(`[${mode}] ${name}: cache hit rate by key group: ${hitRateLine(point.cacheReads)}`)
  console.log(
    `[${mode}] ${name}: offered ${fmt(result.offeredRps)}, achieved ${fmt(result.achievedRps)}, goodput ${fmt(result.goodputRps)}, ` +
      `p50 ${fmt(result.served.p50, 1)} p99 ${fmt(result.served.p99)} ms, refused ${result.refused.count} (p99 ${fmt(result.refused.p99)} ms), ` +
      `timeouts ${result.timeouts}, errors ${JSON.stringify(result.errors)}, socket errors ${result.socketErrors}, CPU ${fmt(appCpuUs)} µs/request`,
  )
  return point
}

/**
 * Waits until the server has finished what earlier load left it (requests whose clients
 * gave up are still served): its CPU under 5 % of a core per process for 2 s in a row, at
 * most `maxS` seconds. Returns the seconds waited.
 */
async function settle(target: Target, maxS = 15): Promise<number> {
  const started = Date.now()
  let quiet = 0
  let before = target.cpuMs()
  while (quiet < 2 && Date.now() - started < maxS * 1000) {
    await sleep(1_000)
    const now = target.cpuMs()
    quiet = now - before < 50 * target.cpuByPid().size ? quiet + 1 : 0
    before = now
  }
  return (Date.now() - started) / 1000
}

/** Per-process CPU (% of a core) over `seconds` with no traffic. */
async function idleCpu(target: Target, seconds: number): Promise<Record<string, number>> {
  const before = target.cpuByPid()
  await sleep(seconds * 1000)
  const after = target.cpuByPid()
  const out: Record<string, number> = {}
  for (const [pid, ms] of after)
    out[pid] = Math.round(((ms - (before.get(pid) ?? ms)) / (seconds * 1000)) * 10_000) / 100
  return out
}

const points: Point[] = []
const idle: Record<string, Record<string, number>> = {}
const startedAt = new Date()
const loadAtStart = loadavg()
let capacity = 0
let users: LoadUser[] = []

// Interrupted (Ctrl-C): stop the server under test, drop its databases and keys, then exit.
let current: Target | undefined
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.error(`${signal}: stopping the server under test...`)
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130))
  })

for (const mode of MODES) {
  if (mode !== 'on' && capacity === 0 && MODES.includes('on'))
    throw new Error('LOADTEST_MODES: "on" must come first (its capacity sets the curve)')
  console.log(`[${mode}] starting...`)
  const target = mode === 'hello' ? await helloTarget(users) : await appTarget(mode)
  current = target
  if (mode !== 'hello') users = target.users
  if (target.users.length === 0) throw new Error('the hello calibration needs the users of an app run first')
  try {
    if (mode !== 'hello') {
      // Every user once through the mix first: the first request of the day for a profile
      // generates its horoscope (astro call, insert), which a steady state has done.
      await measure(target, mode, 'warm-up', { rate: SEED_RPS, durationS: WARMUP_S, rampS: RAMP_S })
      console.log(`[${mode}] settled after ${fmt(await settle(target, 30))} s`)
      idle[mode] = await idleCpu(target, IDLE_S)
      console.log(
        `[${mode}] idle CPU (% of a core, by pid; the first is the primary): ${JSON.stringify(idle[mode])}`,
      )
    }
    const closed = await measure(target, mode, 'capacity', { durationS: CAPACITY_S, rampS: RAMP_S })
    points.push(closed)
    if (mode === 'on' || capacity === 0) capacity = closed.goodputRps
    await settle(target)
    const loads = [
      { name: 'seed', rate: SEED_RPS },
      ...MULTIPLIERS.map((m) => ({ name: `x${m}`, rate: Math.round(capacity * m), multiplier: m })),
    ].sort((a, b) => a.rate - b.rate)
    for (const load of loads) {
      points.push(await measure(target, mode, load.name, { ...load, durationS: DURATION_S, rampS: RAMP_S }))
      // What an overload left queued drains before the next point.
      const waited = await settle(target)
      if (waited > 3) console.log(`[${mode}] settled after ${fmt(waited)} s`)
    }
    points.push(await measure(target, mode, 'storm', { rate: SEED_RPS, durationS: DURATION_S, rampS: 0 }))
  } finally {
    current = undefined
    await target.stop()
  }
}

// ---------------------------------------------------------------- report

const pick = (mode: Kind, name: string) => points.find((p) => p.mode === mode && p.name === name)
const curve = (mode: Kind) =>
  points
    .filter((p) => p.mode === mode && p.name !== 'capacity' && p.name !== 'storm')
    .sort((a, b) => a.offeredRps - b.offeredRps)

function table(rows: Point[]): string {
  return [
    '| Mode | Point | Offered RPS | Achieved RPS | Goodput (2xx/s) | Served p50 (ms) | Served p99 (ms) | Refused (429/503) | Refused p99 (ms) | With Retry-After | Client timeouts | Other errors | App CPU / request |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((p) => {
      const other = Object.entries(p.errors)
        .filter(([k]) => /^\d+$/.test(k))
        .reduce((sum, [, n]) => sum + n, 0)
      return `| ${LABEL[p.mode]} | ${p.name === 'capacity' ? 'capacity (closed loop)' : p.name === 'storm' ? 'storm (all connect at once)' : p.name === 'seed' ? 'seed 500 RPS' : `${p.multiplier}x capacity`} | ${p.name === 'capacity' ? '' : fmt(p.offeredRps)} | ${fmt(p.achievedRps)} | ${fmt(p.goodputRps)} | ${fmt(p.served.p50, 1)} | ${fmt(p.served.p99)} | ${fmt(p.refused.count)} | ${p.refused.count ? fmt(p.refused.p99) : ''} | ${p.refused.count ? `${fmt((100 * p.refused.withRetryAfter) / p.refused.count)} %` : ''} | ${fmt(p.timeouts)} | ${fmt(other + p.socketErrors)} | ${p.mode === 'hello' ? '' : `${fmt(p.appCpuUs)} µs`} |`
    }),
  ].join('\n')
}

function verdicts(): string[] {
  const out: string[] = []
  const check = (label: string, ok: boolean, value: string) =>
    out.push(`- ${label}: ${ok ? 'MET' : 'MISSED'} (${value})`)
  const seed = pick('on', 'seed')
  const helloSeed = pick('hello', 'seed')
  const cap = pick('on', 'capacity')
  const helloCap = pick('hello', 'capacity')
  if (seed) {
    const errors = seed.arrivals - seed.served.count - seed.refused.count
    check('500 RPS, p99 <= 100 ms', seed.served.p99 <= 100, `${fmt(seed.served.p99)} ms`)
    check(
      '500 RPS, errors < 0.1 %',
      (errors + seed.refused.count) / seed.arrivals < 0.001,
      `${fmt((100 * (errors + seed.refused.count)) / seed.arrivals, 3)} %`,
    )
    check('500 RPS, no client timeouts', seed.timeouts === 0, `${seed.timeouts}`)
    if (helloSeed)
      check(
        'stretch: 500 RPS p99 within 3x of bare Express',
        seed.served.p99 <= 3 * helloSeed.served.p99,
        `${fmt(seed.served.p99)} / ${fmt(helloSeed.served.p99)} ms = ${fmt(seed.served.p99 / helloSeed.served.p99, 1)}x`,
      )
    if (cap)
      check(
        'app CPU per request at 500 RPS <= 1.5x at capacity',
        seed.appCpuUs <= 1.5 * cap.appCpuUs,
        `${fmt(seed.appCpuUs)} / ${fmt(cap.appCpuUs)} µs = ${fmt(seed.appCpuUs / cap.appCpuUs, 2)}x`,
      )
  }
  const two = pick('on', 'x2')
  if (two) {
    const peak = Math.max(...curve('on').map((p) => p.goodputRps))
    check(
      '2x capacity: goodput >= 0.9x peak',
      two.goodputRps >= 0.9 * peak,
      `${fmt(two.goodputRps)} / ${fmt(peak)} = ${fmt(two.goodputRps / peak, 2)}x`,
    )
    check('2x capacity: served p99 <= 500 ms', two.served.p99 <= 500, `${fmt(two.served.p99)} ms`)
    check(
      '2x capacity: refusals p99 <= 50 ms with Retry-After',
      two.refused.p99 <= 50 && two.refused.withRetryAfter === two.refused.count,
      `${fmt(two.refused.p99)} ms, ${two.refused.withRetryAfter} of ${two.refused.count} with Retry-After`,
    )
    check('2x capacity: no client timeouts', two.timeouts === 0, `${two.timeouts}`)
    const off = pick('off', 'x2')
    if (off)
      out.push(
        `- Headroom off at 2x capacity: goodput ${fmt(off.goodputRps)}, served p99 ${fmt(off.served.p99)} ms, ${off.timeouts} client timeouts, ${off.refused.count} refusals`,
      )
  }
  if (cap && helloCap)
    check(
      'capacity >= 0.4x bare Express hello (closed loop)',
      cap.goodputRps >= 0.4 * helloCap.achievedRps,
      `${fmt(cap.goodputRps)} / ${fmt(helloCap.achievedRps)} = ${fmt(cap.goodputRps / helloCap.achievedRps, 2)}x`,
    )
  if (idle.on) {
    const workers = Object.values(idle.on).slice(1)
    check(
      'idle worker CPU <= 1 % of a core',
      workers.every((v) => v <= 1),
      `${workers.map((v) => `${fmt(v, 2)} %`).join(', ')}`,
    )
  }
  return out
}

const stamp = startedAt.toISOString().slice(0, 16).replace(':', '-')
const resultsDir = `${root}loadtest/results`
mkdirSync(resultsDir, { recursive: true })
const colors: Record<Kind, string> = { on: '#1f77b4', off: '#d62728', hello: '#7f7f7f' }
const series = (y: (p: Point) => number) =>
  MODES.map((mode) => ({
    label: LABEL[mode],
    color: colors[mode],
    dashed: mode === 'hello',
    points: curve(mode).map((p) => ({ x: p.offeredRps, y: y(p) })),
  }))
const xMax = Math.max(...points.map((p) => p.offeredRps)) * 1.05
const marks = [
  { x: SEED_RPS, label: 'seed' },
  { x: capacity, label: 'capacity' },
]
const subtitle = `${startedAt.toISOString().slice(0, 16)} UTC, ${USERS} users, ${RAMP_S} s ramp`
writeFileSync(
  `${resultsDir}/goodput.svg`,
  lineChart({
    title: `Corp Astro: goodput (2xx/s) against offered load (${subtitle})`,
    xLabel: 'offered load (requests/s, open loop)',
    yLabel: 'goodput (2xx answers/s)',
    xMax,
    yMax: Math.max(...points.filter((p) => p.name !== 'capacity').map((p) => p.goodputRps)) * 1.1,
    series: series((p) => p.goodputRps),
    marks,
  }),
)
writeFileSync(
  `${resultsDir}/p99.svg`,
  lineChart({
    title: `Corp Astro: p99 of served requests against offered load (${subtitle})`,
    xLabel: 'offered load (requests/s, open loop)',
    yLabel: 'p99 of 2xx answers (ms, log; none served: at 10 s)',
    xMax,
    yMax: 20_000,
    logY: { yMin: 1 },
    // A point that served nothing has no p99: it is drawn at the client timeout.
    series: series((p) => (p.served.count === 0 ? TIMEOUT_MS : Math.max(1, p.served.p99))),
    marks,
    rule: { y: 100, label: 'target at 500 RPS: 100 ms' },
  }),
)
/** The cache hit rate by request kind at the seed's 500 RPS (else capacity), against the target. */
function cacheSection(): string[] {
  const point = [pick('on', 'seed'), pick('on', 'x1'), pick('on', 'capacity')].find((p) => p?.cacheReads)
  if (!point?.cacheReads) return []
  return [
    `## Cache hit rate by request kind (Headroom on, point ${point.name}; /metrics before and after it)`,
    '',
    ...hitRateTable(point.cacheReads),
    '',
  ]
}
const storm = (['on', 'off', 'hello'] as Kind[])
  .map((mode) => ({ mode, seed: pick(mode, 'seed'), storm: pick(mode, 'storm') }))
  .filter((s) => s.seed && s.storm)
const report = [
  `# Corp Astro load curve, ${startedAt.toISOString()}`,
  '',
  `${USERS} users (20 % premium, 30 % basic, 50 % free), one keep-alive connection each, opened over ${RAMP_S} s and kept open; ` +
    `open-loop arrivals at a constant rate; ${DURATION_S} s per point (ramp included); ${TIMEOUT_MS / 1000} s client timeout; ` +
    `${WORKERS} workers on Postgres (main + 4 shards) and Redis, all on one shared 2-core machine.`,
  `Load average at the start: ${loadAtStart.map((n) => n.toFixed(1)).join(' / ')}; at the end: ${loadavg()
    .map((n) => n.toFixed(1))
    .join(' / ')} (1/5/15 min).`,
  `Capacity (Headroom on, closed loop, goodput): ${fmt(capacity)} RPS.${QUICK ? ' LOADTEST_QUICK=1.' : ''}`,
  '',
  table(points),
  '',
  '## Targets (Headroom on)',
  '',
  ...verdicts(),
  '',
  ...cacheSection(),
  '## Reconnect storm (all connections at once, 500 RPS) against the ramp',
  '',
  '| Mode | Served p99, ramp (ms) | Served p99, storm (ms) | Connect p99, storm (ms) | First request p99, storm (ms) | Timeouts, storm |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...storm.map(
    (s) =>
      `| ${LABEL[s.mode]} | ${fmt(s.seed!.served.p99)} | ${fmt(s.storm!.served.p99)} | ${fmt(s.storm!.connect.p99)} | ${fmt(s.storm!.firstOnConnection.p99)} | ${s.storm!.timeouts} |`,
  ),
  '',
  `Idle CPU (% of a core, by pid, the primary first): ${JSON.stringify(idle)}`,
  '',
  ...points
    .filter((p) => p.mode !== 'hello')
    .map(
      (p) =>
        `- ${LABEL[p.mode]} ${p.name}: p99 by kind ${JSON.stringify(Object.fromEntries(Object.entries(p.p99ByKind).map(([k, v]) => [k, Math.round(v)])))}; refused ${JSON.stringify(p.refusedByKind)}; other ${JSON.stringify(p.errors)}; generator CPU ${fmt(p.generatorCpuMs)} ms`,
    ),
].join('\n')
console.log(`\n${report}\n`)
writeFileSync(`${resultsDir}/${stamp}-curve.md`, `${report}\n`)
writeFileSync(
  `${resultsDir}/${stamp}-curve.json`,
  `${JSON.stringify({ startedAt, loadAtStart, quick: QUICK, users: USERS, rampS: RAMP_S, durationS: DURATION_S, capacity, idle, points: points.map((p) => ({ ...p, cacheReads: p.cacheReads ? Object.fromEntries(p.cacheReads) : undefined })) }, null, 1)}\n`,
)
process.exit(0)
