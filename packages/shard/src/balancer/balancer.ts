import { murmur3, parseOptions } from '@headroom/core'
import { describeTarget } from '../shared/describe-target.js'
import { NoHealthyTargetError, UnknownTargetError } from '../shared/errors.js'
import { pairScore } from '../shared/mix.js'
import { createBalancerChannels, createBalancerEvents } from './events.js'
import { type BalancerOptions, balancerOptionsSchema } from './options.js'
import { TargetState } from './target-state.js'
import type { Balancer, PickContext } from './types.js'

/** Targets a pick chooses among: the shared ones, or one tier's reserved ones. */
interface Pool<T> {
  readonly all: TargetState<T>[]
  /** Refreshed on eject and readmit. */
  healthy: TargetState<T>[]
  cursor: number
}

/**
 * A balancer for replicas or backends: round-robin, least-connections, power-of-two
 * choices on EWMA latency, or IP hash, with tier routing and ejection. No timers.
 *
 * @example
 * const balancer = createBalancer({ targets: [replicaA, replicaB], strategy: 'p2c-ewma' })
 * const rows = await balancer.run((pool) => pool.query('select 1'))
 * breaker.on('open', () => balancer.eject(replicaA))
 * breaker.on('close', () => balancer.readmit(replicaA))
 */
export function createBalancer<T>(input: BalancerOptions<T>): Balancer<T> {
  const options = parseOptions('createBalancer', balancerOptionsSchema, input)
  const { strategy, clock, random, logger } = options
  const events = createBalancerEvents<T>(logger)
  const channels = createBalancerChannels()
  const { states, shared, tiers } = buildPools(input.targets, options)
  let picks = 0
  let exhausted = 0

  const refresh = (pool: Pool<T>) => {
    pool.healthy = pool.all.filter((s) => s.healthy)
  }
  const poolOf = (state: TargetState<T>) => (state.tier === undefined ? shared : tiers.get(state.tier)!)
  const stateOf = (target: T) => {
    const state = states.get(target)
    if (!state) throw new UnknownTargetError(`The balancer has no target ${describeTarget(target)}`)
    return state
  }

  const choose = (
    pool: TargetState<T>[],
    owner: Pool<T>,
    context: PickContext | undefined,
  ): TargetState<T> => {
    const n = pool.length
    if (n === 1) return pool[0]!
    switch (strategy) {
      case 'round-robin':
        return pool[owner.cursor++ % n]!
      case 'least-connections': {
        // Start the scan where the last pick left off, so ties rotate.
        const start = owner.cursor++ % n
        let best = pool[start]!
        for (let i = 1; i < n; i++) {
          const s = pool[(start + i) % n]!
          if (s.inflight < best.inflight) best = s
        }
        return best
      }
      case 'p2c-ewma': {
        const i = Math.floor(random() * n) % n
        let j = Math.floor(random() * (n - 1)) % (n - 1)
        if (j >= i) j++
        const a = pool[i]!
        const b = pool[j]!
        const now = clock.now()
        return b.cost(now) < a.cost(now) ? b : a
      }
      case 'ip-hash': {
        if (context?.key === undefined) return pool[owner.cursor++ % n]!
        const h = murmur3(context.key)
        let best = pool[0]!
        let bestScore = pairScore(h, best.seed)
        for (let i = 1; i < n; i++) {
          const s = pool[i]!
          const score = pairScore(h, s.seed)
          if (score > bestScore) {
            best = s
            bestScore = score
          }
        }
        return best
      }
    }
  }

  const tryPick = (context?: PickContext): T | undefined => {
    let owner = shared
    if (context?.tier !== undefined) {
      const reserved = tiers.get(context.tier)
      if (reserved && (reserved.healthy.length > 0 || !options.spill)) owner = reserved
    }
    if (owner.healthy.length === 0) {
      exhausted++
      return undefined
    }
    const state = choose(owner.healthy, owner, context)
    state.picked()
    picks++
    return state.target
  }

  const balancer: Balancer<T> = {
    on: events.on,
    tryPick,
    pick(context) {
      const target = tryPick(context)
      if (target === undefined) {
        const where =
          context?.tier !== undefined && tiers.has(context.tier) ? ` for tier "${context.tier}"` : ''
        throw new NoHealthyTargetError(`Every target${where} is ejected`)
      }
      return target
    },
    begin(target) {
      const state = stateOf(target)
      const started = clock.now()
      state.start()
      let ended = false
      return (ok = true) => {
        if (ended) return
        ended = true
        const now = clock.now()
        state.finish(now - started, now, ok ? undefined : options.failurePenaltyMs)
      }
    },
    async run(fn, context) {
      const target = balancer.pick(context)
      const end = balancer.begin(target)
      try {
        const result = await fn(target)
        end(true)
        return result
      } catch (error) {
        end(false)
        throw error
      }
    },
    eject(target, reason = 'unhealthy') {
      const state = stateOf(target)
      if (!state.eject(reason)) return
      refresh(poolOf(state))
      logger.warn({ target: state.id, reason }, 'target ejected')
      events.emit('eject', { target, id: state.id, reason })
      channels.eject.publish({ id: state.id, reason })
    },
    readmit(target, reason = 'unhealthy') {
      const state = stateOf(target)
      if (!state.readmit(reason)) return
      refresh(poolOf(state))
      if (!state.healthy) return
      logger.info({ target: state.id }, 'target readmitted')
      events.emit('readmit', { target, id: state.id })
      channels.readmit.publish({ id: state.id })
    },
    isHealthy: (target) => stateOf(target).healthy,
    reasons: (target) => stateOf(target).reasons(),
    has: (target) => states.has(target),
    healthy: () => [...states.values()].filter((s) => s.healthy).map((s) => s.target),
    stats() {
      const now = clock.now()
      const perTarget = [...states.values()].map((s) => s.stats(now))
      return {
        strategy,
        targets: states.size,
        healthy: perTarget.filter((t) => t.healthy).length,
        picks,
        exhausted,
        perTarget,
      }
    },
  }
  return balancer
}

