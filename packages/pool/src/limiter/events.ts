// What a limiter tells the world: its typed events (limit changes, refusals) and the same
// on the package's diagnostics channels; payloads are built only when someone listens.
import { createEmitter, type Logger } from '@headroom/core'
import { poolChannels } from '../shared/channels.js'
import type { RejectReason } from '../shared/errors.js'
import type { LimitChangeReason, LimiterEvents } from './types.js'

export function createLimiterEvents(name: string, logger: Logger) {
  const events = createEmitter<LimiterEvents>((error, event) =>
    logger.error({ err: error, event }, 'limiter listener threw'),
  )
  return {
    on: events.on,
    clear: events.clear,
    limitChanged(old: number, next: number, reason: LimitChangeReason) {
      logger.debug({ old, new: next, reason }, 'concurrency limit changed')
      if (events.has('limit')) events.emit('limit', { name, old, new: next, reason })
      if (poolChannels.limit.hasSubscribers) poolChannels.limit.publish({ name, old, new: next, reason })
    },
    rejected(partition: string, reason: RejectReason) {
      if (events.has('reject')) events.emit('reject', { name, partition, reason })
      if (poolChannels.reject.hasSubscribers) poolChannels.reject.publish({ name, partition, reason })
    },
  }
}
