import {
  type Clock,
  createChannels,
  createEmitter,
  createLatencyHistogram,
  type LatencySummary,
  type Logger,
  murmur3,
  parseOptions,
  type Subscribable,
  silentLogger,
  systemClock,
} from '@headroom/core'
import { z } from 'zod'
import type { PickContext } from './balancer.js'
import { describeTarget } from './balancer.js'
import {
  ShardUnavailableError,
  StalePlanError,
  UnknownShardError,
  UnknownTargetError,
  UnsupportedOperationError,
} from './errors.js'
import { fanOut } from './fan-out.js'
import { decodeLayout, encodeLayout, layoutSchema, type ShardLayout } from './layout.js'
import { addShard, buildPlacement, type OwnerTable, type Placement } from './placement.js'
import {
  describeMoves,
  loadsOf,
  movedLogicalShards,
  nextPlacement,
  optimalMovedFraction,
  type ShardLoad,
  type ShardMove,
  type ShardTransfer,
} from './plan.js'
import { routerOptionsSchema, type ShardRouterOptions } from './router-options.js'
import { createSessionTable } from './sessions.js'
import { createEntry, type EntrySettings, type ShardEntry, sameTargets } from './shard-entry.js'
import type { ShardStrategy } from './strategy.js'
import { type Shard, type ShardSpec, topologySchema, toShard } from './topology.js'

/** How to route one call. */
export interface RouteOptions {
  /** A write goes to the primary. @default false */
  write?: boolean
  /** The caller's session (user id, session id) for read-your-writes. @default undefined */
  session?: string
  /** The caller's tier, for replicas reserved per tier. @default undefined */
  tier?: string
  /** The client key of the `ip-hash` balancer. @default the routing key when it is a string */
  clientKey?: string
}

/** Where a call goes. */
export interface Route<T> {
  shard: Shard<T>
  target: T
  role: 'primary' | 'replica'
}

/** The exact effect of a topology change, computed before anything changes. */
export interface TopologyPlan<T> {
  /** The router version the plan was computed against (`apply` refuses it once stale). */
  readonly version: number
  /** The next shard list. */
  readonly shards: readonly Shard<T>[]
  readonly added: readonly string[]
  readonly removed: readonly string[]
  readonly reweighted: readonly string[]
  /** Every logical shard that changes owner. */
  readonly moves: readonly ShardMove[]
  /** The same, grouped per (from, to): one data migration each. */
  readonly transfers: readonly ShardTransfer[]
  /** Fraction of keys that change shard. */
  readonly movedFraction: number
  /** The least fraction any scheme would move for this change. */
  readonly optimalFraction: number
  readonly before: readonly ShardLoad[]
  readonly after: readonly ShardLoad[]
  /** The placement after the change, to persist. */
  readonly layout: ShardLayout
}

/** How far the placement is from the weights. */
export interface ImbalanceReport {
  /** True when no shard holds more than `imbalanceThreshold` times its share. */
  balanced: boolean
  /** The largest `share / expectedShare`. */
  maxRatio: number
  minRatio: number
  /** The most loaded shard. */
  busiest: string
  shards: ShardLoad[]
}

/** Events of a {@link ShardRouter}. */
export interface ShardRouterEvents<T> {
  [event: string]: unknown
  topology: {
    version: number
    added: readonly string[]
    removed: readonly string[]
    reweighted: readonly string[]
    movedFraction: number
    ms: number
  }
  eject: { shard: string; target: T; role: 'primary' | 'replica'; reason: string }
  readmit: { shard: string; target: T; role: 'primary' | 'replica'; reason: string }
  unavailable: { shard: string; write: boolean }
}

/** A snapshot of a {@link ShardRouter}. */
export interface ShardRouterStats {
  strategy: string
  version: number
  shards: number
  logicalShards: number
  reads: number
  writes: number
  /** Reads sent to the primary because the session wrote recently. */
  readYourWrites: number
  /** Reads sent to the primary because no replica was healthy. */
  primaryFallbacks: number
  /** Routes refused with ShardUnavailableError. */
  unavailable: number
  sessions: number
  /** Targets currently ejected (for any reason). */
  ejected: number
  topologyChanges: number
  /** Time to compute and apply topology changes, in ms. */
  topologyChangeMs: LatencySummary
  /** `imbalance().maxRatio` (hash strategy), else 1. */
  maxImbalance: number
}

