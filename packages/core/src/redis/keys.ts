/**
 * A Redis key whose hash tag is `{prefix:id}`, so every key of one entity lands in
 * one Cluster slot and a script may touch them together: `{prefix:id}:suffix`.
 *
 * @example
 * hashTaggedKey('rl', 'user42', 'tat') // '{rl:user42}:tat'
 */
export function hashTaggedKey(prefix: string, id: string, suffix?: string): string {
  return suffix === undefined ? `{${prefix}:${id}}` : `{${prefix}:${id}}:${suffix}`
}

/** Checks a key prefix once, at construction: non-empty and free of `{`/`}`, which would break hash tags. */
export function assertKeyPrefix(prefix: unknown, option = 'prefix'): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new TypeError(
      `Invalid option "${option}": expected a non-empty string (received ${JSON.stringify(prefix)})`,
    )
  }
  if (/[{}]/.test(prefix)) {
    throw new TypeError(
      `Invalid option "${option}": it may not contain "{" or "}" (received ${JSON.stringify(prefix)})`,
    )
  }
}
