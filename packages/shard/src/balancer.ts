import {
  type Clock,
  createChannels,
  createEmitter,
  murmur3,
  parseOptions,
  type Subscribable,
  silentLogger,
  systemClock,
} from '@headroom/core'
import { type BalancerOptions, type BalancerStrategy, balancerOptionsSchema } from './balancer-options.js'
import { NoHealthyTargetError, UnknownTargetError } from './errors.js'
import { pairScore } from './mix.js'
import { decayedEwma, recordLatency, type TargetState } from './target-state.js'

/** What a pick may depend on. */
export interface PickContext {
  /** The client key for `ip-hash` (an IP, a user id). */
  key?: string
  /** The caller's tier, for tier routing (`reserved`). */
  tier?: string
}

/** Events of a {@link Balancer}. */
export interface BalancerEvents<T> {
  [event: string]: unknown
  eject: { target: T; id: string; reason: string }
  readmit: { target: T; id: string }
}

/** A snapshot of a {@link Balancer}. */
export interface BalancerStats {
  strategy: BalancerStrategy
  targets: number
  healthy: number
  picks: number
  /** Picks that found no healthy target. */
  exhausted: number
  perTarget: {
    id: string
    healthy: boolean
    reasons: string[]
    inflight: number
    ewmaMs: number
    picks: number
    failures: number
  }[]
}

/** Chooses a target per call among healthy ones. */
export interface Balancer<T> extends Subscribable<BalancerEvents<T>> {
  /** A healthy target; throws {@link NoHealthyTargetError} when none is left. */
  pick(context?: PickContext): T
  /** Like `pick`, but `undefined` when none is healthy. */
  tryPick(context?: PickContext): T | undefined
  /**
   * Marks a call on `target` as started (in flight) and returns the function that ends
   * it; `end(false)` records a failure. Feeds `least-connections` and `p2c-ewma`.
   */
  begin(target: T): (ok?: boolean) => void
  /** Picks, runs `fn` on the target and records its latency and outcome. */
  run<R>(fn: (target: T) => R | Promise<R>, context?: PickContext): Promise<R>
  /**
   * Takes a target out of rotation (a breaker opened, a health check failed). Reasons
   * stack: a target comes back when every reason it was ejected for is readmitted.
   */
  eject(target: T, reason?: string): void
  /** Puts a target back for `reason`. */
  readmit(target: T, reason?: string): void
  isHealthy(target: T): boolean
  /** Why a target is ejected (empty when healthy). */
  reasons(target: T): string[]
  /** True when the balancer holds `target`. */
  has(target: T): boolean
  /** Healthy targets, shared and reserved. */
  healthy(): T[]
  stats(): BalancerStats
}

interface Pool<T> {
  all: TargetState<T>[]
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
  const strategy = options.strategy as BalancerStrategy
  const clock: Clock = (options.clock as Clock | undefined) ?? systemClock
  const random = (options.random as (() => number) | undefined) ?? Math.random
  const idOf =
    (options.idOf as ((target: T, index: number) => string) | undefined) ??
    ((target: T, index: number) =>
      typeof target === 'string' || typeof target === 'number' ? String(target) : `#${index}`)
  const logger = (input.logger ?? silentLogger) as typeof silentLogger
  const events = createEmitter<BalancerEvents<T>>((error, event) =>
    logger.error({ err: error, event }, 'balancer listener failed'),
  )
  const channels = createChannels<{ eject: { id: string; reason: string }; readmit: { id: string } }>(
    'shard',
    ['eject', 'readmit'],
  )

  const tierOf = new Map<T, string>()
  for (const [tier, targets] of Object.entries(options.reserved)) {
    for (const target of targets as T[]) {
      if (!input.targets.includes(target))
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
  input.targets.forEach((target, index) => {
    if (states.has(target))
      throw new TypeError(`Invalid createBalancer option "targets.${index}": duplicate target`)
    const id = idOf(target, index)
    const tier = tierOf.get(target)
    const state: TargetState<T> = {
      target,
      id,
      seed: murmur3(id),
      tier,
      inflight: 0,
      ewma: 0,
      lastAt: 0,
      picks: 0,
      failures: 0,
      reasons: new Set(),
    }
    states.set(target, state)
    let pool = shared
    if (tier !== undefined) {
      pool = tiers.get(tier) ?? { all: [], healthy: [], cursor: 0 }
      tiers.set(tier, pool)
    }
    pool.all.push(state)
    pool.healthy.push(state)
  })
  let picks = 0
  let exhausted = 0

  const refresh = (pool: Pool<T>) => {
    pool.healthy = pool.all.filter((s) => s.reasons.size === 0)
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
        const costA = decayedEwma(a, now, options.decayMs) * (a.inflight + 1)
        const costB = decayedEwma(b, now, options.decayMs) * (b.inflight + 1)
        return costB < costA ? b : a
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
    state.picks++
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
      state.inflight++
      let ended = false
      return (ok = true) => {
        if (ended) return
        ended = true
        state.inflight--
        const now = clock.now()
        let ms = now - started
        if (!ok) {
          state.failures++
          ms = Math.max(ms, options.failurePenaltyMs)
        }
        recordLatency(state, ms, now, options.decayMs)
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
      if (state.reasons.has(reason)) return
      state.reasons.add(reason)
      refresh(poolOf(state))
      logger.warn({ target: state.id, reason }, 'target ejected')
      events.emit('eject', { target, id: state.id, reason })
      channels.eject.publish({ id: state.id, reason })
    },
    readmit(target, reason = 'unhealthy') {
      const state = stateOf(target)
      if (!state.reasons.delete(reason)) return
      refresh(poolOf(state))
      if (state.reasons.size > 0) return
      logger.info({ target: state.id }, 'target readmitted')
      events.emit('readmit', { target, id: state.id })
      channels.readmit.publish({ id: state.id })
    },
    isHealthy: (target) => stateOf(target).reasons.size === 0,
    reasons: (target) => [...stateOf(target).reasons],
    has: (target) => states.has(target),
    healthy: () => [...states.values()].filter((s) => s.reasons.size === 0).map((s) => s.target),
    stats() {
      const now = clock.now()
      const perTarget = [...states.values()].map((s) => ({
        id: s.id,
        healthy: s.reasons.size === 0,
        reasons: [...s.reasons],
        inflight: s.inflight,
        ewmaMs: decayedEwma(s, now, options.decayMs),
        picks: s.picks,
        failures: s.failures,
      }))
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

/** A short description of a target for an error message (never the whole object). */
export function describeTarget(target: unknown): string {
  if (typeof target === 'string') return JSON.stringify(target)
  if (typeof target === 'number') return String(target)
  return `(${typeof target === 'object' && target !== null ? target.constructor?.name || 'object' : typeof target})`
}
