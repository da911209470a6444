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
import { TimeoutAbort } from './abort.js'
import { channels } from './channels.js'
import type { BreakerContext } from './context.js'
import { isCapacityError, isOpossumTimeout, toTypedError } from './errors.js'
import { CLOSED, HALF_OPEN, OPEN, SHUT } from './mode.js'
import { createOpossumCircuit } from './opossum-circuit.js'
import { type BreakerOptions, type ResolvedBreakerOptions, resolveBreakerOptions } from './options.js'
import { resolveSharedHub } from './shared-hub.js'
import { BreakerStateMachine } from './state-machine.js'
import { type BreakerCounts, snapshotStats } from './stats.js'
import { createTicker } from './ticker.js'
import { fireTrace } from './trace.js'
import type { Breaker, BreakerEvents, BreakerHealth, BreakerStats } from './types.js'

const checkHealthCheckOptions = createCallOptionsCheck('toHealthCheck', { critical: 'boolean' })

/**
 * Wraps an async function in a circuit breaker built on opossum's public API: opossum
 * runs each call (timeout, capacity, error filter, fallback, its rolling status) and
 * holds the open/closed state, while this layer decides when the state changes:
 * failure-rate and slow-call-rate opening after a minimum number of calls, several
 * half-open probes, typed errors, and, with `shared`, one state for the whole fleet
 * through Redis.
 *
 * The closed path adds one integer comparison, a counter and one listener to opossum's
 * own work: no promise, closure or timer of its own per call.
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
  const logger = childLogger(o.logger, { component: 'breaker', breaker: name })
  const emitter = createEmitter<BreakerEvents>((error, event) =>
    logger.error({ err: error, event }, 'breaker: an event listener threw'),
  )
  const ticker = context.ticker ?? createTicker(o.clock, o.rollingCountTimeout / o.rollingCountBuckets)
  const ownsTicker = context.ticker === undefined
  const latency = createLatencyHistogram()
  const slowMs = o.slowCallMs > 0 ? o.slowCallMs : Number.POSITIVE_INFINITY
  const probes = o.halfOpenProbes
  const userFallback = o.fallback as ((...argsAndError: unknown[]) => R | Promise<R>) | undefined
  const circuit = createOpossumCircuit(fn, o, name, ticker)
  // opossum's own rule: renewal without a controller means one is made.
  const controller = o.abortController ?? (o.autoRenewAbortController ? new AbortController() : undefined)
  const abort = controller && new TimeoutAbort(controller, o.autoRenewAbortController)
  const shared = resolveSharedHub(o, context, name)
  const machine = new BreakerStateMachine({
    name,
    rules: o,
    circuit,
    abort,
    shared,
    clock: o.clock,
    logger,
    emitter,
  })
  const stopTicking = ticker.add(machine.rotate)

  // The call path's counters: plain locals of this closure, written by opossum's events.
  let inFlight = 0
  let successes = 0
  let failures = 0
  let timeouts = 0
  let slowCalls = 0
  let rejects = 0
  let fallbacks = 0

  // ---- outcomes (opossum's events; every call opossum runs ends in exactly one of them)

  circuit.on('success', (_result: unknown, ms: number) => {
    inFlight--
    successes++
    latency.record(ms)
    if (ms >= slowMs) {
      onSlow(ms, false)
      machine.record(false, true)
    } else {
      machine.record(false, false)
    }
    if (emitter.has('success')) emitter.emit('success', { name, latencyMs: ms })
  })

  circuit.on('failure', (error: Error, ms: number) => {
    inFlight--
    if (isCapacityError(error)) {
      // Refused by opossum's capacity limit: not the dependency's fault.
      rejects++
      machine.releaseProbe()
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
    machine.record(true, slow)
  })

  // The breaker never sends a call to an open opossum; one opened by hand through
  // `breaker.circuit` refuses the calls itself, and they end here instead.
  circuit.on('reject', () => {
    inFlight--
    rejects++
  })

  // opossum's `timeout` event comes before its `failure`: the work the call started may stop.
  if (abort) circuit.on('timeout', () => abort.abort())

  function onSlow(ms: number, failed: boolean) {
    slowCalls++
    if (emitter.has('slow')) emitter.emit('slow', { name, latencyMs: ms, failed })
    channels.slow.publish({ name, latencyMs: ms, failed })
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

  // ---- calls

  const run = (args: Args): Promise<R> => {
    inFlight++
    return circuit.call(fn, ...args)
  }

  // Open, or half-open with every probe out: refused before opossum, so a refusal makes
  // one error (opossum, open too, would make its own and then this one).
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
    const mode = machine.mode
    if (mode === SHUT) return Promise.reject(new ClosedError(`Breaker "${name}" is closed`))
    if (machine.admitProbe()) return run(args)
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
      return abort?.signal
    },
    fire(...args: Args): Promise<R> {
      if (fireTrace.hasSubscribers)
        return fireTrace.tracePromise(() => (machine.mode === CLOSED ? run(args) : gated(args)), {
          breaker: name,
          state: machine.state,
        })
      if (machine.mode === CLOSED) {
        inFlight++
        return circuit.call(fn, ...args)
      }
      return gated(args)
    },
    isAvailable: () => machine.mode !== OPEN && machine.mode !== SHUT,
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
        openUntil: machine.mode === OPEN ? machine.openUntil : undefined,
        inFlight,
      }
      return snapshotStats(counts, machine.windowCounts(), latency, machine.sharedStats())
    },
    toHealthCheck(options) {
      checkHealthCheckOptions(options)
      const critical = options?.critical ?? true
      return (): BreakerHealth => {
        const mode = machine.mode
        return {
          name,
          status: mode === CLOSED ? 'pass' : mode === OPEN && critical ? 'fail' : 'warn',
          state: machine.state,
          critical,
          since: machine.since,
        }
      }
    },
    async close() {
      if (machine.mode === SHUT) return
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
