import {
  type Clock,
  childLogger,
  type Logger,
  parseOptions,
  systemClock,
  type TimerHandle,
  tiedTo,
} from '@headroom/core'
import pRetry, { AbortError } from 'p-retry'
import { z } from 'zod'
import { MAX_TIMER_MS, timerMs } from '../shared/timer-ms.js'
import type { AlertSink, StatusChange } from '../status/change.js'
import { type HealthStatus, severity } from '../status/status.js'

/** Options of {@link createWebhookSink}. */
export interface WebhookSinkOptions {
  /** The webhook URL (a Slack incoming webhook, or any endpoint taking JSON). */
  url: string
  /**
   * At most one message per this many ms and subject (the overall status, each alerted
   * metric) for changes that are not escalations; those are folded into one trailing
   * message. A change to a level worse than the last one announced for the subject is
   * posted at once. @default 60000
   */
  minIntervalMs?: number
  /** `slack`: `{ text }` (Slack, Mattermost, Teams-compatible relays); `json`: the change itself plus `text`. @default 'slack' */
  format?: 'slack' | 'json'
  /** Retries after a network error, 429 or 5xx (4xx is not retried). @default 3 */
  retries?: number
  /** First retry delay, ms (doubling after each try). @default 1000 */
  retryDelayMs?: number
  /** Per-attempt timeout, ms. @default 5000 */
  timeoutMs?: number
  /** Extra request headers (e.g. authorization). @default {} */
  headers?: Record<string, string>
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch
  /** @default systemClock */
  clock?: Clock
  /** @default silent */
  logger?: Logger
}

/** A webhook sink with its delivery counters. */
export interface WebhookSink extends AlertSink {
  stats(): { sent: number; failed: number; suppressed: number; pending: boolean }
  /** Resolves once no delivery is in flight (tests, shutdown). */
  flush(): Promise<void>
}

const schema = tiedTo<WebhookSinkOptions>()(
  z.strictObject({
    url: z.url({ message: 'Expected an http(s) URL' }),
    minIntervalMs: timerMs().default(60_000),
    format: z.enum(['slack', 'json']).default('slack'),
    retries: z.number().int().nonnegative().max(20).default(3),
    retryDelayMs: z.number().nonnegative().max(MAX_TIMER_MS).default(1000),
    timeoutMs: timerMs(1).default(5000),
    headers: z.record(z.string(), z.string()).default({}),
    fetch: z
      .custom<typeof fetch>((v) => typeof v === 'function', 'Expected a function')
      .default(() => globalThis.fetch),
    clock: z
      .custom<Clock>((v) => typeof v === 'object' && v !== null, 'Expected a Clock')
      .default(() => systemClock),
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null, 'Expected a logger').optional(),
  }),
)

/** The announcement state of one subject: the overall status, or one metric's alert. */
interface Lane {
  lastSentAt: number
  lastSentStatus: HealthStatus
  pending: StatusChange | undefined
  folded: number
  trailing: TimerHandle | undefined
}

const ICON = { healthy: ':white_check_mark:', degraded: ':warning:', critical: ':rotating_light:' } as const

/**
 * The one-line text of a change: `[api] healthy → degraded: eventLoopDelay 230 >= 100`;
 * a metric alert names its metric: `[api] cpu healthy → degraded: cpu 0.850 >= 0.800`.
 */
export function formatChange(change: StatusChange, folded = 0): string {
  const why = change.reasons.map((reason) => reason.message).join('; ')
  const extra = folded > 0 ? ` (${folded} earlier change${folded > 1 ? 's' : ''} folded in)` : ''
  const subject = change.metric ? `${change.metric} ` : ''
  return `${ICON[change.to]} [${change.service}] ${subject}${change.from} → ${change.to}${why ? `: ${why}` : ''}${extra}`
}

/**
 * Posts status changes and metric alerts to a webhook as Slack-compatible JSON and
 * retries them with exponential backoff (p-retry). Each subject (the overall status,
 * each alerted metric) is paced on its own: an escalation (a level worse than the last
 * one announced for it) is posted at once; other changes at most once per
 * `minIntervalMs`, what changed meanwhile going out as one trailing message with the
 * latest level.
 * A failed delivery is logged and counted, never thrown.
 *
 * @example
 * const monitor = createHealthMonitor({
 *   service: 'api',
 *   alerts: [createWebhookSink({ url: process.env.SLACK_WEBHOOK_URL! })],
 * })
 */
