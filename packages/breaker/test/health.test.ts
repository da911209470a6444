import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Breaker, createBreaker } from '../src/index.js'

describe('integration points', () => {
  let breaker: Breaker<[], number>
  beforeEach(() => {
    vi.useFakeTimers()
    breaker = createBreaker(async () => 1, { name: 'astro', resetTimeout: 1_000 })
  })
  afterEach(async () => {
    await breaker.close()
    vi.useRealTimers()
  })

  it('toHealthCheck: pass when closed, warn when half-open, fail when open on a critical dependency', async () => {
    const critical = breaker.toHealthCheck()
    const optional = breaker.toHealthCheck({ critical: false })
    expect(critical()).toMatchObject({ name: 'astro', status: 'pass', state: 'closed', critical: true })
    breaker.trip()
    expect(critical()).toMatchObject({ status: 'fail', state: 'open' })
    expect(optional()).toMatchObject({ status: 'warn', state: 'open', critical: false })
    expect(critical().since).toBe(Date.now())
    await vi.advanceTimersByTimeAsync(1_000)
    expect(critical()).toMatchObject({ status: 'warn', state: 'half-open' })
    await breaker.fire()
    expect(critical().status).toBe('pass')
  })

  it('publishes state changes on diagnostics_channel headroom:breaker:state', async () => {
    const diagnostics = await import('node:diagnostics_channel')
    const seen: unknown[] = []
    const listener = (message: unknown) => seen.push(message)
    diagnostics.subscribe('headroom:breaker:state', listener)
    try {
      breaker.trip()
      expect(seen).toEqual([expect.objectContaining({ name: 'astro', state: 'open', reason: 'manual' })])
    } finally {
      diagnostics.unsubscribe('headroom:breaker:state', listener)
    }
  })

  it('on() returns an unsubscribe function', () => {
    const seen: string[] = []
    const off = breaker.on('state', ({ state }) => seen.push(state))
    breaker.trip()
    off()
    breaker.reset()
    expect(seen).toEqual(['open'])
  })
})
