// The limiter's run span point: `tracing:headroom:pool:run:*` (see core's createTracingChannel).
import { createTracingChannel } from '@headroom/core'

/**
 * The context of a traced `limiter.run`: the limiter's name, the partition asked for, and
 * `waitMs`, the time from the call to getting a slot (set when the function starts; it
 * stays undefined for a call refused or aborted before it ran).
 */
export interface RunTraceContext {
  limiter: string
  partition: string | undefined
  waitMs: number | undefined
}

export const runTrace = createTracingChannel<RunTraceContext>('pool', 'run')
