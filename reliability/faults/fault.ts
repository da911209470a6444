// Runs one fault under the load and judges it: what broke while it lasted, and whether
// the service recovered within the promised bound once it was healed.
import { percentile, type Sample } from './load.js'
import { log } from './log.js'
import { dedupe, type FaultResult } from './report.js'
import { results } from './results.js'
import type { Stack } from './stack.js'
import { sleep } from './wait.js'

const FAULT_MS = Number(process.env.FAULT_SECONDS ?? 10) * 1000

export interface FaultSpec {
  name: string
  /** The promise: recovered within this long after the fault ends. */
  recoveryBoundMs: number
  inject(): Promise<void>
  heal(): Promise<void>
  /** True once the component the fault hit works again. */
  probe(): Promise<boolean>
  /** Verdicts tolerated during this fault besides ok/clean (socket resets from a killed worker). */
  allow?: (sample: Sample, faultAt: number) => boolean
  /** More promises, judged on the samples of the fault and its recovery: one line per broken one. */
  judge?: (samples: Sample[], window: { faultAt: number; healedAt: number }) => string[]
  /** `/readyz` must stay 200 on every instance while the fault lasts (polled every 500 ms). */
  staysReady?: boolean
  faultMs?: number
}

export async function fault(stack: Stack, spec: FaultSpec): Promise<FaultResult> {
  log(`fault: ${spec.name}`)
  stack.load.phase(spec.name)
  const faultAt = Date.now()
  await spec.inject()
  const unready: string[] = []
  let watching = spec.staysReady === true
  const watcher = (async () => {
    while (watching) {
      for (const base of stack.bases) {
        const status = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2_000) })
          .then((res) => String(res.status))
          .catch((error: unknown) => (error as Error).name)
        if (status !== '200') unready.push(`/readyz answered ${status} during the fault`)
      }
      await sleep(500)
    }
  })()
  await sleep(spec.faultMs ?? FAULT_MS)
  watching = false
  await watcher
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
  broken.push(...unready)
  if (spec.judge) broken.push(...spec.judge(samples, { faultAt, healedAt }))
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
