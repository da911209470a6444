// Lua of scheduling: job schedulers (repeatable jobs), the queue-wide pause flag, the rate
// limit and the marker idle workers block on. SCHEDULE_LUA is the part the claim script
// runs; the scripts below are whole.
import { defineScript } from '@headroom/core'
import { PREAMBLE } from './preamble.js'

/*
 * Keys, beside those of preamble.ts and under the same hash tag (qp is
 * `{prefix:name}:`):
 *   qp..'paused'       (string) set while the queue is paused: claims lease nothing
 *   qp..'limiter'      (ZSET) one member per job claimed in the last rate-limit window, scored by claim time
 *   qp..'marker'       (list, at most one element) pushed when work may be there; idle workers BLPOP it
 *   qp..'repeat'       (hash) scheduler id -> spec (JSON, see repeat.ts)
 *   qp..'repeat:next'  (ZSET) scheduler id -> the latest slot scheduled
 * A scheduler's job for slot `at` has the id `repeat:<id>:<at>`.
 */

/** Lua for the claim script: `allowance`, `spend`, `wakeIn` and `mark`. Needs PREAMBLE. */
export const SCHEDULE_LUA = `
local qp = string.sub(jp, 1, -3)
-- Wakes one idle worker (its BLPOP returns); the list never holds more than one marker.
local function mark()
  if redis.call('LLEN', qp .. 'marker') == 0 then redis.call('LPUSH', qp .. 'marker', 1) end
end
-- How many of \`count\` jobs may be leased now: none while paused, fewer under the rate
-- limit (a sliding window of claim times). Second value: ms until the limit frees a slot.
local function allowance(count, max, duration)
  if redis.call('EXISTS', qp .. 'paused') == 1 then return 0, nil end
  if max <= 0 then return count, nil end
  local lk = qp .. 'limiter'
  redis.call('ZREMRANGEBYSCORE', lk, '-inf', now - duration)
  local free = max - redis.call('ZCARD', lk)
  if free > 0 then return math.min(count, free), nil end
  local oldest = redis.call('ZRANGE', lk, 0, 0, 'WITHSCORES')
  return 0, tonumber(oldest[2]) + duration - now
end
local function spend(n, tk, duration)
  local members = {}
  for i = 1, n do
    members[#members + 1] = now
    members[#members + 1] = tk .. ':' .. i
  end
  batch('ZADD', qp .. 'limiter', members)
  redis.call('PEXPIRE', qp .. 'limiter', duration)
end
-- Ms until a job may become claimable without an add: the next delayed job due (not
-- while paused), the next lease deadline, the rate limit's next free slot; -1: none.
local function wakeIn(limited)
  local at = -1
  if limited ~= nil then at = now + limited end
  local sets = { KEYS[3] }
  if redis.call('EXISTS', qp .. 'paused') == 0 then sets[2] = KEYS[2] end
  for _, set in ipairs(sets) do
    local first = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
    if first[2] then
      local due = tonumber(first[2])
      if at < 0 or due < at then at = due end
    end
  end
  if at < 0 then return -1 end
  return math.max(0, at - now)
end
`

/**
 * Adds one slot of a job scheduler.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      agingMs (0: off)
 *       3      mode: 'u' upsert (store the spec), 'n' next (only while the spec is current)
 *       4      the scheduler's id
 *       5      spec (JSON)
 *       6      at: the slot's time
 *       7      payload
 *       8      priority
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Returns the latest slot scheduled (as a
 * string), or -1 when \`next\` found the spec changed or removed.
 * An upsert of an unchanged spec whose latest slot still waits (delayed or ready) adds
 * nothing; one whose latest slot has been claimed adds \`at\`: that repairs a chain the
 * claiming worker could not extend.
 */
export const repeatScript = defineScript(
  'headroom-queue-repeat',
  `${PREAMBLE}${SCHEDULE_LUA}
local aging = tonumber(ARGV[2])
local mode = ARGV[3]
local id = ARGV[4]
local spec = ARGV[5]
local at = tonumber(ARGV[6])
local rk = qp .. 'repeat'
local rn = qp .. 'repeat:next'
local current = redis.call('HGET', rk, id)
if mode == 'n' and current ~= spec then return -1 end
if current ~= spec then
  -- New, or changed: the job waiting for the old spec's next slot goes.
  local last = redis.call('ZSCORE', rn, id)
  if last then
    local old = 'repeat:' .. id .. ':' .. last
    if redis.call('ZREM', KEYS[2], old) == 1 then redis.call('DEL', jp .. old) end
    redis.call('ZREM', rn, id)
  end
  redis.call('HSET', rk, id, spec)
end
local last = redis.call('ZSCORE', rn, id)
if last then
  if at <= tonumber(last) then return last end
  if mode == 'u' then
    local pending = 'repeat:' .. id .. ':' .. last
    if redis.call('ZSCORE', KEYS[2], pending) or redis.call('ZSCORE', KEYS[1], pending) then return last end
  end
end
redis.call('ZADD', rn, at, id)
local jid = 'repeat:' .. id .. ':' .. string.format('%d', at)
local key = jp .. jid
if redis.call('EXISTS', key) == 1 then return ARGV[6] end
local seq = redis.call('INCR', KEYS[4])
local score = tonumber(ARGV[8]) * 1099511627776 + seq
if at > now then
  redis.call('HSET', key, 'p', ARGV[7], 'w', score, 'rt', at)
  redis.call('ZADD', KEYS[2], at, jid)
else
  redis.call('HSET', key, 'p', ARGV[7], 'w', score, 'rt', now)
  redis.call('ZADD', KEYS[1], score, jid)
  if aging > 0 then redis.call('ZADD', KEYS[6], now, jid) end
end
mark()
return ARGV[6]
`,
)

/**
 * Deletes a job scheduler and its job not yet due.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      the scheduler's id
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Returns 1 if it existed.
 */
export const removeRepeatScript = defineScript(
  'headroom-queue-repeat-remove',
  `${PREAMBLE}${SCHEDULE_LUA}
local id = ARGV[2]
local existed = redis.call('HDEL', qp .. 'repeat', id)
local last = redis.call('ZSCORE', qp .. 'repeat:next', id)
if last then
  local old = 'repeat:' .. id .. ':' .. last
  if redis.call('ZREM', KEYS[2], old) == 1 then redis.call('DEL', jp .. old) end
  redis.call('ZREM', qp .. 'repeat:next', id)
end
return existed
`,
)

/**
 * Lists the job schedulers.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Returns { id, spec, latest slot or '', ... }.
 */
export const listRepeatsScript = defineScript(
  'headroom-queue-repeat-list',
  `${PREAMBLE}${SCHEDULE_LUA}
local all = redis.call('HGETALL', qp .. 'repeat')
local out = {}
for i = 1, #all, 2 do
  out[#out + 1] = all[i]
  out[#out + 1] = all[i + 1]
  out[#out + 1] = redis.call('ZSCORE', qp .. 'repeat:next', all[i]) or ''
end
return out
`,
)

/**
 * Sets or reads the queue-wide pause.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      1 pause, 0 resume (wakes idle workers), or 'get'
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Returns 1 while paused.
 */
export const pauseScript = defineScript(
  'headroom-queue-pause',
  `${PREAMBLE}${SCHEDULE_LUA}
if ARGV[2] == '1' then
  redis.call('SET', qp .. 'paused', 1)
elseif ARGV[2] == '0' then
  redis.call('DEL', qp .. 'paused')
  mark()
end
return redis.call('EXISTS', qp .. 'paused')
`,
)
