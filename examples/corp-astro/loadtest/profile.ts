/**
 * `pnpm --filter corp-astro exec tsx loadtest/profile.ts`: one paced run of the mix with
 * Headroom on (LOADTEST_MODES), profiled: a CPU profile of every app process
 * (`--cpu-prof`), each worker's event-loop delay and GC time per second
 * (`loadtest/eld-probe.mjs`), and `--trace-gc` in the app log, all in LOADTEST_PROFILE_DIR
 * (a new folder under the system's temp dir by default). Then the idle cost: every
 * process's CPU over LOADTEST_IDLE_S seconds without traffic.
 *
 * Env: LOADTEST_RATE (500), LOADTEST_USERS (1000), LOADTEST_DURATION_S (30),
 * LOADTEST_RAMP_S (5), LOADTEST_IDLE_S (20), LOADTEST_PROFILE (0: no --cpu-prof/--trace-gc).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Mode, startEnvironment } from './environment.js'
import { runLoad } from './open-loop.js'
import { nextRequest, onResponse } from './scenario.js'

const dir = process.env.LOADTEST_PROFILE_DIR ?? mkdtempSync(join(tmpdir(), 'corp-astro-profile-'))
mkdirSync(dir, { recursive: true })
const probe = fileURLToPath(new URL('./eld-probe.mjs', import.meta.url))
const profiling = process.env.LOADTEST_PROFILE !== '0'
process.env.LOADTEST_ELD_DIR = dir
process.env.LOADTEST_NODE_ARGS = [
  process.env.LOADTEST_NODE_ARGS ?? '',
  `--import=${probe}`,
  ...(profiling ? [`--cpu-prof`, `--cpu-prof-dir=${dir}`, '--trace-gc'] : []),
].join(' ')
process.env.LOADTEST_APP_LOG ??= join(dir, 'app.log')

const RATE = Number(process.env.LOADTEST_RATE ?? 500)
const DURATION_S = Number(process.env.LOADTEST_DURATION_S ?? 30)
const RAMP_S = Number(process.env.LOADTEST_RAMP_S ?? 5)
const IDLE_S = Number(process.env.LOADTEST_IDLE_S ?? 20)
const mode = (process.env.LOADTEST_MODES ?? 'on') as Mode

const env = await startEnvironment({
  mode,
  userCount: Number(process.env.LOADTEST_USERS ?? 1000),
  workers: Number(process.env.LOADTEST_WORKERS ?? 2),
  poolMax: process.env.LOADTEST_PG_POOL_MAX ?? '5',
  poolMin: process.env.LOADTEST_PG_POOL_MIN ?? '2',
  tiers: 'mixed',
})
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void env.stop().finally(() => process.exit(130)))
const common = {
  host: '127.0.0.1',
  port: env.port,
  users: env.users,
  timeoutMs: 10_000,
  next: nextRequest,
  onAnswer: onResponse,
  headers: (user: (typeof env.users)[number]) => ({
    'x-forwarded-for': user.ip,
    authorization: `Bearer ${user.accessToken}`,
  }),
}
try {
  const idleBefore = env.cpuByPid()
  await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000))
  const idleAfter = env.cpuByPid()
  const idle = [...idleAfter].map(
    ([pid, ms]) => `${pid} ${(((ms - (idleBefore.get(pid) ?? ms)) / (IDLE_S * 1000)) * 100).toFixed(2)} %`,
  )
  console.log(`idle CPU, ${IDLE_S} s, % of a core by pid (primary first): ${idle.join(', ')}`)
  console.log(`warm-up: ${RATE} RPS, 15 s...`)
  await runLoad({ ...common, rate: RATE, durationS: 15, rampS: RAMP_S })
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const cpuBefore = env.cpuMs()
  const startedAt = Date.now()
  const result = await runLoad({ ...common, rate: RATE, durationS: DURATION_S, rampS: RAMP_S })
  const cpuUs = ((env.cpuMs() - cpuBefore) * 1000) / Math.max(1, result.answered)
  console.log(
    `paced ${RATE} RPS, ${DURATION_S} s, ${RAMP_S} s ramp: achieved ${result.achievedRps.toFixed(0)}, p50 ${result.served.p50.toFixed(1)} p99 ${result.served.p99.toFixed(0)} max ${result.served.max.toFixed(0)} ms, ` +
      `refused ${result.refused.count}, timeouts ${result.timeouts}, errors ${JSON.stringify(result.errors)}, app CPU ${cpuUs.toFixed(0)} µs/request, ` +
      `connect p99 ${result.connect.p99.toFixed(1)} ms, first request p99 ${result.firstOnConnection.p99.toFixed(0)} ms`,
  )
  console.log(
    `refused by kind: ${JSON.stringify(result.refusedByKind)}; errors: ${JSON.stringify(result.errors)}; what refused: ${JSON.stringify(result.refusalDetails)}`,
  )
  console.log(
    `p99 by kind: ${JSON.stringify(Object.fromEntries(Object.entries(result.p99ByKind).map(([k, v]) => [k, Math.round(v)])))}`,
  )
  console.log(
    `per second (arrivals/served/p99 ms): ${result.timeline.map((s) => `${s.arrivals}/${s.served}/${Math.round(s.servedP99)}`).join(' ')}`,
  )
  for (const file of readdirSync(dir).filter((f) => f.startsWith('eld-'))) {
    const seconds = readFileSync(join(dir, file), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { t: number; p99: number; max: number; gcMs: number; cpuMs: number })
      .filter((s) => s.t >= startedAt && s.t <= startedAt + DURATION_S * 1000)
    console.log(
      `${file}: event-loop delay p99 per second (ms): ${seconds.map((s) => s.p99).join(' ')}; max ${Math.max(...seconds.map((s) => s.max))}; GC ms per second: ${seconds.map((s) => s.gcMs).join(' ')}; CPU ms per second: ${seconds.map((s) => s.cpuMs).join(' ')}`,
    )
  }
} finally {
  await env.stop()
}
console.log(`profiles and logs in ${dir}`)
process.exit(0)
