// The hub's subscriber connection: one per hub, however many breakers are registered,
// made on the first registration. It hands each fleet message to its breaker's listener
// and reports a reconnect, after which the hub reads back what it missed.
import type { Logger, RedisClient } from '@headroom/core'
import type { BreakerHubOptions } from './hub-options.js'
import { decodeMessage, type HubMessage } from './messages.js'

export interface HubSubscriberDeps {
  redis: RedisClient
  /** `options.subscriber`; undefined: the hub duplicates `redis` and owns the copy. */
  subscriber: BreakerHubOptions['subscriber']
  channel: string
  /** The hub's id: its own messages are not handed back to it. */
  id: string
  /** Hands one fleet message to the breaker it names (the hub keeps the listeners). */
  deliver(name: string, message: HubMessage): void
  logger: Logger
  /** The connection came back: what was published meanwhile was missed. */
  onReconnect(): void
  /** The subscribe failed: breakers run on local state. */
  onSubscribeFailed(): void
}

export interface HubSubscriber {
  /** Subscribes, once; later calls do nothing. */
  start(): void
  /** Resolves once subscribed (at once before `start()`, and after a failed subscribe too). */
  ready(): Promise<void>
  /** Fleet messages handed to a listener so far. */
  readonly messagesIn: number
  /** Stops listening; quits the connection when the hub made it. */
  close(): Promise<void>
}

export function createHubSubscriber(deps: HubSubscriberDeps): HubSubscriber {
  const { redis, channel, id, logger } = deps
  const ownsSubscriber = deps.subscriber === undefined
  let subscriber: RedisClient | undefined
  let readyOnce = false
  let subscribed: Promise<void> = Promise.resolve()
  let messagesIn = 0

  const onMessage = (from: string, raw: string) => {
    if (from !== channel) return
    const decoded = decodeMessage(raw)
    if (!decoded || decoded.origin === id) return
    messagesIn++
    deps.deliver(decoded.name, decoded.message)
  }
  const onReady = () => {
    // ioredis resubscribes by itself; what was published meanwhile is read back.
    if (readyOnce) deps.onReconnect()
    readyOnce = true
  }
  const onError = (error: unknown) => logger.debug({ err: error }, 'breaker hub: subscriber error')

  return {
    start() {
      if (subscriber) return
      subscriber = deps.subscriber ?? redis.duplicate()
      subscriber.on('message', onMessage)
      subscriber.on('ready', onReady)
      subscriber.on('error', onError)
      if ((subscriber as { status?: string }).status === 'ready') readyOnce = true
      subscribed = subscriber.subscribe(channel).then(
        () => {},
        (error: unknown) => {
          deps.onSubscribeFailed()
          logger.warn({ err: error }, 'breaker hub: subscribe failed; breakers run on local state')
        },
      )
    },
    ready: () => subscribed,
    get messagesIn() {
      return messagesIn
    },
    async close() {
      const sub = subscriber
      subscriber = undefined
      if (!sub) return
      sub.off('message', onMessage)
      sub.off('ready', onReady)
      if (ownsSubscriber) {
        // The error listener stays: a socket may still report after quit().
        await sub.quit().catch(() => sub.disconnect())
      } else {
        await sub.unsubscribe(channel).catch(() => {})
        sub.off('error', onError)
      }
    },
  }
}
