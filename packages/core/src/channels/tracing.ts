// Start-and-end tracing for the operations a user wants as spans, on Node's
// `diagnostics_channel.tracingChannel`: a tracer (e.g. @headroom/otel) subscribes by name,
// without importing Headroom. Unsubscribed, an operation runs as if untraced: the call
// site pays one `hasSubscribers` read and builds no context object.
import diagnosticsChannel from 'node:diagnostics_channel'
import { channelName } from './diagnostics.js'

/**
 * The tracing channel of one operation. Its five channels are
 * `tracing:headroom:<pkg>:<operation>:{start,end,asyncStart,asyncEnd,error}`; each event
 * carries the same `context` object, with `result` or `error` added by Node when the
 * operation settles, so what the operation learns while running (a cache tier, a wait
 * time) can be written into the context before it resolves.
 */
export interface HeadroomTracingChannel<Context extends object> {
  /** `headroom:<pkg>:<operation>`, the name to pass to `diagnostics_channel.tracingChannel`. */
  readonly name: string
  /**
   * True while a tracer subscribes to `start` (where every span begins). Check it before
   * building a context, so an untraced call allocates nothing.
   */
  readonly hasSubscribers: boolean
  /**
   * Runs `fn` between `start` and `asyncEnd` (with `error` on a rejection). A synchronous
   * throw becomes a rejection, so every traced call ends on `asyncEnd`. Without
   * subscribers, returns `fn()` as it is.
   */
  tracePromise<R>(fn: () => Promise<R>, context: Context): Promise<R>
}

/**
 * Creates the tracing channel of `operation` in package `pkg`.
 *
 * @example
 * const getOrSetTrace = createTracingChannel<{ cache: string; key: string }>('cache', 'getOrSet')
 * function getOrSet(key, factory) {
 *   if (!getOrSetTrace.hasSubscribers) return load(key, factory)
 *   return getOrSetTrace.tracePromise(() => load(key, factory), { cache: prefix, key })
 * }
 */
export function createTracingChannel<Context extends object>(
  pkg: string,
  operation: string,
): HeadroomTracingChannel<Context> {
  return new TracingChannel<Context>(channelName(pkg, operation))
}

// A class, so every span point's `hasSubscribers` is one shared prototype getter that the
// JIT inlines into the call site.
class TracingChannel<Context extends object> implements HeadroomTracingChannel<Context> {
  readonly name: string
  readonly #channel: diagnosticsChannel.TracingChannel<unknown, Context>
  // `TracingChannel#hasSubscribers` reads all five channels and is missing before Node
  // 20.13; `start` is the one every tracer needs.
  readonly #start: diagnosticsChannel.Channel<unknown, Context>

  constructor(name: string) {
    this.name = name
    this.#channel = diagnosticsChannel.tracingChannel<unknown, Context>(name)
    this.#start = this.#channel.start
  }

  get hasSubscribers(): boolean {
    return this.#start.hasSubscribers
  }

  tracePromise<R>(fn: () => Promise<R>, context: Context): Promise<R> {
    if (!this.#start.hasSubscribers) return fn()
    return this.#channel.tracePromise(() => {
      try {
        return fn()
      } catch (error) {
        return Promise.reject(error)
      }
    }, context)
  }
}
