import { type Clock, type Logger, type RedisClient, systemClock } from '@headroom/core'
import { z } from 'zod'

/** An ioredis client or Cluster. */
export const redisSchema = z.custom<RedisClient>(
  (v) => typeof v === 'object' && v !== null,
  'Expected an ioredis client',
)

/** A key prefix: keys are `{prefix:key}`, so braces would break the hash tag. */
export const prefixSchema = z
  .string()
  .min(1)
  .regex(/^[^{}]*$/, 'May not contain "{" or "}"')

export const clockSchema = z
  .custom<Clock>((v) => typeof (v as Clock)?.now === 'function', 'Expected a Clock')
  .default(systemClock)

export const loggerSchema = z.custom<Logger>((v) => typeof v === 'object' && v !== null, 'Expected a logger')

export const positive = z.number().finite().positive()

/**
 * `true` when two object types name the same keys. The middleware options hold functions
 * whose types cannot be compared by value, so their field tables are tied by key only.
 */
export type SameKeys<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never]
  ? true
  : false
