// Every numeric option is validated at construction: finite, in range, and a clear
// TypeError naming the option and the value received. Timer delays above 2^31 - 1 ms
// are refused, since Node fires such a timer at once instead of waiting.
import { describe, expect, it } from 'vitest'
import { createWebhookSink, type WebhookSinkOptions } from '../src/exporters/webhook-sink.js'
import { shedLoad } from '../src/http/shed-load.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import type { HealthMonitorOptions } from '../src/monitor/options.js'
import { createProcessSampler } from '../src/process/sampler.js'
import { createLoadShedder } from '../src/shedding/load-shedder.js'
import { gracefulShutdown } from '../src/shutdown/graceful-shutdown.js'
import { scriptedSampler } from './helpers.js'

const TOO_LONG = 2 ** 31
const BAD = [Number.NaN, Number.POSITIVE_INFINITY, -1] as const

const monitorWith = (options: HealthMonitorOptions) => () => {
  createHealthMonitor({ sampler: scriptedSampler(), ...options }).close()
}

describe('createHealthMonitor numeric options', () => {
  const timers = [
    'sampleIntervalMs',
    'checkTimeoutMs',
    'checkIntervalMs',
    'enterDwellMs',
    'exitDwellMs',
  ] as const
  it.each(timers)('%s: NaN, Infinity, negative and beyond the timer range are refused, naming it', (name) => {
    for (const value of [...BAD, TOO_LONG])
      expect(monitorWith({ [name]: value }), `${name} = ${value}`).toThrow(
        new RegExp(`Invalid createHealthMonitor option "${name}".*received ${String(value)}`),
      )
  })

  it.each(['minRequests', 'historySize', 'sampleHistorySize', 'maxSeries', 'eventLoopResolutionMs'] as const)(
    '%s: NaN, Infinity and negative are refused, naming it',
    (name) => {
      for (const value of BAD)
        expect(monitorWith({ [name]: value }), `${name} = ${value}`).toThrow(
          new RegExp(`Invalid createHealthMonitor option "${name}"`),
        )
    },
  )

  it('per-check timeoutMs and intervalMs, memoryPressure.repeatMs', () => {
    for (const value of [...BAD, TOO_LONG]) {
      expect(monitorWith({ checks: { db: { check: () => true, timeoutMs: value } } })).toThrow(
        /"checks.db.timeoutMs"/,
      )
      expect(monitorWith({ checks: { db: { check: () => true, intervalMs: value } } })).toThrow(
        /"checks.db.intervalMs"/,
      )
      expect(monitorWith({ memoryPressure: { repeatMs: value } })).toThrow(/"memoryPressure.repeatMs"/)
    }
  })

  it('threshold bands: finite, >= 0, and ratio metrics within 0..1', () => {
    for (const value of [...BAD, Number.NEGATIVE_INFINITY])
      expect(
        monitorWith({ thresholds: { eventLoopDelay: { degraded: { enter: value, exit: 0 } } } }),
        String(value),
      ).toThrow(/"thresholds.eventLoopDelay.degraded.enter"/)
    for (const metric of ['errorRate', 'heapUsedRatio', 'eventLoopUtilization'] as const)
      expect(monitorWith({ thresholds: { [metric]: { degraded: { enter: 1.5, exit: 0.5 } } } })).toThrow(
        new RegExp(`"thresholds.${metric}.degraded.enter": .*<= ?1`),
      )
    expect(
      monitorWith({ thresholds: { latencyP99: { degraded: { enter: 1500, exit: 500 } } } }),
    ).not.toThrow()
  })

  it('memoryPressure ratios within 0..1', () => {
    for (const key of ['moderate', 'critical', 'hysteresis', 'moderateFraction', 'criticalFraction'] as const)
      for (const value of [...BAD, 2])
        expect(monitorWith({ memoryPressure: { [key]: value } }), `${key} = ${value}`).toThrow(
          new RegExp(`"memoryPressure.${key}"`),
        )
  })
})

describe('other factories', () => {
  const webhook = (options: Partial<WebhookSinkOptions>) => () =>
    createWebhookSink({ url: 'https://hooks.test/x', ...options }).close()

  it('createWebhookSink: minIntervalMs, retries, retryDelayMs, timeoutMs', () => {
    for (const name of ['minIntervalMs', 'retryDelayMs', 'timeoutMs'] as const)
      for (const value of [...BAD, TOO_LONG])
        expect(webhook({ [name]: value }), `${name} = ${value}`).toThrow(
          new RegExp(`Invalid createWebhookSink option "${name}"`),
        )
    for (const value of [...BAD, 1.5]) expect(webhook({ retries: value })).toThrow(/"retries"/)
  })

  it('shedLoad: retryAfterSeconds', () => {
    const monitor = { status: 'healthy' as const }
    for (const value of [...BAD, 1.5, TOO_LONG])
      expect(() => shedLoad({ monitor, retryAfterSeconds: value }), String(value)).toThrow(
        /Invalid shedLoad option "retryAfterSeconds"/,
      )
    expect(() => createLoadShedder(monitor, { degraded: ['lowest' as never] })).toThrow(/"degraded.0"/)
  })

  it('gracefulShutdown: drainDelayMs and timeoutMs', () => {
    const server = {} as never
    for (const name of ['drainDelayMs', 'timeoutMs'] as const)
      for (const value of [...BAD, TOO_LONG])
        expect(() => gracefulShutdown({ server, signals: [], [name]: value }), `${name} = ${value}`).toThrow(
          new RegExp(`Invalid gracefulShutdown option "${name}"`),
        )
  })

  it('createProcessSampler: eventLoopResolutionMs', () => {
    for (const value of [...BAD, 0, 5000])
      expect(() => createProcessSampler({ eventLoopResolutionMs: value }).close(), String(value)).toThrow(
        /Invalid createProcessSampler option "eventLoopResolutionMs"/,
      )
  })
})
