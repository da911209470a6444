// Schemas the HTTP adapters (node:http, Fastify, fetch) share: each adapter ties its own
// options interface to a schema built from these, so every option is checked once, at
// construction, unknown keys refused.
import type { Logger } from '@headroom/core'
import { tiedTo } from '@headroom/core'
import { z } from 'zod'
import type { HealthMonitor } from '../monitor/types.js'
import type { HealthJsonInfo } from './health-json.js'
import type { ProbePaths } from './probe-answers.js'
import type { RequestTimingOptions, SlowRequestReport } from './request-timing.js'

export const fn = <T>() => z.custom<T>((v) => typeof v === 'function', 'Expected a function')

/** A monitor that records requests (trackRequests). */
export const recorderOption = z.custom<HealthMonitor>(
  (v) => typeof v === 'object' && v !== null && typeof (v as HealthMonitor).recordRequest === 'function',
  'Expected a monitor from createHealthMonitor()',
)

/** A monitor that answers the probes (healthRoutes). */
export const probedMonitor = z.custom<HealthMonitor>(
  (v) => typeof v === 'object' && v !== null && typeof (v as HealthMonitor).checks === 'function',
  'Expected a monitor from createHealthMonitor()',
)

export const probeRoutesShape = {
  livez: z.string().min(1).default('/livez'),
  readyz: z.string().min(1).default('/readyz'),
  health: z.string().min(1).default('/health'),
  version: z.string().optional(),
  releaseId: z.string().optional(),
  description: z.string().optional(),
}

/** The probe paths and the service fields of `/health`. */
export const probeRoutesSchema = tiedTo<ProbePaths & HealthJsonInfo>()(z.strictObject(probeRoutesShape))

/** trackRequests' `timing`. */
export const timingSchema = tiedTo<RequestTimingOptions>()(
  z
    .strictObject({
      serverTiming: z.boolean().default(true),
      slowMs: z.number().nonnegative().optional(),
      onSlow: fn<(report: SlowRequestReport) => void>().optional(),
      logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null, 'Expected a logger').optional(),
    })
    .refine(
      (timing) => timing.slowMs === undefined || timing.onSlow !== undefined || timing.logger !== undefined,
      {
        path: ['slowMs'],
        message: 'A slow-request report needs somewhere to go; pass timing.logger or timing.onSlow',
      },
    ),
)
