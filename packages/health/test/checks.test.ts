import { createManualClock } from '@headroom/core'
import { waitUntil } from '@headroom/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { healthRoutes } from '../src/http/probes.js'
import type { CheckResult } from '../src/monitor/checks.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import type { HealthMonitor } from '../src/monitor/types.js'
import { listen, scriptedSampler, timed } from './helpers.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function track(monitor: HealthMonitor) {
  cleanups.push(() => monitor.close())
  return monitor
}

describe('dependency checks (manual clock)', () => {
  it('a hanging check fails after its timeout, and its signal aborts', async () => {
    const clock = createManualClock(0)
    let signal: AbortSignal | undefined
    const monitor = track(
      createHealthMonitor({
        clock,
        sampler: scriptedSampler(),
        enterDwellMs: 0,
        checks: {
          db: {
            critical: true,
            status: 'degraded',
            check: (s) => {
              signal = s
              return new Promise(() => {})
            },
          },
        },
        checkTimeoutMs: 500,
      }),
    )
    expect(monitor.checks()[0]).toMatchObject({ name: 'db', status: 'pending' })
    expect(monitor.ready).toBe(false)
    await clock.advanceAsync(499)
    expect(monitor.checks()[0]?.status).toBe('pending')
    await clock.advanceAsync(1)
    expect(monitor.checks()[0]).toMatchObject({
      status: 'fail',
      error: 'Check timed out after 500 ms',
      durationMs: 500,
      consecutiveFailures: 1,
    })
    expect(signal?.aborted).toBe(true)
    expect(monitor.ready).toBe(false)
    expect(monitor.status).toBe('degraded')
    expect(monitor.reasons()[0]).toMatchObject({ kind: 'check', name: 'db' })
  })

  it('results are cached between runs; runs repeat on the interval; recovery clears the failure', async () => {
    const clock = createManualClock(0)
    let calls = 0
    let healthy = false
    const seen: CheckResult[] = []
    const monitor = track(
      createHealthMonitor({
        clock,
        sampler: scriptedSampler(),
        enterDwellMs: 0,
        exitDwellMs: 0,
        checks: {
          redis: {
            check: async () => {
              calls++
              if (!healthy) throw new Error('ECONNREFUSED')
            },
            intervalMs: 1000,
            status: 'critical',
          },
        },
      }),
    )
    monitor.on('check', (result) => seen.push(result))
    await clock.advanceAsync(0)
    expect(calls).toBe(1)
    expect(monitor.checks()[0]).toMatchObject({ status: 'fail', error: 'ECONNREFUSED' })
    expect(monitor.status).toBe('critical')
    // Reading the results never runs the check.
    for (let i = 0; i < 10; i++) monitor.checks()
    expect(calls).toBe(1)
    healthy = true
    await clock.advanceAsync(1000)
    expect(calls).toBe(2)
    expect(monitor.checks()[0]).toMatchObject({ status: 'pass', consecutiveFailures: 0 })
    expect(monitor.checks()[0]?.error).toBeUndefined()
    expect(monitor.ready).toBe(true)
    await clock.advanceAsync(1000) // the next sample re-evaluates with no dwell
    expect(monitor.status).toBe('healthy')
    expect(seen.map((result) => result.status)).toEqual(['fail', 'pass', 'pass'])
  })

  it('runChecks joins a run in progress instead of starting another', async () => {
    const clock = createManualClock(0)
    let calls = 0
    let release: (() => void) | undefined
    const monitor = track(
      createHealthMonitor({
        clock,
        sampler: scriptedSampler(),
        checks: {
          db: () => {
            calls++
            return new Promise<void>((resolve) => {
              release = resolve
            })
          },
        },
      }),
    )
    const first = monitor.runChecks()
    const second = monitor.runChecks()
    expect(calls).toBe(1)
    release?.()
    const [[a], [b]] = await Promise.all([first, second])
    expect(a?.status).toBe('pass')
    expect(b).toBe(a)
  })

  it('close() settles a run in progress, so no caller waits forever', async () => {
    const clock = createManualClock(0)
    const monitor = createHealthMonitor({
      clock,
      sampler: scriptedSampler(),
      checks: { db: () => new Promise(() => {}) },
    })
    const run = monitor.runChecks()
    monitor.close()
    const [result] = await run
    expect(result?.status).toBe('pending')
    expect(clock.pending()).toBe(0)
  })

  it('a check returning false, throwing synchronously, or not critical', async () => {
    const clock = createManualClock(0)
    const monitor = track(
      createHealthMonitor({
        clock,
        sampler: scriptedSampler(),
        checks: {
          a: { check: () => false, status: 'degraded' },
          b: {
            check: () => {
              throw new Error('sync boom')
            },
            status: 'critical',
          },
          c: () => false,
        },
      }),
    )
    await clock.advanceAsync(0)
    const byName = Object.fromEntries(monitor.checks().map((check) => [check.name, check]))
    expect(byName.a).toMatchObject({ status: 'fail', error: 'Check returned false' })
    expect(byName.b).toMatchObject({ status: 'fail', error: 'sync boom' })
    expect(byName.c).toMatchObject({ status: 'fail', critical: false, impact: 'healthy' })
    expect(monitor.reasons().map((reason) => reason.name)).toEqual(['a', 'b'])
  })
})

describe('readiness over real HTTP while a dependency hangs', () => {
  it('/readyz answers from the cached result while the check hangs, then 503 once it timed out', async () => {
    let hangs = 0
    const monitor = track(
      createHealthMonitor({
        checks: {
          db: {
            critical: true,
            check: () => {
              hangs++
              return new Promise(() => {})
            },
          },
        },
        checkTimeoutMs: 5000,
      }),
    )
    const probes = timed(healthRoutes(monitor))
    const server = await listen(probes.handler)
    cleanups.push(() => server.close())
    // Several probes while the check hangs. Each answers from the cached result, which the
    // body proves: it still says "not run yet", so no probe waited for the check to settle
    // (it settles only by its 5 s timeout). Round trips are not timed: on the shared test
    // machine (load average above 20 on two cores) a local request can take a second.
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${server.url}/readyz`)
      const body = await response.json()
      expect(response.status).toBe(503)
      expect(body).toEqual({ status: 'fail', output: 'db: not run yet' })
    }
    await waitUntil(() => monitor.checks()[0]?.status === 'fail', { timeoutMs: 15_000, what: 'the timeout' })
    const failed = await fetch(`${server.url}/readyz`)
    expect(await failed.json()).toEqual({ status: 'fail', output: 'db: Check timed out after 5000 ms' })
    expect(failed.status).toBe(503)
    expect(probes.times).toHaveLength(6)
    expect(hangs).toBe(1)
  })
})
