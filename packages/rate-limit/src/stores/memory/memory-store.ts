import { type Clock, type OptionsSchemaMatch, parseOptions, type TimerHandle } from '@headroom/core'
import { z } from 'zod'
import { evaluate } from '../../algorithms/evaluate.js'
import type { ResolvedPolicy } from '../../algorithms/policy.js'
import { type Attempt, newVerdict, type PolicyState } from '../../algorithms/verdict.js'
import { clockSchema, positive } from '../../shared/schema.js'
import type { RateLimitStore, StoreOp, StoreResult } from '../store.js'
import { decide } from './decide.js'

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Most keys held; past it the oldest-written key is dropped (it then starts fresh). @default 100000 */
  maxKeys?: number
  /** How often one sweep drops expired keys (one timer for the whole store, unref'd). @default 60000 */
  sweepIntervalMs?: number
  /** @default systemClock */
  clock?: Clock
}

/** The memory store's bounds; the limiter's `memory` option takes the same. */
export const memoryBoundsSchema = z.object({
  maxKeys: z.number().int().positive().default(100_000),
  sweepIntervalMs: positive.default(60_000),
})

const memoryStoreSchema = memoryBoundsSchema.extend({ clock: clockSchema })
true satisfies OptionsSchemaMatch<typeof memoryStoreSchema, MemoryStoreOptions>

interface Entry {
  /**
   * The first policy's state, held inline so the single-policy hot path reads one Map
   * (the key's) instead of two; further policies' states live in `more`.
   */
  name: string | undefined
  state: PolicyState | undefined
  more: Map<string, PolicyState> | undefined
  blockedUntil: number
  expiresAt: number
}

const newEntry = (blockedUntil: number, expiresAt: number): Entry => ({
  name: undefined,
  state: undefined,
  more: undefined,
  blockedUntil,
  expiresAt,
})

const stateOf = (entry: Entry, name: string): PolicyState | undefined =>
  entry.name === name ? entry.state : entry.more?.get(name)

function setState(entry: Entry, name: string, state: PolicyState): void {
  if (entry.name === undefined || entry.name === name) {
    entry.name = name
    entry.state = state
  } else {
    entry.more ??= new Map()
    entry.more.set(name, state)
  }
}

/** The in-process store, with the Redis store's exact semantics. Exposed for tests and custom wiring. */
export interface MemoryStore extends RateLimitStore {
  readonly size: number
  /** The same as `run`, synchronously (the limiter's memory path skips a promise hop). */
  runSync(op: StoreOp): StoreResult
  /**
   * The same as `runSync`, writing the result into `out` and returning it: the limiter's
   * hot path reuses one result object instead of allocating one per call.
   */
  runInto(op: StoreOp, out: StoreResult): StoreResult
  /** `runInto` for the commonest call, a `consume` of one policy, without an operation object. */
  consumeInto(key: string, policy: ResolvedPolicy, cost: number, out: StoreResult): StoreResult
}

const newResult = (): StoreResult => ({
  allowed: false,
  policyIndex: 0,
  remaining: 0,
  resetMs: 0,
  retryAfterMs: 0,
})

