// Keeps this instance's L1 coherent with the other instances sharing the prefix: local
// invalidations go out on the bus, received ones are applied here. Without Redis, or with
// `bus: false`, there is no bus and publishing does nothing.

import { randomBytes } from 'node:crypto'
import {
  type Clock,
  createCommandTimeout,
  isRedisDown,
  type Logger,
  type RedisClient,
  StoreUnavailableError,
} from '@headroom/core'
import type { CacheSignals } from '../metrics/cache-signals.js'
import type { L1 } from '../tiers/l1.js'
import { type Bus, type BusMessage, createBus } from './bus.js'

/**
 * What an invalidation does in this instance: the load registry's verbs, which drop the L1
 * copies and spoil the loads in flight.
 */
export interface LocalInvalidation {
  invalidateKey(key: string, written?: number): void
  invalidateTags(tags: readonly string[]): void
  flush(): void
}

export interface L1CoherenceOptions {
  redis: RedisClient | undefined
  /** The `bus` option: ignored without `redis`. */
  bus: boolean
  prefix: string
  commandTimeout: number
  clock: Clock
  logger: Logger
  signals: CacheSignals
  /** Read to keep an entry this instance already holds (same write id). */
  l1: Pick<L1, 'peek'>
  /** Applies what other instances invalidated (L1 and the loads in flight). */
  loads: LocalInvalidation
}

export interface L1Coherence {
  /** Resolves once the bus subscription is live (at once without a bus). */
  readonly ready: Promise<void>
  /** Sends an invalidation to the other instances; a failure is reported, never thrown. */
  publish(message: BusMessage): Promise<void>
  /** Sends an invalidation to the other instances; rejects when it was not sent. */
  send(message: BusMessage): Promise<void>
  close(): Promise<void>
}

export function createL1Coherence(options: L1CoherenceOptions): L1Coherence {
  const { clock, logger, signals, l1, loads } = options
  const instanceId = randomBytes(8).toString('hex')

  const busTimeout = createCommandTimeout(Math.max(options.commandTimeout, 250), clock)
  const bus: Bus | undefined =
    options.redis && options.bus
      ? createBus({
          client: options.redis,
          channel: `{${options.prefix}}:bus`,
          instanceId,
          timeout: busTimeout,
          logger,
          onMessage: receive,
          onReconnect() {
            signals.busReconnected()
            flushLocal('reconnect')
            logger.info('cache bus reconnected; L1 flushed (invalidations may have been missed)')
          },
        })
      : undefined

  function flushLocal(source: 'reconnect' | 'bus'): void {
    loads.flush()
    signals.invalidated({ clear: true, source })
  }

  function receive(message: BusMessage): void {
    signals.busReceived()
    if (message.clear) {
      flushLocal('bus')
      return
    }
    if (message.keys) {
      for (const key of message.keys) {
        // It already read the very entry that was written (same write id): keep it.
        if (message.written !== undefined && l1.peek(key)?.writeId === message.written) continue
        loads.invalidateKey(key, message.written)
      }
    }
    if (message.tags && message.tags.length > 0) {
      loads.invalidateTags(message.tags)
    }
    signals.invalidated({ keys: message.keys, tags: message.tags, source: 'bus' })
  }

  async function publish(message: BusMessage): Promise<void> {
    try {
      await send(message)
    } catch (error) {
      signals.storeError('publish', error)
    }
  }

  async function send(message: BusMessage): Promise<void> {
    if (!bus) return
    // Not into ioredis' offline queue: the caller learns now that it was not sent.
    if (isRedisDown(options.redis!)) {
      throw new StoreUnavailableError(`Redis connection is ${options.redis!.status}; invalidation not sent`)
    }
    await bus.publish(message)
    signals.busPublished()
  }

  return {
    ready: bus ? bus.ready : Promise.resolve(),
    publish,
    send,
    async close() {
      busTimeout.close()
      await bus?.close()
    },
  }
}
