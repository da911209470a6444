import { createManualClock } from '@headroom/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createWebhookSink, type WebhookSink } from '../src/exporters/webhook-sink.js'
import type { StatusChange } from '../src/status/change.js'
import { listen } from './helpers.js'

interface Received {
  body: Record<string, unknown>
  headers: Record<string, string | string[] | undefined>
}

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function receiver(statuses: number[] = []) {
  const received: Received[] = []
  const server = await listen((req, res) => {
    let text = ''
    req.on('data', (chunk) => {
      text += chunk
    })
    req.on('end', () => {
      received.push({ body: JSON.parse(text), headers: req.headers })
      res.statusCode = statuses.shift() ?? 200
      res.end()
    })
  })
  cleanups.push(() => server.close())
  return { url: `${server.url}/hook`, received }
}

const change = (from: StatusChange['from'], to: StatusChange['to'], at = 0): StatusChange => ({
  from,
  to,
  at,
  service: 'api',
  reasons: [
    {
      kind: 'metric',
      name: 'eventLoopDelay',
      status: to,
      value: 230,
      threshold: 100,
      message: 'eventLoopDelay 230.0 ms >= 100.0 ms',
    },
  ],
})

function sink(options: Parameters<typeof createWebhookSink>[0]): WebhookSink {
  const created = createWebhookSink(options)
  cleanups.push(() => created.close())
  return created
}

describe('webhook alert sink', () => {
  it('posts Slack-compatible JSON', async () => {
    const { url, received } = await receiver()
    const webhook = sink({ url, headers: { authorization: 'Bearer t' } })
    webhook.send(change('healthy', 'degraded'))
    await webhook.flush()
    expect(received).toHaveLength(1)
    expect(received[0]?.body).toEqual({
      text: ':warning: [api] healthy → degraded: eventLoopDelay 230.0 ms >= 100.0 ms',
    })
    expect(received[0]?.headers['content-type']).toBe('application/json')
    expect(received[0]?.headers.authorization).toBe('Bearer t')
    expect(webhook.stats()).toEqual({ sent: 1, failed: 0, suppressed: 0, pending: false })
  })

  it('json format carries the change itself', async () => {
    const { url, received } = await receiver()
    const webhook = sink({ url, format: 'json' })
    webhook.send(change('degraded', 'critical', 42))
    await webhook.flush()
    expect(received[0]?.body).toMatchObject({
      from: 'degraded',
      to: 'critical',
      at: 42,
      service: 'api',
      text: expect.any(String),
    })
  })

  it('is rate limited below the last announced status: changes in the quiet period fold into one trailing message', async () => {
    const { url, received } = await receiver()
    const clock = createManualClock(0)
    const webhook = sink({ url, clock, minIntervalMs: 60_000 })
    webhook.send(change('healthy', 'critical'))
    clock.advance(1000)
    webhook.send(change('critical', 'degraded'))
    webhook.send(change('degraded', 'critical'))
    webhook.send(change('critical', 'degraded'))
    await webhook.flush()
    expect(received).toHaveLength(1)
    expect(webhook.stats()).toMatchObject({ suppressed: 3, pending: true })
    clock.advance(59_000)
    await webhook.flush()
    expect(received).toHaveLength(2)
    expect(received[1]?.body.text).toBe(
      ':warning: [api] critical → degraded: eventLoopDelay 230.0 ms >= 100.0 ms (2 earlier changes folded in)',
    )
    // Back to what was last announced within the quiet period: nothing new to send.
    webhook.send(change('degraded', 'healthy'))
    webhook.send(change('healthy', 'degraded'))
    clock.advance(60_000)
    await webhook.flush()
    expect(received).toHaveLength(2)
    expect(clock.pending()).toBe(0)
  })

  it('an escalation is posted at once, with the changes that were waiting folded in', async () => {
    const { url, received } = await receiver()
    const clock = createManualClock(0)
    const webhook = sink({ url, clock, minIntervalMs: 60_000 })
    webhook.send(change('healthy', 'degraded'))
    clock.advance(1000)
    webhook.send(change('degraded', 'healthy'))
    webhook.send(change('healthy', 'critical'))
    await webhook.flush()
    expect(received).toHaveLength(2)
    expect(received[1]?.body.text).toBe(
      ':rotating_light: [api] healthy → critical: eventLoopDelay 230.0 ms >= 100.0 ms (1 earlier change folded in)',
    )
    expect(webhook.stats()).toMatchObject({ pending: false })
    expect(clock.pending()).toBe(0)
  })

  it('retries a 503 and a 429, then succeeds', async () => {
    const { url, received } = await receiver([503, 429])
    const webhook = sink({ url, retryDelayMs: 1 })
    webhook.send(change('healthy', 'critical'))
    await webhook.flush()
    expect(received).toHaveLength(3)
    expect(webhook.stats()).toMatchObject({ sent: 1, failed: 0 })
  })

  it('does not retry a 400, counts it and never throws', async () => {
    const { url, received } = await receiver([400])
    const webhook = sink({ url, retryDelayMs: 1 })
    webhook.send(change('healthy', 'critical'))
    await webhook.flush()
    expect(received).toHaveLength(1)
    expect(webhook.stats()).toMatchObject({ sent: 0, failed: 1 })
  })

  it('gives up after the retries when nothing listens', async () => {
    const { url } = await receiver()
    const dead = url.replace(/:\d+\//, ':1/')
    const webhook = sink({ url: dead, retries: 2, retryDelayMs: 1 })
    webhook.send(change('healthy', 'critical'))
    await webhook.flush()
    expect(webhook.stats()).toMatchObject({ sent: 0, failed: 1 })
  })

  it('validates its options', () => {
    expect(() => createWebhookSink({ url: 'not a url' })).toThrow(/Invalid createWebhookSink option "url"/)
    expect(() => createWebhookSink({ url: 'https://x.test', retries: -1 })).toThrow(/"retries"/)
  })
})
