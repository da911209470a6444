// The defaults a new user keeps, tried from the user's side: one bad sample is not an
// overload, the README's own priority example keeps premium users served under
// `critical`, an escalation is paged at once, and a status reason names the right level.
// Time runs on the core manual clock.
import { createManualClock } from '@headroom/core'
import { waitUntil } from '@headroom/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createWebhookSink } from '../src/exporters/webhook-sink.js'
import { healthRoutes } from '../src/http/probes.js'
import { shedLoad } from '../src/http/shed-load.js'
import { trackRequests } from '../src/http/track-requests.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import type { HealthMonitorOptions } from '../src/monitor/options.js'
import type { StatusChange } from '../src/status/change.js'
import { listen, scriptedSampler } from './helpers.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A monitor with the defaults, on a manual clock and scripted process readings. */
function defaultMonitor(options: HealthMonitorOptions = {}) {
  const clock = createManualClock(1_000_000)
  const sampler = scriptedSampler()
  const monitor = createHealthMonitor({ clock, sampler, ...options })
  cleanups.push(() => monitor.close())
  const changes: StatusChange[] = []
  monitor.on('change', (change) => changes.push(change))
  return { clock, sampler, monitor, changes }
}

async function webhookReceiver() {
  const received: { text: string }[] = []
  const server = await listen((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      received.push(JSON.parse(body))
      res.end()
    })
  })
  cleanups.push(() => server.close())
  return { url: `${server.url}/hook`, received }
}

describe('default status: one bad sample is not an overload', () => {
  it('a single 150 ms event-loop sample changes nothing: no status change, no alert, nothing shed', async () => {
    const { url, received } = await webhookReceiver()
    const clock = createManualClock(1_000_000)
    const sampler = scriptedSampler()
    const webhook = createWebhookSink({ url, clock })
    const monitor = createHealthMonitor({ clock, sampler, alerts: [webhook] })
    cleanups.push(() => monitor.close())
    const changes: StatusChange[] = []
    monitor.on('change', (change) => changes.push(change))
    const shed = shedLoad({ monitor })
    clock.advance(1000)
    sampler.set({ eventLoopDelay: 150, eventLoopDelayMax: 150 })
    clock.advance(1000)
    sampler.set({})
    for (let second = 0; second < 15; second++) {
      clock.advance(1000)
      expect(monitor.status).toBe('healthy')
    }
    await webhook.flush()
    expect(changes).toEqual([])
    expect(received).toEqual([])
    const stats = shed.stats()
    expect(stats.shed.low).toBe(0)
  })

  it('a stall that lasts is still seen: degraded within 3 samples, and back after the exit dwell', () => {
    const { clock, sampler, monitor, changes } = defaultMonitor()
    sampler.set({ eventLoopDelay: 150 })
    clock.advance(3000)
    expect(monitor.status).toBe('degraded')
    sampler.set({})
    clock.advance(9000)
    expect(monitor.status).toBe('degraded')
    clock.advance(2000)
    expect(monitor.status).toBe('healthy')
    expect(changes.map((change) => change.to)).toEqual(['degraded', 'healthy'])
  })

  it('an external input (a breaker opening) is adopted at once, without the dwell', () => {
    const { monitor } = defaultMonitor()
    monitor.reportInput('payments', 'critical', 'breaker open')
    expect(monitor.status).toBe('critical')
  })
})

describe("the README's priority example under load", () => {
  it('keeps premium users and auth served while the service is critical; free users are refused', async () => {
    const { clock, sampler, monitor } = defaultMonitor()
    const probes = healthRoutes(monitor)
    const track = trackRequests({ monitor })
    // The priority function of the README's example, as written there.
    const shed = shedLoad({
      monitor,
      priority: (req) =>
        req.url?.startsWith('/auth') ? 'critical' : req.headers['x-tier'] === 'premium' ? 'high' : 'low',
    })
    const server = await listen((req, res) =>
      probes(req, res, () => track(req, res, () => shed(req, res, () => res.end('hello')))),
    )
    cleanups.push(() => server.close())
    sampler.set({ eventLoopDelay: 900 })
    clock.advance(5000)
    expect(monitor.status).toBe('critical')
    const premium = await fetch(`${server.url}/x`, { headers: { 'x-tier': 'premium' } })
    expect(premium.status).toBe(200)
    expect(await premium.text()).toBe('hello')
    expect((await fetch(`${server.url}/auth/login`)).status).toBe(200)
    const free = await fetch(`${server.url}/x`)
    expect(free.status).toBe(503)
    await free.body?.cancel()
  })
})

describe('webhook alerts: escalations are sent at once', () => {
  it('an escalation to critical inside the quiet period is posted at once; repeats and recoveries are rate limited', async () => {
    const { url, received } = await webhookReceiver()
    const clock = createManualClock(0)
    const webhook = createWebhookSink({ url, clock })
    cleanups.push(() => webhook.close())
    const change = (from: StatusChange['from'], to: StatusChange['to']): StatusChange => ({
      from,
      to,
      at: clock.now(),
      service: 'api',
      reasons: [],
    })
    webhook.send(change('healthy', 'degraded'))
    clock.advance(5000)
    webhook.send(change('degraded', 'critical'))
    await webhook.flush()
    await waitUntil(() => received.length === 2)
    expect(received[1]?.text).toBe(':rotating_light: [api] degraded → critical')
    // Flapping back and forth at or below what was last announced waits for the quiet period.
    webhook.send(change('critical', 'degraded'))
    webhook.send(change('degraded', 'critical'))
    webhook.send(change('critical', 'degraded'))
    await webhook.flush()
    expect(received).toHaveLength(2)
    clock.advance(60_000)
    await webhook.flush()
    await waitUntil(() => received.length === 3)
    expect(received[2]?.text).toBe(':warning: [api] critical → degraded (2 earlier changes folded in)')
    expect(clock.pending()).toBe(0)
  })
})

describe('status reasons', () => {
  it('a level held between exit and enter names the exit level it has not fallen below', () => {
    const { clock, monitor } = defaultMonitor({
      enterDwellMs: 0,
      thresholds: {
        errorRate: { degraded: { enter: 0.1, exit: 0.05 }, critical: { enter: 0.5, exit: 0.3 } },
      },
    })
    const window = (requests: number, failures: number) => {
      for (let i = 0; i < requests; i++) monitor.recordRequest(5, i >= failures)
      clock.advance(1000)
    }
    window(20, 3)
    expect(monitor.status).toBe('degraded')
    expect(monitor.reasons()[0]?.message).toBe('errorRate 0.150 >= 0.100')
    window(36, 2)
    expect(monitor.status).toBe('degraded')
    const [reason] = monitor.reasons()
    expect(reason?.message).toBe('errorRate 0.056 has not fallen below exit 0.050 (entered at 0.100)')
    expect(reason).toMatchObject({ threshold: 0.1, exit: 0.05 })
  })
})
