import {
  afterPendingIo,
  createFailureGate,
  hashTaggedKey,
  isCluster,
  isNoScriptError,
  isRedisDown,
  keySlot,
  parseOptions,
  type RedisScript,
  StoreUnavailableError,
  TimeoutError,
  type TimerHandle,
} from '@headroom/core'
import type { ResolvedPolicy } from '../../algorithms/policy.js'
import type { StoreResult } from '../store.js'
import { batchScript } from './batch-script.js'
import { asStoreUnavailable, type Reply, scriptSenders } from './commands.js'
import { consumeScript } from './consume-script.js'
import {
  type Flight,
  type RedisStore,
  type RedisStoreOptions,
  redisStoreSchema,
  type Waiting,
} from './redis-store-types.js'
import { batchArgv, consumeArgv, newPlan, type Plan, samePolicy } from './script-args.js'

/** With `time: 'client'` keys live this much longer: Redis expires them on its own clock, which may run apart. */
const CLIENT_TIME_PAD_MS = 60_000

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
  const { redis, prefix, clock, timeoutMs, maxBatch, failureGate, time, generalScriptOnly } = parseOptions(
    'createRedisStore',
    redisStoreSchema,
    options,
  )
  const gate = createFailureGate({ clock, ...failureGate })
  const clientTime = time === 'client'
  const forceGeneral = generalScriptOnly
  const cluster = isCluster(redis)
  let pending: Waiting[] = []
  let scheduled = false
  let inFlight = 0
  let closed = false
  const counters = { batches: 0, batchedOperations: 0, failures: 0 }

  // A lone call skips ioredis' auto-pipelining; several of one flush go through it (see scriptSenders).
  const { evalshaNow, evalNow, evalshaPiped, evalPiped } = scriptSenders(redis)

  // Policy sets are a few long-lived arrays (the limiter's, one per per-request limit): plan each once.
  const plans = new WeakMap<readonly ResolvedPolicy[], Plan>()
  const planOf = (policies: readonly ResolvedPolicy[]): Plan => {
    let plan = plans.get(policies)
    if (plan === undefined) {
      plan = newPlan(policies, forceGeneral)
      plans.set(policies, plan)
    }
    return plan
  }

  // Deadlines: every call gets the same timeout, so they expire in send order. One FIFO and
  // one timer serve them all; settled calls leave the head at once, so with sequential
  // traffic the FIFO holds one call and retains nothing.
  let flights: Flight[] = []
  let head = 0
  let timer: TimerHandle | undefined
  const prune = () => {
    while (head < flights.length && flights[head]!.done) head++
    if (head === flights.length) {
      flights = []
      head = 0
    } else if (head > 1024 && head * 2 > flights.length) {
      flights = flights.slice(head)
      head = 0
    }
  }
  const arm = () => {
    prune()
    if (head < flights.length)
      timer = clock.setTimeout(expire, Math.max(0, flights[head]!.deadline - clock.now()))
  }
  const expire = () => {
    timer = undefined
    // Replies that arrived while the loop was busy are read before deadlines are checked.
    afterPendingIo(clock, expireDue)
  }
  const expireDue = () => {
    if (timer !== undefined) return
    const now = clock.now()
    while (head < flights.length && (flights[head]!.done || flights[head]!.deadline <= now)) {
      const flight = flights[head++]!
      if (flight.done) continue
      flight.done = true
      inFlight--
      gate.failure()
      fail(flight.group, new TimeoutError(`Redis command timed out after ${timeoutMs} ms`))
    }
    arm()
  }

  const store: RedisStore = {
    kind: 'redis',
    onRoundTrip: undefined,
    run(op) {
      if (closed) return Promise.reject(new StoreUnavailableError('The rate limiter store is closed'))
      return new Promise<StoreResult>((resolve, reject) => {
        pending.push({ op, key: hashTaggedKey(prefix, op.key), resolve, reject })
        if (scheduled) return
        scheduled = true
        // Nothing in flight: send as soon as the caller's synchronous code is done (a
        // microtask), so a lone call (sequential traffic) waits for nothing and a burst
        // made in one loop still leaves as one call. Under load, wait for the I/O this
        // loop turn has read: an HTTP server gets each request in a callback of its own,
        // so the decisions of every request that arrived together leave as one call (one
        // write, one script run) instead of one call per request.
        if (inFlight === 0) queueMicrotask(flush)
        else setImmediate(flush)
      })
    },
    stats: () => ({ ...counters, gate: gate.state }),
    close() {
      closed = true
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      flights = []
      head = 0
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
      if (batch.length <= maxBatch) return send(batch, false)
      for (let i = 0; i < batch.length; i += maxBatch) send(batch.slice(i, i + maxBatch), true)
      return
    }
    const bySlot = new Map<number, Waiting[]>()
    for (const waiting of batch) {
      const slot = keySlot(waiting.key)
      const group = bySlot.get(slot)
      if (group === undefined) bySlot.set(slot, [waiting])
      else group.push(waiting)
    }
    const piped = bySlot.size > 1
    for (const group of bySlot.values()) {
      if (group.length <= maxBatch) send(group, piped)
      else for (let i = 0; i < group.length; i += maxBatch) send(group.slice(i, i + maxBatch), true)
    }
  }

  const fail = (group: Waiting[], error: unknown) => {
    counters.failures++
    const wrapped = asStoreUnavailable(error)
    for (const waiting of group) waiting.reject(wrapped)
  }

  const send = (group: Waiting[], piped: boolean) => {
    if (!gate.allow()) return fail(group, new StoreUnavailableError('Redis is failing; calls are paused'))
    // A lost connection cannot answer within a request's deadline: fail now instead of queueing offline.
    if (isRedisDown(redis)) {
      gate.failure()
      return fail(group, new StoreUnavailableError(`Redis connection is ${redis.status}`))
    }
    const first = group[0]!.op.policies
    const policy = planOf(first).consume
    let fast = policy !== undefined
    for (let i = 0; fast && i < group.length; i++) {
      const { op } = group[i]!
      if (op.kind !== 'consume' || (op.policies !== first && !samePolicy(op.policies, first[0]!)))
        fast = false
    }
    const scriptClock = {
      now: clientTime ? Math.floor(clock.now()) : '',
      padMs: clientTime ? CLIENT_TIME_PAD_MS : 0,
    } as const
    if (fast)
      return call(group, consumeScript, consumeArgv(consumeScript.sha, group, scriptClock, policy!), piped)
    call(group, batchScript, batchArgv(batchScript.sha, group, scriptClock), piped)
  }

  const call = (group: Waiting[], script: RedisScript, argv: (string | number)[], piped: boolean) => {
    counters.batches++
    counters.batchedOperations += group.length
    const started = performance.now()
    const flight: Flight = { group, deadline: clock.now() + timeoutMs, done: false }
    inFlight++
    flights.push(flight)
    if (timer === undefined) arm()
    const settled = (reply: Reply) => {
      if (flight.done) return
      flight.done = true
      inFlight--
      prune()
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
    }
    const failed = (error: unknown) => {
      if (flight.done) return
      flight.done = true
      inFlight--
      prune()
      gate.failure()
      fail(group, error)
    }
    ;(piped ? evalshaPiped : evalshaNow).apply(redis, argv).then(settled, (error: unknown) => {
      if (!isNoScriptError(error)) return failed(error)
      // A server that lost its scripts (restart, failover): EVAL sends the source and loads it again.
      argv[0] = script.lua
      ;(piped ? evalPiped : evalNow).apply(redis, argv).then(settled, failed)
    })
  }

  return store
}
