import { z } from 'zod'
import { type OptionsSchemaMatch, parseOptions } from './options/validate.js'
import { type Clock, systemClock } from './time/clock.js'

/** `closed`: calls go through; `open`: calls are refused; `probing`: one call tests the store. */
export type FailureGateState = 'closed' | 'open' | 'probing'

export interface FailureGateOptions {
  /** Consecutive failures that open the gate. @default 3 */
  failureThreshold?: number
  /** First wait before a probe; doubles after each failed probe. @default 500 */
  cooldownMs?: number
  /** Longest wait between probes. @default 10000 */
  maxCooldownMs?: number
  /** The gate's clock. @default systemClock */
  clock?: Clock
  /**
   * Whether a probe may go out now, e.g. `() => redis.status === 'ready'`. While it says
   * no the gate stays open without spending its probe: a probe sent to a client that is
   * still reconnecting would wait in ioredis' offline queue, time out, and double the
   * cooldown although the server may already be back. @default always
   */
  canProbe?: () => boolean
  /** Called on every state change (log it, count it). */
  onStateChange?: (state: FailureGateState, previous: FailureGateState) => void
}

/**
 * A tiny breaker in front of a store (Redis): after `failureThreshold` consecutive
 * failures it refuses calls so a dead server is not hammered (each refused call
 * costs nothing and falls back at once), then lets one probe through after a
 * cooldown that grows while the store stays down.
 */
export interface FailureGate {
  /** True when a call may go to the store now (false while open, or while a probe is out). */
  allow(): boolean
  success(): void
  failure(): void
  readonly state: FailureGateState
}

const isFunction = (value: unknown) => typeof value === 'function'
const schema = z.object({
  failureThreshold: z.number().int().positive().default(3),
  cooldownMs: z.number().min(0).default(500),
  maxCooldownMs: z.number().min(0).default(10_000),
  clock: z
    .custom<Clock>((value) => typeof (value as Clock | undefined)?.now === 'function', 'Expected a Clock')
    .default(systemClock),
  canProbe: z.custom<() => boolean>(isFunction, 'Expected a function').optional(),
  onStateChange: z
    .custom<NonNullable<FailureGateOptions['onStateChange']>>(isFunction, 'Expected a function')
    .optional(),
})
true satisfies OptionsSchemaMatch<typeof schema, FailureGateOptions>

/**
 * @example
 * const gate = createFailureGate()
 * if (gate.allow()) {
 *   try { value = await timeout.run(redis.get(key)); gate.success() }
 *   catch { gate.failure(); value = fallback() }
 * }
 */
export function createFailureGate(options: FailureGateOptions = {}): FailureGate {
  const o = parseOptions('createFailureGate', schema, options)
  const threshold = o.failureThreshold
  const baseCooldown = o.cooldownMs
  const maxCooldown = o.maxCooldownMs
  const clock = o.clock
  let state: FailureGateState = 'closed'
  let failures = 0
  let cooldown = baseCooldown
  let openUntil = 0

  const moveTo = (next: FailureGateState) => {
    if (next === state) return
    const previous = state
    state = next
    o.onStateChange?.(next, previous)
  }

  return {
    get state() {
      return state
    },
    allow() {
      if (state === 'closed') return true
      if (state === 'probing') return false
      if (clock.now() < openUntil) return false
      if (o.canProbe && !o.canProbe()) return false
      moveTo('probing')
      return true
    },
    success() {
      failures = 0
      cooldown = baseCooldown
      moveTo('closed')
    },
    failure() {
      if (state === 'probing') {
        cooldown = Math.min(maxCooldown, cooldown * 2)
        openUntil = clock.now() + cooldown
        moveTo('open')
        return
      }
      if (state === 'open') return
      if (++failures >= threshold) {
        openUntil = clock.now() + cooldown
        moveTo('open')
      }
    },
  }
}
