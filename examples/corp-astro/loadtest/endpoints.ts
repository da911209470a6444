/**
 * `pnpm --filter corp-astro exec tsx loadtest/endpoints.ts`: the closed-loop capacity
 * of each request kind of the scenario on its own (Headroom on unless LOADTEST_MODES
 * says off), to see which ones the mix's throughput hangs on.
 *
 * Env: as run.ts, plus LOADTEST_KINDS (comma-separated kinds, all but login by default),
 * LOADTEST_CONNECTIONS (200 here), LOADTEST_DURATION_S (5 here).
 */
import { type Mode, startEnvironment } from './environment.js'
import { fire } from './fire.js'
import { STEPS } from './scenario.js'

const CONNECTIONS = Number(process.env.LOADTEST_CONNECTIONS ?? 200)
const DURATION_S = Number(process.env.LOADTEST_DURATION_S ?? 5)
const mode = (process.env.LOADTEST_MODES ?? 'on') as Mode
const kinds = process.env.LOADTEST_KINDS?.split(',') ?? STEPS.map((s) => s.kind).filter((k) => k !== 'login')

const env = await startEnvironment({
  mode,
  userCount: CONNECTIONS,
  workers: Number(process.env.LOADTEST_WORKERS ?? 2),
  poolMax: process.env.LOADTEST_PG_POOL_MAX ?? '5',
  poolMin: process.env.LOADTEST_PG_POOL_MIN ?? '2',
})
try {
  const common = { base: env.base, users: env.users, connections: CONNECTIONS, durationS: DURATION_S }
  await fire({ ...common, durationS: 3 })
  console.log(
    `| kind (Headroom ${mode}, ${CONNECTIONS} connections) | RPS | app CPU µs / request | Postgres transactions / request | p50 ms | p99 ms | errors |`,
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const kind of kinds) {
    const step = STEPS.find((s) => s.kind === kind)
    if (!step) throw new Error(`unknown kind ${kind}; known: ${STEPS.map((s) => s.kind).join(', ')}`)
    const cpuBefore = env.cpuMs()
    const xactsBefore = await env.pgTransactions()
    const out = await fire({ ...common, next: step.build })
    const cpuUs = ((env.cpuMs() - cpuBefore) * 1000) / Math.max(1, out.requests)
    const xacts = ((await env.pgTransactions()) - xactsBefore) / Math.max(1, out.requests)
    console.log(
      `| ${kind} | ${out.rps.toFixed(0)} | ${cpuUs.toFixed(0)} | ${xacts.toFixed(2)} | ${out.p50Ms.toFixed(1)} | ${out.p99Ms.toFixed(0)} | ${(out.errorRate * 100).toFixed(2)} % ${JSON.stringify(out.statuses)} |`,
    )
  }
} finally {
  await env.stop()
}
process.exit(0)
