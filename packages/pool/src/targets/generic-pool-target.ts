import { type OptionsSchemaMatch, parseOptions } from '@headroom/core'
import { z } from 'zod'
import { functionOf, positiveInt } from '../shared/schema.js'
import type { PoolTarget } from './pool-target.js'

/** The part of a generic-pool 3 `Pool` the adapter relies on, structurally, so generic-pool stays optional. */
export interface GenericPoolLike<T = unknown> {
  readonly size: number
  readonly available: number
  readonly borrowed: number
  readonly pending: number
  readonly max: number
  readonly min: number
  acquire(priority?: number): PromiseLike<T>
  release(resource: T): PromiseLike<void>
  destroy(resource: T): PromiseLike<void>
}

/**
 * generic-pool fields the adapter reads and writes: generic-pool has no public way to
 * resize, and these have kept their shape since 3.0 (see {@link genericPoolTarget}).
 */
interface GenericPoolInternals {
  _config: { max: number; min: number; priorityRange?: number }
  _dispense?: () => void
}

function hasResizableConfig(pool: object): pool is GenericPoolInternals {
  const config = '_config' in pool ? pool._config : undefined
  return typeof config === 'object' && config !== null && 'max' in config && typeof config.max === 'number'
}

/** Options of {@link genericPoolTarget}. */
export interface GenericPoolTargetOptions {
  /**
   * The database's `max_connections`, when the pooled resources are database connections
   * (generic-pool cannot ask the database itself). @default undefined (no budget)
   */
  maxConnections?: number | (() => Promise<number>)
}

const genericPoolTargetOptionsSchema = z.object({
  maxConnections: z
    .union([positiveInt, functionOf<() => Promise<number>>()], {
      error: 'expected a positive integer or a function that resolves to one',
    })
    .optional(),
}) satisfies z.ZodType<GenericPoolTargetOptions, GenericPoolTargetOptions>
true satisfies OptionsSchemaMatch<typeof genericPoolTargetOptionsSchema, GenericPoolTargetOptions>

/**
 * Adapts a live generic-pool (v3) pool for {@link createPoolSizer}.
 *
 * How it resizes: generic-pool has no resize API; it reads `_config.max` whenever it
 * decides to create a resource, so the adapter writes that field (generic-pool 3.x has
 * kept it since 3.0), then asks the pool to dispense so waiting callers get the new room
 * at once. Shrinking never takes a borrowed resource: it acquires one resource per excess
 * at the lowest priority, so callers go first, and destroys it (or releases it, if the
 * pool grew back meanwhile).
 *
 * How it measures: `acquire`, `release` and `destroy` are wrapped on the instance (`use`
 * goes through them): acquire wait, and how long each resource was held. A destroyed
 * resource is an ignored sample (generic-pool does not say why). The wrappers are removed
 * when the sizer closes.
 *
 * @example
 * const pool = genericPool.createPool(factory, { max: 10 })
 * const sizer = createPoolSizer({ target: genericPoolTarget(pool, { maxConnections: 100 }), max: 30 })
 */
export function genericPoolTarget<T>(
  pool: GenericPoolLike<T>,
  options: GenericPoolTargetOptions = {},
): PoolTarget {
  const { maxConnections } = parseOptions('genericPoolTarget', genericPoolTargetOptionsSchema, options)
  if (!hasResizableConfig(pool))
    throw new TypeError('genericPoolTarget: expected a generic-pool 3 Pool (it has no _config.max to resize)')
  const internals: GenericPoolInternals = pool
  const originalAcquire = pool.acquire
  const originalRelease = pool.release
  const originalDestroy = pool.destroy
  let queuedRetires = 0

  const retireExcess = () => {
    const lowest = Math.max(0, (internals._config.priorityRange ?? 1) - 1)
    const excess = pool.size - internals._config.max - queuedRetires
    for (let i = 0; i < excess; i++) {
      queuedRetires++
      originalAcquire.call(pool, lowest).then(
        (resource) => {
          queuedRetires--
          const stillExcess = pool.size > internals._config.max
          void (stillExcess ? originalDestroy : originalRelease).call(pool, resource)
        },
        () => {
          queuedRetires--
        },
      )
    }
  }

  return {
    kind: 'generic-pool',
    get floor() {
      return internals._config.min
    },
    snapshot() {
      const inUse = pool.borrowed
      return {
        max: internals._config.max,
        total: pool.size,
        idle: pool.available,
        inUse,
        waiting: Math.max(0, pool.pending - queuedRetires),
      }
    },
    resize(max) {
      const old = internals._config.max
      internals._config.max = max
      if (max > old) internals._dispense?.call(pool)
      else if (max < old) retireExcess()
    },
    observe(observer, now) {
      const heldSince = new Map<T, number>()
      const wrapped = {
        acquire(this: unknown, priority?: number) {
          const start = now()
          return originalAcquire.call(pool, priority).then(
            (resource) => {
              heldSince.set(resource, now())
              observer.acquired(now() - start)
              return resource
            },
            (error: unknown) => {
              observer.acquireFailed(now() - start, error)
              throw error
            },
          )
        },
        release(this: unknown, resource: T) {
          const since = heldSince.get(resource)
          if (since !== undefined) {
            heldSince.delete(resource)
            observer.released(now() - since, 'success')
          }
          return originalRelease.call(pool, resource)
        },
        destroy(this: unknown, resource: T) {
          const since = heldSince.get(resource)
          if (since !== undefined) {
            heldSince.delete(resource)
            observer.released(now() - since, 'ignored')
          }
          return originalDestroy.call(pool, resource)
        },
      }
      Object.assign(pool, wrapped)
      return () => {
        // Deleting the own properties uncovers the prototype's methods again.
        for (const key of ['acquire', 'release', 'destroy'] as const)
          if (Object.is(pool[key], wrapped[key])) Reflect.deleteProperty(pool, key)
        heldSince.clear()
      }
    },
    ...(maxConnections === undefined
      ? {}
      : {
          maxConnections: async () =>
            typeof maxConnections === 'number' ? maxConnections : maxConnections(),
        }),
  }
}