/**
 * Creates a memory store: expiry is a timestamp per key, checked on access and by one
 * periodic sweep (no timer per key, so no 24-day `setTimeout` ceiling and no timer
 * churn); the number of keys is bounded.
 *
 * @example
 * const limiter = createRateLimiter({ store: createMemoryStore({ maxKeys: 10_000 }), limit: 10, window: '1s' })
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const {
    maxKeys,
    sweepIntervalMs: sweepEvery,
    clock,
  } = parseOptions('createMemoryStore', memoryStoreSchema, options)
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

  /** A refusal by a running `block()`, `left` milliseconds from its end. */
  const blockedFor = (out: StoreResult, left: number): StoreResult => {
    out.allowed = false
    out.policyIndex = -1
    out.remaining = 0
    out.resetMs = left
    out.retryAfterMs = left
    return out
  }

  const runInto = (op: StoreOp, out: StoreResult): StoreResult => {
    const now = Math.floor(clock.now())
    // The hot path keeps an expired entry to recycle it: short-lived state (a GCRA key
    // with a large limit expires within milliseconds) then costs no delete and re-insert.
    if (op.kind === 'consume' && op.policies.length === 1) {
      attempt.now = now
      attempt.cost = op.cost
      return consumeOne(op.key, op.policies[0]!, attempt, out)
    }
    if (op.kind === 'reset') {
      entries.delete(op.key)
      out.allowed = true
      out.policyIndex = 0
      out.remaining = 0
      out.resetMs = 0
      out.retryAfterMs = 0
      return out
    }
    let entry = live(op.key, now)
    if (op.kind === 'block') {
      const until = now + Math.ceil(op.blockMs)
      if (entry === undefined) entry = insert(op.key, newEntry(until, until))
      else {
        entry.blockedUntil = until
        if (until > entry.expiresAt) entry.expiresAt = until
      }
      return blockedFor(out, op.blockMs)
    }
    const policies = op.policies
    const states: (PolicyState | undefined)[] = []
    for (let i = 0; i < policies.length; i++)
      states.push(entry === undefined ? undefined : stateOf(entry, policies[i]!.name))
    const outcome = decide(
      { kind: op.kind, policies, cost: op.cost },
      { states, blockedUntil: entry?.blockedUntil ?? 0 },
      now,
    )
    const writes = outcome.writes
    if (writes !== undefined) {
      if (entry === undefined) entry = insert(op.key, newEntry(0, 0))
      for (let i = 0; i < policies.length; i++) {
        const state = writes[i]
        if (state !== undefined) setState(entry, policies[i]!.name, state)
      }
      // The entry lives as long as its longest-lived state (Redis expires each policy's key on its own).
      entry.expiresAt = now + outcome.ttlMs
    }
    const r = outcome.result
    out.allowed = r.allowed
    out.policyIndex = r.policyIndex
    out.remaining = r.remaining
    out.resetMs = r.resetMs
    out.retryAfterMs = r.retryAfterMs
    return out
  }

  // The hot path (one policy, consume) without per-call arrays or objects: same arithmetic as decide().
  const scratch = newVerdict()
  const attempt: Attempt = { now: 0, cost: 0 }
  const consumeOne = (key: string, policy: ResolvedPolicy, at: Attempt, out: StoreResult): StoreResult => {
    const { now, cost } = at
    let entry = entries.get(key)
    const expired = entry !== undefined && entry.expiresAt <= now
    if (entry !== undefined && !expired && entry.blockedUntil > now) {
      return blockedFor(out, entry.blockedUntil - now)
    }
    // An expired entry reads as empty (for every algorithm, expired state equals no state).
    const slot = entry === undefined || expired ? undefined : stateOf(entry, policy.name)
    const v = evaluate(policy, slot, at, scratch)
    if (v.allowed && cost > 0) {
      const next = v.next
      if (entry === undefined) entry = insert(key, newEntry(0, 0))
      else if (expired) {
        // Recycle: keep this policy's state array (overwritten below), drop the rest.
        entry.blockedUntil = 0
        entry.more = undefined
        if (entry.name !== policy.name) entry.name = entry.state = undefined
      }
      const state = stateOf(entry, policy.name)
      // A log's length varies, and `next` is this store's reused scratch: store a copy.
      if (policy.algorithm === 'sliding-log') setState(entry, policy.name, next.slice() as PolicyState)
      else if (state === undefined) setState(entry, policy.name, [next[0], next[1], next[2]])
      else {
        state[0] = next[0]
        state[1] = next[1]
        state[2] = next[2]
      }
      entry.expiresAt = now + v.ttlMs
    }
    out.allowed = v.allowed
    out.policyIndex = 0
    out.remaining = v.remaining
    out.resetMs = v.resetMs
    out.retryAfterMs = v.allowed ? 0 : v.retryAfterMs
    return out
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
    runInto,
    consumeInto(key, policy, cost, out) {
      attempt.now = Math.floor(clock.now())
      attempt.cost = cost
      return consumeOne(key, policy, attempt, out)
    },
    runSync: (op) => runInto(op, newResult()),
    run(op) {
      try {
        return Promise.resolve(runInto(op, newResult()))
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
