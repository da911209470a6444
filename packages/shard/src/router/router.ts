// The shard router: the routing path (route, run, forEachShard) and its counters. The
// topology owns the shards and lookup tables, target health owns ejections and lag, the
// session table owns read-your-writes; the router asks each through its verbs.
import { parseOptions } from '@headroom/core'
import type { PickContext } from '../balancer/types.js'
import { ShardUnavailableError } from '../shared/errors.js'
import type { ShardStrategy } from '../strategies/strategy.js'
import { createRouterChannels, createRouterEvents } from './events.js'
import { fanOut } from './fan-out.js'
import {
  checkForEachShardOptions,
  checkRouteOptions,
  checkRunOptions,
  routerOptionsSchema,
  type ShardRouterOptions,
} from './options.js'
import { createSessionTable } from './sessions.js'
import type { ShardEntry } from './shard-entry.js'
import { toShard } from './shard-spec.js'
import { createTargetHealth } from './target-health.js'
import { createTopology } from './topology.js'
import { type RunTraceContext, runTrace } from './trace.js'
import type { Route, RouteOptions, ShardRouter } from './types.js'

/**
 * Creates a shard router.
 *
 * @example
 * const router = createShardRouter({
 *   shards: [
 *     { id: 'users-1', primary: pool1, replicas: [replica1] },
 *     { id: 'users-2', primary: pool2 },
 *   ],
 * })
 * const { target } = router.route(`user:${userId}`, { write: true, session: userId })
 * await target.query('update users set ... where id = $1', [userId])
 * const counts = await router.forEachShard((pool) => pool.query('select count(*) from users'))
 */
