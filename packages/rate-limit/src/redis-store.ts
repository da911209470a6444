import {
  type Clock,
  createCommandTimeout,
  createFailureGate,
  type FailureGate,
  type FailureGateOptions,
  hashTaggedKey,
  isCluster,
  keySlot,
  type RedisClient,
  type RedisScript,
  runScript,
  StoreUnavailableError,
  systemClock,
} from '@headroom/core'
import { ALGORITHM_CODES, batchScript, consumeScript, OP_CODES } from './redis-script.js'
import type { RateLimitStore, ResolvedPolicy, StoreOp, StoreResult } from './types.js'

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** An ioredis client or Cluster (see `requestPathRedisOptions` in `@headroom/core`). */
  redis: RedisClient
  /** Key prefix: a key's state lives in `{prefix:key}:<policy>` strings (and `{prefix:key}:b` for a block). */
  prefix: string
  /** Deadline of each script call, independent of ioredis' offline queue. @default 50 */
  timeoutMs?: number
  /**
   * `server`: decide on Redis' clock (TIME), the same for every process; `client`: on `clock`
   * (tests, or fleets with tightly synchronised clocks; keys then live 60 s longer than needed). @default 'server'
   */
  time?: 'server' | 'client'
  /** Most operations decided by one script call. @default 128 */
  maxBatch?: number
  /** The gate that stops calling a Redis that keeps failing, and probes it back. */
  failureGate?: FailureGateOptions
  /** @default systemClock */
  clock?: Clock
  /** Tests only: always use the general batch script, never the single-policy consume script. @default false */
  generalScriptOnly?: boolean
}

/** Counters of the Redis store, merged into the limiter's `stats()`. */
export interface RedisStoreStats {
  batches: number
  batchedOperations: number
  failures: number
  gate: FailureGate['state']
}

/** The Redis store: a {@link RateLimitStore} with batch counters and latency observation. */
export interface RedisStore extends RateLimitStore {
  stats(): RedisStoreStats
  /** Called with each script call's round-trip time in milliseconds. */
  onRoundTrip: ((ms: number) => void) | undefined
}

interface Waiting {
  op: StoreOp
  key: string
  resolve: (result: StoreResult) => void
  reject: (error: unknown) => void
}

/** With `time: 'client'` keys live this much longer: Redis expires them on its own clock, which may run apart. */
const CLIENT_TIME_PAD_MS = 60_000

/** The interval as the state stores it: `String()` round-trips exactly, like the batch script's `%.17g`. */
function formatInterval(interval: number): string {
  return String(interval)
}

/** Same limits under another array (per-request limits resolve to cached arrays, so this is rare). */
function samePolicy(policies: readonly ResolvedPolicy[], p: ResolvedPolicy): boolean {
  const q = policies.length === 1 ? policies[0]! : undefined
  return (
    q !== undefined &&
    q.name === p.name &&
    q.algorithm === p.algorithm &&
    q.limit === p.limit &&
    q.windowMs === p.windowMs &&
    q.burst === p.burst
  )
}

/** Clients in these states cannot answer within a request's deadline: fail now instead of queueing offline. */
const DOWN = new Set(['reconnecting', 'close', 'end', 'disconnecting'])

