import { createChannels, parseOptions, tiedTo } from '@headroom/core'
import { z } from 'zod'
import type { HealthStatus } from '../status/status.js'
import { createLoadShedder, type Priority, type ShedPolicy, type StatusSource } from './load-shedder.js'

/** The options of `shedLoad()` every framework adapter shares; `Req` is the framework's request. */
export interface ShedLoadCommonOptions<Req> extends ShedPolicy {
  /** The monitor (or anything with a `status`). */
  monitor: StatusSource
  /** The priority of a request (e.g. by route or subscription tier). @default () => 'low' */
  priority?: (req: Req) => Priority
  /** `Retry-After` in seconds on refused requests. @default 5 */
  retryAfterSeconds?: number
}

/** Counters of a `shedLoad()` middleware. */
export interface ShedLoadStats {
  passed: number
  shed: Record<Priority, number>
}

/** A refusal for an adapter to send: 503, these headers, this problem+json body. */
export interface ShedRefusal {
  status: 503
  retryAfter: string
  body: string
}

const schema = tiedTo<ShedLoadCommonOptions<never>>()(
  z.strictObject({
    monitor: z.custom<StatusSource>(
      (v) => typeof v === 'object' && v !== null && 'status' in v,
      'Expected a monitor (or anything with a status)',
    ),
    priority: z
      .custom<(req: never) => Priority>((v) => typeof v === 'function', 'Expected a function')
      .default(() => () => 'low' as const),
    // HTTP delay-seconds: recipients are only required to handle values up to 2^31 - 1.
    retryAfterSeconds: z.number().int().min(0).max(2_147_483_647).default(5),
    // The policy is the load shedder's: it validates it and holds its defaults.
    degraded: z
      .array(z.custom<Priority>(() => true))
      .readonly()
      .optional(),
    critical: z
      .array(z.custom<Priority>(() => true))
      .readonly()
      .optional(),
  }),
)

const channels = createChannels<{
  shed: { priority: Priority; status: HealthStatus; url: string | undefined }
}>('health', ['shed'])

/** Content type of every refusal body. */
export const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

/**
 * The framework-neutral part of `shedLoad()`: validates the options once, then for each
 * request decides from its priority and the current status whether it is refused, counts,
 * and publishes `headroom:health:shed`.
 */
export function createShedGate<Req>(input: ShedLoadCommonOptions<Req>): {
  refuse(req: Req, url: string | undefined): ShedRefusal | undefined
  stats(): ShedLoadStats
} {
  const {
    monitor,
    priority,
    retryAfterSeconds: retryAfter,
    ...policy
  } = parseOptions('shedLoad', schema, input)
  const shedder = createLoadShedder(monitor, policy)
  const priorityOf = priority as (req: Req) => Priority
  const counts = { passed: 0, shed: { critical: 0, high: 0, medium: 0, low: 0 } as Record<Priority, number> }
  return {
    refuse(req, url) {
      const priority = priorityOf(req)
      if (!shedder.shouldShed(priority)) {
        counts.passed++
        return undefined
      }
      counts.shed[priority] = (counts.shed[priority] ?? 0) + 1
      const status = monitor.status
      if (channels.shed.hasSubscribers) channels.shed.publish({ priority, status, url })
      return {
        status: 503,
        retryAfter: String(retryAfter),
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Service Unavailable',
          status: 503,
          detail: `The service is ${status} and is refusing ${priority}-priority requests; retry after ${retryAfter} s.`,
        }),
      }
    },
    stats: () => ({ passed: counts.passed, shed: { ...counts.shed } }),
  }
}
