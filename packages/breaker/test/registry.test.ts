import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type BreakerRegistry, createBreakerRegistry, isCircuitOpenError } from '../src/index.js'

describe('createBreakerRegistry (fake clock)', () => {
  let registry: BreakerRegistry<any, any> | undefined
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(async () => {
    await registry?.close()
    vi.useRealTimers()
  })

  it('makes one breaker per key, named after it, and keeps their states apart', async () => {
    const down = new Set(['b'])
    const r = createBreakerRegistry({
      action: async (host: string, path: string) => {
        if (down.has(host)) throw new Error(`${host} down`)
        return `${host}${path}`
      },
      defaults: { volumeThreshold: 2, resetTimeout: 1_000 },
    })
    registry = r
    expect(await r.fire('a', '/x')).toBe('a/x')
    await r.fire('b', '/x').catch(() => {})
    await r.fire('b', '/x').catch(() => {})
    expect(r.get('b').state).toBe('open')
    expect(r.get('b').name).toBe('b')
    expect(r.get('a').state).toBe('closed')
    expect(r.get('a')).toBe(r.get('a'))
    await expect(r.fire('b', '/x')).rejects.toSatisfy(isCircuitOpenError)
    expect(r.isAvailable('b')).toBe(false)
    expect(r.isAvailable('a')).toBe(true)
    expect(r.isAvailable('never-seen')).toBe(true)
    expect(Object.keys(r.stats().breakers).sort()).toEqual(['a', 'b'])
  })

  it('runs thunks when no action is given', async () => {
    const r = createBreakerRegistry()
    registry = r
    expect(await r.fire('svc', async () => 42)).toBe(42)
  })

  it('stays within max, evicting the least recently used closed breaker first', async () => {
    const r = createBreakerRegistry({ max: 3, defaults: { volumeThreshold: 1 } })
    registry = r
    await r
      .fire('open-one', async () => {
        throw new Error('x')
      })
      .catch(() => {})
    expect(r.get('open-one').state).toBe('open')
    await r.fire('b', async () => 1)
    await r.fire('c', async () => 1)
    await r.fire('b', async () => 1)
    await r.fire('d', async () => 1)
    // open-one is the oldest but open: c (least recently used closed) goes.
    expect(r.keys().sort()).toEqual(['b', 'd', 'open-one'])
    expect(r.size).toBe(3)
    expect(r.stats().evictions).toBe(1)
  })

  it('feeds a balancer: toTargetHealth reports ejections and recoveries', async () => {
    const r = createBreakerRegistry({ defaults: { resetTimeout: 500 } })
    registry = r
    const seen: [string, boolean, string][] = []
    const health = r.toTargetHealth()
    const off = health.onChange((id, available, state) => seen.push([id, available, state]))
    r.get('replica-2').trip()
    expect(health.isAvailable('replica-2')).toBe(false)
    await vi.advanceTimersByTimeAsync(500)
    await r.fire('replica-2', async () => 'ok')
    expect(seen).toEqual([
      ['replica-2', false, 'open'],
      ['replica-2', true, 'half-open'],
      ['replica-2', true, 'closed'],
    ])
    off()
  })

  it('runs one timer for all its breakers and none after close()', async () => {
    const r = createBreakerRegistry()
    for (let i = 0; i < 50; i++) await r.fire(`k${i}`, async () => i)
    expect(vi.getTimerCount()).toBe(1)
    await r.close()
    expect(vi.getTimerCount()).toBe(0)
    expect(() => r.get('new')).toThrow(/closed/)
  })

  it('rejects bad options with a message naming the option', () => {
    expect(() => createBreakerRegistry({ max: 0 })).toThrow(/"max"/)
    expect(() => createBreakerRegistry({ defaults: { timeout: -5 } })).toThrow(/"defaults.timeout".*-5/)
  })
})
