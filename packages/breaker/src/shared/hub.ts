import { randomBytes } from 'node:crypto'
import {
  assertKeyPrefix,
  type Clock,
  childLogger,
  createCommandTimeout,
  createFailureGate,
  hashTaggedKey,
  isCluster,
  type Logger,
  type RedisClient,
  runScript,
  StoreUnavailableError,
  systemClock,
  type TimerHandle,
} from '@headroom/core'
import { decodeMessage, encodeMessage, type HubMessage } from './messages.js'
import { acquireProbeScript, closeScript, openScript } from './scripts.js'

/** How long past its open period a fleet still counts as tripped (waiting for its probe). */
const TRIPPED_MARGIN_MS = 10 * 60_000

/** Options of {@link createBreakerHub}. */
export interface BreakerHubOptions {
  /** The client that runs the scripts (standalone or Cluster). The hub never closes it. */
  redis: RedisClient
  /** Key and channel prefix: breakers share state when prefix and name match. @default 'headroom:breaker' */
  prefix?: string
  /**
   * A client the hub may put in subscriber mode. @default redis.duplicate(), owned
   * (and closed) by the hub
   */
  subscriber?: RedisClient
  /**
   * Timeout of each Redis command, in ms. No call ever waits on Redis (state changes
   * are written in the background), so this only bounds how soon a dead Redis is
   * noticed. @default 500
   */
  commandTimeoutMs?: number
  /** @default systemClock */
  clock?: Clock
  /** @default silent */
  logger?: Logger
}

/** The answer to a half-open request. */
export type ProbeGrant =
  | { kind: 'lease'; ms: number }
  | { kind: 'closed' }
  | { kind: 'open'; ms: number }
  | { kind: 'busy'; ms: number }

/** Listens to one breaker's fleet messages. */
export type HubListener = (message: HubMessage) => void

/**
 * Brings one breaker in line with the fleet after a gap (start-up, a Redis outage, a
 * resubscription): publish a local open the fleet missed, or adopt the fleet's open.
 * Rejects when Redis could not be reached, and the hub tries again later.
 */
export type HubSync = () => Promise<void>

/**
 * Carries the state of shared breakers through Redis: one subscriber connection and
 * one channel for every breaker registered on it (a registry of a thousand host
 * breakers uses one connection), scripts with one round trip per state change, a
 * command timeout and a failure gate so a dead Redis is not waited on.
 */
export interface BreakerHub {
  /** This instance's id in the fleet (the lease holder's value, a message's origin). */
  readonly id: string
  readonly prefix: string
  /** `redis` while Redis answers, `local` while the failure gate has it marked down. */
  readonly mode: 'redis' | 'local'
  /** Resolves once the hub listens on its channel (it subscribes when the first breaker registers). */
  ready(): Promise<void>
  /**
   * Listens to one name's fleet messages and syncs it now and after every gap; the
   * function unregisters.
   */
  register(name: string, listener: HubListener, sync: HubSync): () => void
  /** Runs `name`'s sync again soon (after a write the fleet may have missed). */
  requestSync(name: string): void
  /**
   * Opens the fleet; resolves with the open time left (the fleet's, when it was
   * already open). `force` overrides an open fleet's time; `sync` publishes only when
   * the fleet has not heard of an outage (0: it has, and probes).
   */
  markOpen(name: string, ms: number, mode?: 'decision' | 'force' | 'sync'): Promise<number>
  markClosed(name: string): Promise<void>
  acquireProbe(name: string, leaseMs: number): Promise<ProbeGrant>
  /** The fleet's open time left, in ms (0 when closed). */
  readOpen(name: string): Promise<number>
  stats(): { mode: 'redis' | 'local'; storeErrors: number; messagesIn: number; breakers: number }
  close(): Promise<void>
}

/**
 * @example
 * const hub = createBreakerHub({ redis })
 * const a = createBreaker(callA, { shared: { hub, name: 'astro-a' } })
 * const b = createBreaker(callB, { shared: { hub, name: 'astro-b' } })
 */