/** Routes keys to shards and calls to targets. */
export interface ShardRouter<T, K = string> extends Subscribable<ShardRouterEvents<T>> {
  /** The shards, in list order. */
  readonly shards: readonly Shard<T>[]
  /** The shard of a key: deterministic across processes; no allocation with the hash strategy. */
  shardFor(key: K): Shard<T>
  /** The shard with this id; throws {@link UnknownShardError}. */
  shard(id: string): Shard<T>
  /**
   * The target of one call: the primary for writes, a healthy replica for reads (the
   * primary within the read-your-writes window of the session, or when no replica is
   * healthy). Throws {@link ShardUnavailableError} when nothing healthy can serve it.
   */
  route(key: K, options?: RouteOptions): Route<T>
  /** Routes, runs `fn` on the target, and feeds the replica balancer (in flight, latency). */
  run<R>(key: K, fn: (target: T, shard: Shard<T>) => R | Promise<R>, options?: RouteOptions): Promise<R>
  /**
   * Runs `fn` once per shard (fan-out) and resolves with the results in shard order;
   * rejects with an AggregateError naming the shards that failed.
   */
  forEachShard<R>(
    fn: (target: T, shard: Shard<T>) => R | Promise<R>,
    options?: Omit<RouteOptions, 'clientKey'> & { concurrency?: number },
  ): Promise<R[]>
  /** The exact moves a new shard list causes (hash strategy). Changes nothing. */
  plan(next: readonly ShardSpec<T>[]): TopologyPlan<T>
  /** Switches to a plan's topology, atomically for lookups; throws {@link StalePlanError} if the topology changed since. */
  apply(plan: TopologyPlan<T>): void
  /** `apply(plan([...shards, spec]))`. */
  addShard(spec: ShardSpec<T>): TopologyPlan<T>
  /** `apply(plan(shards without id))`. */
  removeShard(id: string): TopologyPlan<T>
  /** The current placement, to persist and pass back as `layout` (hash strategy). */
  layout(): ShardLayout
  /** Load per shard against its weight (hash strategy). */
  imbalance(): ImbalanceReport
  /** Takes a target (primary or replica) out of routing for `reason` (e.g. its breaker opened). */
  eject(target: T, reason?: string): void
  /** Puts a target back for `reason`; it serves again once no reason is left. */
  readmit(target: T, reason?: string): void
  /** A replica's replication lag: past `maxReplicaLagMs` it is skipped for reads until it catches up. */
  reportLag(target: T, lagMs: number): void
  isHealthy(target: T): boolean
  stats(): ShardRouterStats
}

