import {
  childLogger,
  createEmitter,
  createLatencyHistogram,
  parseOptions,
  StoreUnavailableError,
  systemClock,
} from '@headroom/core'
import type { ResolvedPolicy } from '../algorithms/policy.js'
import type { MemoryStore } from '../stores/memory/memory-store.js'
import type { RedisStore } from '../stores/redis/redis-store-types.js'
import type { StoreOp, StoreResult } from '../stores/store.js'
import { type BlockedCache, createBlockedCache } from './blocked-cache.js'
import { validateCall } from './call-options.js'
import type { Decision, DecisionSource } from './decision.js'
import { channels, decisionChannel, type RateLimiterEvents } from './events.js'
import { createLimiterStore } from './limiter-store.js'
import { optionsSchema, type RateLimiterOptions, resolvePolicies } from './options.js'
import type { ConsumeOptions, RateLimiter } from './rate-limiter-types.js'
import { newCounters, snapshotStats } from './stats.js'
import { createStoreFallback, type ToDecision } from './store-fallback.js'
import { consumeTrace } from './trace.js'

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

  const store = createLimiterStore(options, clock, memoryOptions)
  const memory = 'runSync' in store ? (store as MemoryStore) : undefined
  const redisStore = options.store === undefined && options.redis ? (store as RedisStore) : undefined
  if (redisStore) redisStore.onRoundTrip = (ms) => latency.record(ms)
  const source: DecisionSource = store.kind
  const blocked: BlockedCache | undefined =
    options.blockedCache === false ? undefined : createBlockedCache(options.blockedCache.max ?? 10_000)

  const counters = newCounters()

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

  const toDecision: ToDecision = (key, cost, result, set, from, kind) => {
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

  const { decide: fallback, localStore } = createStoreFallback({
    mode: options.onStoreError,
    instances: options.instances,
    closedRetryMs: options.closedRetryMs,
    memoryOptions,
    counters,
    logger,
    events,
    toDecision,
  })

  const memoryOp: StoreOp = { kind: 'consume', key: '', cost: 1, policies, blockMs: 0 }
  const memoryResult: StoreResult = {
    allowed: false,
    policyIndex: 0,
    remaining: 0,
    resetMs: 0,
    retryAfterMs: 0,
  }
  const run = (kind: 'consume' | 'peek' | 'refund', key: string, opts: ConsumeOptions | undefined) => {
    const invalid = validateCall(kind, key, opts)
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

  const consume = (key: string, opts: ConsumeOptions | undefined) =>
    opts === undefined && memoryOne !== undefined ? consumeMemory(key) : run('consume', key, opts)

  const admin = async (kind: 'block' | 'reset', key: string, ms: number) => {
    const invalid = validateCall(kind, key, undefined)
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
    const local = localStore()
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
      consumeTrace.hasSubscribers
        ? consumeTrace.tracePromise(() => consume(key, opts), { limiter: options.prefix, store: source, key })
        : opts === undefined && memoryOne !== undefined
          ? consumeMemory(key)
          : run('consume', key, opts),
    peek: (key, opts) => run('peek', key, opts),
    refund: (key, opts) => run('refund', key, opts),
    block: (key, ms) => admin('block', key, ms),
    reset: (key) => admin('reset', key, 0),
    stats: () => snapshotStats(counters, blocked?.size ?? 0, redisStore?.stats(), latency.summary()),
    async close() {
      store.close()
      localStore()?.close()
      blocked?.clear()
      events.clear()
    },
  }
}
