import { defineScript } from '@headroom/core'

/*
 * Every script gets the same KEYS, all under one hash tag `{prefix:name}` so a queue
 * lives in one Cluster slot:
 *   1 wait (ZSET, score priority * 2^40 + sequence)   2 delayed (ZSET, due time)
 *   3 active (ZSET, lease deadline)                    4 seq (counter)
 *   5 fence (counter of lease tokens)                  6 age (ZSET, ready time; aging only)
 *   7 completed (ZSET, finish time)                    8 failed (ZSET, finish time)
 * and ARGV[1], the prefix of job hashes (`{prefix:name}:j:`), which share the tag.
 * Job hash fields: p payload, w wait score, rt ready time, a attempts, s stalls,
 * k current lease token, st state (w d a c f), e last error, r result, f finish time.
 * Time is always the server's (`TIME`), so workers with skewed clocks agree.
 */

const PREAMBLE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local jp = ARGV[1]
local function requeue(key, id, readyAt, aging)
  local w = redis.call('HGET', key, 'w')
  redis.call('ZADD', KEYS[1], w, id)
  redis.call('HSET', key, 'st', 'w', 'rt', readyAt)
  if aging > 0 then redis.call('ZADD', KEYS[6], readyAt, id) end
end
local function trim(set, keep, age)
  local excess = redis.call('ZCARD', set) - keep
  if excess > 0 then
    local old = redis.call('ZPOPMIN', set, excess)
    for i = 1, #old, 2 do redis.call('DEL', jp .. old[i]) end
  end
  if age > 0 then
    local old = redis.call('ZRANGEBYSCORE', set, '-inf', now - age, 'LIMIT', 0, 200)
    for _, id in ipairs(old) do
      redis.call('ZREM', set, id)
      redis.call('DEL', jp .. id)
    end
  end
end
`

/** ARGV: jp, aging, then per job: id ('' = next sequence number), payload, priority, delayMs. Returns ids. */
export const addScript = defineScript(
  'headroom-queue-add',
  `${PREAMBLE}