export function createShardRouter<T, K = string>(input: ShardRouterOptions<T, K>): ShardRouter<T, K> {
  const options = parseOptions('createShardRouter', routerOptionsSchema, input)
  const { clock, logger } = options
  const events = createRouterEvents<T>(logger)
  const channels = createRouterChannels()
  // A session's entry outlives its window by maxReplicaLagMs: a replica in rotation lags at
  // most that much, so past it any replica has replayed the write.
  const sessions = createSessionTable({
    windowMs: options.readYourWritesMs,
    retainMs: options.maxReplicaLagMs,
    max: options.maxSessions,
    clock,
  })
  const topology = createTopology<T, K>({
    shards: options.shards.map((spec) => toShard<T>(spec)),
    strategy: options.strategy as 'hash' | ShardStrategy<K>,
    logicalShards: options.logicalShards,
    seed: options.seed,
    layout: options.layout,
    givenLogicalShards: input.logicalShards,
    givenSeed: input.seed,
    entries: {
      balancer: options.balancer,
      reserved: options.reserved as Record<string, readonly T[]>,
      clock,
      logger,
      random: options.random,
    },
    logger,
    events,
    channels,
  })
  const health = createTargetHealth<T>({
    placesOf: topology.placesOf,
    maxReplicaLagMs: options.maxReplicaLagMs,
    logger,
    events,
    channels,
  })
  // Bumped on the routing path, read by stats().
  let reads = 0
  let writes = 0
  let readYourWrites = 0
  let primaryFallbacks = 0
  let unavailableCount = 0

  const unavailable = (entry: ShardEntry<T>, write: boolean, why: string): never => {
    unavailableCount++
    events.emit('unavailable', { shard: entry.shard.id, write })
    channels.unavailable.publish({ shard: entry.shard.id, write })
    throw new ShardUnavailableError(
      `Shard "${entry.shard.id}" cannot serve the ${write ? 'write' : 'read'}: ${why}`,
    )
  }

  const routeEntry = (entry: ShardEntry<T>, key: K | undefined, opts: RouteOptions | undefined): Route<T> => {
    const shard = entry.shard
    if (opts?.write) {
      if (!entry.primaryUp)
        unavailable(entry, true, `its primary is ejected (${entry.primaryReasons().join(', ')})`)
      writes++
      if (opts.session !== undefined) sessions.markWrite(opts.session, shard.id)
      return { shard, target: shard.primary, role: 'primary' }
    }
    reads++
    const primaryUp = entry.primaryUp
    const windowEnd = opts?.session !== undefined ? sessions.windowEnd(opts.session, shard.id) : undefined
    if (primaryUp && windowEnd !== undefined && clock.now() < windowEnd) {
      readYourWrites++
      return { shard, target: shard.primary, role: 'primary' }
    }
    if (entry.replicas) {
      const context: PickContext = {
        key: opts?.clientKey ?? (typeof key === 'string' ? key : undefined),
        tier: opts?.tier,
      }
      const replica = entry.replicas.tryPick(context)
      if (replica !== undefined) {
        // After the window, a replica with measured replay serves the session only once
        // it has replayed what the primary held when the window closed.
        if (primaryUp && windowEnd !== undefined && health.tracksReplay) {
          const replayedAt = health.replayedAt(replica)
          if (replayedAt !== undefined && replayedAt < windowEnd) {
            readYourWrites++
            return { shard, target: shard.primary, role: 'primary' }
          }
        }
        return { shard, target: replica, role: 'replica' }
      }
      if (options.fallbackToPrimary && primaryUp) {
        primaryFallbacks++
        return { shard, target: shard.primary, role: 'primary' }
      }
      return unavailable(
        entry,
        false,
        'no replica is healthy' + (primaryUp ? '' : ' and its primary is ejected'),
      )
    }
    if (primaryUp) return { shard, target: shard.primary, role: 'primary' }
    return unavailable(entry, false, 'its primary is ejected and it has no replica')
  }

  const router: ShardRouter<T, K> = {
    on: events.on,
    get shards() {
      return topology.shards()
    },
    shardFor: topology.shardFor,
    shard: (id) => topology.entryOf(id).shard,
    route: (key, opts) => {
      if (opts !== undefined) checkRouteOptions(opts)
      return routeEntry(topology.entryFor(key), key, opts)
    },
    async run(key, fn, opts) {
      if (opts !== undefined) checkRunOptions(opts)
      const entry = topology.entryFor(key)
      const route = routeEntry(entry, key, opts)
      if (opts?.write && opts.session !== undefined) {
        // The window restarts when the write settles, so it covers the commit.
        const session = opts.session
        try {
          return await fn(route.target, route.shard)
        } finally {
          sessions.markWrite(session, route.shard.id)
        }
      }
      if (route.role !== 'replica' || !entry.replicas) return fn(route.target, route.shard)
      const end = entry.replicas.begin(route.target)
      try {
        const result = await fn(route.target, route.shard)
        end(true)
        return result
      } catch (error) {
        end(false)
        throw error
      }
    },
    forEachShard(fn, opts) {
      if (opts !== undefined) {
        try {
          checkForEachShardOptions(opts)
        } catch (error) {
          return Promise.reject(error)
        }
      }
      const entries = topology.entriesInOrder()
      return fanOut(
        entries.length,
        opts?.concurrency ?? entries.length,
        async (i) => {
          const route = routeEntry(entries[i]!, undefined, opts)
          return fn(route.target, route.shard)
        },
        (i) => entries[i]!.shard.id,
      )
    },
    plan: topology.plan,
    apply: topology.apply,
    addShard: topology.addShard,
    removeShard: topology.removeShard,
    layout: topology.layout,
    imbalance: () => topology.imbalance(options.imbalanceThreshold),
    eject: health.eject,
    readmit: health.readmit,
    reportLag: health.reportLag,
    isHealthy: health.isHealthy,
    stats() {
      const changes = topology.changeStats()
      return {
        strategy: topology.strategyKind,
        version: topology.version(),
        shards: topology.shards().length,
        logicalShards: topology.logicalShards,
        reads,
        writes,
        readYourWrites,
        primaryFallbacks,
        unavailable: unavailableCount,
        sessions: sessions.size,
        ejected: topology.ejectedTargets(),
        topologyChanges: changes.count,
        topologyChangeMs: changes.ms,
        maxImbalance: topology.isHash ? topology.imbalance(options.imbalanceThreshold).maxRatio : 1,
      }
    },
  }

  // The span point wraps `run` from outside: untraced, a call is `run` itself behind one
  // hasSubscribers read; traced, the context notes the shard and role the function ran on.
  const untracedRun = router.run
  router.run = (key, fn, opts) => {
    if (!runTrace.hasSubscribers) return untracedRun(key, fn, opts)
    const context: RunTraceContext = { write: opts?.write === true, shard: undefined, role: undefined }
    return runTrace.tracePromise(
      () =>
        untracedRun(
          key,
          (target, shard) => {
            context.shard = shard.id
            context.role = target === shard.primary ? 'primary' : 'replica'
            return fn(target, shard)
          },
          opts,
        ),
      context,
    )
  }
  return router
}
