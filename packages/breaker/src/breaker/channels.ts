// diagnostics_channel tracing (`headroom:breaker:<event>`) for every breaker in the
// process: one set of channels, made once at load.
import { createChannels } from '@headroom/core'
import type { StateChange } from './types.js'

type Channels = {
  state: StateChange
  reject: { name: string; error: Error }
  failure: { name: string; error: unknown; latencyMs: number }
  slow: { name: string; latencyMs: number; failed: boolean }
}
export const channels = createChannels<Channels>('breaker', ['state', 'reject', 'failure', 'slow'])