local aging = tonumber(ARGV[2])
local n = (#ARGV - 2) / 4
local last = redis.call('INCRBY', KEYS[4], n)
local first = last - n
local ids = {}
for i = 0, n - 1 do
  local o = 3 + i * 4
  local seq = first + i + 1
  local id = ARGV[o]
  if id == '' then id = string.format('%d', seq) end
  local key = jp .. id
  if redis.call('EXISTS', key) == 0 then
    local score = tonumber(ARGV[o + 2]) * 1099511627776 + seq
    local delay = tonumber(ARGV[o + 3])
    if delay > 0 then
      redis.call('HSET', key, 'p', ARGV[o + 1], 'w', score, 'rt', now + delay, 'a', 0, 'st', 'd')
      redis.call('ZADD', KEYS[2], now + delay, id)
    else
      redis.call('HSET', key, 'p', ARGV[o + 1], 'w', score, 'rt', now, 'a', 0, 'st', 'w')
      redis.call('ZADD', KEYS[1], score, id)
      if aging > 0 then redis.call('ZADD', KEYS[6], now, id) end
    end
  end
  ids[#ids + 1] = id
end
return ids
`,
)

/**
 * ARGV: jp, count, leaseMs, maxScore ('+inf' or '(<score>' under load shedding), agingMs,
 * maxStalls, keepFailed, ageFailed.
 * Promotes due delayed jobs, recovers expired leases, then leases up to `count` jobs.
 * Returns { now, { id, payload, attempt, token, readyAt, ... }, { stalled ids } }.
 */
export const claimScript = defineScript(
  'headroom-queue-claim',
  `${PREAMBLE}
local count = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local maxScore = ARGV[4]
local aging = tonumber(ARGV[5])
local maxStalls = tonumber(ARGV[6])

local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1000)
for i = 1, #due, 2 do
  local id = due[i]
  redis.call('ZREM', KEYS[2], id)
  local key = jp .. id
  if redis.call('EXISTS', key) == 1 then requeue(key, id, due[i + 1], aging) end
end

local stalled = {}
local deadLettered = false
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  local key = jp .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HDEL', key, 'k')
    local stalls = redis.call('HINCRBY', key, 's', 1)
    if stalls > maxStalls then
      redis.call('HSET', key, 'st', 'f', 'f', now, 'e', '{"message":"The job stalled ' .. stalls .. ' times (its lease expired each time)","code":"E_LEASE_LOST"}')
      redis.call('ZADD', KEYS[8], now, id)
      deadLettered = true
    else
      requeue(key, id, redis.call('HGET', key, 'rt'), aging)
    end
    stalled[#stalled + 1] = id
  end
end
if deadLettered then trim(KEYS[8], tonumber(ARGV[7]), tonumber(ARGV[8])) end

local out = {}
local taken = 0
local leased = {}
-- One INCRBY reserves a block of fencing tokens for the whole batch.
local token = redis.call('INCRBY', KEYS[5], count) - count
local deadline = now + lease
local function take(id)
  local key = jp .. id
  local fields = redis.call('HMGET', key, 'p', 'rt')
  if not fields[1] then return end
  token = token + 1
  local attempt = redis.call('HINCRBY', key, 'a', 1)
  redis.call('HSET', key, 'st', 'a', 'k', token)
  leased[#leased + 1] = deadline
  leased[#leased + 1] = id
  out[#out + 1] = id
  out[#out + 1] = fields[1]
  out[#out + 1] = attempt
  out[#out + 1] = token
  out[#out + 1] = fields[2]
  taken = taken + 1
end

if aging > 0 then
  local starving = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now - aging, 'LIMIT', 0, count)
  for _, id in ipairs(starving) do
    redis.call('ZREM', KEYS[6], id)
    if redis.call('ZREM', KEYS[1], id) == 1 then take(id) end
  end
end
local rest = count - taken
if rest > 0 then
  local ids = {}
  if maxScore == '+inf' then
    local popped = redis.call('ZPOPMIN', KEYS[1], rest)
    for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
  else
    ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', maxScore, 'LIMIT', 0, rest)
    if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
  end
  if aging > 0 and #ids > 0 then redis.call('ZREM', KEYS[6], unpack(ids)) end
  for _, id in ipairs(ids) do take(id) end
end
if #leased > 0 then redis.call('ZADD', KEYS[3], unpack(leased)) end
return { now, out, stalled }
`,
)

/** ARGV: jp, leaseMs, then pairs id, token. Extends the leases still held; returns the lost ids. */
export const extendScript = defineScript(
  'headroom-queue-extend',
  `${PREAMBLE}
local lease = tonumber(ARGV[2])
local lost = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', jp .. id, 'k') == ARGV[i + 1] then
    redis.call('ZADD', KEYS[3], 'XX', now + lease, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
`,
)

/**
 * ARGV: jp, keepCompleted, ageCompleted, keepFailed, ageFailed, agingMs, then per job:
 * id, token, kind (c completed, r retry, d dead, x release), text (result or error), delayMs.
 * A settlement whose token is no longer the job's current one is refused (fencing): 0.
 */
export const settleScript = defineScript(
  'headroom-queue-settle',
  `${PREAMBLE}
local keepC = tonumber(ARGV[2])
local ageC = tonumber(ARGV[3])
local keepF = tonumber(ARGV[4])
local ageF = tonumber(ARGV[5])
local aging = tonumber(ARGV[6])
local res = {}
local doneC = false
local doneF = false
for i = 7, #ARGV, 5 do
  local id = ARGV[i]
  local kind = ARGV[i + 2]
  local text = ARGV[i + 3]
  local key = jp .. id
  if redis.call('HGET', key, 'k') == ARGV[i + 1] and redis.call('ZREM', KEYS[3], id) == 1 then
    -- Clearing the token (k = '') in the same HSET as the new state fences out a late settlement.
    if kind == 'c' then
      if keepC == 0 then
        redis.call('DEL', key)
      else
        if text ~= '' then
          redis.call('HSET', key, 'st', 'c', 'f', now, 'k', '', 'r', text)
        else
          redis.call('HSET', key, 'st', 'c', 'f', now, 'k', '')
        end
        redis.call('ZADD', KEYS[7], now, id)
        doneC = true
      end
    elseif kind == 'd' then
      if keepF == 0 then
        redis.call('DEL', key)
      else
        redis.call('HSET', key, 'st', 'f', 'f', now, 'e', text, 'k', '')
        redis.call('ZADD', KEYS[8], now, id)
        doneF = true
      end
    elseif kind == 'r' then
      local delay = tonumber(ARGV[i + 4])
      if delay > 0 then
        redis.call('HSET', key, 'st', 'd', 'e', text, 'k', '')
        redis.call('ZADD', KEYS[2], now + delay, id)
      else
        redis.call('HSET', key, 'e', text, 'k', '')
        requeue(key, id, now, aging)
      end
    else
      redis.call('HSET', key, 'k', '')
      redis.call('HINCRBY', key, 'a', -1)
      requeue(key, id, redis.call('HGET', key, 'rt'), aging)
    end
    res[#res + 1] = 1
  else
    res[#res + 1] = 0
  end
end
if doneC then trim(KEYS[7], keepC, ageC) end
if doneF then trim(KEYS[8], keepF, ageF) end
return res
`,
)

/**
 * ARGV: jp, then the level boundaries (scores) high, medium, low.
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
  if i > 1 then low = bounds[i] end
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
out[#out + 1] = redis.call('ZCARD', KEYS[3])
out[#out + 1] = redis.call('ZCARD', KEYS[7])
out[#out + 1] = redis.call('ZCARD', KEYS[8])
out[#out + 1] = oldest
return out
`,
)

/** ARGV: jp. Deletes up to 1000 jobs (and, once none is left, the counters); returns how many. */
export const obliterateScript = defineScript(
  'headroom-queue-obliterate',
  `${PREAMBLE}
local removed = 0
for _, set in ipairs({ KEYS[1], KEYS[2], KEYS[3], KEYS[7], KEYS[8] }) do
  local ids = redis.call('ZRANGE', set, 0, 999 - removed)
  for _, id in ipairs(ids) do
    redis.call('DEL', jp .. id)
    redis.call('ZREM', set, id)
    removed = removed + 1
  end
  if removed >= 1000 then return removed end
end
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
return removed
`,
)
