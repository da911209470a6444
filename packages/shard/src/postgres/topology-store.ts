import { hostname } from 'node:os'
import { parseOptions } from '@headroom/core'
import pg from 'pg'
import { z } from 'zod'
import { createShardRouter } from '../router/router.js'
import { fnSchema, optionsSchema } from '../shared/options.js'
import { controlSchemaSql, readTopology, type StoredShard, type StoredTopology } from './control.js'

/** Options of {@link createTopologyStore}. */
export interface TopologyStoreOptions {
  /** The control database (where the topology row and the moves live). */
  connectionString: string
  /** Several routers may share one control database, each under its own name. @default 'default' */
  name?: string
}

/** The committed topology in the control database, and a watch on it. */
export interface TopologyStore {
  /**
   * Creates the control tables and, when no topology is stored under this name yet, stores
   * this one (the canonical placement of `shards` in list order). Returns the stored one.
   */
  init(initial: {
    shards: readonly { id: string; url: string; weight?: number }[]
    logicalShards?: number
    seed?: number
  }): Promise<StoredTopology>
  load(): Promise<StoredTopology>
  /**
   * Polls the topology row every `intervalMs` and calls `onChange` with each newer version
   * (in order, never an older one), and records which version this process routes by, so
   * a mover deletes moved rows only once every live process has stopped reading them.
   * Returns the function that stops watching.
   */
  watch(
    onChange: (topology: StoredTopology) => void | Promise<void>,
    options?: { intervalMs?: number; reader?: string; current?: number; onError?: (error: unknown) => void },
  ): () => Promise<void>
  close(): Promise<void>
}

const storeOptionsSchema = optionsSchema<TopologyStoreOptions, Required<TopologyStoreOptions>>()(
  z.object({
    connectionString: z.string().min(1, 'expected a connection string'),
    name: z.string().min(1, 'expected a non-empty name').default('default'),
  }),
)

type InitInput = Parameters<TopologyStore['init']>[0]
const initSchema = optionsSchema<InitInput, InitInput & { shards: StoredShard[] }>()(
  z.object({
    shards: z
      .array(
        z.object({
          id: z.string().min(1, 'expected a non-empty id'),
          url: z.string().min(1, 'expected a connection string'),
          weight: z.number().finite().positive('expected a weight above 0').default(1),
        }),
      )
      .min(1, 'expected at least one shard'),
    logicalShards: z.number().int('expected an integer').optional(),
    seed: z.number().int('expected an integer').optional(),
  }),
)

type WatchOptions = NonNullable<Parameters<TopologyStore['watch']>[1]>
const watchSchema = optionsSchema<
  WatchOptions,
  Required<Omit<WatchOptions, 'onError'>> & Pick<WatchOptions, 'onError'>
>()(
  z.object({
    intervalMs: z.number().positive('expected a positive number of ms').default(500),
    reader: z
      .string()
      .min(1, 'expected a non-empty name')
      .default(() => `${hostname()}:${process.pid}`),
    current: z.number().int('expected an integer').min(0, 'expected 0 or more').default(0),
    onError: fnSchema<(error: unknown) => void>().optional(),
  }),
)

export function createTopologyStore(input: TopologyStoreOptions): TopologyStore {
  const options = parseOptions('createTopologyStore', storeOptionsSchema, input)
  const name = options.name
  const pool = new pg.Pool({ connectionString: options.connectionString, max: 2, allowExitOnIdle: true })
  pool.on('error', () => {})
  const load = async () => {
    const topology = await readTopology(pool, name)
    if (!topology)
      throw new Error(`No shard topology named "${name}" in the control database: call init() first`)
    return topology
  }
  return {
    async init(input) {
      const initial = parseOptions('init', initSchema, input)
      await pool.query(controlSchemaSql)
      const shards: StoredShard[] = initial.shards.map((s) => ({ id: s.id, url: s.url, weight: s.weight }))
      // The router's own defaults apply to what is not given.
      const layout = createShardRouter({
        shards: shards.map((s) => ({ id: s.id, weight: s.weight, primary: s.url })),
        ...(initial.logicalShards === undefined ? {} : { logicalShards: initial.logicalShards }),
        ...(initial.seed === undefined ? {} : { seed: initial.seed }),
      }).layout()
      await pool.query(
        `INSERT INTO headroom_shard_topology (name, version, shards, layout) VALUES ($1, 1, $2, $3)
         ON CONFLICT (name) DO NOTHING`,
        [name, JSON.stringify(shards), JSON.stringify(layout)],
      )
      return load()
    },
    load,
    watch(onChange, input) {
      const watchOptions = parseOptions('watch', watchSchema, input ?? {})
      const { reader, intervalMs } = watchOptions
      let current = watchOptions.current
      let stopped = false
      let running: Promise<void> | undefined
      const tick = async () => {
        try {
          const topology = await load()
          if (topology.version > current) {
            await onChange(topology)
            current = topology.version
          }
          await pool.query(
            `INSERT INTO headroom_shard_readers (name, reader, version, seen_at) VALUES ($1, $2, $3, now())
             ON CONFLICT (name, reader) DO UPDATE SET version = EXCLUDED.version, seen_at = now()`,
            [name, reader, current],
          )
        } catch (error) {
          watchOptions.onError?.(error)
        }
      }
      const loop = () => {
        if (stopped) return
        running = tick().finally(() => {
          if (!stopped) timer = setTimeout(loop, intervalMs)
          timer?.unref?.()
        })
      }
      let timer: NodeJS.Timeout | undefined
      loop()
      return async () => {
        stopped = true
        if (timer) clearTimeout(timer)
        await running
        await pool
          .query('DELETE FROM headroom_shard_readers WHERE name = $1 AND reader = $2', [name, reader])
          .catch(() => {})
      }
    },
    close: () => pool.end(),
  }
}
