// The router's topology: the shard list, the hash placement and the lookup tables built
// from them, and the index of targets. This closure is their only owner: lookups read
// the tables, changes (plan, apply, add, remove) swap them, and nothing outside sees them.
// A swap is a few assignments with no await between, so a lookup sees the old tables or
// the new ones, never a mix.
import {
  createLatencyHistogram,
  type Emitter,
  type LatencySummary,
  type Logger,
  murmur3,
  parseOptions,
} from '@headroom/core'
import { buildPlacement } from '../placement/build-placement.js'
import { type ImbalanceReport, imbalanceOf } from '../placement/imbalance.js'
import { decodeLayout, encodeLayout, type ShardLayout } from '../placement/layout.js'
import type { OwnerTable, Placement } from '../placement/placement.js'
import { nextPlacement } from '../placement/plan.js'
import { describeTarget } from '../shared/describe-target.js'
import {
  StalePlanError,
  UnknownShardError,
  UnknownTargetError,
  UnsupportedOperationError,
} from '../shared/errors.js'
import type { ShardStrategy } from '../strategies/strategy.js'
import type { RouterChannels, ShardRouterEvents } from './events.js'
import { carryEntries, type EntrySettings, ShardEntry, type TargetRole } from './shard-entry.js'
import { type Shard, type ShardSpec, topologySchema, toShard } from './shard-spec.js'
import {
  describePlan,
  type PlannedChange,
  planAppend,
  planChange,
  type TopologyPlan,
} from './topology-plan.js'

/** One place a target serves: a shard's entry and its role there. */
export interface TargetPlace<T> {
  readonly entry: ShardEntry<T>
  readonly role: TargetRole
}

/** What a topology starts from: the router's validated options. */
export interface TopologySettings<T, K> {
  shards: Shard<T>[]
  strategy: 'hash' | ShardStrategy<K>
  logicalShards: number
  seed: number
  /** A stored placement to start from. */
  layout: ShardLayout | undefined
  /** What the caller passed, to refuse a value that contradicts the layout. */
  givenLogicalShards: number | undefined
  givenSeed: number | undefined
  entries: EntrySettings<T>
  logger: Logger
  events: Emitter<ShardRouterEvents<T>>
  channels: RouterChannels
}

/** What `apply` needs of a plan this topology issued. */
interface Issued<T> {
  change: PlannedChange<T>
  /** Time spent computing the plan, counted in the change's duration. */
  ms: number
  /** Set when the plan only appends this shard (installed without rebuilding the maps). */
  appended: Shard<T> | undefined
}

export type Topology<T, K> = ReturnType<typeof createTopology<T, K>>