export function createBreakerHub(options: BreakerHubOptions): BreakerHub {
  const prefix = options.prefix ?? 'headroom:breaker'
  assertKeyPrefix(prefix)
  const { redis } = options
  if (typeof redis?.evalsha !== 'function')
    throw new TypeError('Invalid createBreakerHub option "redis": expected an ioredis client')
  const clock = options.clock ?? systemClock
  const logger = childLogger(options.logger, { component: 'breaker-hub' })
  const id = randomBytes(8).toString('hex')
  const channel = `${prefix}:events`
  const timeout = createCommandTimeout(options.commandTimeoutMs ?? 500, clock)
  const listeners = new Map<string, HubListener>()
  const syncs = new Map<string, HubSync>()
  // Names whose last sync failed: retried on one timer until Redis answers.
  const unsynced = new Set<string>()
  let resyncTimer: TimerHandle | undefined
  let storeErrors = 0
  let messagesIn = 0
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

  const ownsSubscriber = options.subscriber === undefined
  let subscriber: RedisClient | undefined
  let readyOnce = false
  let subscribed: Promise<void> = Promise.resolve()

  const onMessage = (from: string, raw: string) => {
    if (from !== channel) return
    const decoded = decodeMessage(raw)
    if (!decoded || decoded.origin === id) return
    messagesIn++
    listeners.get(decoded.name)?.(decoded.message)
  }
  const onReady = () => {
    // ioredis resubscribes by itself; what was published meanwhile is read back.
    if (readyOnce) void resync([...syncs.keys()])
    readyOnce = true
  }
  const onError = (error: unknown) => logger.debug({ err: error }, 'breaker hub: subscriber error')

  // Loads the scripts ahead of the first state change, so the first open (the one that
  // matters) is one EVALSHA, not a NOSCRIPT answer and an EVAL.
  function preloadScripts(): void {
    if (closed) return
    if ((redis as { status?: string }).status !== 'ready') {
      redis.once('ready', preloadScripts)
      return
    }
    const targets = isCluster(redis) ? redis.nodes('master') : [redis]
    for (const node of targets)
      for (const script of [openScript, closeScript, acquireProbeScript])
        node.script('LOAD', script.lua).catch(() => {})
  }

  function subscribe(): void {
    if (subscriber) return
    preloadScripts()
    subscriber = options.subscriber ?? redis.duplicate()
    subscriber.on('message', onMessage)
    subscriber.on('ready', onReady)
    subscriber.on('error', onError)
    if ((subscriber as { status?: string }).status === 'ready') readyOnce = true
    subscribed = subscriber.subscribe(channel).then(
      () => {},
      (error: unknown) => {
        storeErrors++
        logger.warn({ err: error }, 'breaker hub: subscribe failed; breakers run on local state')
      },
    )
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
    ready: () => subscribed,
    register(name, listener, sync) {
      if (closed) throw new Error('The breaker hub is closed')
      if (listeners.has(name)) throw new Error(`A breaker named "${name}" is already registered on this hub`)
      listeners.set(name, listener)
      syncs.set(name, sync)
      subscribe()
      // Join an open fleet: an instance started mid-outage opens too. Read again once the
      // subscription is live: an open published between the first read and the subscribe
      // would otherwise be missed until the next state change.
      void syncOne(name)
      void subscribed.then(() => syncOne(name))
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
      const left = Number(ms) > 0 ? Number(ms) : 25
      if (kind === 3) return { kind: 'closed' }
      if (kind === 0) return { kind: 'lease', ms: left }
      if (kind === 1) return { kind: 'open', ms: left }
      return { kind: 'busy', ms: left }
    },
    readOpen,
    stats() {
      return {
        mode: gate.state === 'closed' ? 'redis' : 'local',
        storeErrors,
        messagesIn,
        breakers: listeners.size,
      }
    },
    async close() {
      if (closed) return
      closed = true
      redis.off('ready', preloadScripts)
      listeners.clear()
      syncs.clear()
      unsynced.clear()
      if (resyncTimer !== undefined) clock.clearTimeout(resyncTimer)
      resyncTimer = undefined
      timeout.close()
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
