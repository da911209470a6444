import diagnosticsChannel from 'node:diagnostics_channel'

/** The `diagnostics_channel` name for an event: `headroom:<pkg>:<event>`. */
export function channelName(pkg: string, event: string): string {
  return `headroom:${pkg}:${event}`
}

/** A channel that publishes only when someone subscribed, so an idle channel costs one property read. */
export interface HeadroomChannel<Message> {
  readonly name: string
  readonly hasSubscribers: boolean
  publish(message: Message): void
}

/**
 * Creates the `diagnostics_channel` channels of one package, named
 * `headroom:<pkg>:<event>` (tracing tools subscribe by name, without importing Headroom).
 *
 * @example
 * const channels = createChannels<{ hit: { key: string } }>('cache', ['hit'])
 * if (channels.hit.hasSubscribers) channels.hit.publish({ key })
 */
export function createChannels<Messages extends Record<string, unknown>>(
  pkg: string,
  events: readonly (keyof Messages & string)[],
): { [E in keyof Messages]: HeadroomChannel<Messages[E]> } {
  const channels = {} as { [E in keyof Messages]: HeadroomChannel<Messages[E]> }
  for (const event of events) {
    const channel = diagnosticsChannel.channel(channelName(pkg, event))
    channels[event] = {
      name: channel.name as string,
      get hasSubscribers() {
        return channel.hasSubscribers
      },
      publish(message) {
        if (channel.hasSubscribers) channel.publish(message)
      },
    }
  }
  return channels
}
