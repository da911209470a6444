import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { type AdmissionPriority, createAdmission, LagController } from '../src/platform/admission.js'

describe('LagController', () => {
  it('refuses nothing while the lag stays under the target', () => {
    const controller = new LagController({ targetLagMs: 25 })
    for (let i = 0; i < 1000; i++) controller.observe(i % 10 === 0 ? 40 : 5, 1, 10)
    expect(controller.share).toBe(0)
    expect(controller.refuses('low', 0)).toBe(false)
  })

  it('one long pause (a GC, a start-up stall) does not refuse for long', () => {
    const controller = new LagController({ targetLagMs: 25 })
    controller.observe(300, 1, 310)
    for (let i = 0; i < 300; i++) controller.observe(2, 0.3, 10)
    expect(controller.share).toBe(0)
  })

  it('under a sustained lag refuses low first, then high, never critical, and admits all again once it passes', () => {
    const controller = new LagController({ targetLagMs: 25 })
    const shares: number[] = []
    for (let i = 0; i < 100; i++) {
      controller.observe(60, 1, 70)
      shares.push(controller.share)
    }
    // Rises while the lag stays above the target (once the utilization, averaged over
    // about 200 ms, says the loop is saturated).
    expect(shares[60]!).toBeGreaterThan(0)
    expect(shares.at(-1)!).toBe(1)
    const draws = Array.from({ length: 1000 }, (_, i) => i / 1000)
    const refusedOf = (priority: AdmissionPriority) =>
      draws.filter((d) => controller.refuses(priority, d)).length
    expect(refusedOf('low')).toBe(1000)
    expect(refusedOf('high')).toBe(1000)
    expect(refusedOf('critical')).toBe(0)

    // Halfway: low goes first, high is still served.
    const half = new LagController({ targetLagMs: 25 })
    while (half.share < 0.4) half.observe(60, 0.95, 10)
    expect(draws.filter((d) => half.refuses('low', d)).length).toBeGreaterThan(750)
    expect(draws.filter((d) => half.refuses('high', d)).length).toBe(0)

    for (let i = 0; i < 300; i++) controller.observe(3, 0.2, 10)
    expect(controller.share).toBe(0)
  })

  it('a process that lags because it is not scheduled (its loop mostly idle) refuses nothing', () => {
    const controller = new LagController({ targetLagMs: 25 })
    for (let i = 0; i < 500; i++) controller.observe(80, 0.3, 90)
    expect(controller.share).toBe(0)
  })

  it('refuses bad settings', () => {
    expect(() => new LagController({ targetLagMs: 0 })).toThrow(/targetLagMs must be > 0/)
    expect(() => new LagController({ targetLagMs: 25, saturation: 1.5 })).toThrow(/saturation must be in/)
  })
})

describe('createAdmission on a real Express server past its CPU capacity', () => {
  const closers: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close()
  })

  it('refuses nothing while few requests are in flight, however busy the loop is', async () => {
    const admission = createAdmission({ targetLagMs: 20, priority: () => 'low', retryAfterSeconds: 1 })
    closers.push(() => admission.close())
    const app = express()
    app.use(admission.middleware)
    app.get('/work', (_req, res) => {
      const until = performance.now() + 30
      while (performance.now() < until) {}
      res.json({ ok: true })
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    // Two at a time for 1.5 s: the loop is saturated and lags, but the work in flight is small.
    const until = performance.now() + 1500
    const statuses: number[] = []
    while (performance.now() < until) {
      const pair = await Promise.all([fetch(`${base}/work`), fetch(`${base}/work`)])
      for (const response of pair) {
        await response.arrayBuffer()
        statuses.push(response.status)
      }
    }
    expect(statuses.length).toBeGreaterThan(10)
    expect(statuses.every((status) => status === 200)).toBe(true)
  })

  it('answers refusals at once with 503 + Retry-After, keeps critical work served, and stops its timer when idle', async () => {
    const admission = createAdmission({
      targetLagMs: 20,
      priority: (req) => (req.query.tier as AdmissionPriority | undefined) ?? 'low',
      retryAfterSeconds: 1,
    })
    closers.push(() => admission.close())
    const app = express()
    app.use(admission.middleware)
    // Each admitted request waits for I/O (a timer here, a database in the app), then burns
    // 15 ms of CPU: requests pile up in flight and the event loop falls behind.
    app.get('/work', async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      const until = performance.now() + 15
      while (performance.now() < until) {}
      res.json({ ok: true })
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

    // Offered: 40 concurrent requests at a time, for about 2 s: 40 x 15 ms = 600 ms of
    // CPU per wave, far past what one event loop does within the 20 ms target.
    const statuses: Record<string, number[]> = { low: [], critical: [] }
    const retryAfter = new Set<string | null>()
    const until = performance.now() + 2000
    while (performance.now() < until) {
      const wave = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? 'critical' : 'low'))
      await Promise.all(
        wave.map(async (tier) => {
          const response = await fetch(`${base}/work?tier=${tier}`)
          await response.arrayBuffer()
          statuses[tier]!.push(response.status)
          if (response.status === 503) retryAfter.add(response.headers.get('retry-after'))
        }),
      )
    }
    const low = statuses.low!
    const critical = statuses.critical!
    expect(critical.every((status) => status === 200)).toBe(true)
    expect(low.filter((status) => status === 503).length).toBeGreaterThan(low.length / 4)
    expect(low.every((status) => status === 200 || status === 503)).toBe(true)
    expect([...retryAfter]).toEqual(['1'])
    expect(admission.stats().refused).toBe(low.filter((status) => status === 503).length)

    expect(admission.stats().inFlight).toBe(0)

    // Idle: the share decays to 0 and the sampler stops (no timer keeps waking the process).
    await new Promise((resolve) => setTimeout(resolve, 3500))
    expect(admission.stats().share).toBe(0)
    expect(admission.stats().sampling).toBe(false)
    const response = await fetch(`${base}/work?tier=low`)
    expect(response.status).toBe(200)
  })
})
