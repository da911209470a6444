/** A listener map: event name → payload type. */
export type EventMap = { [event: string]: unknown }

/** Subscribes to typed events; the returned function unsubscribes. */
export interface Subscribable<Events extends EventMap> {
  on<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): () => void
}

/** The emitting side, kept private by the component that owns it. */
export interface Emitter<Events extends EventMap> extends Subscribable<Events> {
  emit<E extends keyof Events & string>(event: E, payload: Events[E]): void
  /** True when someone listens: lets hot paths skip building a payload. */
  has(event: keyof Events & string): boolean
  /** Drops every listener (on `close()`). */
  clear(): void
}

/**
 * A small typed event emitter. A listener that throws is reported to `onListenerError`
 * (the component's logger) and never breaks the emitter or its other listeners.
 *
 * @example
 * const events = createEmitter<{ hit: { key: string } }>()
 * const off = events.on('hit', ({ key }) => console.log(key))
 * events.emit('hit', { key: 'a' })
 * off()
 */
export function createEmitter<Events extends EventMap>(
  onListenerError: (error: unknown, event: string) => void = () => {},
): Emitter<Events> {
  const listeners = new Map<string, Set<(payload: never) => void>>()

  return {
    on(event, listener) {
      let set = listeners.get(event)
      if (!set) {
        set = new Set()
        listeners.set(event, set)
      }
      set.add(listener as (payload: never) => void)
      return () => {
        set.delete(listener as (payload: never) => void)
        if (set.size === 0 && listeners.get(event) === set) listeners.delete(event)
      }
    },
    emit(event, payload) {
      const set = listeners.get(event)
      if (!set) return
      for (const listener of set) {
        try {
          ;(listener as (payload: unknown) => void)(payload)
        } catch (error) {
          onListenerError(error, event)
        }
      }
    },
    has: (event) => listeners.has(event),
    clear: () => listeners.clear(),
  }
}
