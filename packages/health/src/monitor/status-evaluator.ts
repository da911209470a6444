// Status transitions: folds metric levels, failed checks and external inputs into a
// raw status, lets the status machine apply dwell time, and announces each change
// (log, `change` event, diagnostics channel, alert sinks).
import type { Clock, Emitter, Logger } from '@headroom/core'
import type { StatusChange, StatusReason } from '../status/change.js'
import type { StatusMachine } from '../status/machine.js'
import type { MetricLevels } from '../status/metric-levels.js'
import { collectReasons } from '../status/reasons.js'
import { type HealthStatus, severity, worse } from '../status/status.js'
import { type ResolvedThresholds, THRESHOLD_METRICS } from '../status/thresholds.js'
import type { AlertFanout } from './alert-fanout.js'
import { channels } from './channels.js'
import type { CheckRunner } from './checks.js'
import type { HealthEvents, HealthInput } from './types.js'

export interface StatusEvaluatorOptions {
  service: string
  thresholds: Readonly<ResolvedThresholds>
  machine: StatusMachine
  clock: Clock
  logger: Logger
  events: Pick<Emitter<HealthEvents>, 'emit'>
  alerts: AlertFanout
  metricLevels: Readonly<MetricLevels['metricLevels']>
  metricValues: Readonly<MetricLevels['metricValues']>
  checks: Pick<CheckRunner, 'results'>
  inputs: ReadonlyMap<string, HealthInput>
  /** True once the monitor is closed: evaluate() then does nothing. */
  isClosed: () => boolean
  /** Called with the new status before the change is announced, so listeners read it. */
  onChange: (to: HealthStatus) => void
}

export interface StatusEvaluator {
  /** Re-reads every source and adopts a new status if the machine says so (once per sample, and on changes). */
  evaluate(): void
  reasons(): StatusReason[]
}

export function createStatusEvaluator(options: StatusEvaluatorOptions): StatusEvaluator {
  const {
    machine,
    clock,
    logger,
    events,
    alerts,
    metricLevels,
    metricValues,
    checks,
    inputs,
    isClosed,
    onChange,
  } = options

  const reasons = (): StatusReason[] =>
    collectReasons(options.thresholds, metricLevels, metricValues, checks.results(), inputs)

  const inputStatus = (): HealthStatus => {
    let status: HealthStatus = 'healthy'
    for (const entry of inputs.values()) status = worse(status, entry.status)
    return status
  }

  const rawStatus = (fromInputs: HealthStatus): HealthStatus => {
    let raw = fromInputs
    for (const metric of THRESHOLD_METRICS) raw = worse(raw, metricLevels[metric])
    for (const result of checks.results()) if (result.status === 'fail') raw = worse(raw, result.impact)
    return raw
  }

  const evaluate = () => {
    if (isClosed()) return
    const from = machine.status
    const now = clock.now()
    // Inputs are reported by components that decided already (a breaker opened): they
    // take effect at once; sampled metrics and checks go through the enter dwell.
    const fromInputs = inputStatus()
    const to = machine.update(rawStatus(fromInputs), now, fromInputs)
    if (to === undefined) return
    onChange(to)
    const change: StatusChange = { from, to, at: now, reasons: reasons(), service: options.service }
    const fields = { from, to, reasons: change.reasons.map((reason) => reason.message) }
    // Called as methods: pino's log functions read `this`.
    if (severity(to) > severity(from)) logger.warn(fields, 'health status changed')
    else logger.info(fields, 'health status changed')
    events.emit('change', change)
    channels.change.publish(change)
    alerts.send(change)
  }

  return { evaluate, reasons }
}
