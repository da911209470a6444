import {
  createEmitter,
  type OptionsSchemaMatch,
  parseOptions,
  type RedisClient,
  type Subscribable,
} from '@headroom/core'
import { z } from 'zod'
import { buildBreaker } from '../breaker/breaker.js'
import { type BreakerOptions, breakerOptionsSchema, registrySharedSchema } from '../breaker/options.js'
import { createTicker } from '../breaker/ticker.js'
import type { Breaker, BreakerState, BreakerStats, StateChange } from '../breaker/types.js'
import { createBreakerHub } from '../shared/hub.js'
import type { BreakerHub } from '../shared/hub-types.js'

/** Options of {@link createBreakerRegistry}. */
export interface BreakerRegistryOptions<Args extends unknown[], R> {
  /**
   * The call each keyed breaker protects, given the key first.
   * @default (key, task) => task(): `fire(key, () => work())` runs any thunk
   */
  action?: (key: string, ...args: Args) => Promise<R>
  /** Options of every breaker (each is named after its key). @default {} */
  defaults?: Omit<BreakerOptions<Args, R>, 'name' | 'shared'>
  /**
   * Most breakers kept. Past it the least recently used closed breaker (idle, if
   * any) is closed and dropped; its key starts afresh when used again.
   * @default 1000
   */
  max?: number
  /**
   * Share every breaker's state through Redis under its key, with one subscriber
   * connection for all of them. Give `redis` or a `hub`.
   * @default undefined (local only)
   */
  shared?: { redis?: RedisClient; hub?: BreakerHub; prefix?: string; probeLeaseMs?: number }
}

/** Payload of the registry's `state` event. */
export interface RegistryStateChange extends StateChange {
  key: string
}

/** What a balancer needs to eject an unhealthy target: its availability and a change feed. */
export interface TargetHealth {
  /** False while the target's breaker is open; true for a target never seen. */
  isAvailable(id: string): boolean
  /** Calls `listener` on every change; the function unsubscribes. */
  onChange(listener: (id: string, available: boolean, state: BreakerState) => void): () => void
}

/** Breakers by key (host, shard, tenant), made on first use and bounded. */
export interface BreakerRegistry<Args extends unknown[], R>
  extends Subscribable<{ [event: string]: unknown; state: RegistryStateChange }> {
  /** The breaker of `key`, made on first use. Do not keep it: an evicted breaker is closed. */
  get(key: string): Breaker<Args, R>
  /** `get(key).fire(...args)`. */
  fire(key: string, ...args: Args): Promise<R>
  has(key: string): boolean
  /** Closes and drops one breaker. */
  delete(key: string): Promise<void>
  keys(): string[]
  readonly size: number
  /** False while `key`'s breaker is open; true for an unknown key. */
  isAvailable(key: string): boolean
  /** The adapter a shard balancer or load balancer consumes to eject open targets. */
  toTargetHealth(): TargetHealth
  stats(): { size: number; max: number; evictions: number; breakers: Record<string, BreakerStats> }
  close(): Promise<void>
}

const registrySchema = z.object({
  action: z
    .custom<NonNullable<BreakerRegistryOptions<unknown[], unknown>['action']>>(
      (v) => typeof v === 'function',
      'Expected a function',
    )
    .optional(),
  defaults: breakerOptionsSchema.omit({ shared: true, name: true }).prefault({}),
  max: z.number().int().positive().default(1_000),
  shared: registrySharedSchema.optional(),
})
true satisfies OptionsSchemaMatch<typeof registrySchema, BreakerRegistryOptions<unknown[], unknown>>

interface Entry<Args extends unknown[], R> {
  breaker: Breaker<Args, R>
  used: number
}

/**
 * @example
 * const hosts = createBreakerRegistry({
 *   action: (host: string, path: string) => fetchJson(`https://${host}${path}`),
 *   defaults: { timeout: 2_000, resetTimeout: 10_000 },
 *   max: 500,
 * })
 * await hosts.fire('api-1.internal', '/v1/users')
 * balancer.eject(hosts.toTargetHealth())
 */