/**
 * One state per target, each in the pool of the tier that reserved it (or the shared
 * pool). Throws on a reserved target missing from `targets`, a target reserved twice,
 * and a duplicate target, naming the option.
 */
function buildPools<T>(
  targets: readonly T[],
  options: {
    reserved: Record<string, readonly unknown[]>
    idOf: (target: never, index: number) => string
    decayMs: number
  },
) {
  const idOf = options.idOf as (target: T, index: number) => string
  const tierOf = new Map<T, string>()
  for (const [tier, reservedTargets] of Object.entries(options.reserved)) {
    for (const target of reservedTargets as T[]) {
      if (!targets.includes(target))
        throw new TypeError(
          `Invalid createBalancer option "reserved.${tier}": a reserved target is not in targets`,
        )
      if (tierOf.has(target))
        throw new TypeError(
          `Invalid createBalancer option "reserved.${tier}": a target is reserved by two tiers`,
        )
      tierOf.set(target, tier)
    }
  }
  const states = new Map<T, TargetState<T>>()
  const shared: Pool<T> = { all: [], healthy: [], cursor: 0 }
  const tiers = new Map<string, Pool<T>>()
  targets.forEach((target, index) => {
    if (states.has(target))
      throw new TypeError(`Invalid createBalancer option "targets.${index}": duplicate target`)
    const id = idOf(target, index)
    const tier = tierOf.get(target)
    const state = new TargetState(target, { id, seed: murmur3(id), tier }, options.decayMs)
    states.set(target, state)
    let pool = shared
    if (tier !== undefined) {
      pool = tiers.get(tier) ?? { all: [], healthy: [], cursor: 0 }
      tiers.set(tier, pool)
    }
    pool.all.push(state)
    pool.healthy.push(state)
  })
  return { states, shared, tiers }
}
