// A backend simulated on a manual clock, for the limiter's overload tests: `capacity`
// servers and a FIFO queue in front of them, so latency is flat (one noisy service time)
// up to the capacity and grows with queueing beyond it. Callers arrive in an open loop
// (Poisson) and go through a limiter; the simulation steps from event to event.
import { createManualClock, isHeadroomError, type ManualClock } from '@headroom/core'
import type { AdaptiveLimiter } from '../src/index.js'
import { isLimitExceededError } from '../src/index.js'

/** mulberry32: a seeded PRNG so every run of a test sees the same arrivals and service times. */
export function seededRandom(seed: number): () => number {
  let state = seed | 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), state | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface SimulationOptions {
  /** Servers at time t (ms): a step function, e.g. `t => t < 60_000 ? 10 : 5`. */
  capacity: (t: number) => number
  /** Mean service time, ms. */
  serviceMs: number
  /** Coefficient of variation of the service time (lognormal); 0 for a constant. */
  noise: number
  /** Arrivals per second at time t. */
  ratePerSec: (t: number) => number
  durationMs: number
  seed: number
  /** How often the limit is sampled, ms. @default 100 */
  sampleEveryMs?: number
}

export interface SimulationResult {
  /** The limit every `sampleEveryMs`, with the capacity at that time. */
  limits: { t: number; limit: number; capacity: number }[]
  /** Latency (arrival to completion) of each admitted call, with its arrival time. */
  calls: { t: number; latency: number }[]
  completed: number
  shed: number
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

/** Fraction of the limit samples in [from, to) within 0.6x-2x of the capacity at that time. */
export function inBand(result: SimulationResult, from: number, to = Number.POSITIVE_INFINITY): number {
  const window = result.limits.filter((p) => p.t >= from && p.t < to)
  const inside = window.filter((p) => p.limit >= 0.6 * p.capacity && p.limit <= 2 * p.capacity)
  return inside.length / Math.max(1, window.length)
}

/** The first sample time at or after `from` when the limit is within 0.6x-2x of capacity. */
export function settledAt(result: SimulationResult, from = 0): number | undefined {
  return result.limits.find((p) => p.t >= from && p.limit >= 0.6 * p.capacity && p.limit <= 2 * p.capacity)?.t
}

export function completedPerSec(result: SimulationResult, from: number, to: number): number {
  const n = result.calls.filter((c) => c.t >= from && c.t < to).length
  return (n / (to - from)) * 1000
}

export function p99(result: SimulationResult, from = 0, to = Number.POSITIVE_INFINITY): number {
  return quantile(
    result.calls.filter((c) => c.t >= from && c.t < to).map((c) => c.latency),
    0.99,
  )
}

const flush = async () => {
  for (let i = 0; i < 6; i++) await Promise.resolve()
}

/** A min-heap of completion times. */
class Completions {
  readonly #heap: { at: number; done: () => void }[] = []
  get size() {
    return this.#heap.length
  }
  get next() {
    return this.#heap[0]?.at ?? Number.POSITIVE_INFINITY
  }
  push(item: { at: number; done: () => void }) {
    const heap = this.#heap
    heap.push(item)
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.at <= heap[i]!.at) break
      ;[heap[parent], heap[i]] = [heap[i]!, heap[parent]!]
      i = parent
    }
  }
  pop() {
    const heap = this.#heap
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      for (let i = 0; ; ) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && heap[l]!.at < heap[m]!.at) m = l
        if (r < heap.length && heap[r]!.at < heap[m]!.at) m = r
        if (m === i) break
        ;[heap[m], heap[i]] = [heap[i]!, heap[m]!]
        i = m
      }
    }
    return top
  }
}

/**
 * Runs the open loop through `makeLimiter(clock)` against the simulated backend and
 * returns what callers saw. Deterministic for a given seed.
 */
export async function simulate(
  makeLimiter: (clock: ManualClock) => AdaptiveLimiter,
  options: SimulationOptions,
): Promise<SimulationResult> {
  const clock = createManualClock()
  const limiter = makeLimiter(clock)
  const random = seededRandom(options.seed)
  const sigma = Math.sqrt(Math.log(1 + options.noise ** 2))
  const serviceTime = () => {
    if (options.noise === 0) return options.serviceMs
    // Box-Muller normal, then a lognormal with the requested mean and CV.
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
    return options.serviceMs * Math.exp(sigma * z - (sigma * sigma) / 2)
  }
  const running = new Completions()
  const backlog: (() => void)[] = []
  const startWork = (done: () => void) => running.push({ at: clock.now() + serviceTime(), done })
  const admit = () => {
    while (backlog.length > 0 && running.size < options.capacity(clock.now())) startWork(backlog.shift()!)
  }
  const work = () =>
    new Promise<void>((resolve) => {
      backlog.push(resolve)
      admit()
    })

  const result: SimulationResult = { limits: [], calls: [], completed: 0, shed: 0 }
  const sampleEvery = options.sampleEveryMs ?? 100
  let nextSample = 0
  let nextArrival = 0
  const interArrival = (t: number) => -Math.log(1 - random()) * (1000 / options.ratePerSec(t))
  nextArrival = interArrival(0)

  while (clock.now() < options.durationMs) {
    const at = Math.min(nextArrival, running.next, nextSample, options.durationMs)
    clock.advance(Math.max(0, at - clock.now()))
    await flush()
    const now = clock.now()
    if (now >= nextSample) {
      result.limits.push({ t: now, limit: limiter.limit, capacity: options.capacity(now) })
      nextSample += sampleEvery
    }
    while (running.size > 0 && running.next <= now) {
      running.pop().done()
      result.completed++
    }
    admit()
    if (now >= nextArrival) {
      const arrival = now
      nextArrival = now + interArrival(now)
      limiter.run(work).then(
        () => result.calls.push({ t: arrival, latency: clock.now() - arrival }),
        (error: unknown) => {
          // Callers still waiting when the run ends are refused by close(): not shed.
          if (isHeadroomError(error, 'E_CLOSED')) return
          if (!isLimitExceededError(error)) throw error
          result.shed++
        },
      )
    }
    await flush()
  }
  limiter.close()
  return result
}

/** The limit's median and range per 10 s, for failure messages. */
export function summary(result: SimulationResult): string {
  const out: string[] = []
  for (let from = 0; ; from += 10_000) {
    const window = result.limits.filter((p) => p.t >= from && p.t < from + 10_000).map((p) => p.limit)
    if (window.length === 0) break
    out.push(`${from / 1000}s: ${quantile(window, 0)}/${quantile(window, 0.5)}/${quantile(window, 1)}`)
  }
  return out.join(', ')
}
