import type { CheckResult } from '../monitor/checks.js'
import type { HealthMonitor } from '../monitor/types.js'
import { type HealthJsonStatus, toHealthJsonStatus } from '../status/status.js'
import type { ThresholdMetric } from '../status/thresholds.js'

/** One entry of `checks` in `application/health+json`. */
export interface HealthJsonCheck {
  componentId?: string
  componentType?: string
  observedValue?: number
  observedUnit?: string
  status: HealthJsonStatus
  time?: string
  output?: string
}

/** The `application/health+json` document (IETF draft-inadarei-api-health-check). */
export interface HealthJson {
  status: HealthJsonStatus
  version?: string
  releaseId?: string
  serviceId: string
  description?: string
  output?: string
  notes?: string[]
  checks: Record<string, HealthJsonCheck[]>
}

/** Fields of the document that describe the service. */
export interface HealthJsonInfo {
  /** Public version of the service. */
  version?: string
  /** Release (build, commit) of the service. */
  releaseId?: string
  description?: string
}

/** A critical check failing is `fail` (this instance cannot serve); a dependency failing is `warn`. */
function checkStatus(result: CheckResult): HealthJsonStatus {
  if (result.status === 'pass') return 'pass'
  if (result.status === 'pending') return 'warn'
  return result.critical ? 'fail' : 'warn'
}

const worst = (a: HealthJsonStatus, b: HealthJsonStatus): HealthJsonStatus =>
  a === 'fail' || b === 'fail' ? 'fail' : a === 'warn' || b === 'warn' ? 'warn' : 'pass'

/**
 * Builds the `application/health+json` document from cached state (it never runs a
 * check): the status word, process metrics, the process' `uptime` (seconds), each check
 * and each external input. A
 * failing dependency check makes the document `warn` (200), a failing critical check
 * `fail` (503).
 */
export function healthJson(monitor: HealthMonitor, info: HealthJsonInfo = {}): HealthJson {
  const stats = monitor.stats()
  let status = toHealthJsonStatus(stats.status)
  if (!stats.ready) status = worst(status, 'warn')
  for (const check of stats.checks) status = worst(status, checkStatus(check))
  const time = stats.process ? new Date(stats.process.at).toISOString() : undefined
  const metric = (value: number | undefined, unit: string, componentType: string): HealthJsonCheck[] => {
    if (value === undefined) return []
    return [
      { componentType, observedValue: value, observedUnit: unit, status: 'pass', ...(time ? { time } : {}) },
    ]
  }
  const checks: Record<string, HealthJsonCheck[]> = {}
  const add = (key: string, entries: HealthJsonCheck[]) => {
    if (entries.length > 0) checks[key] = entries
  }
  const sample = stats.process
  const keys: Record<ThresholdMetric, [string, number | undefined, string, string]> = {
    cpu: ['cpu:utilization', sample?.cpu, 'cores', 'system'],
    rss: ['memory:rss', sample?.rss, 'bytes', 'system'],
    heapUsedRatio: ['memory:heapUsedRatio', sample?.heapUsedRatio, 'ratio', 'system'],
    eventLoopDelay: ['eventloop:delay', sample?.eventLoopDelay, 'ms', 'system'],
    eventLoopUtilization: ['eventloop:utilization', sample?.eventLoopUtilization, 'ratio', 'system'],
    errorRate: ['requests:errorRate', sample?.errorRate, 'ratio', 'component'],
    latencyP99: ['requests:latencyP99', sample?.latencyP99, 'ms', 'component'],
  }
  for (const [key, value, unit, componentType] of Object.values(keys))
    add(key, metric(value, unit, componentType))
  // The draft's own example of a system check: how long this process has been up, s.
  checks.uptime = [
    {
      componentType: 'system',
      observedValue: Math.round(process.uptime() * 1000) / 1000,
      observedUnit: 's',
      status: 'pass',
      time: new Date().toISOString(),
    },
  ]
  // A metric at fault carries the level it causes.
  for (const reason of stats.reasons) {
    if (reason.kind !== 'metric') continue
    const entry = checks[keys[reason.name as ThresholdMetric]?.[0] ?? '']?.[0]
    if (entry) {
      entry.status = toHealthJsonStatus(reason.status)
      entry.output = reason.message
    }
  }
  for (const result of stats.checks) {
    const entry: HealthJsonCheck = {
      componentId: result.name,
      componentType: result.componentType,
      observedValue: result.durationMs,
      observedUnit: 'ms',
      status: checkStatus(result),
    }
    if (result.checkedAt > 0) entry.time = new Date(result.checkedAt).toISOString()
    if (result.error) entry.output = result.error
    else if (result.status === 'pending') entry.output = 'not run yet'
    checks[`${result.name}:responseTime`] = [entry]
  }
  for (const input of stats.inputs) {
    const entry: HealthJsonCheck = {
      componentId: input.name,
      componentType: 'component',
      status: toHealthJsonStatus(input.status),
      time: new Date(input.since).toISOString(),
    }
    if (input.detail) entry.output = input.detail
    checks[`${input.name}:status`] = [entry]
  }
  const document: HealthJson = { status, serviceId: stats.service, checks }
  if (info.version) document.version = info.version
  if (info.releaseId) document.releaseId = info.releaseId
  if (info.description) document.description = info.description
  if (stats.draining) document.notes = ['draining: shutting down']
  if (stats.reasons.length > 0) document.output = stats.reasons.map((reason) => reason.message).join('; ')
  return document
}
