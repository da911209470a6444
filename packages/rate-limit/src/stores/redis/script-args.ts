import type { ResolvedPolicy } from '../../algorithms/policy.js'
import type { StoreOp } from '../store.js'

/*
 * The one place where script arguments are built, from named fields, in the order of the
 * KEYS/ARGV tables at the top of `consume-script.ts` and `batch-script.ts`.
 */

/** Algorithm codes in the script's arguments. */
export const ALGORITHM_CODES = {
  gcra: 1,
  'token-bucket': 2,
  'fixed-window': 3,
  'sliding-window': 4,
  'sliding-log': 5,
} as const

/** Operation codes in the batch script's arguments. */
export const OP_CODES = { consume: 'c', peek: 'p', refund: 'r', block: 'b', reset: 'x' } as const

/** ARGV[1] and ARGV[2] of both scripts. */
export interface ScriptClock {
  /** The caller's time in ms, or `''` to decide on Redis' TIME. */
  now: number | ''
  /** Added to every key's lifetime (a client clock may run apart from Redis'). */
  padMs: number
}

/** One operation of a script call: its hash-tagged key and what to do. */
export interface KeyedOp {
  key: string
  op: StoreOp
}

/** The consume script's policy (ARGV[3..8]), taken from a single-policy set once. */
export interface ConsumePolicy {
  algorithm: number
  limit: number
  windowMs: number
  burst: number
  /** `:name`, appended to each key. */
  suffix: string
  /** The GCRA interval as the state stores it: String() round-trips it exactly, like the batch script's %.17g. */
  interval: string
}

/** How a policy set is sent: `consume` is set when the single-policy consume script can decide it. */
export interface Plan {
  consume: ConsumePolicy | undefined
}

/** The plan of a policy set; the store caches it per set (`forceGeneral`: tests only, never the consume script). */
export function newPlan(policies: readonly ResolvedPolicy[], forceGeneral: boolean): Plan {
  const p = policies[0]!
  const fits = policies.length === 1 && (p.algorithm === 'gcra' || p.algorithm === 'fixed-window')
  if (!fits || forceGeneral) return { consume: undefined }
  return {
    consume: {
      algorithm: ALGORITHM_CODES[p.algorithm],
      limit: p.limit,
      windowMs: p.windowMs,
      burst: p.burst,
      suffix: `:${p.name}`,
      interval: String(p.windowMs / p.limit),
    },
  }
}

/** Same limits under another array (per-request limits resolve to cached arrays, so this is rare). */
export function samePolicy(policies: readonly ResolvedPolicy[], p: ResolvedPolicy): boolean {
  const q = policies.length === 1 ? policies[0]! : undefined
  return (
    q !== undefined &&
    q.name === p.name &&
    q.algorithm === p.algorithm &&
    q.limit === p.limit &&
    q.windowMs === p.windowMs &&
    q.burst === p.burst
  )
}

/** EVALSHA's own arguments, then the KEYS, then both scripts' ARGV[1..2]. */
function start(sha: string, group: readonly KeyedOp[], clock: ScriptClock): (string | number)[] {
  const argv: (string | number)[] = [sha, group.length]
  for (const { key } of group) argv.push(key)
  argv.push(clock.now, clock.padMs)
  return argv
}

/** The consume script's call: ARGV[3..8] the policy, then one cost per key. */
export function consumeArgv(
  sha: string,
  group: readonly KeyedOp[],
  clock: ScriptClock,
  policy: ConsumePolicy,
): (string | number)[] {
  const argv = start(sha, group, clock)
  argv.push(policy.algorithm, policy.limit, policy.windowMs, policy.burst, policy.suffix, policy.interval)
  for (const { op } of group) argv.push(op.cost)
  return argv
}

/**
 * The batch script's call: the number of policy sets, each set (its size, then per
 * policy: algorithm, name, limit, window, burst), then per operation: op code, cost
 * (a block's milliseconds), set index.
 */
export function batchArgv(sha: string, group: readonly KeyedOp[], clock: ScriptClock): (string | number)[] {
  const argv = start(sha, group, clock)
  const sets: (string | number)[] = []
  const ops: (string | number)[] = []
  const setIndex = new Map<readonly ResolvedPolicy[], number>()
  for (const { op } of group) {
    let index = setIndex.get(op.policies)
    if (index === undefined) {
      index = setIndex.size + 1
      setIndex.set(op.policies, index)
      sets.push(op.policies.length)
      for (const p of op.policies)
        sets.push(ALGORITHM_CODES[p.algorithm], p.name, p.limit, p.windowMs, p.burst)
    }
    ops.push(OP_CODES[op.kind], op.kind === 'block' ? op.blockMs : op.cost, index)
  }
  argv.push(setIndex.size)
  for (const value of sets) argv.push(value)
  for (const value of ops) argv.push(value)
  return argv
}
