import { z } from 'zod'

/** One physical shard (a database, a Redis node, a backend) and its targets. */
export interface ShardSpec<T = unknown> {
  /** A stable, unique name. Placement is derived from ids: renaming a shard moves its keys. */
  id: string
  /** Relative capacity: a shard of weight 2 gets twice the keys of weight 1. @default 1 */
  weight?: number
  /** Where writes go (and reads when no replica is healthy). Any value: a pg Pool, a URL. */
  primary: T
  /** Read replicas, balanced by the router's `balancer`. @default [] */
  replicas?: readonly T[]
}

/** A shard as the router holds it. */
export interface Shard<T = unknown> {
  readonly id: string
  readonly weight: number
  readonly primary: T
  readonly replicas: readonly T[]
}

const shardSpecSchema = z.object({
  id: z.string({ error: 'expected a string id' }).min(1, 'expected a non-empty id'),
  weight: z
    .number({ error: 'expected a number' })
    .finite('expected a finite number')
    .positive('expected a weight above 0')
    .default(1),
  primary: z.custom<unknown>((v) => v !== undefined && v !== null, 'expected a primary target'),
  replicas: z.array(z.any(), { error: 'expected an array of replicas' }).default([]),
})

/** A shard list: at least one shard, unique ids, weights above 0. */
export const topologySchema = z
  .array(shardSpecSchema, { error: 'expected an array of shards' })
  .min(1, 'expected at least one shard')
  .superRefine((shards, ctx) => {
    const seen = new Set<string>()
    shards.forEach((shard, index) => {
      if (seen.has(shard.id))
        ctx.addIssue({ code: 'custom', message: `duplicate shard id "${shard.id}"`, path: [index, 'id'] })
      seen.add(shard.id)
    })
  })

/** Freezes a validated spec into the router's shape. */
export function toShard<T>(spec: z.output<typeof shardSpecSchema>): Shard<T> {
  return Object.freeze({
    id: spec.id,
    weight: spec.weight,
    primary: spec.primary as T,
    replicas: Object.freeze([...(spec.replicas as T[])]),
  })
}
