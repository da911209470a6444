import { createManualClock } from '@headroom/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createWebhookSink } from '../src/exporters/webhook-sink.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import type { HealthMonitorOptions } from '../src/monitor/options.js'
import type { StatusChange } from '../src/status/change.js'
import { listen, scriptedSampler } from './helpers.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A real HTTP webhook receiver: what an operator's Slack relay would get. */
async function receiver() {
  const texts: string[] = []
  const bodies: Record<string, unknown>[] = []
  const server = await listen((req, res) => {
    let text = ''
    req.on('data', (chunk) => {
      text += chunk
    })
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>
      bodies.push(body)
      texts.push(String(body.text))
      res.end()
    })
  })
  cleanups.push(() => server.close())
  return { url: `${server.url}/hook`, texts, bodies }
}

// The seeds' alert settings: CPU 80 %, memory 85 %, error rate 5 %, response time 500 ms.
const seeds: HealthMonitorOptions['metricAlerts'] = {
  cpu: { degraded: { enter: 0.8, exit: 0.7 }, critical: { enter: 0.95, exit: 0.9 } },
  heapUsedRatio: { degraded: { enter: 0.85, exit: 0.8 } },
  errorRate: { degraded: { enter: 0.05, exit: 0.02 } },
  latencyP99: { degraded: { enter: 500, exit: 300 } },
}

async function setup(options: HealthMonitorOptions = {}) {
  const clock = createManualClock(1_000_000)
  const sampler = scriptedSampler()
  const { url, texts, bodies } = await receiver()
  const webhook = createWebhookSink({ url, clock, minIntervalMs: 60_000, retries: 0 })
  const monitor = createHealthMonitor({
    service: 'api',
    clock,
    sampler,
    sampleIntervalMs: 1000,
    enterDwellMs: 2000,
    exitDwellMs: 5000,
    minRequests: 1,
    alerts: [webhook],
    metricAlerts: seeds,
    ...options,
  })
  cleanups.push(() => monitor.close())
  const alerts: StatusChange[] = []
  const changes: StatusChange[] = []
  monitor.on('alert', (alert) => alerts.push(alert))
  monitor.on('change', (change) => changes.push(change))
  const step = async (ms = 1000) => {
    clock.advance(ms)
    await webhook.flush()
  }
  return { clock, sampler, monitor, webhook, texts, bodies, alerts, changes, step }
}

