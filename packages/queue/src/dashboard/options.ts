// The dashboard's options: the public interface and the zod schema that checks them
// once, at construction, tied together at compile time.
import type { IncomingMessage } from 'node:http'
import type { OptionsSchemaMatch } from '@headroom/core'
import { z } from 'zod'
import type { Queue } from '../durable/queue-types.js'

/** Options of {@link createDashboard} and {@link dashboardRouter}. */
export interface DashboardOptions {
  /** The queues shown, by name (names must be distinct). */
  queues: readonly Queue[]
  /**
   * Decides whether a request may see the page or retry jobs (your session or token check).
   * Mandatory: the dashboard shows job names and errors and can move jobs. A `false`
   * answers 403; a throw answers 500.
   */
  authorize: (req: IncomingMessage) => boolean | Promise<boolean>
  /** The page's title. @default 'Queues' */
  title?: string
  /** Failed jobs listed per queue, newest first. @default 20 */
  failures?: number
  /** Path the plain handler serves under (the Express form uses its mount path). @default '/' */
  basePath?: string
}

export const dashboardOptionsSchema = z.object({
  queues: z
    .array(
      z.custom<Queue>((v) => typeof v === 'object' && v !== null && 'getJobCounts' in v, 'expected a queue'),
      {
        error: 'expected an array of queues from createQueue',
      },
    )
    .min(1, 'expected at least one queue')
    .refine(
      (queues) => new Set(queues.map((q) => q.name)).size === queues.length,
      'queue names must be distinct',
    ),
  authorize: z.custom<DashboardOptions['authorize']>(
    (v) => typeof v === 'function',
    'expected a function (req) => boolean | Promise<boolean>',
  ),
  title: z.string().min(1).default('Queues'),
  failures: z.number({ error: 'expected an integer from 1 to 1000' }).int().min(1).max(1000).default(20),
  basePath: z.string().regex(/^\//, 'expected a path starting with "/"').default('/'),
}) satisfies z.ZodType<Required<DashboardOptions>, DashboardOptions>

/** Compiles only while the schema and {@link DashboardOptions} list the same keys. */
true satisfies OptionsSchemaMatch<typeof dashboardOptionsSchema, DashboardOptions>
