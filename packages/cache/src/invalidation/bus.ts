import { type CommandTimeout, isCluster, type Logger, type RedisClient } from '@headroom/core'

/** An invalidation carried between instances: keys, tags, or everything. */
export interface BusMessage {
  keys?: string[]
  /** For a write of one key: the entry's write id, so a receiver that already holds it keeps it. */
  written?: number
  tags?: string[]
  clear?: true
}

/** L1 coherence across instances over Redis pub/sub (sharded pub/sub on a Cluster). */
export interface Bus {
  /** Resolves once the subscription is live (messages published after it are delivered). */
  readonly ready: Promise<void>
  publish(message: BusMessage): Promise<void>
  close(): Promise<void>
}

export interface BusOptions {
  client: RedisClient
  channel: string
  /** This instance's id: its own messages come back and are ignored. */
  instanceId: string
  timeout: CommandTimeout
  logger: Logger
  onMessage(message: BusMessage): void
  /** The subscription dropped and came back: messages may have been missed. */
  onReconnect(): void
}

/**
 * Wire format: `<instanceId>\n<json>`, so a receiver drops its own echo without
 * parsing the body.
 */
export function createBus(options: BusOptions): Bus {
  const { client, channel, instanceId } = options
  const cluster = isCluster(client)
  // A subscribed connection can send nothing else, so the bus has its own. On a Cluster,
  // sharded pub/sub keeps each message on the shard owning the channel's slot instead
  // of broadcasting it over the whole cluster bus.
  const subscriber: RedisClient = cluster
    ? client.duplicate([], { shardedSubscribers: true, lazyConnect: false })
    : client.duplicate({ enableOfflineQueue: true, lazyConnect: false })
  let closed = false
  let live = false

  subscriber.on('error', (error: Error) => {
    options.logger.debug({ err: error }, 'cache bus connection error')
  })
  const onMessage = (received: string | Buffer, payload: string | Buffer) => {
    if (String(received) !== channel) return
    const text = String(payload)
    const newline = text.indexOf('\n')
    if (newline === -1 || text.slice(0, newline) === instanceId) return
    let message: BusMessage
    try {
      message = JSON.parse(text.slice(newline + 1)) as BusMessage
    } catch {
      options.logger.warn({ channel }, 'cache bus: dropped a malformed message')
      return
    }
    options.onMessage(message)
  }
  subscriber.on(cluster ? 'smessage' : 'message', onMessage)
  // Messages published while the subscription was down are lost: the owner flushes L1.
  subscriber.on(cluster ? 'subscribersReady' : 'ready', () => {
    if (live && !closed) options.onReconnect()
  })

  const ready = (cluster ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel)).then(
    () => {
      live = true
    },
    (error: unknown) => {
      if (!closed) options.logger.warn({ err: error }, 'cache bus: subscribe failed; retried on reconnect')
    },
  )

  return {
    ready,
    async publish(message) {
      const payload = `${instanceId}\n${JSON.stringify(message)}`
      const sent = cluster ? client.spublish(channel, payload) : client.publish(channel, payload)
      await options.timeout.run(sent)
    },
    async close() {
      closed = true
      subscriber.removeAllListeners('smessage').removeAllListeners('message')
      subscriber.disconnect()
    },
  }
}
