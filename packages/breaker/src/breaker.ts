import {
  CircuitOpenError,
  ClosedError,
  childLogger,
  createChannels,
  createEmitter,
  createLatencyHistogram,
  describeValue,
  MAX_TIMER_DELAY_MS,
  type TimerHandle,
} from '@headroom/core'
import CircuitBreaker from 'opossum'
import { isCapacityError, isOpossumTimeout, toTypedError } from './errors.js'
import { type BreakerOptions, type ResolvedBreakerOptions, resolveBreakerOptions } from './options.js'
import { createRollingWindow } from './rolling-window.js'
import { type BreakerHub, createBreakerHub } from './shared/hub.js'
import type { HubMessage } from './shared/messages.js'
import { type OpenReason, tripReason } from './thresholds.js'
import { createTicker, type Ticker } from './ticker.js'
import type {
  Breaker,
  BreakerEvents,
  BreakerHealth,
  BreakerState,
  BreakerStats,
  StateChange,
  TransitionReason,
} from './types.js'

// Numeric modes keep the closed-path test a single integer comparison.
const CLOSED = 0
const OPEN = 1
const HALF_OPEN = 2
const SHUT = 3
type Mode = typeof CLOSED | typeof OPEN | typeof HALF_OPEN | typeof SHUT
const STATE_NAMES: readonly BreakerState[] = ['closed', 'open', 'half-open']

/** What a registry hands to the breakers it makes: one ticker and one hub for all. */
export interface BreakerContext {
  ticker?: Ticker
  hub?: BreakerHub
  /** Fleet-wide name under `hub` (the registry key). */
  sharedName?: string
  name?: string
}

interface OpossumInternals {
  options: { abortController?: AbortController }
  semaphore: { count: number }
  getSignal(): AbortSignal | undefined
}

type Channels = {
  state: StateChange
  reject: { name: string; error: Error }
  failure: { name: string; error: unknown; latencyMs: number }
  slow: { name: string; latencyMs: number; failed: boolean }
}
const channels = createChannels<Channels>('breaker', ['state', 'reject', 'failure', 'slow'])

/**
 * Wraps an async function in a circuit breaker built on opossum: opossum runs each call
 * (timeout, AbortController, capacity, error filter, fallback, its rolling status),
 * while this layer owns the state machine: failure-rate and slow-call-rate opening
 * after a minimum number of calls, several half-open probes, typed errors, and, with
 * `shared`, one state for the whole fleet through Redis.
 *
 * The closed path adds one integer comparison and one listener to opossum's own work:
 * no promise, closure or timer of its own per call.
 *
 * @example
 * const astro = createBreaker((sign: string) => fetchHoroscope(sign), {
 *   timeout: 2_000,
 *   slowCallMs: 500,
 *   halfOpenProbes: 3,
 *   fallback: (sign, error) => cachedHoroscope(sign),
 * })
 * const text = await astro.fire('leo')
 * astro.on('state', ({ state }) => logger.warn({ state }, 'astro breaker'))
 */
export function createBreaker<Args extends unknown[], R>(
  fn: (...args: Args) => Promise<R>,
  options: BreakerOptions<Args, R> = {},
): Breaker<Args, R> {
  if (typeof fn !== 'function')
    throw new TypeError(`createBreaker: expected the function to protect (received ${describeValue(fn)})`)
  return buildBreaker(fn, resolveBreakerOptions('createBreaker', options), {})
}

