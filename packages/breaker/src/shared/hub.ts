import { randomBytes } from 'node:crypto'
import {
  assertKeyPrefix,
  childLogger,
  createCommandTimeout,
  createFailureGate,
  hashTaggedKey,
  parseOptions,
  runScript,
  StoreUnavailableError,
  type TimerHandle,
} from '@headroom/core'
import { type BreakerHubOptions, hubOptionsSchema } from './hub-options.js'
import { createHubSubscriber } from './hub-subscriber.js'
import type { BreakerHub, HubListener, HubSync } from './hub-types.js'
import { encodeMessage } from './messages.js'
import { preloadScripts } from './preload-scripts.js'
import { toProbeGrant } from './probe-grant.js'
import { acquireProbeScript, closeScript, openScript } from './scripts.js'

/** How long past its open period a fleet still counts as tripped (waiting for its probe). */
const TRIPPED_MARGIN_MS = 10 * 60_000

/**
 * @example
 * const hub = createBreakerHub({ redis })
 * const a = createBreaker(callA, { shared: { hub, name: 'astro-a' } })
 * const b = createBreaker(callB, { shared: { hub, name: 'astro-b' } })
 */
export function createBreakerHub(options: BreakerHubOptions): BreakerHub {
  const o = parseOptions('createBreakerHub', hubOptionsSchema, options)
  const { redis, prefix, clock } = o
  assertKeyPrefix(prefix)
  const logger = childLogger(o.logger, { component: 'breaker-hub' })
  const id = randomBytes(8).toString('hex')
  const channel = `${prefix}:events`
  const timeout = createCommandTimeout(o.commandTimeoutMs, clock)
  const listeners = new Map<string, HubListener>()
  const syncs = new Map<string, HubSync>()
  // Names whose last sync failed: retried on one timer until Redis answers.
  const unsynced = new Set<string>()
  let resyncTimer: TimerHandle | undefined
  let stopPreload: (() => void) | undefined
  let storeErrors = 0
  let closed = false

  const gate = createFailureGate({
    failureThreshold: 2,
    cooldownMs: 250,
    maxCooldownMs: 2_000,
    clock,
    onStateChange(next, previous) {
      logger.warn({ next, previous }, 'breaker hub: Redis gate changed')
      // Redis is back: messages may have been missed while it was away.
      if (next === 'closed') void resync([...syncs.keys()])
    },
  })

  const subscriber = createHubSubscriber({
    redis,
    subscriber: o.subscriber,
    channel,
    id,
    deliver: (name, message) => listeners.get(name)?.(message),
    logger,
    onReconnect: () => void resync([...syncs.keys()]),
    onSubscribeFailed: () => {
      storeErrors++
    },
  })

  const keys = (name: string) => [
    hashTaggedKey(prefix, name, 'open'),
    hashTaggedKey(prefix, name, 'probe'),
    hashTaggedKey(prefix, name, 'tripped'),
  ]

  async function command<T>(run: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError('The breaker hub is closed')
    if (!gate.allow()) throw new StoreUnavailableError('Redis is marked down; breakers run on local state')
    try {
      const value = await timeout.run(run())
      gate.success()
      return value
    } catch (error) {
      storeErrors++
      gate.failure()
      throw error
    }
  }

  async function readOpen(name: string): Promise<number> {
    const ms = await command(() => redis.pttl(keys(name)[0]!))
    return Math.max(ms, 0)
  }

  async function syncOne(name: string): Promise<void> {
    const sync = syncs.get(name)
    if (!sync || closed) return
    try {
      await sync()
      unsynced.delete(name)
    } catch {
      unsynced.add(name)
      armResync()
    }
  }

  function armResync(): void {
    if (resyncTimer !== undefined || closed) return
    resyncTimer = clock.setTimeout(() => {
      resyncTimer = undefined
      void resync([...unsynced])
    }, 1_000)
  }

  async function resync(names: string[]): Promise<void> {
    await Promise.all(names.map(syncOne))
  }

  return {
    id,
    prefix,
    get mode() {
      return gate.state === 'closed' ? 'redis' : 'local'
    },
    ready: () => subscriber.ready(),
    register(name, listener, sync) {
      if (closed) throw new Error('The breaker hub is closed')
      if (listeners.has(name)) throw new Error(`A breaker named "${name}" is already registered on this hub`)
      listeners.set(name, listener)
      syncs.set(name, sync)
      stopPreload ??= preloadScripts(redis)
      subscriber.start()
      // Join an open fleet: an instance started mid-outage opens too. Read again once the
      // subscription is live: an open published between the first read and the subscribe
      // would otherwise be missed until the next state change.
      void syncOne(name)
      void subscriber.ready().then(() => syncOne(name))
      return () => {
        if (listeners.get(name) !== listener) return
        listeners.delete(name)
        syncs.delete(name)
        unsynced.delete(name)
      }
    },
    requestSync(name) {
      if (!syncs.has(name)) return
      unsynced.add(name)
      armResync()
    },
    async markOpen(name, ms, mode = 'decision') {
      const message = encodeMessage(name, id, { type: 'open', ms })
      const left = await command(() =>
        runScript<number>(redis, openScript, keys(name), [
          Math.ceil(ms),
          id,
          channel,
          message,
          mode === 'force' ? '1' : mode === 'sync' ? '2' : '0',
          // Outlives the open period by a margin for the half-open episode; a close drops it.
          Math.ceil(ms) + TRIPPED_MARGIN_MS,
        ]),
      )
      return Number(left)
    },
    async markClosed(name) {
      const message = encodeMessage(name, id, { type: 'close' })
      await command(() => runScript(redis, closeScript, keys(name), [channel, message]))
    },
    async acquireProbe(name, leaseMs) {
      const [kind, ms] = await command(() =>
        runScript<[number, number]>(redis, acquireProbeScript, keys(name), [id, Math.ceil(leaseMs)]),
      )
      return toProbeGrant(kind, ms)
    },
    readOpen,
    stats() {
      return {
        mode: gate.state === 'closed' ? 'redis' : 'local',
        storeErrors,
        messagesIn: subscriber.messagesIn,
        breakers: listeners.size,
      }
    },
    async close() {
      if (closed) return
      closed = true
      stopPreload?.()
      listeners.clear()
      syncs.clear()
      unsynced.clear()
      if (resyncTimer !== undefined) clock.clearTimeout(resyncTimer)
      resyncTimer = undefined
      timeout.close()
      await subscriber.close()
    },
  }
}
