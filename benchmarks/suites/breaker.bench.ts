import { createBreaker } from '@headroom/breaker'
import {
  circuitBreaker,
  handleAll,
  SamplingBreaker,
  TimeoutStrategy,
  timeout as timeoutPolicy,
  wrap,
} from 'cockatiel'
import CircuitBreaker from 'opossum'
import { type BenchGroup, consume, defineSuite } from '../src/suite.js'

/** Sequential awaited calls per task call, so tinybench's own per-call cost is spread thin. */
const BATCH = 100
const expected = (BATCH * (BATCH - 1)) / 2

/** The protected function: resolves at once, so what is measured is the breaker. */
const dependency = async (value: number) => value

let closers: (() => unknown)[] = []

export default defineSuite({
  name: 'breaker',
  setup(): BenchGroup[] {
    // Every breaker with the same settings: a 10 s timeout (opossum's default), opening
    // at 50 % failures; none of them ever opens here.
    const opossum = new CircuitBreaker(dependency, { timeout: 10_000 })
    // opossum as @headroom/breaker configures it underneath: the wrapper's own cost alone.
    const opossumLean = new CircuitBreaker(dependency, {
      timeout: 10_000,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    })
    const headroom = createBreaker(dependency, { timeout: 10_000 })
    const cockatiel = wrap(
      timeoutPolicy(10_000, TimeoutStrategy.Aggressive),
      circuitBreaker(handleAll, {
        halfOpenAfter: 30_000,
        breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000 }),
      }),
    )
    const cockatielBreaker = circuitBreaker(handleAll, {
      halfOpenAfter: 30_000,
      breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000 }),
    })
    // Open breakers: the fail-fast path a caller hits during an outage.
    const opossumOpen = new CircuitBreaker(dependency, { timeout: 10_000, resetTimeout: 3_600_000 })
    opossumOpen.open()
    const headroomOpen = createBreaker(dependency, { timeout: 10_000, resetTimeout: 3_600_000 })
    headroomOpen.trip()
    closers = [
      () => opossum.shutdown(),
      () => opossumLean.shutdown(),
      () => opossumOpen.shutdown(),
      () => headroom.close(),
      () => headroomOpen.close(),
    ]

    const batch = (call: (i: number) => Promise<number>) => async () => {
      let sum = 0
      for (let i = 0; i < BATCH; i++) sum += await call(i)
      consume(sum)
      return sum
    }

    const refusals = (call: (i: number) => Promise<number>, code: string) => async () => {
      let refused = 0
      for (let i = 0; i < BATCH; i++) {
        await call(i).then(
          () => {},
          (error: { code?: string }) => {
            if (error.code === code) refused++
          },
        )
      }
      consume(refused)
      return refused
    }

    return [
      {
        name: 'closed path: one call through a closed breaker (the function resolves at once)',
        baseline: 'opossum 9 (bare)',
        tasks: {
          'await fn() (no breaker)': { fn: batch((i) => dependency(i)), opsPerCall: BATCH },
          'opossum 9 (bare)': { fn: batch((i) => opossum.fire(i)), opsPerCall: BATCH },
          'opossum 9 (no percentiles, no snapshots)': {
            fn: batch((i) => opossumLean.fire(i)),
            opsPerCall: BATCH,
          },
          '@headroom/breaker': { fn: batch((i) => headroom.fire(i)), opsPerCall: BATCH },
          'cockatiel 3 (breaker + timeout)': {
            fn: batch((i) => cockatiel.execute(() => dependency(i))),
            opsPerCall: BATCH,
          },
          'cockatiel 3 (breaker only)': {
            fn: batch((i) => cockatielBreaker.execute(() => dependency(i))),
            opsPerCall: BATCH,
          },
        },
        check(result, task) {
          if (result !== expected) throw new Error(`${task} returned ${String(result)}, expected ${expected}`)
          if (headroom.state !== 'closed' || opossum.opened) throw new Error(`${task}: a breaker opened`)
        },
        // Within 1.1x of bare opossum's time per call: at least 1 / 1.1 of its ops/s.
        targets: [
          { task: '@headroom/breaker', atLeast: 0.91 },
          { task: '@headroom/breaker', against: 'opossum 9 (no percentiles, no snapshots)', atLeast: 0.91 },
        ],
        notes: [
          `${BATCH} sequential awaited calls per sample; latency columns are per call.`,
          '@headroom/breaker runs every call through opossum (percentiles and snapshots off: it keeps an O(1) histogram instead), adding its state machine and slow-call/window accounting; the second target compares it with opossum configured the same way.',
        ],
      },
      {
        name: 'open path: a call refused by an open breaker',
        baseline: 'opossum 9 (bare)',
        tasks: {
          'opossum 9 (bare)': { fn: refusals((i) => opossumOpen.fire(i), 'EOPENBREAKER'), opsPerCall: BATCH },
          '@headroom/breaker': {
            fn: refusals((i) => headroomOpen.fire(i), 'E_CIRCUIT_OPEN'),
            opsPerCall: BATCH,
          },
        },
        check(result, task) {
          if (result !== BATCH) throw new Error(`${task} refused ${String(result)} of ${BATCH} calls`)
        },
        notes: [
          'Each refusal builds an error (with its stack) in both; @headroom/breaker never enters opossum.',
        ],
      },
    ]
  },
  async teardown() {
    await Promise.all(closers.map((close) => close()))
    closers = []
  },
})
