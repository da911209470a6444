import {
  childLogger,
  createEmitter,
  createLatencyHistogram,
  parseOptions,
  StoreUnavailableError,
} from '@headroom/core'
import type { ResolvedPolicy } from '../algorithms/policy.js'
import {
  createMemoryStore,
  type MemoryStore,
  type MemoryStoreOptions,
} from '../stores/memory/memory-store.js'
import { createRedisStore } from '../stores/redis/redis-store.js'
import type { RedisStore } from '../stores/redis/redis-store-types.js'
import type { RateLimitStore, StoreOp, StoreResult } from '../stores/store.js'
import { BlockedCache } from './blocked-cache.js'
import { checkCall } from './call-options.js'
import type { Decision, DecisionSource } from './decision.js'
import { channels, decisionChannel, type RateLimiterEvents } from './events.js'
import { optionsSchema, type RateLimiterOptions, resolvePolicies } from './options.js'
import type { ConsumeOptions, RateLimiter } from './rate-limiter-types.js'
import { DecisionCounters } from './stats.js'
import { StoreFallback } from './store-fallback.js'
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
  const { clock } = options
  const logger = childLogger(options.logger, { component: 'rate-limit', prefix: options.prefix })
  const events = createEmitter<RateLimiterEvents>((error, event) =>
    logger.error({ err: error, event }, 'rate-limit listener threw'),
  )
  const latency = createLatencyHistogram()
  const memoryOptions: MemoryStoreOptions = { ...options.memory, clock }

  // The store: the one given, else Redis when a client is given, else memory. A memory
  // store (made here or given) is called synchronously.
  let memory: MemoryStore | undefined
  let redisStore: RedisStore | undefined
  let store: RateLimitStore
  if (options.store !== undefined) {
    store = options.store
    if ('runInto' in store) memory = store as MemoryStore
  } else if (options.redis !== undefined) {
    store = redisStore = createRedisStore({
      redis: options.redis,
      prefix: options.prefix,
      timeoutMs: options.timeout,
      time: options.time,
      maxBatch: options.maxBatch,
      failureGate: options.failureGate,
      clock,
    })
    redisStore.onRoundTrip = (ms) => latency.record(ms)
  } else store = memory = createMemoryStore(memoryOptions)
  const source: DecisionSource = store.kind
  const blocked = options.blockedCache === false ? undefined : new BlockedCache(options.blockedCache.max)
  const counters = new DecisionCounters()
  const fallback = new StoreFallback({
    mode: options.onStoreError,
    instances: options.instances,
    closedRetryMs: options.closedRetryMs,
    memoryOptions,
  })

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

  const refused = (key: string, decision: Decision) => {
    if (events.has('limited')) events.emit('limited', { key, decision })
    channels.limited.publish({ key, decision })
  }

  /** A store's result as a decision, counted, published, and a refusal remembered by the blocked cache. */
  const toDecision = (op: StoreOp, result: StoreResult, from: DecisionSource): Decision => {
    const set = op.policies
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
    if (op.kind === 'refund') return decision
    counters.decided(decision.allowed)
    if (!decision.allowed) {
      if (
        blocked !== undefined &&
        op.kind === 'consume' &&
        decision.retryAfterMs !== Number.POSITIVE_INFINITY &&
        decision.retryAfterMs > 0
      )
        blocked.set(op.key, {
          until: clock.now() + decision.retryAfterMs,
          cost: op.cost,
          policies: set,
          decision,
        })
      refused(op.key, decision)
    }
    if (decisionChannel.hasSubscribers) decisionChannel.publish({ key: op.key, decision })
    return decision
  }

  /** Decides `op` as `onStoreError` says, the store having failed with `error`. */
  const decideWithoutStore = (op: StoreOp, error: unknown): Decision | Promise<Decision> => {
    counters.fellBack()
    const mode = fallback.mode
    logger.warn({ err: error, fallback: mode }, 'rate-limit store failed; deciding with the fallback')
    if (events.has('storeError')) events.emit('storeError', { error, fallback: mode })
    channels['store-error'].publish({ error, fallback: mode })
    if (mode === 'local')
      return fallback
        .local(op)
        .then(({ result, policies }) => toDecision({ ...op, policies }, result, 'local'))
    const decision = fallback.fixed(op)
    if (op.kind !== 'refund') counters.decided(decision.allowed)
    return decision
  }

  // The memory path is synchronous: one operation and one result object serve every call
  // (toDecision copies the result out).
  const memoryOp: StoreOp = { kind: 'consume', key: '', cost: 1, policies, blockMs: 0 }
  const memoryResult: StoreResult = {
    allowed: false,
    policyIndex: 0,
    remaining: 0,
    resetMs: 0,
    retryAfterMs: 0,
  }
  const run = (kind: 'consume' | 'peek' | 'refund', key: string, opts: ConsumeOptions | undefined) => {
    const invalid = checkCall(kind, key, opts)
    if (invalid !== undefined) return Promise.reject(new TypeError(`rate limiter ${kind}(): ${invalid}`))
    const cost = opts?.cost ?? 1
    const set = opts?.limit === undefined ? policies : policiesFor(opts.limit)
    if (blocked !== undefined && !blocked.isEmpty()) {
      if (kind === 'refund') blocked.delete(key)
      else {
        const hit = blocked.get(key, cost, set, clock.now())
        if (hit !== undefined) {
          counters.refusedLocally()
          refused(key, hit)
          return Promise.resolve(hit)
        }
      }
    }
    if (memory !== undefined) {
      memoryOp.kind = kind
      memoryOp.key = key
      memoryOp.cost = cost
      memoryOp.policies = set
      return Promise.resolve(toDecision(memoryOp, memory.runInto(memoryOp, memoryResult), source))
    }
    const op: StoreOp = { kind, key, cost, policies: set, blockMs: 0 }
    return store.run(op).then(
      (result) => toDecision(op, result, source),
      (error: unknown) => decideWithoutStore(op, error),
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
    if (!result.allowed) {
      memoryOp.kind = 'consume'
      memoryOp.key = key
      memoryOp.cost = 1
      memoryOp.policies = policies
      return Promise.resolve(toDecision(memoryOp, result, source))
    }
    // toDecision's allowed branch, inlined.
    counters.decided(true)
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
    const invalid = checkCall(kind, key, undefined)
    if (invalid !== undefined) throw new TypeError(`rate limiter ${kind}(): ${invalid}`)
    if (kind === 'block' && !(typeof ms === 'number' && ms > 0 && Number.isFinite(ms)))
      throw new TypeError(
        `rate limiter block(): expected "ms" to be a finite number > 0 (received ${String(ms)})`,
      )
    const op: StoreOp = { kind, key, cost: 0, policies, blockMs: Math.ceil(ms) }
    if (kind === 'block') {
      blocked?.set(key, {
        until: clock.now() + op.blockMs,
        cost: 0,
        policies: undefined,
        decision: {
          allowed: false,
          limit: policies[0]!.limit,
          remaining: 0,
          resetMs: op.blockMs,
          retryAfterMs: op.blockMs,
          policy: 'block',
          source: 'blocked',
        },
      })
      if (events.has('blocked')) events.emit('blocked', { key, ms: op.blockMs })
    } else blocked?.delete(key)
    await fallback.mirror(op)
    try {
      await store.run(op)
    } catch (error) {
      counters.storeFailed()
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
    stats: () =>
      counters.snapshot({
        blockedKeys: blocked?.size ?? 0,
        redis: redisStore?.stats(),
        latency: latency.summary(),
      }),
    async close() {
      store.close()
      fallback.close()
      blocked?.clear()
      events.clear()
    },
  }
}