export function createTopology<T, K>(settings: TopologySettings<T, K>) {
  const { strategy, logger, events, channels } = settings
  const isHash = strategy === 'hash'
  const changeTimes = createLatencyHistogram()
  let changes = 0
  /** The plans this topology made, so `apply` takes no other. */
  const issued = new WeakMap<TopologyPlan<T>, Issued<T>>()

  let version = 0
  let listOrder: Shard<T>[] = settings.shards
  let placement: Placement | undefined
  /** Hash strategy: the lookup table (logical shard → slot). */
  let owners: OwnerTable = new Uint16Array(0)
  /** Shards and entries by slot (hash) or by list index (other strategies). */
  let bySlot: Shard<T>[] = []
  let entriesBySlot: ShardEntry<T>[] = []
  let entries = new Map<string, ShardEntry<T>>()
  /** Target → the places it serves; rebuilt on first use after a change, never on the routing path. */
  let places: Map<T, TargetPlace<T>[]> | undefined

  const install = (shards: Shard<T>[], next: Placement | undefined) => {
    const keep = carryEntries(entries, shards, settings.entries)
    const slotEntries = (next ? next.shards : shards).map((s) => keep.get(s.id)!)
    entries = keep
    entriesBySlot = slotEntries
    bySlot = slotEntries.map((e) => e.shard)
    if (next) owners = next.owners
    placement = next
    listOrder = shards
    places = undefined
    version++
  }

  const installAppended = (shard: Shard<T>, next: Placement) => {
    const entry = ShardEntry.create(shard, settings.entries)
    // Nothing routes to the newcomer before `owners` is swapped, so registering it first is safe.
    entries.set(shard.id, entry)
    entriesBySlot = [...entriesBySlot, entry]
    bySlot = [...bySlot, shard]
    owners = next.owners
    placement = next
    listOrder = [...listOrder, shard]
    places = undefined
    version++
  }

  let resolve: (key: K) => number = () => 0
  if (isHash) {
    install(listOrder, initialPlacement(listOrder, settings))
  } else {
    install(listOrder, undefined)
    resolve = strategy.bind({
      ids: listOrder.map((s) => s.id),
      weights: listOrder.map((s) => s.weight),
      logicalShards: settings.logicalShards,
      seed: settings.seed,
    })
  }
  const logicalShards = placement?.logicalShards ?? settings.logicalShards
  const hashSeed = placement?.seed ?? settings.seed

  // Multiply-shift maps the 32-bit hash onto the logical shards; a power of two is a plain shift.
  const pow2 = logicalShards >= 2 && (logicalShards & (logicalShards - 1)) === 0
  const shift = 32 - Math.log2(logicalShards)
  const shardFor: (key: K) => Shard<T> = !isHash
    ? (key) => bySlot[resolve(key)]!
    : pow2
      ? (key) => bySlot[owners[murmur3(key as string, hashSeed) >>> shift]!]!
      : (key) => bySlot[owners[Math.floor((murmur3(key as string, hashSeed) * logicalShards) / 4294967296)]!]!
  const entryFor: (key: K) => ShardEntry<T> = !isHash
    ? (key) => entriesBySlot[resolve(key)]!
    : pow2
      ? (key) => entriesBySlot[owners[murmur3(key as string, hashSeed) >>> shift]!]!
      : (key) =>
          entriesBySlot[owners[Math.floor((murmur3(key as string, hashSeed) * logicalShards) / 4294967296)]!]!

  const needHash = (operation: string): Placement => {
    if (!placement)
      throw new UnsupportedOperationError(
        `${operation} needs the hash strategy; this router uses "${(strategy as ShardStrategy<K>).kind}"`,
      )
    return placement
  }

  const entryOf = (id: string) => {
    const entry = entries.get(id)
    if (!entry) throw new UnknownShardError(`Unknown shard id "${id}"`)
    return entry
  }

  const placeIndex = () => {
    if (places) return places
    const index = new Map<T, TargetPlace<T>[]>()
    const add = (target: T, entry: ShardEntry<T>, role: TargetRole) => {
      const refs = index.get(target) ?? []
      refs.push({ entry, role })
      index.set(target, refs)
    }
    for (const entry of entries.values()) {
      add(entry.shard.primary, entry, 'primary')
      for (const replica of entry.shard.replicas) add(replica, entry, 'replica')
    }
    places = index
    return index
  }

  const issue = (change: PlannedChange<T>, started: number, appended?: Shard<T>) => {
    const plan = describePlan(change)
    issued.set(plan, { change, appended, ms: performance.now() - started })
    return plan
  }

  const apply = (plan: TopologyPlan<T>) => {
    const started = performance.now()
    const made = issued.get(plan)
    if (!made) throw new TypeError('apply() expects a plan made by this router')
    if (plan.version !== version)
      throw new StalePlanError(
        `The plan was made at version ${plan.version}; the router is at version ${version}`,
      )
    if (made.appended) installAppended(made.appended, made.change.next)
    else install(made.change.shards, made.change.next)
    const ms = made.ms + performance.now() - started
    changeTimes.record(ms)
    changes++
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
  }

  return {
    strategyKind: isHash ? 'hash' : (strategy as ShardStrategy<K>).kind,
    logicalShards,
    isHash,
    version: () => version,
    /** The shards in list order (replaced, never changed in place). */
    shards: (): readonly Shard<T>[] => listOrder,
    shardFor,
    /** The entry of a key's shard: the routing path. */
    entryFor,
    /** The entry of a shard id; throws an UnknownShardError. */
    entryOf,
    /** The entries in list order. */
    entriesInOrder: (): ShardEntry<T>[] => listOrder.map((s) => entries.get(s.id)!),
    /** The places `target` serves; throws an UnknownTargetError if none. */
    placesOf(target: T): readonly TargetPlace<T>[] {
      const refs = placeIndex().get(target)
      if (!refs) throw new UnknownTargetError(`No shard has the target ${describeTarget(target)}`)
      return refs
    },
    /** Targets out of routing in at least one place they serve. */
    ejectedTargets(): number {
      let ejected = 0
      for (const [target, refs] of placeIndex())
        if (!refs.every(({ entry, role }) => entry.serves(target, role))) ejected++
      return ejected
    },
    changeStats: (): { count: number; ms: LatencySummary } => ({ count: changes, ms: changeTimes.summary() }),
    layout: (): ShardLayout => encodeLayout(needHash('layout()')),
    imbalance: (threshold: number): ImbalanceReport => imbalanceOf(needHash('imbalance()'), threshold),
    plan(next: readonly ShardSpec<T>[]): TopologyPlan<T> {
      const started = performance.now()
      const current = needHash('plan()')
      const shards = parseOptions('plan', topologySchema, next).map((spec) => toShard<T>(spec))
      return issue(planChange(version, current, shards), started)
    },
    apply,
    addShard(spec: ShardSpec<T>): TopologyPlan<T> {
      const started = performance.now()
      const current = needHash('addShard()')
      // Validate only the newcomer: the others were validated when they joined.
      const [parsed] = parseOptions('addShard', topologySchema, [spec])
      if (entries.has(parsed!.id))
        throw new TypeError(
          `Invalid addShard option "id": duplicate shard id "${parsed!.id}" (received "${parsed!.id}")`,
        )
      const shard = toShard<T>(parsed!)
      const plan = issue(planAppend(version, current, listOrder, shard), started, shard)
      apply(plan)
      return plan
    },
    removeShard(id: string): TopologyPlan<T> {
      const started = performance.now()
      const current = needHash('removeShard()')
      entryOf(id)
      if (listOrder.length === 1) throw new TypeError(`removeShard: "${id}" is the last shard`)
      const plan = issue(
        planChange(
          version,
          current,
          listOrder.filter((s) => s.id !== id),
        ),
        started,
      )
      apply(plan)
      return plan
    },
  }
}

/** The hash placement a router starts from: a stored layout brought up to the shard list, or the list's canonical placement. */
function initialPlacement<T, K>(shards: readonly Shard<T>[], settings: TopologySettings<T, K>): Placement {
  const specs = shards.map((s) => ({ id: s.id, weight: s.weight }))
  if (settings.layout === undefined) return buildPlacement(specs, settings.logicalShards, settings.seed)
  const layout = settings.layout
  if (settings.givenLogicalShards !== undefined && settings.givenLogicalShards !== layout.logicalShards)
    throw new TypeError(
      `Invalid createShardRouter option "logicalShards": the layout has ${layout.logicalShards} (received ${settings.givenLogicalShards})`,
    )
  if (settings.givenSeed !== undefined && settings.givenSeed !== layout.seed)
    throw new TypeError(
      `Invalid createShardRouter option "seed": the layout has ${layout.seed} (received ${settings.givenSeed})`,
    )
  return nextPlacement(decodeLayout(layout), specs)
}
