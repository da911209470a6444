import {
  childLogger,
  createEmitter,
  createLatencyHistogram,
  type LatencySummary,
  parseOptions,
  StoreUnavailableError,
  type Subscribable,
  systemClock,
} from '@headroom/core'
import { type BlockedCache, createBlockedCache } from './blocked-cache.js'
import { channels, decisionChannel, type RateLimiterEvents } from './events.js'
import { createMemoryStore, type MemoryStore } from './memory-store.js'
import { optionsSchema, type RateLimiterOptions, resolvePolicies, type StoreErrorMode } from './options.js'
import { createRedisStore, type RedisStore } from './redis-store.js'
import type {
  Decision,
  DecisionSource,
  RateLimitStore,
  ResolvedPolicy,
  StoreOp,
  StoreOpKind,
  StoreResult,
} from './types.js'

/** Per-call options of `consume`, `peek` and `refund`. */
export interface ConsumeOptions {
  /** Units this call costs (fractional allowed). @default 1 */
  cost?: number
  /**
   * This request's limit for the first policy (per-tier limits: `req => user.tier === 'premium' ? 1000 : 100`).
   * Its burst scales with it. @default the configured limit
   */
  limit?: number
}

/** A snapshot of a limiter's counters. */
export interface RateLimiterStats {
  decisions: number
  allowed: number
  limited: number
  /** Refusals answered by the local blocked-key fast path, without the store. */
  fastPathRefusals: number
  storeErrors: number
  /** Decisions made by `onStoreError` instead of the store. */
  fallbackDecisions: number
  blockedKeys: number
  /** Script calls and the decisions they carried (Redis store). */
  batches: number
  batchedOperations: number
  /** State of the gate in front of Redis (`closed` is healthy). */
  gate: 'closed' | 'open' | 'probing' | 'none'
  /** Round-trip time of script calls, in milliseconds. */
  latency: LatencySummary
}

/** A distributed rate limiter. Decisions are values: a refused call resolves with `allowed: false`. */
export interface RateLimiter extends Subscribable<RateLimiterEvents> {
  /** Takes `cost` units from every policy, all or nothing. */
  consume(key: string, options?: ConsumeOptions): Promise<Decision>
  /** Says whether `cost` would be allowed now, writing nothing; `remaining` is what is left now. */
  peek(key: string, options?: ConsumeOptions): Promise<Decision>
  /** Gives `cost` units back (a request that should not count); resolves to the state after it. */
  refund(key: string, options?: ConsumeOptions): Promise<Decision>
  /** Refuses the key for `ms`, whatever its policies say. Rejects with `E_STORE_UNAVAILABLE` when the store failed (the block then holds in this process only). */
  block(key: string, ms: number): Promise<void>
  /** Forgets everything about the key. Rejects with `E_STORE_UNAVAILABLE` when the store failed. */
  reset(key: string): Promise<void>
  stats(): RateLimiterStats
  /** Stops timers and rejects nothing already decided; the Redis client stays open (it is the caller's). */
  close(): Promise<void>
  readonly policies: readonly ResolvedPolicy[]
}

/**
 * Creates a rate limiter: GCRA by default, or token bucket, sliding or fixed window;
 * one or several policies checked atomically; state in memory or in Redis (one
 * script call per batch of decisions, on Redis' clock).
 *
 * @example
 * import { Redis } from 'ioredis'
 * import { requestPathRedisOptions } from '@headroom/core'
 * import { createRateLimiter } from '@headroom/rate-limit'
 *
 * const limiter = createRateLimiter({
 *   redis: new Redis(process.env.REDIS_URL!, requestPathRedisOptions),
 *   prefix: 'api',
 *   policies: [{ limit: 10, window: '1s' }, { limit: 1000, window: '1d' }],
 *   onStoreError: 'local',
 *   instances: 4,
 * })
 * const decision = await limiter.consume(`user:${userId}`)
 * if (!decision.allowed) reply429(decision.retryAfterMs)
 */