describe('alerts by metric', () => {
  it('one sample over the threshold alerts nothing; one that holds for the dwell alerts once, and the overall status is not involved', async () => {
    const { sampler, monitor, texts, alerts, changes, step } = await setup()
    sampler.set({ cpu: 0.9 })
    await step()
    sampler.set({ cpu: 0.1 })
    await step()
    await step()
    expect(texts).toEqual([])
    sampler.set({ cpu: 0.9 })
    await step()
    await step()
    expect(texts).toEqual([])
    await step()
    expect(texts).toEqual([':warning: [api] cpu healthy → degraded: cpu 0.900 >= 0.800'])
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({ metric: 'cpu', from: 'healthy', to: 'degraded', service: 'api' })
    expect(alerts[0]?.reasons).toEqual([
      {
        kind: 'metric',
        name: 'cpu',
        status: 'degraded',
        value: 0.9,
        threshold: 0.8,
        exit: 0.7,
        message: 'cpu 0.900 >= 0.800',
      },
    ])
    // CPU has no status threshold by default: the alert is the only signal.
    expect(monitor.status).toBe('healthy')
    expect(changes).toEqual([])
    // Holding above the threshold does not repeat the alert.
    for (let i = 0; i < 5; i++) await step()
    expect(texts).toHaveLength(1)
  })

  it('recovery is alerted once the value has stayed below exit for the recovery dwell; between exit and enter the alert holds', async () => {
    // The status threshold on heap use is switched off, so only the alert speaks.
    const { sampler, texts, alerts, step } = await setup({ thresholds: { heapUsedRatio: false } })
    sampler.set({ heapUsedRatio: 0.9 })
    for (let i = 0; i < 3; i++) await step()
    expect(texts).toHaveLength(1)
    // Between exit (0.8) and enter (0.85): hysteresis holds the alert.
    sampler.set({ heapUsedRatio: 0.82 })
    for (let i = 0; i < 10; i++) await step()
    expect(alerts).toHaveLength(1)
    sampler.set({ heapUsedRatio: 0.5 })
    for (let i = 0; i < 4; i++) await step()
    expect(alerts).toHaveLength(1)
    await step(2000)
    expect(alerts.at(-1)).toMatchObject({ metric: 'heapUsedRatio', from: 'degraded', to: 'healthy' })
    expect(alerts.at(-1)?.reasons[0]?.message).toBe('heapUsedRatio 0.500 < exit 0.800')
    // Inside the webhook's quiet period (16 s after the crossing was posted): a recovery
    // is no page, it goes out as the trailing message.
    expect(texts).toHaveLength(1)
    await step(60_000)
    expect(texts.at(-1)).toBe(
      ':white_check_mark: [api] heapUsedRatio degraded → healthy: heapUsedRatio 0.500 < exit 0.800',
    )
  })

  it('each metric alerts on its own: a second metric crossing is posted at once, not folded into the first one’s quiet period', async () => {
    const { sampler, monitor, texts, step } = await setup()
    sampler.set({ cpu: 0.85 })
    for (let i = 0; i < 3; i++) await step()
    expect(texts).toHaveLength(1)
    for (let i = 0; i < 3; i++) {
      for (let r = 0; r < 10; r++) monitor.recordRequest(800, r !== 0)
      await step()
    }
    expect(texts).toHaveLength(3)
    expect(texts[0]).toBe(':warning: [api] cpu healthy → degraded: cpu 0.850 >= 0.800')
    // Posted concurrently: the receiver may see them in either order.
    const later = texts.slice(1).sort()
    expect(later[0]).toBe(':warning: [api] errorRate healthy → degraded: errorRate 0.100 >= 0.050')
    expect(later[1]).toMatch(
      /^:warning: \[api\] latencyP99 healthy → degraded: latencyP99 [\d.]+ ms >= 500\.0 ms$/,
    )
  })

  it('an escalation is posted at once, whatever the quiet period of repeats', async () => {
    const { sampler, texts, step } = await setup()
    sampler.set({ cpu: 0.85 })
    for (let i = 0; i < 3; i++) await step()
    // Down and up again inside the quiet period: repeats of the same level wait (and
    // fold away, since the level is back to what was announced).
    sampler.set({ cpu: 0.1 })
    for (let i = 0; i < 6; i++) await step()
    sampler.set({ cpu: 0.85 })
    for (let i = 0; i < 3; i++) await step()
    expect(texts).toHaveLength(1)
    sampler.set({ cpu: 0.99 })
    for (let i = 0; i < 3; i++) await step()
    expect(texts).toEqual([
      ':warning: [api] cpu healthy → degraded: cpu 0.850 >= 0.800',
      ':rotating_light: [api] cpu degraded → critical: cpu 0.990 >= 0.950 (2 earlier changes folded in)',
    ])
  })

  it('a window without enough requests says nothing about the error rate: the alert neither fires nor recovers on it', async () => {
    const { monitor, alerts, step } = await setup({ minRequests: 5 })
    for (let i = 0; i < 3; i++) {
      for (let r = 0; r < 10; r++) monitor.recordRequest(5, r > 2)
      await step()
    }
    expect(alerts.map((a) => [a.metric, a.to])).toEqual([['errorRate', 'degraded']])
    for (let i = 0; i < 20; i++) await step()
    expect(alerts).toHaveLength(1)
  })

  it('per-metric dwell overrides the monitor’s', async () => {
    const { sampler, alerts, step } = await setup({
      metricAlerts: { cpu: { degraded: { enter: 0.8, exit: 0.7 }, enterDwellMs: 0, exitDwellMs: 0 } },
    })
    sampler.set({ cpu: 0.9 })
    await step()
    expect(alerts.map((a) => a.to)).toEqual(['degraded'])
    sampler.set({ cpu: 0.1 })
    await step()
    expect(alerts.map((a) => a.to)).toEqual(['degraded', 'healthy'])
  })

  it('refuses bad alert settings with the option named', () => {
    expect(() =>
      createHealthMonitor({ metricAlerts: { cpu: { degraded: { enter: 0.5, exit: 0.9 } } } }),
    ).toThrow(/metricAlerts.*cpu/)
    expect(() =>
      createHealthMonitor({ metricAlerts: { errorRate: { degraded: { enter: 5, exit: 2 } } } }),
    ).toThrow(/metricAlerts.*errorRate/)
    expect(() =>
      // @ts-expect-error: not a metric
      createHealthMonitor({ metricAlerts: { memory: { degraded: { enter: 1, exit: 1 } } } }),
    ).toThrow(/memory/)
  })
})
