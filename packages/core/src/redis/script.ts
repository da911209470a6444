import { createHash } from 'node:crypto'
import type { RedisClient } from './types.js'

/** A Lua script with its SHA1 computed once. */
export interface RedisScript {
  readonly name: string
  readonly lua: string
  readonly sha: string
}

/**
 * Declares a Lua script. Run it with {@link runScript}: EVALSHA first, and on
 * NOSCRIPT (a restarted server, a failed-over replica, a node that never saw it)
 * EVAL, which also loads it for next time. Every key a script touches must be in
 * `keys` and share one hash slot (see `hashTaggedKey`), so it runs on a Cluster. A
 * script starts with a table of its KEYS and ARGV, as Lua comments.
 *
 * @example
 * const incr = defineScript('incr-expire', `
 *   -- KEYS[1] counter   the key to count on
 *   -- ARGV[1] ttlMs     the counter's lifetime
 *   local v = redis.call('INCR', KEYS[1])
 *   redis.call('PEXPIRE', KEYS[1], ARGV[1])
 *   return v`)
 * const count = await runScript(redis, incr, ['{rl:user1}:n'], [60000])
 */
export function defineScript(name: string, lua: string): RedisScript {
  const source = lua.trim()
  return { name, lua: source, sha: createHash('sha1').update(source).digest('hex') }
}

/** True when Redis answered that it does not know the script's SHA. */
export function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}

/**
 * Runs `script` by EVALSHA, falling back to EVAL on NOSCRIPT. On a Cluster, ioredis
 * routes both by the first key's slot, so the reload lands on the node that needs it.
 */
export async function runScript<T = unknown>(
  client: RedisClient,
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number)[] = [],
): Promise<T> {
  try {
    return (await client.evalsha(script.sha, keys.length, ...keys, ...args)) as T
  } catch (error) {
    if (!isNoScriptError(error)) throw error
    return (await client.eval(script.lua, keys.length, ...keys, ...args)) as T
  }
}