/** Builds a breaker from options validated already (the registry validates its defaults once). */
export function buildBreaker<Args extends unknown[], R>(
  fn: (...args: Args) => Promise<R>,
  o: ResolvedBreakerOptions,
  context: BreakerContext,
): Breaker<Args, R> {
  const name = context.name ?? o.name ?? o.shared?.name ?? (fn.name || 'breaker')
  const clock = o.clock
  const logger = childLogger(o.logger, { component: 'breaker', breaker: name })
  const emitter = createEmitter<BreakerEvents>((error, event) =>
    logger.error({ err: error, event }, 'breaker: an event listener threw'),
  )
  const ticker = context.ticker ?? createTicker(clock, o.rollingCountTimeout / o.rollingCountBuckets)
  const ownsTicker = context.ticker === undefined
  const window = createRollingWindow(o.rollingCountBuckets)
  const latency = createLatencyHistogram()
  const slowMs = o.slowCallMs > 0 ? o.slowCallMs : Number.POSITIVE_INFINITY
  const probes = o.halfOpenProbes
  const userFallback = o.fallback as ((...argsAndError: unknown[]) => R | Promise<R>) | undefined
  const capacity = o.capacity === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : o.capacity

  // opossum's own rule: renewal without a controller means one is made.
  const abortController =
    o.abortController ?? (o.autoRenewAbortController ? new AbortController() : undefined)

  const opossumOptions: CircuitBreaker.Options<Args> = {
    name,
    timeout: o.timeout,
    // opossum must never change state on its own: its rate check (errorRate > 100) cannot
    // hold and its reset timer is never armed, because it is never opened. It stays
    // closed and runs calls; the state machine below decides who may call.
    errorThresholdPercentage: 100,
    resetTimeout: MAX_TIMER_DELAY_MS,
    volumeThreshold: 0,
    rollingCountTimeout: o.rollingCountTimeout,
    rollingCountBuckets: o.rollingCountBuckets,
    // Percentiles come from an O(1) histogram instead of opossum's sort on every read.
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    // One timer slides opossum's window and ours (shared by a whole registry).
    rotateBucketController: ticker.controller,
    capacity,
  }
  if (o.errorFilter) opossumOptions.errorFilter = o.errorFilter as (error: unknown) => boolean
  if (abortController) opossumOptions.abortController = abortController
  const circuit = new CircuitBreaker<Args, R>(fn, opossumOptions)
  // opossum 9 members its type definitions (8.x) do not declare.
  const internals = circuit as unknown as OpossumInternals

  let mode: Mode = CLOSED
  let lastState: BreakerState = 'closed'
  let since = clock.now()
  // Bumped on every state change: an answer from Redis that arrives after one is stale.
  let epoch = 0
  let resetTimer: TimerHandle | undefined
  let openUntil = 0
  let leaseTimer: TimerHandle | undefined
  let probesAdmitted = 0
  let probeDone = 0
  let probeFailures = 0
  let probeSlow = 0
  let successes = 0
  let failures = 0
  let timeouts = 0
  let slowCalls = 0
  let rejects = 0
  let fallbacks = 0
  let opens = 0
  let storeErrors = 0
  let probeLeases = 0

  // ---- outcomes (opossum's events; these are the only per-call work of this layer)

  const settle = (failed: boolean, slow: boolean) => {
    if (mode === CLOSED) {
      window.record(failed, slow)
      if ((failed || slow) && window.calls >= o.volumeThreshold) {
        const reason = tripReason(window.calls, window.failures, window.slow, o)
        if (reason) toOpen(reason, o.resetTimeout, false, false)
      }
    } else if (mode === HALF_OPEN) {
      probeOutcome(failed, slow)
    }
    // Open: a call admitted before the breaker opened says nothing new.
  }

  circuit.on('success', (_result: unknown, ms: number) => {
    successes++
    latency.record(ms)
    if (ms >= slowMs) {
      onSlow(ms, false)
      settle(false, true)
    } else if (mode === CLOSED) {
      window.record(false, false)
    } else {
      settle(false, false)
    }
    if (emitter.has('success')) emitter.emit('success', { name, latencyMs: ms })
  })

  circuit.on('failure', (error: Error, ms: number) => {
    if (isCapacityError(error)) {
      // Refused by opossum's semaphore: not the dependency's fault. A probe refused
      // this way frees its slot, or half-open would wait for an outcome that never comes.
      rejects++
      if (mode === HALF_OPEN && probesAdmitted > probeDone) probesAdmitted--
      return
    }
    failures++
    latency.record(ms)
    const slow = ms >= slowMs
    if (slow) onSlow(ms, true)
    if (isOpossumTimeout(error)) {
      timeouts++
      if (emitter.has('timeout')) emitter.emit('timeout', { name, error, latencyMs: ms })
    }
    if (emitter.has('failure')) emitter.emit('failure', { name, error, latencyMs: ms })
    channels.failure.publish({ name, error, latencyMs: ms })
    settle(true, slow)
  })

  function onSlow(ms: number, failed: boolean) {
    slowCalls++
    if (emitter.has('slow')) emitter.emit('slow', { name, latencyMs: ms, failed })
    channels.slow.publish({ name, latencyMs: ms, failed })
  }

  function probeOutcome(failed: boolean, slow: boolean) {
    probeDone++
    if (failed) probeFailures++
    if (slow) probeSlow++
    // Reopen as soon as the failures alone decide it; otherwise wait for every probe.
    if ((probeFailures / probes) * 100 > o.errorThresholdPercentage) {
      toOpen('probe-failed', o.resetTimeout, false, false)
    } else if (probeDone >= probes) {
      const reason = tripReason(probeDone, probeFailures, probeSlow, o)
      if (reason) toOpen(reason === 'failures' ? 'probe-failed' : reason, o.resetTimeout, false, false)
      else toClosed('probes-passed', false)
    }
  }

  // opossum calls this for its own errors and the function's: it makes the typed error
  // and applies the user's fallback. Only failures pay for it.
  circuit.fallback((...argsAndError: unknown[]) => {
    const last = argsAndError.length - 1
    const error = toTypedError(argsAndError[last], name, CircuitBreaker.isOurError)
    if (!userFallback) return Promise.reject(error)
    argsAndError[last] = error
    fallbacks++
    if (emitter.has('fallback')) emitter.emit('fallback', { name, error })
    return userFallback(...argsAndError)
  })

  // ---- state machine

  const clearTimers = () => {
    if (resetTimer !== undefined) clock.clearTimeout(resetTimer)
    if (leaseTimer !== undefined) clock.clearTimeout(leaseTimer)
    resetTimer = undefined
    leaseTimer = undefined
  }

  const armReset = (ms: number) => {
    if (resetTimer !== undefined) clock.clearTimeout(resetTimer)
    openUntil = clock.now() + ms
    resetTimer = clock.setTimeout(onResetTimeout, ms)
  }

  const renewAbortController = () => {
    const current = internals.options.abortController
    if (o.autoRenewAbortController && current?.signal.aborted)
      internals.options.abortController = new AbortController()
  }

  /** Changes the mode now and returns the announcement (events), so a caller can send to Redis first. */
  function setMode(
    next: typeof CLOSED | typeof OPEN | typeof HALF_OPEN,
    reason: TransitionReason,
    remote: boolean,
    openMs?: number,
  ): () => void {
    const previous = lastState
    mode = next
    lastState = STATE_NAMES[next]!
    since = clock.now()
    epoch++
    const change: StateChange = { name, state: lastState, previous, reason, remote, at: since }
    if (openMs !== undefined) change.openMs = openMs
    return () => {
      logger.info({ state: change.state, previous, reason, remote }, `breaker ${change.state}`)
      emitter.emit('state', change)
      emitter.emit(next === OPEN ? 'open' : next === HALF_OPEN ? 'halfOpen' : 'close', change)
      channels.state.publish(change)
    }
  }

  function toOpen(reason: OpenReason, ms: number, remote: boolean, force: boolean) {
    if (mode === SHUT) return
    clearTimers()
    window.reset()
    let announce: (() => void) | undefined
    if (mode === OPEN) {
      epoch++
    } else {
      opens++
      announce = setMode(OPEN, reason, remote, ms)
    }
    armReset(ms)
    // The fleet hears first; this process's listeners (logging...) run after the write is sent.
    if (hub && !remote) {
      const at = epoch
      hub.markOpen(sharedName, ms, force ? 'force' : 'decision').then(
        (left) => {
          // The fleet was open already: follow its clock, not ours.
          if (at === epoch && mode === OPEN && left > 0 && Math.abs(left - ms) > 1) armReset(left)
        },
        (error: unknown) => {
          sharedError('open', error)
          // The fleet must hear of an outage: publish it once Redis answers again.
          hub?.requestSync(sharedName)
        },
      )
    }
    announce?.()
  }

  function toHalfOpen(leaseMs?: number) {
    clearTimers()
    probesAdmitted = 0
    probeDone = 0
    probeFailures = 0
    probeSlow = 0
    renewAbortController()
    setMode(HALF_OPEN, 'reset-timeout', false)()
    if (leaseMs !== undefined) leaseTimer = clock.setTimeout(renewLease, leaseMs / 2)
  }

  function toClosed(reason: TransitionReason, remote: boolean) {
    if (mode === SHUT) return
    clearTimers()
    window.reset()
    renewAbortController()
    const announce = mode === CLOSED ? undefined : setMode(CLOSED, reason, remote)
    if (hub && !remote) hub.markClosed(sharedName).catch((error: unknown) => sharedError('close', error))
    announce?.()
  }

  function onResetTimeout() {
    resetTimer = undefined
    if (mode !== OPEN) return
    if (!hub || hub.mode === 'local') return toHalfOpen()
    const at = epoch
    hub.acquireProbe(sharedName, leaseMs).then(
      (grant) => {
        if (at !== epoch || mode !== OPEN) return
        if (grant.kind === 'closed') {
          // The fleet closed (its message is on its way): no probe needed.
          toClosed('remote', true)
        } else if (grant.kind === 'lease') {
          probeLeases++
          toHalfOpen(grant.ms)
        } else {
          // Still open, or another instance probes: its verdict comes by pub/sub; if it
          // never does (it died), the lease runs out and this instance asks again.
          armReset(grant.kind === 'busy' ? grant.ms + 10 : grant.ms)
        }
      },
      (error: unknown) => {
        if (at !== epoch || mode !== OPEN) return
        sharedError('acquire-probe', error)
        // Redis down (the hub's gate says so): probe on local state. One slow answer is
        // not an outage, and probing on it could make a second prober: ask again soon.
        if (hub?.mode === 'local') toHalfOpen()
        else armReset(Math.min(1_000, o.resetTimeout))
      },
    )
  }

  function renewLease() {
    leaseTimer = undefined
    if (mode !== HALF_OPEN || !hub) return
    const at = epoch
    hub.acquireProbe(sharedName, leaseMs).then(
      (grant) => {
        if (at !== epoch || mode !== HALF_OPEN) return
        if (grant.kind === 'lease') leaseTimer = clock.setTimeout(renewLease, grant.ms / 2)
        else if (grant.kind === 'closed') toClosed('remote', true)
        else toOpen('remote', grant.ms, true, false)
      },
      // Redis went away mid-probe: finish probing on local state.
      (error: unknown) => sharedError('renew-lease', error),
    )
  }

  function onRemote(message: HubMessage) {
    if (mode === SHUT) return
    if (message.type === 'open') toOpen('remote', message.ms, true, false)
    else if (mode !== CLOSED) toClosed('remote', true)
  }

  // After a gap (start-up, Redis outage, resubscription): tell the fleet about an open it
  // missed, or adopt the fleet's open.
  async function sync(): Promise<void> {
    if (!hub || mode === SHUT || mode === HALF_OPEN) return
    const at = epoch
    if (mode === OPEN) {
      const ms = openUntil - clock.now()
      if (ms <= 0) return
      const left = await hub.markOpen(sharedName, ms, 'sync')
      if (at === epoch && mode === OPEN && left > 0 && Math.abs(left - ms) > 1) armReset(left)
      return
    }
    const ms = await hub.readOpen(sharedName)
    if (ms > 0 && at === epoch && mode === CLOSED) toOpen('remote', ms, true, false)
  }

  function sharedError(operation: string, error: unknown) {
    storeErrors++
    logger.warn({ err: error, operation }, 'breaker: Redis unavailable, going on with local state')
    if (emitter.has('sharedError')) emitter.emit('sharedError', { name, operation, error })
  }

  // ---- shared state

  let hub = context.hub
  let ownsHub = false
  if (!hub && o.shared) {
    hub =
      o.shared.hub ??
      createBreakerHub({
        redis: o.shared.redis!,
        ...(o.shared.prefix ? { prefix: o.shared.prefix } : {}),
        clock,
        ...(o.logger ? { logger: o.logger } : {}),
      })
    ownsHub = o.shared.hub === undefined
  }
  const sharedName = context.sharedName ?? o.shared?.name ?? name
  const leaseMs = o.shared?.probeLeaseMs ?? (o.timeout === false ? o.resetTimeout : o.timeout + 1_000)
  const unregister = hub?.register(sharedName, onRemote, sync)
  const stopTicking = ticker.add(window.rotate)

  // ---- calls

  const refuse = (args: unknown[], error: Error): Promise<R> => {
    rejects++
    if (emitter.has('reject')) emitter.emit('reject', { name, error })
    channels.reject.publish({ name, error })
    if (!userFallback) return Promise.reject(error)
    fallbacks++
    if (emitter.has('fallback')) emitter.emit('fallback', { name, error })
    try {
      return Promise.resolve(userFallback(...args, error))
    } catch (fallbackError) {
      return Promise.reject(fallbackError)
    }
  }

  function gated(args: Args): Promise<R> {
    if (mode === SHUT) return Promise.reject(new ClosedError(`Breaker "${name}" is closed`))
    if (mode === HALF_OPEN && probesAdmitted < probes) {
      probesAdmitted++
      return circuit.call(fn, ...args)
    }
    return refuse(
      args,
      new CircuitOpenError(
        mode === HALF_OPEN
          ? `Breaker "${name}" is half-open and its ${probes} probe(s) are out`
          : `Breaker "${name}" is open`,
      ),
    )
  }

  const breaker: Breaker<Args, R> = {
    name,
    circuit,
    get state() {
      return lastState
    },
    get signal() {
      return internals.getSignal()
    },
    fire(...args: Args): Promise<R> {
      if (mode === CLOSED) return circuit.call(fn, ...args)
      return gated(args)
    },
    isAvailable: () => mode !== OPEN && mode !== SHUT,
    ready: () => (hub ? hub.ready() : Promise.resolve()),
    trip(ms = o.resetTimeout) {
      if (!(ms > 0))
        throw new TypeError(
          `Breaker "${name}": trip(ms) expects a positive duration (received ${describeValue(ms)})`,
        )
      toOpen('manual', ms, false, true)
    },
    reset() {
      toClosed('manual', false)
    },
    on: emitter.on,
    stats(): BreakerStats {
      const calls = window.calls
      const stats: BreakerStats = {
        name,
        state: lastState,
        calls: successes + failures,
        successes,
        failures,
        timeouts,
        slowCalls,
        rejects,
        fallbacks,
        opens,
        openUntil: mode === OPEN ? openUntil : undefined,
        inFlight: capacity - internals.semaphore.count,
        window: {
          calls,
          failures: window.failures,
          slowCalls: window.slow,
          failureRate: calls === 0 ? 0 : (window.failures / calls) * 100,
          slowCallRate: calls === 0 ? 0 : (window.slow / calls) * 100,
        },
        latency: latency.summary(),
      }
      if (hub) stats.shared = { name: sharedName, mode: hub.mode, storeErrors, probeLeases }
      return stats
    },
    toHealthCheck({ critical = true } = {}) {
      return (): BreakerHealth => ({
        name,
        status: mode === CLOSED ? 'pass' : mode === OPEN && critical ? 'fail' : 'warn',
        state: lastState,
        critical,
        since,
      })
    },
    async close() {
      if (mode === SHUT) return
      mode = SHUT
      clearTimers()
      unregister?.()
      stopTicking()
      if (ownsTicker) ticker.close()
      circuit.shutdown()
      emitter.clear()
      if (ownsHub) await hub?.close()
    },
  }
  return breaker
}
