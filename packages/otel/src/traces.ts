// Turns Headroom's tracing channels (`tracing:headroom:<pkg>:<operation>:*`, made by
// core's createTracingChannel) into OpenTelemetry spans. Like the metrics, it subscribes
// by name: every cache, limiter, breaker, pool, router and worker in the process is
// traced, and while nothing subscribes the operations skip tracing after one read.
import diagnosticsChannel from 'node:diagnostics_channel'
import { type CallOptionType, createCallOptionsCheck } from '@headroom/core'
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'

export interface HeadroomTracesOptions {
  /** Where the spans are created. @default the global TracerProvider */
  tracerProvider?: TracerProvider
  /**
   * Records cache and rate-limit keys as span attributes (`headroom.cache.key`,
   * `headroom.rate_limit.key`). Keys often hold user ids, emails or IPs: opt in only
   * where your traces may carry them.
   * @default false
   */
  recordKeys?: boolean
}

const checkOptions = createCallOptionsCheck('instrumentHeadroomTraces', {
  tracerProvider: 'TracerProvider',
  recordKeys: 'boolean',
} satisfies Record<keyof HeadroomTracesOptions, CallOptionType>)

/** What every traced operation's context holds once it settles (Node adds these). */
interface Settled {
  result?: unknown
  error?: unknown
}

interface Operation<Context> {
  /** `headroom:<pkg>:<operation>`, the tracing channel's name. */
  channel: string
  span: string
  kind: SpanKind
  /** Attributes known when the operation starts. */
  start(message: Context, recordKeys: boolean): Attributes
  /** Attributes learned while it ran. */
  end(message: Context & Settled): Attributes
}

const operation = <Context>(definition: Operation<Context>) => definition as Operation<unknown>

/** The error's `code` (Headroom errors carry one), if any. */
const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null | undefined)?.code

const OPERATIONS: readonly Operation<unknown>[] = [
  operation<{ cache: string; key: string; tier: string }>({
    channel: 'headroom:cache:getOrSet',
    span: 'headroom.cache.getOrSet',
    kind: SpanKind.INTERNAL,
    start: ({ cache, key }, recordKeys) =>
      recordKeys
        ? { 'headroom.cache.name': cache, 'headroom.cache.key': key }
        : { 'headroom.cache.name': cache },
    end: ({ tier }) => ({ 'headroom.cache.tier': tier }),
  }),
  operation<{ limiter: string; store: string; key: string }>({
    channel: 'headroom:rate-limit:consume',
    span: 'headroom.rate_limit.consume',
    kind: SpanKind.INTERNAL,
    start: ({ limiter, store, key }, recordKeys) => ({
      'headroom.rate_limit.limiter': limiter,
      'headroom.rate_limit.store': store,
      ...(recordKeys ? { 'headroom.rate_limit.key': key } : {}),
    }),
    end: ({ result }) => {
      const decision = result as { allowed: boolean; policy: string; source: string } | undefined
      return decision === undefined
        ? {}
        : {
            'headroom.rate_limit.allowed': decision.allowed,
            'headroom.rate_limit.policy': decision.policy,
            'headroom.rate_limit.source': decision.source,
          }
    },
  }),
  operation<{ breaker: string; state: string }>({
    channel: 'headroom:breaker:fire',
    span: 'headroom.breaker.fire',
    kind: SpanKind.INTERNAL,
    start: ({ breaker, state }) => ({ 'headroom.breaker.name': breaker, 'headroom.breaker.state': state }),
    end: ({ error }) => ({
      'headroom.breaker.outcome':
        error === undefined
          ? 'success'
          : codeOf(error) === 'E_CIRCUIT_OPEN' || codeOf(error) === 'E_OVERLOADED'
            ? 'rejected'
            : codeOf(error) === 'E_TIMEOUT'
              ? 'timeout'
              : 'failure',
    }),
  }),
  operation<{ limiter: string; partition: string | undefined; waitMs: number | undefined }>({
    channel: 'headroom:pool:run',
    span: 'headroom.pool.run',
    kind: SpanKind.INTERNAL,
    start: ({ limiter, partition }) =>
      partition === undefined
        ? { 'headroom.pool.limiter': limiter }
        : { 'headroom.pool.limiter': limiter, 'headroom.pool.partition': partition },
    end: ({ waitMs }) => (waitMs === undefined ? {} : { 'headroom.pool.wait_ms': waitMs }),
  }),
  operation<{ write: boolean; shard: string | undefined; role: string | undefined }>({
    channel: 'headroom:shard:run',
    span: 'headroom.shard.run',
    kind: SpanKind.INTERNAL,
    start: ({ write }) => ({ 'headroom.shard.write': write }),
    end: ({ shard, role }) =>
      shard === undefined ? {} : { 'headroom.shard.id': shard, 'headroom.shard.role': role ?? 'primary' },
  }),
  operation<{ queue: string; jobId: string; job: string; attempt: number }>({
    channel: 'headroom:queue:process',
    span: 'headroom.queue.process',
    kind: SpanKind.CONSUMER,
    start: ({ queue, jobId, job, attempt }) => ({
      'headroom.queue.name': queue,
      'headroom.queue.job.id': jobId,
      'headroom.queue.job.name': job,
      'headroom.queue.job.attempt': attempt,
    }),
    end: () => ({}),
  }),
]

/**
 * Subscribes to Headroom's tracing channels and creates an OTel span for each cache
 * `getOrSet`, rate-limit `consume`, breaker `fire`, pool limiter `run`, shard router
 * `run` and queue job handler call. A span's parent is the context active when the
 * operation started; a failure sets status ERROR and records the exception. Returns a
 * function that unsubscribes.
 *
 * @example
 * import { instrumentHeadroomTraces } from '@headroom/otel'
 * const stop = instrumentHeadroomTraces() // the global TracerProvider
 * // ... on shutdown
 * stop()
 */
export function instrumentHeadroomTraces(options: HeadroomTracesOptions = {}): () => void {
  checkOptions(options)
  const { tracerProvider = trace.getTracerProvider(), recordKeys = false } = options
  const tracer = tracerProvider.getTracer('@headroom/otel')
  const unsubscribes: (() => void)[] = []
  for (const op of OPERATIONS) {
    // One context object per call carries its span from start to end.
    const spans = new WeakMap<object, Span>()
    const channel = diagnosticsChannel.tracingChannel<unknown, object>(op.channel)
    const handlers = {
      start(message: object) {
        const span = tracer.startSpan(
          op.span,
          { kind: op.kind, attributes: op.start(message, recordKeys) },
          context.active(),
        )
        spans.set(message, span)
      },
      // `end` and `asyncStart` carry nothing a span needs (core's tracePromise ends every
      // call on `asyncEnd`); Node's typings ask for all five handlers.
      end() {},
      asyncStart() {},
      error(message: object) {
        const span = spans.get(message)
        if (!span) return
        const { error } = message as Settled
        span.recordException(error instanceof Error ? error : { message: String(error), name: 'NonError' })
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        })
      },
      asyncEnd(message: object) {
        const span = spans.get(message)
        if (!span) return
        spans.delete(message)
        span.setAttributes(op.end(message))
        span.end()
      },
    }
    channel.subscribe(handlers)
    unsubscribes.push(() => channel.unsubscribe(handlers))
  }
  return () => {
    for (const unsubscribe of unsubscribes.splice(0)) unsubscribe()
  }
}
