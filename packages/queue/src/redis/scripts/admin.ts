// Lua behind the operator verbs (getJobs, retryJobs, retryJob, remove, clean). Each call
// touches at most ADMIN_CHUNK jobs, so working through a large set takes several calls and
// none blocks Redis for long.
import { defineScript } from '@headroom/core'
import { PREAMBLE } from './preamble.js'

/**
 * Lists one page of the jobs of one state.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      state: w d a c f
 *       3      start (rank, inclusive)
 *       4      end (rank, inclusive)
 *       5      asc: '1' oldest first
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Returns { id, { field, value, ... }, ... } for the jobs of that page that still exist.
 * Active jobs are read lease by lease (oldest lease deadline first when asc), a lease's ids
 * in id order, and only as many leases as the page needs.
 */
export const listScript = defineScript(
  'headroom-queue-list',
  `${PREAMBLE}
local state = ARGV[2]
local start = tonumber(ARGV[3])
local stop = tonumber(ARGV[4])
local asc = ARGV[5] == '1'
local ids = {}
if state == 'a' then
  local seen = 0
  local offset = 0
  while seen <= stop do
    local tokens
    if asc then tokens = redis.call('ZRANGE', KEYS[3], offset, offset + 99)
    else tokens = redis.call('ZREVRANGE', KEYS[3], offset, offset + 99) end
    if #tokens == 0 then break end
    for _, token in ipairs(tokens) do
      local members = redis.call('SMEMBERS', lp .. token)
      if asc then table.sort(members) else table.sort(members, function(a, b) return a > b end) end
      for _, id in ipairs(members) do
        if seen >= start then ids[#ids + 1] = id end
        seen = seen + 1
        if seen > stop then break end
      end
      if seen > stop then break end
    end
    offset = offset + 100
  end
else
  local key = ({ w = KEYS[1], d = KEYS[2], c = KEYS[7], f = KEYS[8] })[state]
  if asc then ids = redis.call('ZRANGE', key, start, stop)
  else ids = redis.call('ZREVRANGE', key, start, stop) end
end
local out = {}
for _, id in ipairs(ids) do
  local fields = redis.call('HGETALL', jp .. id)
  if #fields > 0 then
    out[#out + 1] = id
    out[#out + 1] = fields
  end
end
return out
`,
)

/**
 * Moves failed jobs back to waiting.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      agingMs (0: off)
 *       3      limit
 *       4      id ('' for the oldest `limit` failed jobs)
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Moves failed jobs back to waiting at their priority, with their attempts, stalls, error and result
 * cleared, ready now. Returns { moved, scanned } (scanned < limit: the set is drained).
 */
export const retryScript = defineScript(
  'headroom-queue-retry',
  `${PREAMBLE}
local aging = tonumber(ARGV[2])
local function back(id)
  local key = jp .. id
  redis.call('HDEL', key, 'a', 's', 'e', 'r')
  requeue(key, id, now, aging)
end
local one = ARGV[4]
if one ~= '' then
  if redis.call('ZREM', KEYS[8], one) == 1 then
    if redis.call('EXISTS', jp .. one) == 1 then
      back(one)
      return { 1, 1 }
    end
  end
  return { 0, 0 }
end
local ids = redis.call('ZRANGE', KEYS[8], 0, tonumber(ARGV[3]) - 1)
if #ids == 0 then return { 0, 0 } end
redis.call('ZREMRANGEBYRANK', KEYS[8], 0, #ids - 1)
local moved = 0
for _, id in ipairs(ids) do
  if redis.call('EXISTS', jp .. id) == 1 then
    back(id)
    moved = moved + 1
  end
end
return { moved, #ids }
`,
)

/**
 * Deletes a waiting, delayed, completed or failed job.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      id
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Returns 1 removed, 0 no such job, -1 active (a worker holds its lease: left alone).
 */
export const removeScript = defineScript(
  'headroom-queue-remove',
  `${PREAMBLE}
local id = ARGV[2]
local key = jp .. id
if redis.call('EXISTS', key) == 0 then return 0 end
if redis.call('ZREM', KEYS[1], id) == 1 then
  redis.call('ZREM', KEYS[6], id)
elseif redis.call('ZREM', KEYS[2], id) == 0 and redis.call('ZREM', KEYS[7], id) == 0
  and redis.call('ZREM', KEYS[8], id) == 0 then
  return -1
end
redis.call('DEL', key)
return 1
`,
)

/**
 * Deletes old finished jobs.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      set: c completed, f failed
 *       3      ageMs
 *       4      limit
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Deletes up to \`limit\` jobs of the
 * set that finished more than ageMs ago, oldest first; returns their ids.
 */
export const cleanScript = defineScript(
  'headroom-queue-clean',
  `${PREAMBLE}
local set = KEYS[7]
if ARGV[2] == 'f' then set = KEYS[8] end
-- Finished sets are scored in µs (see the preamble).
local cutoff = (now - tonumber(ARGV[3])) * 1000
local ids = redis.call('ZRANGEBYSCORE', set, '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[4]))
if #ids > 0 then
  drop(ids)
  redis.call('ZREMRANGEBYRANK', set, 0, #ids - 1)
end
return ids
`,
)
