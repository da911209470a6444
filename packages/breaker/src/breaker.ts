import {
  CircuitOpenError,
  ClosedError,
  childLogger,
  createCallOptionsCheck,
  createEmitter,
  createLatencyHistogram,
  describeValue,
} from '@headroom/core'
import CircuitBreaker from 'opossum'
import { channels } from './breaker-channels.js'
import type { BreakerContext } from './breaker-context.js'
import { CLOSED, HALF_OPEN, type Mode, OPEN, SHUT } from './breaker-mode.js'
import { type BreakerCounts, snapshotStats } from './breaker-stats.js'
import { isCapacityError, isOpossumTimeout, toTypedError } from './errors.js'
import { createOpossumCircuit } from './opossum-circuit.js'
import { type BreakerOptions, type ResolvedBreakerOptions, resolveBreakerOptions } from './options.js'
import { createRollingWindow } from './rolling-window.js'
import { resolveSharedHub } from './shared-hub.js'
import { createStateMachine } from './state-machine.js'
import { tripReason } from './thresholds.js'
import { createTicker } from './ticker.js'
import { fireTrace } from './trace.js'
import type { Breaker, BreakerEvents, BreakerHealth, BreakerStats } from './types.js'

const checkHealthCheckOptions = createCallOptionsCheck('toHealthCheck', { critical: 'boolean' })

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
  const { circuit, internals, capacity } = createOpossumCircuit(fn, o, name, ticker)

  // The per-call work (outcome listeners, the gate, the fallback) stays in this closure on
  // plain locals, `mode` included; the transitions (state-machine.ts) run only when the
  // state changes and reach `mode` through their host.
  let mode: Mode = CLOSED
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

  // ---- outcomes (opossum's events; these are the only per-call work of this layer)

  const settle = (failed: boolean, slow: boolean) => {
    if (mode === CLOSED) {
      window.record(failed, slow)
      if ((failed || slow) && window.calls >= o.volumeThreshold) {
        const reason = tripReason(window.calls, window.failures, window.slow, o)
        if (reason) machine.toOpen(reason, o.resetTimeout, false, false)
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
      machine.toOpen('probe-failed', o.resetTimeout, false, false)
    } else if (probeDone >= probes) {
      const reason = tripReason(probeDone, probeFailures, probeSlow, o)
      if (reason)
        machine.toOpen(reason === 'failures' ? 'probe-failed' : reason, o.resetTimeout, false, false)
      else machine.toClosed('probes-passed', false)
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

  // ---- state machine (transitions, timers, the fleet), off the call path

  const shared = resolveSharedHub(o, context, name)
  const machine = createStateMachine({
    host: {
      mode: () => mode,
      setMode: (next) => {
        mode = next
      },
      resetProbes: () => {
        probesAdmitted = 0
        probeDone = 0
        probeFailures = 0
        probeSlow = 0
      },
    },
    shared,
    name,
    resetTimeout: o.resetTimeout,
    autoRenewAbortController: o.autoRenewAbortController,
    internals,
    window,
    clock,
    logger,
    emitter,
  })
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
      return machine.state
    },
    get signal() {
      return internals.getSignal()
    },
    fire(...args: Args): Promise<R> {
      if (fireTrace.hasSubscribers)
        return fireTrace.tracePromise(() => (mode === CLOSED ? circuit.call(fn, ...args) : gated(args)), {
          breaker: name,
          state: machine.state,
        })
      if (mode === CLOSED) return circuit.call(fn, ...args)
      return gated(args)
    },
    isAvailable: () => mode !== OPEN && mode !== SHUT,
    ready: () => (shared ? shared.hub.ready() : Promise.resolve()),
    trip(ms = o.resetTimeout) {
      if (!(ms > 0))
        throw new TypeError(
          `Breaker "${name}": trip(ms) expects a positive duration (received ${describeValue(ms)})`,
        )
      machine.toOpen('manual', ms, false, true)
    },
    reset() {
      machine.toClosed('manual', false)
    },
    on: emitter.on,
    stats(): BreakerStats {
      const counts: BreakerCounts = {
        name,
        state: machine.state,
        successes,
        failures,
        timeouts,
        slowCalls,
        rejects,
        fallbacks,
        opens: machine.opens,
        openUntil: mode === OPEN ? machine.openUntil : undefined,
        inFlight: capacity - internals.semaphore.count,
      }
      return snapshotStats(counts, window, latency, machine.sharedStats())
    },
    toHealthCheck(options) {
      checkHealthCheckOptions(options)
      const critical = options?.critical ?? true
      return (): BreakerHealth => ({
        name,
        status: mode === CLOSED ? 'pass' : mode === OPEN && critical ? 'fail' : 'warn',
        state: machine.state,
        critical,
        since: machine.since,
      })
    },
    async close() {
      if (mode === SHUT) return
      mode = SHUT
      machine.shut()
      stopTicking()
      if (ownsTicker) ticker.close()
      circuit.shutdown()
      emitter.clear()
      if (shared?.ownsHub) await shared.hub.close()
    },
  }
  return breaker
}
