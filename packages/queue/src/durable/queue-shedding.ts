// Load shedding: while the service's health status is `critical`, jobs less urgent than
// `minPriority` wait (workers claim only more urgent ones) or, in `refuse` mode, `add`
// refuses them.
import { createChannels, type Emitter, OverloadedError } from '@headroom/core'
import type { ResolvedQueueOptions } from './queue-options.js'
import type { QueueEvents } from './queue-types.js'

const channels = createChannels<{ refused: { queue: string; name: string; priority: number } }>('queue', [
  'refused',
])

/** The load shedding of one queue; with no `options.shedding` it never sheds. */
export class Shedding {
  readonly #options: ResolvedQueueOptions
  readonly #events: Emitter<QueueEvents>
  readonly #floor: number | undefined
  #refused = 0

  constructor(options: ResolvedQueueOptions, events: Emitter<QueueEvents>) {
    this.#options = options
    this.#events = events
    this.#floor = options.shedding?.minPriority
  }

  critical(): boolean {
    return this.#options.shedding !== undefined && this.#options.shedding.status() === 'critical'
  }

  /** Jobs `add` refused so far. */
  refused(): number {
    return this.#refused
  }

  /** The least urgent priority workers may claim now, or undefined for all. */
  claimCeiling(): number | undefined {
    if (this.#floor === undefined || !this.critical()) return undefined
    return this.#floor
  }

  /** Throws `E_OVERLOADED` (and reports it) when `add` must refuse this job now. */
  admit(name: string, priority: number): void {
    const floor = this.#floor
    const options = this.#options
    if (floor !== undefined && priority > floor && options.shedding?.mode === 'refuse' && this.critical()) {
      this.#refused++
      this.#events.emit('refused', { name, priority })
      channels.refused.publish({ queue: options.name, name, priority })
      throw new OverloadedError(
        `Queue "${options.name}" refused job "${name}" (priority ${priority}): the service is critical and sheds work below priority ${floor}`,
      )
    }
  }
}
