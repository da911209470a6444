// Load shedding: while the service's health status is `critical`, jobs less urgent than
// `minPriority` wait (workers claim only more urgent ones) or, in `refuse` mode, `add`
// refuses them.
import { createChannels, type Emitter, OverloadedError } from '@headroom/core'
import { resolvePriority } from '../shared/priority.js'
import type { ResolvedQueueOptions } from './queue-options.js'
import type { QueueEvents } from './queue-types.js'

const channels = createChannels<{ refused: { queue: string; name: string; priority: number } }>('queue', [
  'refused',
])

export type Shedding = ReturnType<typeof createShedding>

/** The load shedding of one queue; with no `options.shedding` it never sheds. */
export function createShedding(options: ResolvedQueueOptions, events: Emitter<QueueEvents>) {
  const shedFloor = options.shedding ? resolvePriority(options.shedding.minPriority, 100) : undefined
  let refused = 0

  const critical = () => options.shedding !== undefined && options.shedding.status() === 'critical'

  return {
    critical,
    /** Jobs `add` refused so far. */
    refused: () => refused,
    /** The least urgent priority workers may claim now, or undefined for all. */
    claimCeiling(): number | undefined {
      if (shedFloor === undefined || !critical()) return undefined
      return shedFloor
    },
    /** Throws `E_OVERLOADED` (and reports it) when `add` must refuse this job now. */
    admit(name: string, priority: number): void {
      if (
        shedFloor !== undefined &&
        priority > shedFloor &&
        options.shedding?.mode === 'refuse' &&
        critical()
      ) {
        refused++
        events.emit('refused', { name, priority })
        channels.refused.publish({ queue: options.name, name, priority })
        throw new OverloadedError(
          `Queue "${options.name}" refused job "${name}" (priority ${priority}): the service is critical and sheds work below priority ${shedFloor}`,
        )
      }
    },
  }
}