interface PlanInternals<T> {
  placement: Placement
  shards: Shard<T>[]
  /** Time spent computing the plan, counted in the change's duration. */
  ms: number
  /** Set when the plan only appends this shard (installed without rebuilding the maps). */
  appended: Shard<T> | undefined
}

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
  const events = createEmitter<ShardRouterEvents<T>>((error, event) =>
    logger.error({ err: error, event }, 'shard router listener failed'),
  )
  const channels = createChannels<{
    topology: { version: number; movedFraction: number; ms: number }
    eject: { id: string; reason: string }
    readmit: { id: string }
    unavailable: { shard: string; write: boolean }
  }>('shard', ['topology', 'eject', 'readmit', 'unavailable'])
  const settings: EntrySettings<T> = {
    balancer: options.balancer,
    reserved: options.reserved as Record<string, readonly T[]>,
    clock,
    logger,
    random: options.random as (() => number) | undefined,
  }
  const sessions = createSessionTable(options.readYourWritesMs, options.maxSessions, clock)
  const changeTimes = createLatencyHistogram()
  const counters = { reads: 0, writes: 0, readYourWrites: 0, primaryFallbacks: 0, unavailable: 0, changes: 0 }

  let version = 0
  let listOrder: Shard<T>[] = options.shards.map((spec) => toShard<T>(spec))
  let placement: Placement | undefined
  /** Hash strategy: the lookup table (logical shard → slot). */
  let owners: OwnerTable = new Uint16Array(0)
  /** Shards and entries by slot (hash) or by list index (other strategies). */
  let bySlot: Shard<T>[] = []
  let entriesBySlot: ShardEntry<T>[] = []
  let entries = new Map<string, ShardEntry<T>>()
  let targets = new Map<T, { entry: ShardEntry<T>; role: 'primary' | 'replica' }[]>()
  let resolve: (key: K) => number

  let targetsDirty = true
  const install = (shards: Shard<T>[], next: Placement | undefined) => {
    const keep = new Map<string, ShardEntry<T>>()
    for (const shard of shards) {
      const existing = entries.get(shard.id)
      if (existing && existing.shard === shard) keep.set(shard.id, existing)
      // A shard keeping its targets keeps its routing state (ejections, latency, cursors).
      else if (existing && sameTargets(existing.shard, shard)) keep.set(shard.id, { ...existing, shard })
      else keep.set(shard.id, createEntry(shard, settings))
    }
    const slotEntries = next ? next.shards.map((s) => keep.get(s.id)!) : shards.map((s) => keep.get(s.id)!)
    // Each variable is one assignment, with no await between: a lookup sees the old or the new table.
    entries = keep
    entriesBySlot = slotEntries
    bySlot = slotEntries.map((e) => e.shard)
    if (next) owners = next.owners
    placement = next
    listOrder = shards
    targetsDirty = true
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
    targetsDirty = true
    version++
  }

  /** Target → the shards holding it, rebuilt on first use after a topology change. */
  const targetIndex = () => {
    if (!targetsDirty) return targets
    const index = new Map<T, { entry: ShardEntry<T>; role: 'primary' | 'replica' }[]>()
    const add = (target: T, entry: ShardEntry<T>, role: 'primary' | 'replica') => {
      const refs = index.get(target) ?? []
      refs.push({ entry, role })
      index.set(target, refs)
    }
    for (const entry of entries.values()) {
      add(entry.shard.primary, entry, 'primary')
      for (const replica of entry.shard.replicas) add(replica, entry, 'replica')
    }
    targets = index
    targetsDirty = false
    return index
  }

  if (isHash) {
    const specs = listOrder.map((s) => ({ id: s.id, weight: s.weight }))
    let initial: Placement
    if (options.layout !== undefined) {
      const { layout } = parseOptions('createShardRouter', z.object({ layout: layoutSchema }), {
        layout: options.layout,
      })
      if (input.logicalShards !== undefined && input.logicalShards !== layout.logicalShards)
        throw new TypeError(
          `Invalid createShardRouter option "logicalShards": the layout has ${layout.logicalShards} (received ${input.logicalShards})`,
        )
      if (input.seed !== undefined && input.seed !== layout.seed)
        throw new TypeError(
          `Invalid createShardRouter option "seed": the layout has ${layout.seed} (received ${input.seed})`,
        )
      initial = nextPlacement(decodeLayout(layout), specs)
    } else initial = buildPlacement(specs, L, seed)
    install(listOrder, initial)
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
    if (primaryUp && opts?.session !== undefined && sessions.mustReadPrimary(opts.session, shard.id)) {
      counters.readYourWrites++
      return { shard, target: shard.primary, role: 'primary' }
    }
    if (entry.replicas) {
      const context: PickContext = {
        key: opts?.clientKey ?? (typeof key === 'string' ? key : undefined),
        tier: opts?.tier,
      }
      const replica = entry.replicas.tryPick(context)
      if (replica !== undefined) return { shard, target: replica, role: 'replica' }
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

  const refsOf = (target: T) => {
    const refs = targetIndex().get(target)
    if (!refs) throw new UnknownTargetError(`No shard has the target ${describeTarget(target)}`)
    return refs
  }

  interface PlanFacts {
    added: string[]
    removed: string[]
    reweighted: string[]
    moved: Uint32Array
    optimalFraction: number
  }

  const describePlan = (
    current: Placement,
    next: Placement,
    shards: Shard<T>[],
    facts: PlanFacts,
    started: number,
    appended: Shard<T> | undefined,
  ): TopologyPlan<T> => {
    // The detail is computed on first read: apply() needs none of it.
    let layout: ShardLayout | undefined
    let described: ReturnType<typeof describeMoves> | undefined
    let loads: { before: ShardLoad[]; after: ShardLoad[] } | undefined
    const plan: TopologyPlan<T> = {
      version,
      shards,
      added: facts.added,
      removed: facts.removed,
      reweighted: facts.reweighted,
      get moves() {
        described ??= describeMoves(current, next, facts.moved)
        return described.moves
      },
      get transfers() {
        described ??= describeMoves(current, next, facts.moved)
        return described.transfers
      },
      movedFraction: facts.moved.length / current.logicalShards,
      optimalFraction: facts.optimalFraction,
      get before() {
        loads ??= { before: loadsOf(current), after: loadsOf(next) }
        return loads.before
      },
      get after() {
        loads ??= { before: loadsOf(current), after: loadsOf(next) }
        return loads.after
      },
      get layout() {
        layout ??= encodeLayout(next)
        return layout
      },
    }
    internals.set(plan, { placement: next, shards, appended, ms: performance.now() - started })
    return plan
  }

  const makePlan = (shards: Shard<T>[], started: number): TopologyPlan<T> => {
    const current = needHash('plan()')
    const next = nextPlacement(
      current,
      shards.map((s) => ({ id: s.id, weight: s.weight })),
    )
    const was = new Map(current.shards.map((s) => [s.id, s.weight]))
    const now = new Set(shards.map((s) => s.id))
    const reweighted = shards.filter((s) => was.has(s.id) && was.get(s.id) !== s.weight).map((s) => s.id)
    const facts: PlanFacts = {
      added: shards.filter((s) => !was.has(s.id)).map((s) => s.id),
      removed: current.shards.filter((s) => !now.has(s.id)).map((s) => s.id),
      reweighted,
      moved: movedLogicalShards(current, next, reweighted.length > 0),
      optimalFraction: optimalMovedFraction(current.shards, next.shards),
    }
    return describePlan(current, next, shards, facts, started, undefined)
  }

  /** Appending one shard, the common change: O(N) array work and one table copy, no maps of ids. */
  const makeAppendPlan = (shard: Shard<T>, started: number): TopologyPlan<T> => {
    const current = needHash('addShard()')
    const next = addShard(current, { id: shard.id, weight: shard.weight })
    let total = 0
    for (const s of next.shards) total += s.weight
    const facts: PlanFacts = {
      added: [shard.id],
      removed: [],
      reweighted: [],
      // Everything that moves goes to the newcomer: its list is the move set.
      moved: next.lists[next.shards.length - 1]!,
      optimalFraction: shard.weight / total,
    }
    return describePlan(current, next, [...listOrder, shard], facts, started, shard)
  }

  const internals = new WeakMap<TopologyPlan<T>, PlanInternals<T>>()

  const router: ShardRouter<T, K> = {
    on: events.on,
    get shards() {
      return listOrder
    },
    shardFor,
    shard(id) {
      const entry = entries.get(id)
      if (!entry) throw new UnknownShardError(`Unknown shard id "${id}"`)
      return entry.shard
    },
    route: (key, opts) => routeEntry(entriesBySlot[slotFor(key)]!, key, opts),
    async run(key, fn, opts) {
      const entry = entriesBySlot[slotFor(key)]!
      const route = routeEntry(entry, key, opts)
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
    plan(next) {
      const started = performance.now()
      needHash('plan()')
      return makePlan(
        parseOptions('plan', topologySchema, next).map((spec) => toShard<T>(spec)),
        started,
      )
    },
    apply(plan) {
      const started = performance.now()
      const inner = internals.get(plan)
      if (!inner) throw new TypeError('apply() expects a plan made by this router')
      if (plan.version !== version)
        throw new StalePlanError(
          `The plan was made at version ${plan.version}; the router is at version ${version}`,
        )
      if (inner.appended) installAppended(inner.appended, inner.placement)
      else install(inner.shards, inner.placement)
      const ms = inner.ms + performance.now() - started
      changeTimes.record(ms)
      counters.changes++
      const payload = {
        version,
        added: plan.added,
        removed: plan.removed,
        reweighted: plan.reweighted,
        movedFraction: plan.movedFraction,
        ms,
      }
      logger.info(payload, 'shard topology changed')
      events.emit('topology', payload)
      channels.topology.publish({ version, movedFraction: plan.movedFraction, ms })
    },
    addShard(spec) {
      const started = performance.now()
      needHash('addShard()')
      // Validate only the newcomer: the others were validated when they joined.
      const [parsed] = parseOptions('addShard', topologySchema, [spec])
      if (entries.has(parsed!.id))
        throw new TypeError(
          `Invalid addShard option "id": duplicate shard id "${parsed!.id}" (received "${parsed!.id}")`,
        )
      const plan = makeAppendPlan(toShard<T>(parsed!), started)
      router.apply(plan)
      return plan
    },
    removeShard(id) {
      const started = performance.now()
      needHash('removeShard()')
      router.shard(id)
      if (listOrder.length === 1) throw new TypeError(`removeShard: "${id}" is the last shard`)
      const plan = makePlan(
        listOrder.filter((s) => s.id !== id),
        started,
      )
      router.apply(plan)
      return plan
    },
    layout: () => encodeLayout(needHash('layout()')),
    imbalance() {
      const shards = loadsOf(needHash('imbalance()'))
      let busiest = shards[0]!
      let minRatio = Number.POSITIVE_INFINITY
      for (const load of shards) {
        if (load.ratio > busiest.ratio) busiest = load
        minRatio = Math.min(minRatio, load.ratio)
      }
      return {
        balanced: busiest.ratio <= options.imbalanceThreshold,
        maxRatio: busiest.ratio,
        minRatio,
        busiest: busiest.id,
        shards,
      }
    },
    eject(target, reason = 'unhealthy') {
      for (const { entry, role } of refsOf(target)) {
        if (role === 'primary') {
          if (entry.primaryDown.has(reason)) continue
          entry.primaryDown.add(reason)
          channels.eject.publish({ id: `${entry.shard.id}:primary`, reason })
        } else {
          if (entry.replicas!.reasons(target).includes(reason)) continue
          entry.replicas!.eject(target, reason)
        }
        logger.warn({ shard: entry.shard.id, role, reason }, 'shard target ejected')
        events.emit('eject', { shard: entry.shard.id, target, role, reason })
      }
    },
    readmit(target, reason = 'unhealthy') {
      for (const { entry, role } of refsOf(target)) {
        if (role === 'primary') {
          if (!entry.primaryDown.delete(reason)) continue
          channels.readmit.publish({ id: `${entry.shard.id}:primary` })
        } else {
          if (!entry.replicas!.reasons(target).includes(reason)) continue
          entry.replicas!.readmit(target, reason)
        }
        events.emit('readmit', { shard: entry.shard.id, target, role, reason })
      }
    },
    reportLag(target, lagMs) {
      for (const { entry, role } of refsOf(target)) {
        if (role !== 'replica') continue
        if (lagMs > options.maxReplicaLagMs) entry.replicas!.eject(target, 'lag')
        else entry.replicas!.readmit(target, 'lag')
      }
    },
    isHealthy(target) {
      return refsOf(target).every(({ entry, role }) =>
        role === 'primary' ? entry.primaryDown.size === 0 : entry.replicas!.isHealthy(target),
      )
    },
    stats() {
      let ejected = 0
      for (const [target, refs] of targets)
        if (
          !refs.every(({ entry, role }) =>
            role === 'primary' ? entry.primaryDown.size === 0 : entry.replicas!.isHealthy(target),
          )
        )
          ejected++
      return {
        strategy: isHash ? 'hash' : (strategy as ShardStrategy<K>).kind,
        version,
        shards: listOrder.length,
        logicalShards,
        reads: counters.reads,
        writes: counters.writes,
        readYourWrites: counters.readYourWrites,
        primaryFallbacks: counters.primaryFallbacks,
        unavailable: counters.unavailable,
        sessions: sessions.size,
        ejected,
        topologyChanges: counters.changes,
        topologyChangeMs: changeTimes.summary(),
        maxImbalance: isHash ? router.imbalance().maxRatio : 1,
      }
    },
  }
  return router
}