export function createWebhookSink(input: WebhookSinkOptions): WebhookSink {
  const options = parseOptions('createWebhookSink', schema, input)
  const { clock } = options
  const logger = childLogger(options.logger, { component: 'health-webhook' })
  const doFetch = options.fetch
  const controller = new AbortController()
  const inFlight = new Set<Promise<void>>()
  // One lane per subject (the overall status, and each metric alert): a metric crossing
  // is no repeat of another metric's alert, so it neither waits for nor folds into it.
  const lanes = new Map<string, Lane>()
  let closed = false
  const counts = { sent: 0, failed: 0, suppressed: 0 }

  const post = async (body: string): Promise<void> => {
    const response = await doFetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body,
      signal: AbortSignal.any([controller.signal, AbortSignal.timeout(options.timeoutMs)]),
    })
    // Drain the body so the connection is reused.
    await response.arrayBuffer().catch(() => undefined)
    if (response.ok) return
    const error = new Error(`Webhook answered ${response.status}`)
    if (response.status !== 429 && response.status < 500) throw new AbortError(error)
    throw error
  }

  const deliver = (lane: Lane, change: StatusChange, foldedCount: number) => {
    lane.lastSentAt = clock.now()
    lane.lastSentStatus = change.to
    const text = formatChange(change, foldedCount)
    const body = JSON.stringify(options.format === 'slack' ? { text } : { text, ...change })
    const delivery = pRetry(() => post(body), {
      retries: options.retries,
      minTimeout: options.retryDelayMs,
      factor: 2,
      signal: controller.signal,
      unref: true,
    }).then(
      () => {
        counts.sent++
      },
      (error: unknown) => {
        if (closed) return
        counts.failed++
        logger.warn({ err: error, url: options.url }, 'health alert webhook failed')
      },
    )
    inFlight.add(delivery)
    void delivery.finally(() => inFlight.delete(delivery))
  }

  const sendTrailing = (lane: Lane) => {
    lane.trailing = undefined
    const change = lane.pending
    lane.pending = undefined
    const foldedCount = lane.folded
    lane.folded = 0
    // The status went back to what was last announced: nothing new to say.
    if (!change || change.to === lane.lastSentStatus) return
    deliver(lane, change, foldedCount)
  }

  const laneOf = (change: StatusChange): Lane => {
    const key = change.metric ?? ''
    let lane = lanes.get(key)
    if (lane === undefined) {
      lane = {
        lastSentAt: Number.NEGATIVE_INFINITY,
        lastSentStatus: 'healthy',
        pending: undefined,
        folded: 0,
        trailing: undefined,
      }
      lanes.set(key, lane)
    }
    return lane
  }

  return {
    send(change) {
      if (closed) return
      const lane = laneOf(change)
      const now = clock.now()
      // An escalation is the page that matters: it never waits for the quiet period,
      // and takes along whatever was waiting to be announced.
      if (severity(change.to) > severity(lane.lastSentStatus)) {
        const foldedCount = lane.pending ? lane.folded + 1 : 0
        if (lane.trailing !== undefined) clock.clearTimeout(lane.trailing)
        lane.trailing = undefined
        lane.pending = undefined
        lane.folded = 0
        deliver(lane, change, foldedCount)
        return
      }
      if (now - lane.lastSentAt >= options.minIntervalMs && lane.trailing === undefined) {
        deliver(lane, change, 0)
        return
      }
      if (lane.pending) lane.folded++
      counts.suppressed++
      lane.pending = change
      lane.trailing ??= clock.setTimeout(
        () => sendTrailing(lane),
        lane.lastSentAt + options.minIntervalMs - now,
      )
    },
    stats() {
      let pending = false
      for (const lane of lanes.values()) if (lane.pending !== undefined) pending = true
      return { ...counts, pending }
    },
    async flush() {
      while (inFlight.size > 0) await Promise.all(inFlight)
    },
    close() {
      closed = true
      for (const lane of lanes.values()) {
        if (lane.trailing !== undefined) clock.clearTimeout(lane.trailing)
        lane.trailing = undefined
        lane.pending = undefined
      }
      controller.abort(new Error('The webhook sink is closed'))
    },
  }
}
