import type { HealthMonitor } from '../monitor/types.js'
import { type HealthJsonInfo, healthJson } from './health-json.js'

/** A probe's answer, for an adapter to write in its framework's terms (always `Cache-Control: no-store`). */
export interface ProbeAnswer {
  status: number
  /** Without the charset parameter. */
  contentType: 'application/json' | 'application/health+json'
  body: unknown
}

/** Liveness: the process answers, whatever its load or dependencies. */
export function livezAnswer(_monitor: HealthMonitor): ProbeAnswer {
  return { status: 200, contentType: 'application/json', body: { status: 'pass' } }
}

/** Readiness: every critical check passed and the process is not draining. */
export function readyzAnswer(monitor: HealthMonitor): ProbeAnswer {
  if (monitor.ready) return { status: 200, contentType: 'application/json', body: { status: 'pass' } }
  const failing = monitor
    .checks()
    .filter((check) => check.critical && check.status !== 'pass')
    .map(
      (check) => `${check.name}: ${check.status === 'pending' ? 'not run yet' : (check.error ?? 'failed')}`,
    )
  if (monitor.draining) failing.unshift('draining')
  return {
    status: 503,
    contentType: 'application/json',
    body: { status: 'fail', output: failing.join('; ') },
  }
}

/** The full report in `application/health+json`: 200 for pass/warn, 503 for fail. */
export function healthAnswer(monitor: HealthMonitor, info: HealthJsonInfo): ProbeAnswer {
  const document = healthJson(monitor, info)
  return {
    status: document.status === 'fail' ? 503 : 200,
    contentType: 'application/health+json',
    body: document,
  }
}

/** Paths of the probe routes. */
export interface ProbePaths {
  /** @default '/livez' */
  livez?: string
  /** @default '/readyz' */
  readyz?: string
  /** @default '/health' */
  health?: string
}

/** Each probe path with the function answering it. */
export function probeRoutes(
  monitor: HealthMonitor,
  options: Required<ProbePaths> & HealthJsonInfo,
): Map<string, () => ProbeAnswer> {
  return new Map([
    [options.livez, () => livezAnswer(monitor)],
    [options.readyz, () => readyzAnswer(monitor)],
    [options.health, () => healthAnswer(monitor, options)],
  ])
}
