// Turns Headroom's diagnostics_channel events (`headroom:<pkg>:<event>`) into OpenTelemetry
// metrics. It subscribes by channel name, so it needs no reference to any component and
// works for every instance in the process; the channels publish only while subscribed,
// so a process without this instrumentation pays nothing for it.
import diagnosticsChannel from 'node:diagnostics_channel'
import { type CallOptionType, createCallOptionsCheck } from '@headroom/core'
import { type Meter, type MeterProvider, metrics } from '@opentelemetry/api'

export interface HeadroomMetricsOptions {
  /** Where the instruments are created. @default the global MeterProvider */
  meterProvider?: MeterProvider
}

type Listener = (message: unknown) => void

const checkOptions = createCallOptionsCheck('instrumentHeadroomMetrics', {
  meterProvider: 'MeterProvider',
} satisfies Record<keyof HeadroomMetricsOptions, CallOptionType>)

/**
 * Subscribes to Headroom's diagnostics channels and records OTel metrics (names
 * `headroom.<pkg>.<thing>`, durations in seconds). Returns a function that unsubscribes.
 *
 * @example
 * import { instrumentHeadroomMetrics } from '@headroom/otel'
 * const stop = instrumentHeadroomMetrics() // the global MeterProvider
 * // ... on shutdown
 * stop()
 */
export function instrumentHeadroomMetrics(options: HeadroomMetricsOptions = {}): () => void {
  checkOptions(options)
  const { meterProvider = metrics.getMeterProvider() } = options
  const meter: Meter = meterProvider.getMeter('@headroom/otel')
  const subscriptions: [string, Listener][] = []
  const on = <M>(channel: string, listener: (message: M) => void) => {
    subscriptions.push([channel, listener as Listener])
    diagnosticsChannel.subscribe(channel, listener as Listener)
  }

  const breakerTransitions = meter.createCounter('headroom.breaker.transitions', {
    description: 'Breaker state changes, by breaker and new state',
  })
  const breakerRejected = meter.createCounter('headroom.breaker.rejected', {
    description: 'Calls a breaker refused without running',
  })
  const breakerFailureDuration = meter.createHistogram('headroom.breaker.failure.duration', {
    description: 'Duration of failed breaker calls',
    unit: 's',
  })
  on<{ name: string; state: string }>('headroom:breaker:state', ({ name, state }) =>
    breakerTransitions.add(1, { breaker: name, state }),
  )
  on<{ name: string }>('headroom:breaker:reject', ({ name }) => breakerRejected.add(1, { breaker: name }))
  on<{ name: string; latencyMs: number }>('headroom:breaker:failure', ({ name, latencyMs }) =>
    breakerFailureDuration.record(latencyMs / 1000, { breaker: name }),
  )

  // Cache keys are unbounded: they are never attributes.
  const cacheMisses = meter.createCounter('headroom.cache.misses', {
    description: 'Loads that missed both tiers',
  })
  const cacheStale = meter.createCounter('headroom.cache.stale_served', {
    description: 'Stale values served',
  })
  const cacheFactoryErrors = meter.createCounter('headroom.cache.factory_errors', {
    description: 'Factory calls that threw',
  })
  on('headroom:cache:miss', () => cacheMisses.add(1))
  on<{ reason: string }>('headroom:cache:stale', ({ reason }) => cacheStale.add(1, { reason }))
  on('headroom:cache:factory-error', () => cacheFactoryErrors.add(1))

  const decisions = meter.createCounter('headroom.rate_limit.decisions', {
    description: 'Rate-limit decisions by result and deciding policy',
  })
  on<{ decision: { allowed: boolean; policy: string } }>('headroom:rate-limit:decision', ({ decision }) =>
    decisions.add(1, { result: decision.allowed ? 'allowed' : 'limited', policy: decision.policy }),
  )

  const jobsCompleted = meter.createCounter('headroom.queue.jobs.completed', {
    description: 'Jobs completed',
  })
  const jobsFailed = meter.createCounter('headroom.queue.jobs.failed', {
    description: 'Job attempts that failed',
  })
  const jobDuration = meter.createHistogram('headroom.queue.job.duration', {
    description: 'Handler run time of completed jobs',
    unit: 's',
  })
  on<{ queue: string; name: string; runMs: number }>('headroom:queue:completed', ({ queue, name, runMs }) => {
    jobsCompleted.add(1, { queue, job: name })
    jobDuration.record(runMs / 1000, { queue, job: name })
  })
  on<{ queue: string; name: string }>('headroom:queue:failed', ({ queue, name }) =>
    jobsFailed.add(1, { queue, job: name }),
  )

  const poolRejected = meter.createCounter('headroom.pool.rejected', {
    description: 'Calls a limiter refused',
  })
  on<{ name: string; reason: string }>('headroom:pool:reject', ({ name, reason }) =>
    poolRejected.add(1, { limiter: name, reason }),
  )
  // The limit is a level: the last value each limiter announced, read at collection.
  const limits = new Map<string, number>()
  const poolLimit = meter.createObservableGauge('headroom.pool.limit', {
    description: 'Concurrency limit last set by each limiter',
  })
  const observeLimits = (result: { observe(value: number, attributes: { limiter: string }): void }) => {
    for (const [limiter, value] of limits) result.observe(value, { limiter })
  }
  poolLimit.addCallback(observeLimits)
  on<{ name: string; new: number }>('headroom:pool:limit', (change) => limits.set(change.name, change.new))

  const healthChanges = meter.createCounter('headroom.health.status_changes', {
    description: 'Health status changes, by new status',
  })
  on<{ to: string }>('headroom:health:change', ({ to }) => healthChanges.add(1, { status: to }))

  return () => {
    for (const [channel, listener] of subscriptions.splice(0))
      diagnosticsChannel.unsubscribe(channel, listener)
    poolLimit.removeCallback(observeLimits)
  }
}
