import { type Clock, systemClock, type TimerHandle } from '@headroom/core'
import { evaluate, newVerdict, type PolicyState } from './algorithms.js'
import { decide } from './decide.js'
import type { RateLimitStore, StoreOp, StoreResult } from './types.js'

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Most keys held; past it the oldest-written key is dropped (it then starts fresh). @default 100000 */
  maxKeys?: number
  /** How often one sweep drops expired keys (one timer for the whole store, unref'd). @default 60000 */
  sweepIntervalMs?: number
  /** @default systemClock */
  clock?: Clock
}

interface Entry {
  states: Map<string, PolicyState>
  blockedUntil: number
  expiresAt: number
}

/** The in-process store, with the Redis store's exact semantics. Exposed for tests and custom wiring. */
export interface MemoryStore extends RateLimitStore {
  readonly size: number
  /** The same as `run`, synchronously (the limiter's memory path skips a promise hop). */
  runSync(op: StoreOp): StoreResult
}

/**
 * Creates a memory store: expiry is a timestamp per key, checked on access and by one
 * periodic sweep (no timer per key, so no 24-day `setTimeout` ceiling and no timer
 * churn); the number of keys is bounded.
 *
 * @example
 * const limiter = createRateLimiter({ store: createMemoryStore({ maxKeys: 10_000 }), limit: 10, window: '1s' })
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxKeys = options.maxKeys ?? 100_000
  const sweepEvery = options.sweepIntervalMs ?? 60_000
  const clock = options.clock ?? systemClock
  const entries = new Map<string, Entry>()
  let sweepTimer: TimerHandle | undefined
  let closed = false

  const sweep = () => {
    sweepTimer = undefined
    const now = clock.now()
    for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key)
    schedule()
  }
  const schedule = () => {
    if (!closed && sweepTimer === undefined && entries.size > 0)
      sweepTimer = clock.setTimeout(sweep, sweepEvery)
  }

  const live = (key: string, now: number): Entry | undefined => {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt > now) return entry
    entries.delete(key)
    return undefined
  }

  const run = (op: StoreOp): StoreResult => {
    const now = Math.floor(clock.now())
    if (op.kind === 'reset') {
      entries.delete(op.key)
      return { allowed: true, policyIndex: 0, remaining: 0, resetMs: 0, retryAfterMs: 0 }
    }
    // The hot path keeps an expired entry to recycle it: short-lived state (a GCRA key
    // with a large limit expires within milliseconds) then costs no delete and re-insert.
    if (op.kind === 'consume' && op.policies.length === 1) return consumeOne(op, entries.get(op.key), now)
    let entry = live(op.key, now)
    if (op.kind === 'block') {
      const until = now + Math.ceil(op.blockMs)
      if (entry === undefined)
        entry = insert(op.key, { states: new Map(), blockedUntil: until, expiresAt: until })
      else {
        entry.blockedUntil = until
        if (until > entry.expiresAt) entry.expiresAt = until
      }
      return { allowed: false, policyIndex: -1, remaining: 0, resetMs: op.blockMs, retryAfterMs: op.blockMs }
    }
    const policies = op.policies
    const states: (PolicyState | undefined)[] = []
    for (let i = 0; i < policies.length; i++) states.push(entry?.states.get(policies[i]!.name))
    const outcome = decide(op.kind, policies, states, entry?.blockedUntil ?? 0, now, op.cost)
    const writes = outcome.writes
    if (writes !== undefined) {
      if (entry === undefined) entry = insert(op.key, { states: new Map(), blockedUntil: 0, expiresAt: 0 })
      for (let i = 0; i < policies.length; i++) {
        const state = writes[i]
        if (state !== undefined) entry.states.set(policies[i]!.name, state)
      }
      // The entry lives as long as its longest-lived state (Redis expires each policy's key on its own).
      entry.expiresAt = now + outcome.ttlMs
    }
    return outcome.result
  }

  // The hot path (one policy, consume) without per-call arrays: same arithmetic as decide().
  const scratch = newVerdict()
  const consumeOne = (op: StoreOp, found: Entry | undefined, now: number): StoreResult => {
    let entry = found
    const expired = entry !== undefined && entry.expiresAt <= now
    if (entry !== undefined && !expired && entry.blockedUntil > now) {
      const left = entry.blockedUntil - now
      return { allowed: false, policyIndex: -1, remaining: 0, resetMs: left, retryAfterMs: left }
    }
    const policy = op.policies[0]!
    // An expired entry reads as empty (for every algorithm, expired state equals no state).
    const slot = entry?.states.get(policy.name)
    const v = evaluate(policy, expired ? undefined : slot, now, op.cost, scratch)
    if (v.allowed && op.cost > 0) {
      if (entry === undefined) entry = insert(op.key, { states: new Map(), blockedUntil: 0, expiresAt: 0 })
      else if (expired) {
        entry.blockedUntil = 0
        if (entry.states.size > 1) entry.states.clear()
      }
      const state = expired ? entry.states.get(policy.name) : slot
      if (state === undefined) entry.states.set(policy.name, [v.next[0], v.next[1], v.next[2]])
      else {
        state[0] = v.next[0]
        state[1] = v.next[1]
        state[2] = v.next[2]
      }
      entry.expiresAt = now + v.ttlMs
    }
    return {
      allowed: v.allowed,
      policyIndex: 0,
      remaining: v.remaining,
      resetMs: v.resetMs,
      retryAfterMs: v.allowed ? 0 : v.retryAfterMs,
    }
  }

  const insert = (key: string, entry: Entry): Entry => {
    if (entries.size >= maxKeys) {
      const oldest = entries.keys().next().value
      if (oldest !== undefined) entries.delete(oldest)
    }
    entries.set(key, entry)
    schedule()
    return entry
  }

  return {
    kind: 'memory',
    get size() {
      return entries.size
    },
    runSync: run,
    run(op) {
      try {
        return Promise.resolve(run(op))
      } catch (error) {
        return Promise.reject(error)
      }
    },
    close() {
      closed = true
      if (sweepTimer !== undefined) clock.clearTimeout(sweepTimer)
      sweepTimer = undefined
      entries.clear()
    },
  }
}