export function createRateLimiter(input: RateLimiterOptions): RateLimiter {
  const options = parseOptions('createRateLimiter', optionsSchema, input)
  const policies = resolvePolicies(options)
  const clock = options.clock ?? systemClock
  const logger = childLogger(options.logger, { component: 'rate-limit', prefix: options.prefix })
  const events = createEmitter<RateLimiterEvents>((error, event) =>
    logger.error({ err: error, event }, 'rate-limit listener threw'),
  )
  const latency = createLatencyHistogram()
  const memoryOptions = { ...options.memory, clock }

  let store: RateLimitStore
  if (options.store) store = options.store
  else if (options.redis)
    store = createRedisStore({
      redis: options.redis,
      prefix: options.prefix,
      timeoutMs: options.timeout,
      time: options.time,
      maxBatch: options.maxBatch,
      failureGate: options.failureGate,
      clock,
    })
  else store = createMemoryStore(memoryOptions)
  const memory = 'runSync' in store ? (store as MemoryStore) : undefined
  const redisStore = options.store === undefined && options.redis ? (store as RedisStore) : undefined
  if (redisStore) redisStore.onRoundTrip = (ms) => latency.record(ms)
  const source: DecisionSource = store.kind
  const fallbackMode: StoreErrorMode = options.onStoreError
  let local: MemoryStore | undefined
  const blocked: BlockedCache | undefined =
    options.blockedCache === false ? undefined : createBlockedCache(options.blockedCache.max ?? 10_000)

  const counters = {
    decisions: 0,
    allowed: 0,
    limited: 0,
    fastPathRefusals: 0,
    storeErrors: 0,
    fallbackDecisions: 0,
  }

  // Per-request limits (tiers) reuse one policy array per distinct value, so a
  // batch sends each distinct set once and the fast path can compare by reference.
  const byLimit = new Map<number, readonly ResolvedPolicy[]>()
  const policiesFor = (limit: number | undefined): readonly ResolvedPolicy[] => {
    if (limit === undefined || limit === policies[0]!.limit) return policies
    let set = byLimit.get(limit)
    if (set === undefined) {
      const first = policies[0]!
      const scaled = { ...first, limit, burst: (first.burst / first.limit) * limit }
      set = [scaled, ...policies.slice(1)]
      if (byLimit.size >= 256) byLimit.delete(byLimit.keys().next().value!)
      byLimit.set(limit, set)
    }
    return set
  }

  const scaledForLocal = new WeakMap<readonly ResolvedPolicy[], readonly ResolvedPolicy[]>()
  const localPolicies = (set: readonly ResolvedPolicy[]) => {
    let scaled = scaledForLocal.get(set)
    if (scaled === undefined) {
      const n = options.instances
      scaled = set.map((p) => ({ ...p, limit: p.limit / n, burst: p.burst / n }))
      scaledForLocal.set(set, scaled)
    }
    return scaled
  }

  const toDecision = (
    key: string,
    cost: number,
    result: StoreResult,
    set: readonly ResolvedPolicy[],
    from: DecisionSource,
    kind: StoreOpKind,
  ): Decision => {
    const policy = result.policyIndex >= 0 ? set[result.policyIndex] : undefined
    const decision: Decision = {
      allowed: result.allowed,
      limit: (policy ?? set[0]!).limit,
      remaining: result.remaining,
      resetMs: result.resetMs,
      retryAfterMs: result.retryAfterMs === -1 ? Number.POSITIVE_INFINITY : result.retryAfterMs,
      policy: policy === undefined ? 'block' : policy.name,
      source: from,
    }
    if (kind === 'refund') return decision
    counters.decisions++
    if (decision.allowed) counters.allowed++
    else {
      counters.limited++
      if (
        blocked !== undefined &&
        kind === 'consume' &&
        decision.retryAfterMs !== Number.POSITIVE_INFINITY &&
        decision.retryAfterMs > 0
      )
        blocked.set(key, cost, set, clock.now() + decision.retryAfterMs, decision)
      if (events.has('limited')) events.emit('limited', { key, decision })
      channels.limited.publish({ key, decision })
    }
    if (decisionChannel.hasSubscribers) decisionChannel.publish({ key, decision })
    return decision
  }

  const fallback = (op: StoreOp, error: unknown): Decision | Promise<Decision> => {
    counters.storeErrors++
    counters.fallbackDecisions++
    logger.warn({ err: error, fallback: fallbackMode }, 'rate-limit store failed; deciding with the fallback')
    if (events.has('storeError')) events.emit('storeError', { error, fallback: fallbackMode })
    channels['store-error'].publish({ error, fallback: fallbackMode })
    const first = op.policies[0]!
    if (fallbackMode === 'local') {
      local ??= createMemoryStore(memoryOptions)
      const scaled = localPolicies(op.policies)
      return local
        .run({ ...op, policies: scaled })
        .then((result) => toDecision(op.key, op.cost, result, scaled, 'local', op.kind))
    }
    const open = fallbackMode === 'open'
    const decision: Decision = {
      allowed: open,
      limit: first.limit,
      remaining: open ? first.limit : 0,
      resetMs: open ? 0 : options.closedRetryMs,
      retryAfterMs: open ? 0 : options.closedRetryMs,
      policy: first.name,
      source: fallbackMode,
    }
    if (op.kind !== 'refund') {
      counters.decisions++
      if (open) counters.allowed++
      else counters.limited++
    }
    return decision
  }

  const validate = (key: unknown, opts: ConsumeOptions | undefined): string | undefined => {
    if (typeof key !== 'string' || key.length === 0)
      return `Expected the key to be a non-empty string (received ${JSON.stringify(key)})`
    if (opts !== undefined) {
      const { cost, limit } = opts
      if (cost !== undefined && !(typeof cost === 'number' && cost >= 0 && Number.isFinite(cost)))
        return `Expected "cost" to be a finite number >= 0 (received ${String(cost)})`
      if (limit !== undefined && !(typeof limit === 'number' && limit > 0 && Number.isFinite(limit)))
        return `Expected "limit" to be a finite number > 0 (received ${String(limit)})`
    }
    return undefined
  }

  const memoryOp: StoreOp = { kind: 'consume', key: '', cost: 1, policies, blockMs: 0 }
  const memoryResult: StoreResult = {
    allowed: false,
    policyIndex: 0,
    remaining: 0,
    resetMs: 0,
    retryAfterMs: 0,
  }
  const run = (kind: 'consume' | 'peek' | 'refund', key: string, opts: ConsumeOptions | undefined) => {
    const invalid = validate(key, opts)
    if (invalid !== undefined) return Promise.reject(new TypeError(`rate limiter ${kind}(): ${invalid}`))
    const cost = opts?.cost ?? 1
    const set = opts?.limit === undefined ? policies : policiesFor(opts.limit)
    if (blocked !== undefined && !blocked.isEmpty()) {
      if (kind === 'refund') blocked.delete(key)
      else {
        const hit = blocked.get(key, cost, set, clock.now())
        if (hit !== undefined) {
          counters.decisions++
          counters.limited++
          counters.fastPathRefusals++
          if (events.has('limited')) events.emit('limited', { key, decision: hit })
          channels.limited.publish({ key, decision: hit })
          return Promise.resolve(hit)
        }
      }
    }
    if (memory !== undefined) {
      // Synchronous: one op and one result object serve every call (toDecision copies the result out).
      memoryOp.kind = kind
      memoryOp.key = key
      memoryOp.cost = cost
      memoryOp.policies = set
      return Promise.resolve(toDecision(key, cost, memory.runInto(memoryOp, memoryResult), set, source, kind))
    }
    const op: StoreOp = { kind, key, cost, policies: set, blockMs: 0 }
    return store.run(op).then(
      (result) => toDecision(key, cost, result, set, source, kind),
      (error: unknown) => fallback(op, error),
    )
  }

  // The commonest call, `consume(key)` on a single-policy memory limiter, goes straight to
  // the store: skipping the general path's option handling, operation object and
  // toDecision call takes about a fifth off an in-process decision.
  const memoryOne = memory !== undefined && policies.length === 1 ? memory : undefined
  const first = policies[0]!
  const consumeMemory = (key: string): Promise<Decision> => {
    if (typeof key !== 'string' || key.length === 0 || (blocked !== undefined && !blocked.isEmpty()))
      return run('consume', key, undefined)
    const result = memoryOne!.consumeInto(key, first, 1, memoryResult)
    if (!result.allowed) return Promise.resolve(toDecision(key, 1, result, policies, source, 'consume'))
    // toDecision's allowed branch, inlined.
    counters.decisions++
    counters.allowed++
    const decision: Decision = {
      allowed: true,
      limit: first.limit,
      remaining: result.remaining,
      resetMs: result.resetMs,
      retryAfterMs: 0,
      policy: first.name,
      source,
    }
    if (decisionChannel.hasSubscribers) decisionChannel.publish({ key, decision })
    return Promise.resolve(decision)
  }

  const admin = async (kind: 'block' | 'reset', key: string, ms: number) => {
    const invalid = validate(key, undefined)
    if (invalid !== undefined) throw new TypeError(`rate limiter ${kind}(): ${invalid}`)
    if (kind === 'block' && !(typeof ms === 'number' && ms > 0 && Number.isFinite(ms)))
      throw new TypeError(
        `rate limiter block(): expected "ms" to be a finite number > 0 (received ${String(ms)})`,
      )
    const op: StoreOp = { kind, key, cost: 0, policies, blockMs: Math.ceil(ms) }
    if (kind === 'block') {
      const until = clock.now() + op.blockMs
      blocked?.set(key, 0, undefined, until, {
        allowed: false,
        limit: policies[0]!.limit,
        remaining: 0,
        resetMs: op.blockMs,
        retryAfterMs: op.blockMs,
        policy: 'block',
        source: 'blocked',
      })
      if (events.has('blocked')) events.emit('blocked', { key, ms: op.blockMs })
    } else blocked?.delete(key)
    if (local !== undefined) await local.run(op)
    try {
      await store.run(op)
    } catch (error) {
      counters.storeErrors++
      throw error instanceof StoreUnavailableError
        ? error
        : new StoreUnavailableError(`rate limiter ${kind}() failed`, { cause: error })
    }
  }

  return {
    policies,
    on: events.on,
    consume: (key, opts) =>
      opts === undefined && memoryOne !== undefined ? consumeMemory(key) : run('consume', key, opts),
    peek: (key, opts) => run('peek', key, opts),
    refund: (key, opts) => run('refund', key, opts),
    block: (key, ms) => admin('block', key, ms),
    reset: (key) => admin('reset', key, 0),
    stats() {
      const redis = redisStore?.stats()
      return {
        ...counters,
        blockedKeys: blocked?.size ?? 0,
        batches: redis?.batches ?? 0,
        batchedOperations: redis?.batchedOperations ?? 0,
        gate: redis?.gate ?? 'none',
        latency: latency.summary(),
      }
    },
    async close() {
      store.close()
      local?.close()
      blocked?.clear()
      events.clear()
    },
  }
}
