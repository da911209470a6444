// The router's run span point: `tracing:headroom:shard:run:*` (see core's createTracingChannel).
import { createTracingChannel } from '@headroom/core'

/**
 * The context of a traced `router.run`: whether it asked for a write, and the shard and
 * role (`primary` or `replica`) it ran on, set when the function starts (undefined when
 * routing refused the call).
 */
export interface RunTraceContext {
  write: boolean
  shard: string | undefined
  role: 'primary' | 'replica' | undefined
}

export const runTrace = createTracingChannel<RunTraceContext>('shard', 'run')