/**
 * Creates the Redis store. Operations issued in the same tick are coalesced: one
 * EVALSHA per hash slot decides all of them (on a standalone server, all of them),
 * each with its own result, so throughput is bounded by Redis' script execution
 * rather than by round trips. Every key written carries an expiry.
 *
 * @example
 * const store = createRedisStore({ redis, prefix: 'rl' })
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const { redis, prefix } = options
  const clock = options.clock ?? systemClock
  const timeout = createCommandTimeout(options.timeoutMs ?? 50, clock)
  const gate = createFailureGate({ clock, ...options.failureGate })
  const clientTime = options.time === 'client'
  const maxBatch = options.maxBatch ?? 128
  const forceGeneral = options.generalScriptOnly === true
  const cluster = isCluster(redis)
  let pending: Waiting[] = []
  let scheduled = false
  let inFlight = 0
  let closed = false
  const counters = { batches: 0, batchedOperations: 0, failures: 0 }

  const store: RedisStore = {
    kind: 'redis',
    onRoundTrip: undefined,
    run(op) {
      if (closed) return Promise.reject(new StoreUnavailableError('The rate limiter store is closed'))
      return new Promise<StoreResult>((resolve, reject) => {
        const waiting = { op, key: hashTaggedKey(prefix, op.key), resolve, reject }
        // Nothing in flight and nothing queued: a lone call (sequential traffic) goes now,
        // without waiting a tick; under load, calls queue behind in-flight batches and coalesce.
        if (inFlight === 0 && !scheduled) return send([waiting])
        pending.push(waiting)
        if (!scheduled) {
          scheduled = true
          // After the current microtasks drain: every decision requested in this tick joins the batch.
          process.nextTick(flush)
        }
      })
    },
    stats: () => ({ ...counters, gate: gate.state }),
    close() {
      closed = true
      timeout.close()
      const left = pending
      pending = []
      for (const waiting of left)
        waiting.reject(new StoreUnavailableError('The rate limiter store is closed'))
    },
  }

  const flush = () => {
    scheduled = false
    const batch = pending
    pending = []
    if (batch.length === 0) return
    if (!cluster) {
      for (let i = 0; i < batch.length; i += maxBatch)
        send(i === 0 && batch.length <= maxBatch ? batch : batch.slice(i, i + maxBatch))
      return
    }
    const bySlot = new Map<number, Waiting[]>()
    for (const waiting of batch) {
      const slot = keySlot(waiting.key)
      const group = bySlot.get(slot)
      if (group === undefined) bySlot.set(slot, [waiting])
      else group.push(waiting)
    }
    for (const group of bySlot.values()) {
      for (let i = 0; i < group.length; i += maxBatch) send(group.slice(i, i + maxBatch))
    }
  }

  const fail = (group: Waiting[], error: unknown) => {
    counters.failures++
    const wrapped =
      error instanceof StoreUnavailableError
        ? error
        : new StoreUnavailableError(`Redis did not decide: ${(error as Error)?.message ?? String(error)}`, {
            cause: error,
          })
    for (const waiting of group) waiting.reject(wrapped)
  }

  const send = (group: Waiting[]) => {
    if (!gate.allow()) return fail(group, new StoreUnavailableError('Redis is failing; calls are paused'))
    if (DOWN.has(redis.status)) {
      gate.failure()
      return fail(group, new StoreUnavailableError(`Redis connection is ${redis.status}`))
    }
    const first = group[0]!.op.policies
    const policy = first.length === 1 ? first[0]! : undefined
    let fast =
      policy !== undefined &&
      (policy.algorithm === 'gcra' || policy.algorithm === 'fixed-window') &&
      !forceGeneral
    for (let i = 0; fast && i < group.length; i++) {
      const { op } = group[i]!
      if (op.kind !== 'consume' || (op.policies !== first && !samePolicy(op.policies, policy!))) fast = false
    }
    if (fast) {
      const p = policy!
      const keys: string[] = []
      const args: (string | number)[] = [
        clientTime ? Math.floor(clock.now()) : '',
        clientTime ? CLIENT_TIME_PAD_MS : 0,
        ALGORITHM_CODES[p.algorithm],
        p.limit,
        p.windowMs,
        p.burst,
        `:${p.name}`,
        formatInterval(p.windowMs / p.limit),
      ]
      for (const { op, key } of group) {
        keys.push(key)
        args.push(op.cost)
      }
      return call(group, consumeScript, keys, args)
    }
    const keys: string[] = []
    const sets: (string | number)[] = []
    const ops: (string | number)[] = []
    const setIndex = new Map<readonly ResolvedPolicy[], number>()
    for (const { op, key } of group) {
      keys.push(key)
      let index = setIndex.get(op.policies)
      if (index === undefined) {
        index = setIndex.size + 1
        setIndex.set(op.policies, index)
        sets.push(op.policies.length)
        for (const p of op.policies)
          sets.push(ALGORITHM_CODES[p.algorithm], p.name, p.limit, p.windowMs, p.burst)
      }
      ops.push(OP_CODES[op.kind], op.kind === 'block' ? op.blockMs : op.cost, index)
    }
    const args: (string | number)[] = [
      clientTime ? Math.floor(clock.now()) : '',
      clientTime ? CLIENT_TIME_PAD_MS : 0,
      setIndex.size,
    ]
    for (const value of sets) args.push(value)
    for (const value of ops) args.push(value)
    call(group, batchScript, keys, args)
  }

  const call = (group: Waiting[], script: RedisScript, keys: string[], args: (string | number)[]) => {
    counters.batches++
    counters.batchedOperations += group.length
    const started = performance.now()
    inFlight++
    timeout.run(runScript<(string | number)[]>(redis, script, keys, args)).then(
      (reply) => {
        inFlight--
        gate.success()
        store.onRoundTrip?.(performance.now() - started)
        for (let i = 0; i < group.length; i++) {
          const at = i * 5
          group[i]!.resolve({
            allowed: reply[at] === 1,
            policyIndex: Number(reply[at + 1]),
            remaining: Number(reply[at + 2]),
            resetMs: Number(reply[at + 3]),
            retryAfterMs: Number(reply[at + 4]),
          })
        }
      },
      (error: unknown) => {
        inFlight--
        gate.failure()
        fail(group, error)
      },
    )
  }

  return store
}
