// The limiter's defaults in front of a real Postgres with a hidden capacity (see
// hidden-capacity.ts), offered three times what it sustains in an open loop.
import { postgresAvailable } from '@headroom/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AdaptiveLimiter, createAdaptiveLimiter, isLimitExceededError } from '../src/index.js'
import { createHiddenCapacity, type HiddenCapacity, openLoop, serviceSeconds } from './hidden-capacity.js'

const CAPACITY = 4
const SERVICE_MS = 80
const POOL_MAX = 32
const RATE = 3 * (CAPACITY / SERVICE_MS) * 1000

describe.runIf(postgresAvailable())(
  'the default limiter against real Postgres with a hidden capacity',
  () => {
    let backend: HiddenCapacity
    beforeAll(async () => {
      backend = await createHiddenCapacity(CAPACITY)
    })
    afterAll(async () => {
      await backend?.close()
    })

    const run = async (limiter: AdaptiveLimiter) => {
      const pool = new pg.Pool({ connectionString: backend.url, max: POOL_MAX })
      pool.on('error', () => {})
      try {
        // Connections opened first, so neither run pays for connecting under load.
        await Promise.all(Array.from({ length: POOL_MAX }, () => pool.query('SELECT 1')))
        return await openLoop({
          ratePerSec: RATE,
          durationMs: 12_000,
          call: () => limiter.run(() => pool.query('SELECT work($1)', [serviceSeconds(SERVICE_MS, 0.3)])),
          isShed: isLimitExceededError,
          watch: () => limiter.limit,
        })
      } finally {
        limiter.close()
        await pool.end()
      }
    }
    const after = <T extends { t: number }>(items: T[], from: number) =>
      items.filter((item) => item.t >= from)
    const quantile = (values: number[], q: number) =>
      [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? 0

    // The latency this buys against a static limit is a speed claim: overload.test.ts
    // shows it on a manual clock, and `benchmarks/pool-eval/overload.ts` measures it here.
    it('settles within 0.6x-2x of the capacity and sheds the excess with LimitExceededError', async () => {
      const adaptive = await run(createAdaptiveLimiter({ max: POOL_MAX }))
      const limits = after(adaptive.samples, 4_000).map((sample) => sample.value)
      const inBand = limits.filter((limit) => limit >= 0.6 * CAPACITY && limit <= 2 * CAPACITY).length
      const figures = JSON.stringify({
        limits: `${quantile(limits, 0)}/${quantile(limits, 0.5)}/${quantile(limits, 1)}`,
        completed: after(adaptive.calls, 4_000).length,
        shed: adaptive.shed,
        errors: adaptive.errors,
      })
      expect(adaptive.errors, figures).toBe(0)
      expect(inBand / limits.length, figures).toBeGreaterThanOrEqual(0.9)
      expect(adaptive.shed, figures).toBeGreaterThan(0)
    }, 120_000)
  },
)
