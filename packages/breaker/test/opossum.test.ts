// The breaker against opossum's public surface only: `breaker.circuit` is read through
// opossum's declared members (states, events, `status`), never through a cast, and the
// package's sources hold no cast into another library.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import CircuitBreaker from 'opossum'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Breaker, createBreaker } from '../src/index.js'
import { dependency, settle } from './helpers.js'

describe('the breaker on opossum', () => {
  const made: Breaker<any, any>[] = []
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(async () => {
    await Promise.all(made.splice(0).map((b) => b.close()))
    vi.useRealTimers()
  })

  it('drives opossum state with open() and close(), and opossum announces each change', async () => {
    const dep = dependency()
    const breaker = createBreaker(dep.fn, { volumeThreshold: 2, resetTimeout: 1_000, halfOpenProbes: 2 })
    made.push(breaker)
    const circuit: CircuitBreaker<[value?: number], number> = breaker.circuit
    expect(circuit).toBeInstanceOf(CircuitBreaker)
    const heard: string[] = []
    circuit.on('open', () => heard.push('open'))
    circuit.on('close', () => heard.push('close'))
    expect(circuit.closed).toBe(true)

    dep.fail = true
    await settle(breaker.fire())
    await settle(breaker.fire())
    expect(breaker.state).toBe('open')
    expect(circuit.opened).toBe(true)

    // Half-open is the breaker's: opossum runs the probes, closed, behind the probe gate.
    await vi.advanceTimersByTimeAsync(1_000)
    expect(breaker.state).toBe('half-open')
    expect(circuit.closed).toBe(true)
    dep.fail = false
    await breaker.fire()
    await breaker.fire()
    expect(breaker.state).toBe('closed')
    expect(circuit.closed).toBe(true)

    breaker.trip(500)
    expect(circuit.opened).toBe(true)
    breaker.reset()
    expect(circuit.closed).toBe(true)
    expect(heard).toEqual(['open', 'close', 'open', 'close'])
  })

  it('runs every admitted call through opossum: its events and its status window count them', async () => {
    const dep = dependency()
    const breaker = createBreaker(dep.fn, { volumeThreshold: 100, timeout: 100 })
    made.push(breaker)
    const circuit = breaker.circuit
    const events: string[] = []
    circuit.on('success', () => events.push('success'))
    circuit.on('failure', () => events.push('failure'))
    circuit.on('timeout', () => events.push('timeout'))

    expect(await breaker.fire(7)).toBe(7)
    dep.fail = true
    await settle(breaker.fire())
    dep.fail = false
    dep.delayMs = 500
    const late = settle(breaker.fire())
    await vi.advanceTimersByTimeAsync(100)
    await late
    await vi.advanceTimersByTimeAsync(500)

    expect(events).toEqual(['success', 'failure', 'timeout', 'failure'])
    const stats = circuit.status.stats
    expect(stats.fires).toBe(3)
    expect(stats.successes).toBe(1)
    expect(stats.failures).toBe(2)
    expect(stats.timeouts).toBe(1)
    expect(breaker.stats()).toMatchObject({ successes: 1, failures: 2, timeouts: 1, inFlight: 0 })
  })

  it("refuses over capacity through opossum's semaphore, which it reports as semaphoreLocked", async () => {
    const dep = dependency()
    const breaker = createBreaker(dep.fn, { capacity: 1 })
    made.push(breaker)
    let locked = 0
    breaker.circuit.on('semaphoreLocked', () => locked++)
    dep.delayMs = 100
    const first = settle(breaker.fire())
    expect(breaker.stats().inFlight).toBe(1)
    const second = await settle(breaker.fire())
    expect(second.ok).toBe(false)
    expect(locked).toBe(1)
    await vi.advanceTimersByTimeAsync(100)
    expect((await first).ok).toBe(true)
    expect(breaker.stats()).toMatchObject({ inFlight: 0, rejects: 1, failures: 0 })
  })

  it('counts a call refused by an opossum opened by hand as a reject, not as in flight', async () => {
    const breaker = createBreaker(async () => 1)
    made.push(breaker)
    breaker.circuit.open()
    const outcome = await settle(breaker.fire())
    expect(outcome.ok).toBe(false)
    expect(breaker.stats()).toMatchObject({ inFlight: 0, rejects: 1, failures: 0 })
    breaker.circuit.close()
    expect(await breaker.fire()).toBe(1)
  })

  it('keeps the typed error cause one of opossum own errors (CircuitBreaker.isOurError)', async () => {
    const dep = dependency()
    const breaker = createBreaker(dep.fn, { timeout: 50 })
    made.push(breaker)
    dep.delayMs = 100
    const result = settle(breaker.fire())
    await vi.advanceTimersByTimeAsync(100)
    const outcome = await result
    expect(outcome.ok).toBe(false)
    const error = outcome.ok ? undefined : outcome.error
    const cause = error instanceof Error ? error.cause : undefined
    expect(cause instanceof Error && CircuitBreaker.isOurError(cause)).toBe(true)
  })
})

describe('the package sources', () => {
  it('hold no double cast (a reach into a dependency internals)', () => {
    const root = join(import.meta.dirname, '../src')
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
    expect(files.length).toBeGreaterThan(10)
    const offenders = files.filter((file) => readFileSync(join(root, file), 'utf8').includes('as unknown as'))
    expect(offenders).toEqual([])
  })
})
