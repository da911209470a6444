// Read-only Lua behind getJob() and stats(): one job's state and fields, and the counts.
import { defineScript } from '@headroom/core'
import { PREAMBLE } from './preamble.js'

/**
 * Reads one job.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      id
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Returns { state (w d a c f), { field, value, ... } }, or nil when the job does not exist.
 */
export const getScript = defineScript(
  'headroom-queue-get',
  `${PREAMBLE}
local id = ARGV[2]
local fields = redis.call('HGETALL', jp .. id)
if #fields == 0 then return false end
-- Every job is in exactly one place; one in no sorted set is in a lease set.
local state = 'a'
if redis.call('ZSCORE', KEYS[1], id) then state = 'w'
elseif redis.call('ZSCORE', KEYS[7], id) then state = 'c'
elseif redis.call('ZSCORE', KEYS[8], id) then state = 'f'
elseif redis.call('ZSCORE', KEYS[2], id) then state = 'd' end
return { state, fields }
`,
)

/**
 * Counts the jobs of each state and priority level.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      the wait score where HIGH begins
 *       3      where MEDIUM begins
 *       4      where LOW begins
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Returns { now, critical, high, medium, low, delayed, active, completed, failed, oldestReadyAt or -1 }.
 */
export const countsScript = defineScript(
  'headroom-queue-counts',
  `${PREAMBLE}
local bounds = { '-inf', ARGV[2], ARGV[3], ARGV[4], '+inf' }
local out = { now }
local oldest = -1
for i = 1, 4 do
  local low = bounds[i]
  local high = bounds[i + 1]
  if i < 4 then high = '(' .. high end
  out[#out + 1] = redis.call('ZCOUNT', KEYS[1], low, high)
  local head = redis.call('ZRANGEBYSCORE', KEYS[1], low, high, 'LIMIT', 0, 1)
  if head[1] then
    local rt = tonumber(redis.call('HGET', jp .. head[1], 'rt'))
    if rt and (oldest < 0 or rt < oldest) then oldest = rt end
  end
end
out[#out + 1] = redis.call('ZCARD', KEYS[2])
local active = 0
for _, token in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  active = active + redis.call('SCARD', lp .. token)
end
out[#out + 1] = active
out[#out + 1] = redis.call('ZCARD', KEYS[7])
out[#out + 1] = redis.call('ZCARD', KEYS[8])
out[#out + 1] = oldest
return out
`,
)
