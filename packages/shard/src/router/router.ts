// The shard router: its lookup tables and the routing path (shardFor, route, run,
// forEachShard) live here, in one closure, so a lookup is a few array reads with no
// indirection. Construction details, topology changes, target health and stats are
// cold and live in their own files.
import {
  type Clock,
  createLatencyHistogram,
  type Logger,
  murmur3,
  parseOptions,
  silentLogger,
  systemClock,
} from '@headroom/core'
import type { PickContext } from '../balancer/types.js'
import { imbalanceOf } from '../placement/imbalance.js'
import { encodeLayout } from '../placement/layout.js'
import type { OwnerTable, Placement } from '../placement/placement.js'
import { ShardUnavailableError, UnknownShardError, UnsupportedOperationError } from '../shared/errors.js'
import type { ShardStrategy } from '../strategies/strategy.js'
import { createRouterChannels, createRouterEvents } from './events.js'
import { fanOut } from './fan-out.js'
import { initialPlacement } from './initial-placement.js'
import {
  checkForEachShardOptions,
  checkRouteOptions,
  checkRunOptions,
  routerOptionsSchema,
  type ShardRouterOptions,
} from './options.js'
import { createSessionTable } from './sessions.js'
import { carryEntries, createEntry, type EntrySettings, type ShardEntry } from './shard-entry.js'
import { type Shard, toShard } from './shard-spec.js'
import { createRouterCounters, createStatsReader } from './stats.js'
import { createTargetHealth } from './target-health.js'
import { createTargetIndex } from './target-index.js'
import { createTopologyChanges } from './topology.js'
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
  const clock: Clock = (options.clock as Clock | undefined) ?? systemClock
  const logger = (options.logger as Logger | undefined) ?? silentLogger
  const strategy = options.strategy as 'hash' | ShardStrategy<K>
  const isHash = strategy === 'hash'
  const L = options.logicalShards
  const seed = options.seed
  const events = createRouterEvents<T>(logger)
  const channels = createRouterChannels()
  const settings: EntrySettings<T> = {
    balancer: options.balancer,
    reserved: options.reserved as Record<string, readonly T[]>,
    clock,
    logger,
    random: options.random as (() => number) | undefined,
  }
  // A session's entry outlives its window by maxReplicaLagMs: a replica in rotation lags at
  // most that much, so past it any replica has replayed the write.
  const sessions = createSessionTable(
    options.readYourWritesMs,
    options.maxReplicaLagMs,
    options.maxSessions,
    clock,
  )
  const changeTimes = createLatencyHistogram()
  const counters = createRouterCounters()

  let version = 0
  let listOrder: Shard<T>[] = options.shards.map((spec) => toShard<T>(spec))
  let placement: Placement | undefined
  /** Hash strategy: the lookup table (logical shard → slot). */
  let owners: OwnerTable = new Uint16Array(0)
  /** Shards and entries by slot (hash) or by list index (other strategies). */
  let bySlot: Shard<T>[] = []
  let entriesBySlot: ShardEntry<T>[] = []
  let entries = new Map<string, ShardEntry<T>>()
  let resolve: (key: K) => number
  const targets = createTargetIndex<T>(() => entries)

  const install = (shards: Shard<T>[], next: Placement | undefined) => {
    const keep = carryEntries(entries, shards, settings)
    const slotEntries = next ? next.shards.map((s) => keep.get(s.id)!) : shards.map((s) => keep.get(s.id)!)
    // Each variable is one assignment, with no await between: a lookup sees the old or the new table.
    entries = keep
    entriesBySlot = slotEntries
    bySlot = slotEntries.map((e) => e.shard)
    if (next) owners = next.owners
    placement = next
    listOrder = shards
    targets.invalidate()
    version++
  }

  const installAppended = (shard: Shard<T>, next: Placement) => {
    const entry = createEntry(shard, settings)
    // Nothing routes to the newcomer before `owners` is swapped, so registering it first is safe.
    entries.set(shard.id, entry)
    entriesBySlot = [...entriesBySlot, entry]
    bySlot = [...bySlot, shard]
    owners = next.owners
    placement = next
    listOrder = [...listOrder, shard]
    targets.invalidate()
    version++
  }

  if (isHash) {
    const specs = listOrder.map((s) => ({ id: s.id, weight: s.weight }))
    install(
      listOrder,
      initialPlacement(specs, {
        layout: options.layout,
        logicalShards: L,
        seed,
        givenLogicalShards: input.logicalShards,
        givenSeed: input.seed,
      }),
    )
    resolve = () => 0
  } else {
    install(listOrder, undefined)
    resolve = (strategy as ShardStrategy<K>).bind({
      ids: listOrder.map((s) => s.id),
      weights: listOrder.map((s) => s.weight),
      logicalShards: L,
      seed,
    })
  }
  const logicalShards = placement?.logicalShards ?? L
  const hashSeed = placement?.seed ?? seed

  // Multiply-shift maps the 32-bit hash onto the logical shards; a power of two is a plain shift.
  const pow2 = logicalShards >= 2 && (logicalShards & (logicalShards - 1)) === 0
  const shift = 32 - Math.log2(logicalShards)
  const slotFor: (key: K) => number = !isHash
    ? (key) => resolve(key)
    : pow2
      ? (key) => owners[murmur3(key as string, hashSeed) >>> shift]!
      : (key) => owners[Math.floor((murmur3(key as string, hashSeed) * logicalShards) / 4294967296)]!

  const shardFor: (key: K) => Shard<T> = !isHash
    ? (key) => bySlot[resolve(key)]!
    : pow2
      ? (key) => bySlot[owners[murmur3(key as string, hashSeed) >>> shift]!]!
      : (key) => bySlot[owners[Math.floor((murmur3(key as string, hashSeed) * logicalShards) / 4294967296)]!]!

  const needHash = (operation: string) => {
    if (!isHash || !placement)
      throw new UnsupportedOperationError(
        `${operation} needs the hash strategy; this router uses "${(strategy as ShardStrategy<K>).kind}"`,
      )
    return placement
  }

  const unavailable = (entry: ShardEntry<T>, write: boolean, why: string): never => {
    counters.unavailable++
    events.emit('unavailable', { shard: entry.shard.id, write })
    channels.unavailable.publish({ shard: entry.shard.id, write })
    throw new ShardUnavailableError(
      `Shard "${entry.shard.id}" cannot serve the ${write ? 'write' : 'read'}: ${why}`,
    )
  }

  const routeEntry = (entry: ShardEntry<T>, key: K | undefined, opts: RouteOptions | undefined): Route<T> => {
    const shard = entry.shard
    if (opts?.write) {
      if (entry.primaryDown.size > 0)
        unavailable(entry, true, `its primary is ejected (${[...entry.primaryDown].join(', ')})`)
      counters.writes++
      if (opts.session !== undefined) sessions.markWrite(opts.session, shard.id)
      return { shard, target: shard.primary, role: 'primary' }
    }
    counters.reads++
    const primaryUp = entry.primaryDown.size === 0
    const windowEnd = opts?.session !== undefined ? sessions.windowEnd(opts.session, shard.id) : undefined
    if (primaryUp && windowEnd !== undefined && clock.now() < windowEnd) {
      counters.readYourWrites++
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
            counters.readYourWrites++
            return { shard, target: shard.primary, role: 'primary' }
          }
        }
        return { shard, target: replica, role: 'replica' }
      }
      if (options.fallbackToPrimary && primaryUp) {
        counters.primaryFallbacks++
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

  const shard = (id: string) => {
    const entry = entries.get(id)
    if (!entry) throw new UnknownShardError(`Unknown shard id "${id}"`)
    return entry.shard
  }
  const imbalance = () => imbalanceOf(needHash('imbalance()'), options.imbalanceThreshold)

  const topology = createTopologyChanges<T>(
    {
      placement: needHash,
      version: () => version,
      shards: () => listOrder,
      has: (id) => entries.has(id),
      shard,
      install,
      installAppended,
    },
    { logger, events, channels, changeTimes, counters },
  )
  const health = createTargetHealth<T>({
    refsOf: targets.refsOf,
    maxReplicaLagMs: options.maxReplicaLagMs,
    logger,
    events,
    channels,
  })

  const router: ShardRouter<T, K> = {
    on: events.on,
    get shards() {
      return listOrder
    },
    shardFor,
    shard,
    route: (key, opts) => {
      if (opts !== undefined) checkRouteOptions(opts)
      return routeEntry(entriesBySlot[slotFor(key)]!, key, opts)
    },
    async run(key, fn, opts) {
      if (opts !== undefined) checkRunOptions(opts)
      const entry = entriesBySlot[slotFor(key)]!
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
      const shards = listOrder
      return fanOut(
        shards.length,
        opts?.concurrency ?? shards.length,
        async (i) => {
          const route = routeEntry(entries.get(shards[i]!.id)!, undefined, opts)
          return fn(route.target, route.shard)
        },
        (i) => shards[i]!.id,
      )
    },
    plan: topology.plan,
    apply: topology.apply,
    addShard: topology.addShard,
    removeShard: topology.removeShard,
    layout: () => encodeLayout(needHash('layout()')),
    imbalance,
    eject: health.eject,
    readmit: health.readmit,
    reportLag: health.reportLag,
    isHealthy: health.isHealthy,
    stats: createStatsReader<T>({
      strategy: isHash ? 'hash' : (strategy as ShardStrategy<K>).kind,
      logicalShards,
      counters,
      sessions,
      changeTimes,
      version: () => version,
      shardCount: () => listOrder.length,
      targets: targets.all,
      maxImbalance: () => (isHash ? imbalance().maxRatio : 1),
    }),
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
