import { type Clock, murmur3, parseOptions, silentLogger, systemClock } from '@headroom/core'
import { describeTarget } from '../shared/describe-target.js'
import { NoHealthyTargetError, UnknownTargetError } from '../shared/errors.js'
import { pairScore } from '../shared/mix.js'
import { createBalancerChannels, createBalancerEvents } from './events.js'
import { type BalancerOptions, type BalancerStrategy, balancerOptionsSchema } from './options.js'
import { balancerStats } from './stats.js'
import { buildPools, type Pool } from './target-pools.js'
import { decayedEwma, recordLatency, type TargetState } from './target-state.js'
import type { Balancer, PickContext } from './types.js'

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
  const events = createBalancerEvents<T>(logger)
  const channels = createBalancerChannels()
  const { states, shared, tiers } = buildPools(input.targets, options.reserved, idOf)
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
    stats: () => balancerStats(strategy, states, picks, exhausted, clock.now(), options.decayMs),
  }
  return balancer
}
