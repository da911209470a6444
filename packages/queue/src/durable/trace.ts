// The job-processing span point: `tracing:headroom:queue:process:*` (see core's
// createTracingChannel), around the handler call only.
import { createTracingChannel } from '@headroom/core'

/** The context of a traced handler call: the queue, the job's id and name, and the attempt (1 first). */
export interface ProcessTraceContext {
  queue: string
  jobId: string
  job: string
  attempt: number
}

export const processTrace = createTracingChannel<ProcessTraceContext>('queue', 'process')

/**
 * Runs `handler(job)` between the channel's start and end. The outcome is always a
 * promise here, so a synchronous handler settles a microtask later than untraced.
 */
export function traceHandler<J>(
  handler: (job: J) => unknown,
  job: J,
  context: ProcessTraceContext,
): Promise<unknown> {
  return processTrace.tracePromise(() => Promise.resolve(handler(job)), context)
}