export function createBreakerRegistry<Args extends unknown[] = [task: () => Promise<unknown>], R = unknown>(
  options: BreakerRegistryOptions<Args, R> = {},
): BreakerRegistry<Args, R> {
  const o = parseOptions('createBreakerRegistry', registrySchema, options)
  const action = (o.action ?? ((_key: string, task: () => Promise<R>) => task())) as (
    key: string,
    ...args: Args
  ) => Promise<R>
  const defaults = o.defaults
  const clock = defaults.clock
  const logger = defaults.logger
  const ticker = createTicker(clock, defaults.rollingCountTimeout / defaults.rollingCountBuckets)
  const emitter = createEmitter<{ [event: string]: unknown; state: RegistryStateChange }>()
  const entries = new Map<string, Entry<Args, R>>()
  let hub: BreakerHub | undefined
  let ownsHub = false
  if (o.shared) {
    hub =
      o.shared.hub ??
      createBreakerHub({
        redis: o.shared.redis!,
        ...(o.shared.prefix ? { prefix: o.shared.prefix } : {}),
        clock,
        ...(logger ? { logger } : {}),
      })
    ownsHub = o.shared.hub === undefined
  }
  const resolved = o.shared?.probeLeaseMs
    ? { ...defaults, shared: { name: 'registry', probeLeaseMs: o.shared.probeLeaseMs } }
    : defaults
  let tick = 0
  let evictions = 0
  let closed = false

  const evictOne = () => {
    // Prefer a closed, idle breaker: dropping an open one would forget an outage.
    let victim: string | undefined
    let victimUsed = Number.POSITIVE_INFINITY
    let fallback: string | undefined
    let fallbackUsed = Number.POSITIVE_INFINITY
    for (const [key, entry] of entries) {
      if (entry.used < fallbackUsed) {
        fallback = key
        fallbackUsed = entry.used
      }
      if (
        entry.used < victimUsed &&
        entry.breaker.state === 'closed' &&
        entry.breaker.stats().inFlight === 0
      ) {
        victim = key
        victimUsed = entry.used
      }
    }
    const key = victim ?? fallback
    if (key === undefined) return
    const entry = entries.get(key)!
    entries.delete(key)
    evictions++
    void entry.breaker.close()
  }

  const get = (key: string): Breaker<Args, R> => {
    const found = entries.get(key)
    if (found) {
      found.used = ++tick
      return found.breaker
    }
    if (closed) throw new Error('The breaker registry is closed')
    if (typeof key !== 'string' || key.length === 0)
      throw new TypeError(
        `Breaker registry: expected a non-empty string key (received ${JSON.stringify(key)})`,
      )
    if (entries.size >= o.max) evictOne()
    const breaker = buildBreaker<Args, R>((...args: Args) => action(key, ...args), resolved, {
      ticker,
      ...(hub ? { hub } : {}),
      sharedName: key,
      name: key,
    })
    breaker.on('state', (change) => emitter.emit('state', { ...change, key }))
    entries.set(key, { breaker, used: ++tick })
    return breaker
  }

  return {
    get,
    fire: (key, ...args) => get(key).fire(...args),
    has: (key) => entries.has(key),
    async delete(key) {
      const entry = entries.get(key)
      if (!entry) return
      entries.delete(key)
      await entry.breaker.close()
    },
    keys: () => [...entries.keys()],
    get size() {
      return entries.size
    },
    isAvailable: (key) => entries.get(key)?.breaker.isAvailable() ?? true,
    toTargetHealth() {
      return {
        isAvailable: (id) => entries.get(id)?.breaker.isAvailable() ?? true,
        onChange: (listener) =>
          emitter.on('state', (change) => listener(change.key, change.state !== 'open', change.state)),
      }
    },
    on: emitter.on,
    stats() {
      const breakers: Record<string, BreakerStats> = {}
      for (const [key, entry] of entries) breakers[key] = entry.breaker.stats()
      return { size: entries.size, max: o.max, evictions, breakers }
    },
    async close() {
      if (closed) return
      closed = true
      const all = [...entries.values()]
      entries.clear()
      await Promise.all(all.map((entry) => entry.breaker.close()))
      ticker.close()
      emitter.clear()
      if (ownsHub) await hub?.close()
    },
  }
}
