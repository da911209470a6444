import { murmur3, parseOptions } from '@headroom/core'
import { z } from 'zod'
import { UnknownShardError } from '../shared/errors.js'
import { pairScore, shardSeed, weightedScore, winsTie } from '../shared/mix.js'
import { optionsSchema } from '../shared/options.js'
import { MAX_LOGICAL_SHARDS } from './placement.js'

/** A node of a {@link HashRing}: an id, or an id and a weight. */
export type RingNode = string | { id: string; weight?: number }

/** Options of {@link createHashRing}. */
export interface HashRingOptions {
  /** The nodes (cache servers, backends). Order does not matter. */
  nodes: readonly RingNode[]
  /** Logical shards (hash slots) the key space is cut into. @default 65536 */
  logicalShards?: number
  /** Hash seed. @default 0 */
  seed?: number
}

/** A consistent-hash ring whose placement is a pure function of its node set. */
export interface HashRing {
  /** The node of a key. No allocation. */
  get(key: string): string
  /** Adds a node (or changes its weight): only keys moving to it move. O(logical shards). */
  add(node: RingNode): void
  /** Removes a node: only its keys move. Throws {@link UnknownShardError} for an unknown id. */
  remove(id: string): void
  has(id: string): boolean
  /** Node ids, in the order they were added. */
  nodes(): string[]
  /** Logical shards held per node. */
  distribution(): Record<string, number>
}

const nodeSchema = z.union([
  z.string().min(1, 'expected a non-empty id'),
  z.object({
    id: z.string().min(1, 'expected a non-empty id'),
    weight: z.number().finite().positive('expected a weight above 0').default(1),
  }),
])

const ringSchema = optionsSchema<HashRingOptions, Required<HashRingOptions>>()(
  z.object({
    nodes: z.array(nodeSchema).min(1, 'expected at least one node'),
    logicalShards: z.number().int().min(1).max(MAX_LOGICAL_SHARDS).default(65_536),
    seed: z.number().int().default(0),
  }),
)

/**
 * The direct consistent-hash mode, for caches and backends whose members come and go:
 * each logical shard belongs to the node with the highest weighted rendezvous score
 * for it (Thaler & Ravishankar; weights per Schindelhauer), cached in a table. Two
 * processes with the same node set agree whatever order nodes joined or left in, and
 * a change moves only the keys of the node that joined or left.
 *
 * @example
 * const ring = createHashRing({ nodes: ['cache-a:6379', 'cache-b:6379'] })
 * ring.get('session:42') // 'cache-b:6379'
 * ring.add('cache-c:6379') // about a third of the keys move to it, none elsewhere
 */
export function createHashRing(input: HashRingOptions): HashRing {
  const options = parseOptions('createHashRing', ringSchema, input)
  const L = options.logicalShards
  const seed = options.seed
  const owners = new Uint32Array(L)
  const bestRaw = new Uint32Array(L)
  const bestScore = new Float64Array(L)
  let ids: string[] = []
  let weights: number[] = []
  let seeds: number[] = []
  let uniform = true
  const pow2 = L >= 2 && (L & (L - 1)) === 0
  const shift = 32 - Math.log2(L)

  const score = (raw: number, weight: number) => (uniform ? raw : weightedScore(raw, weight))
  const claim = (b: number, slot: number) => {
    const raw = pairScore(b, seeds[slot]!)
    const s = score(raw, weights[slot]!)
    const best = bestScore[b]!
    if (s > best || (s === best && winsTie(raw, seeds[slot]!, bestRaw[b]!, seeds[owners[b]!]!))) {
      owners[b] = slot
      bestRaw[b] = raw
      bestScore[b] = s
    }
  }
  const assign = (b: number) => {
    owners[b] = 0
    bestRaw[b] = pairScore(b, seeds[0]!)
    bestScore[b] = score(bestRaw[b]!, weights[0]!)
    for (let slot = 1; slot < ids.length; slot++) claim(b, slot)
  }
  const rebuild = () => {
    uniform = weights.every((w) => w === weights[0])
    for (let b = 0; b < L; b++) assign(b)
  }
  const normal = (node: RingNode) =>
    parseOptions('HashRing.add', nodeSchema, node) as string | { id: string; weight: number }

  for (const node of options.nodes) {
    const { id, weight } = typeof node === 'string' ? { id: node, weight: 1 } : node
    if (ids.includes(id)) throw new TypeError(`Invalid createHashRing option "nodes": duplicate node "${id}"`)
    ids.push(id)
    weights.push(weight)
    seeds.push(shardSeed(id, seed))
  }
  rebuild()

  const ring: HashRing = {
    get: pow2
      ? (key) => ids[owners[murmur3(key, seed) >>> shift]!]!
      : (key) => ids[owners[Math.floor((murmur3(key, seed) * L) / 4294967296)]!]!,
    add(node) {
      const parsed = normal(node)
      const { id, weight } = typeof parsed === 'string' ? { id: parsed, weight: 1 } : parsed
      const existing = ids.indexOf(id)
      if (existing >= 0) {
        if (weights[existing] === weight) return
        weights = weights.map((w, i) => (i === existing ? weight : w))
        rebuild()
        return
      }
      ids = [...ids, id]
      weights = [...weights, weight]
      seeds = [...seeds, shardSeed(id, seed)]
      if (weight !== weights[0] && uniform) return rebuild()
      const slot = ids.length - 1
      for (let b = 0; b < L; b++) claim(b, slot)
    },
    remove(id) {
      const slot = ids.indexOf(id)
      if (slot < 0) throw new UnknownShardError(`The ring has no node "${id}"`)
      if (ids.length === 1) throw new TypeError(`HashRing.remove: "${id}" is the last node`)
      ids = ids.filter((_, i) => i !== slot)
      weights = weights.filter((_, i) => i !== slot)
      seeds = seeds.filter((_, i) => i !== slot)
      const wasUniform = uniform
      uniform = weights.every((w) => w === weights[0])
      if (uniform !== wasUniform) return rebuild()
      for (let b = 0; b < L; b++) {
        const owner = owners[b]!
        if (owner === slot) assign(b)
        else if (owner > slot) owners[b] = owner - 1
      }
    },
    has: (id) => ids.includes(id),
    nodes: () => [...ids],
    distribution() {
      const counts: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]))
      for (let b = 0; b < L; b++) counts[ids[owners[b]!]!]!++
      return counts
    },
  }
  return ring
}
