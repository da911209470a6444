import { defineScript } from '@headroom/core'

/** Takes a lease when fewer than `limit` live ones are held; the set lives as long as its newest lease. */
export const acquireScript = defineScript(
  'headroom-concurrency-acquire',
  `
-- KEYS[1]  {prefix:key}:leases, a sorted set of lease id -> expiry (ms)
-- ARGV[1]  limit: most leases held at once
-- ARGV[2]  lease: ms a lease lives unless released
-- ARGV[3]  id of the new lease
-- ARGV[4]  now: the caller's time in ms, or '' to read Redis' TIME
-- Returns { 1, leases held, 0 } when granted, { 0, leases held, ms until the oldest expires } when not.
local now
if ARGV[4] ~= '' then now = tonumber(ARGV[4]) else
  local t = redis.call('TIME'); now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
local limit, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(last[2]) - now)))
  return { 1, n + 1, 0 }
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { 0, n, math.max(1, math.ceil(tonumber(first[2]) - now)) }
`,
)

/** The live leases of a key. */
export const activeScript = defineScript(
  'headroom-concurrency-active',
  `
-- KEYS[1]  {prefix:key}:leases
-- ARGV[1]  now: the caller's time in ms, or '' to read Redis' TIME
-- Returns the number of leases not yet expired.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] ~= '' then now = tonumber(ARGV[1]) end
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`,
)

/** The acquire script's ARGV, from named fields. */
export function acquireArgv(args: { limit: number; leaseMs: number; id: string; now: number | '' }) {
  return [args.limit, args.leaseMs, args.id, args.now]
}
