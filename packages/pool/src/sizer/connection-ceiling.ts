// The sizer's upper bound: `max`, or this instance's share of the database's
// max_connections (less `reserved`) when smaller. The adapter is asked for
// max_connections in the background until it answers; until then the bound is `min`,
// the smallest the share can ever be, so the pool never exceeds its share, not even
// in the moment before the database answers.
import type { Clock, Logger } from '@headroom/core'
import type { PoolTarget } from '../targets/pool-target.js'
import type { PoolSizerConfig } from './options.js'

/** The sizer's `max`, `instances`, `reserved` and `maxConnections` (asked of the target when undefined). */
export interface ConnectionCeilingOptions
  extends Pick<PoolSizerConfig, 'max' | 'instances' | 'reserved' | 'maxConnections'> {
  /** The sizer's lower bound: the ceiling never goes below it. */
  min: number
  target: PoolTarget
  clock: Clock
  logger: Logger
  /** The sizer is closed: an answer that comes after is dropped. */
  isClosed: () => boolean
  /** max_connections is known now, and gave this ceiling. */
  onKnown: (ceiling: number) => void
}

export function createConnectionCeiling(options: ConnectionCeilingOptions) {
  const { max, instances, reserved, min, target, clock, logger, isClosed, onKnown } = options
  let maxConnections = options.maxConnections
  const canAsk = target.maxConnections !== undefined
  const ceilingOf = () => {
    // A target that cannot be asked (generic-pool without `maxConnections`) is bounded by max.
    if (maxConnections === undefined) return canAsk ? min : max
    const share = Math.floor(maxConnections / instances) - reserved
    return Math.max(min, Math.min(max, share))
  }
  let ceiling = ceilingOf()
  let askingMaxConnections = false
  let maxConnectionsFailures = 0
  let nextMaxConnectionsAt = 0

  return {
    get ceiling() {
      return ceiling
    },
    get maxConnections() {
      return maxConnections
    },
    /** The ceiling is final: max_connections is known, or cannot be asked. */
    get known() {
      return maxConnections !== undefined || !canAsk
    },
    /** Asks the target for max_connections, unless known, being asked, or backing off. */
    learn() {
      if (maxConnections !== undefined || askingMaxConnections || !target.maxConnections) return
      if (clock.now() < nextMaxConnectionsAt) return
      askingMaxConnections = true
      target.maxConnections().then(
        (value) => {
          askingMaxConnections = false
          if (isClosed()) return
          maxConnections = value
          ceiling = ceilingOf()
          logger.debug({ maxConnections: value, ceiling }, 'database max_connections known')
          onKnown(ceiling)
        },
        (error: unknown) => {
          askingMaxConnections = false
          // Back off (1 s, 2 s, ... 30 s) so a dead database is not asked every interval; warn once.
          const delay = Math.min(30_000, 1000 * 2 ** maxConnectionsFailures)
          nextMaxConnectionsAt = clock.now() + delay
          const fields = { err: error, retryInMs: delay }
          const message = 'could not read max_connections; the ceiling is max until it answers'
          // Called as methods: pino's log functions read `this`.
          if (maxConnectionsFailures === 0) logger.warn(fields, message)
          else logger.debug(fields, message)
          maxConnectionsFailures++
        },
      )
    },
  }
}
