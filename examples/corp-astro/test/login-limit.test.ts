import { createManualClock, type RedisClient } from '@headroom/core'
import { describeRedis } from '@headroom/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../src/logger.js'
import { type AppLimits, createAppLimits, LOGIN_FAILURES } from '../src/platform/rate-limit.js'

const logger = createLogger({ logLevel: 'silent' })
const MINUTE = 60_000

/**
 * The seed's promise for failed logins: at most 5 per 15 minutes per account and IP, in
 * ANY 15 minutes, not only in fixed windows. An approximate sliding window lets a burst at
 * the end of one window and another before the next one ends through (up to twice the budget).
 */
function loginLimitContract(start: (clock: ReturnType<typeof createManualClock>) => AppLimits) {
  let limits: AppLimits | undefined
  afterEach(async () => {
    await limits?.close()
  })

  it('admits at most 5 failed logins in any 15 minutes', async () => {
    // Start just before a 15-minute boundary, where a window-based count resets.
    const clock = createManualClock(15 * MINUTE * 1_000 - 2_000)
    limits = start(clock)
    const email = `victim-${Math.random().toString(36).slice(2)}@example.test`
    const ip = '198.51.100.7'
    const admitted: number[] = []
    const attempt = async () => {
      if (await limits!.login.blocked(email, ip)) return
      admitted.push(clock.now())
      await limits!.login.fail(email, ip)
    }
    for (let i = 0; i < 5; i++) await attempt()
    expect(admitted).toHaveLength(5)
    // An attacker tries every 30 s for the next 15 minutes.
    for (let t = 0; t < 15 * MINUTE - 3_000; t += 30_000) {
      clock.advance(30_000)
      await attempt()
    }
    const first = admitted[0]!
    const inWindow = admitted.filter((at) => at < first + LOGIN_FAILURES.windowMs)
    expect(inWindow, `admitted at +${admitted.map((at) => (at - first) / 1000).join(', +')} s`).toHaveLength(
      LOGIN_FAILURES.limit,
    )
    // Once the first failures are 15 minutes old, the account may try again.
    clock.advance(first + LOGIN_FAILURES.windowMs + 1_000 - clock.now())
    expect(await limits.login.blocked(email, ip)).toBeNull()
  })
}

describe('failed-login limit (memory store)', () => {
  loginLimitContract((clock) =>
    createAppLimits({ redis: undefined, prefix: 'astro-test', instances: 1, logger, clock }),
  )
})

describeRedis('failed-login limit (Redis)', (target) => {
  loginLimitContract((clock) =>
    createAppLimits({
      redis: target.client() as RedisClient,
      prefix: target.prefix('astro-login'),
      instances: 1,
      logger,
      clock,
    }),
  )
})
