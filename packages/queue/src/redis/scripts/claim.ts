// Lua of a worker's round trip: settle the finished batch, promote due jobs, recover
// expired leases, and lease the next batch under one fencing token.
import { defineScript } from '@headroom/core'
import { PREAMBLE } from './preamble.js'
import { SCHEDULE_LUA } from './schedule.js'

/**
 * Acknowledges a batch and claims the next one in the same call (one round trip per
 * batch for a busy worker).
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      count (-1: acknowledge only)
 *       3      leaseMs
 *       4      maxScore: '+inf', or '(<score>' under load shedding
 *       5      agingMs (0: off)
 *       6      maxStalls
 *       7      keepCompleted
 *       8      ageCompleted
 *       9      keepFailed
 *       10     ageFailed
 *       11     g: groups of jobs completed without a result
 *       12     limiterMax (0: no rate limit)
 *       13     limiterDurationMs
 *       14     woke: 1 when this claim follows a wake-up
 *       15...  g groups: token, n, then n ids
 *       then   per other settlement: token, id, kind (c completed with a result, r retry,
 *              d dead, x release), text (result or error), delayMs
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Settlements first; one whose job is no longer in its lease is refused (fencing). Then,
 * unless count is -1: promotes due delayed jobs, recovers expired leases and leases up to
 * `count` jobs under one new token (none while the queue is paused, fewer under the rate
 * limit; see schedule.ts).
 * Returns { now, token, { id, payload, attempts ended, readyAt, ... }, { stalled ids },
 * { 1 accepted / 0 refused per settlement, in ARGV order }, wake }: wake, when the claim
 * came back short, is the ms until a job may become claimable without an add (-1: none).
 */
export const claimScript = defineScript(
  'headroom-queue-claim',
  `${PREAMBLE}${SCHEDULE_LUA}
local count = tonumber(ARGV[2])
local aging = tonumber(ARGV[5])
local keepC = tonumber(ARGV[7])
local ageC = tonumber(ARGV[8])
local keepF = tonumber(ARGV[9])
local ageF = tonumber(ARGV[10])
local groups = tonumber(ARGV[11])
local limitMax = tonumber(ARGV[12])
local limitMs = tonumber(ARGV[13])
local woke = ARGV[14] == '1'

-- Leaves lease sets whose last job left: the set is gone, its token leaves \`active\`.
local emptied = {}
local function left(token, key)
  if emptied[token] == nil and redis.call('EXISTS', key) == 0 then
    emptied[token] = true
    redis.call('ZREM', KEYS[3], token)
  end
end

local acks = {}
local na = 0
local completed = {}
local nc = 0
local failed = {}
local dropped = {}
local o = 15
for g = 1, groups do
  local token = ARGV[o]
  local n = tonumber(ARGV[o + 1])
  local from = o + 2
  local to = o + 1 + n
  local key = lp .. token
  local held = redis.call('SMISMEMBER', key, unpack(ARGV, from, to))
  local all = true
  for k = 1, n do
    local ok = held[k]
    na = na + 1
    acks[na] = ok
    if ok == 1 then
      if ev then emit('completed', ARGV[o + 1 + k], '') end
      if keepC ~= 0 then
        completed[nc + 1] = finishedAt()
        completed[nc + 2] = ARGV[o + 1 + k]
        nc = nc + 2
      end
    else
      all = false
    end
  end
  if all then
    redis.call('SREM', key, unpack(ARGV, from, to))
    if keepC == 0 then
      for k = from, to do dropped[#dropped + 1] = ARGV[k] end
    end
  else
    local gone = {}
    for k = 1, n do
      if held[k] == 1 then gone[#gone + 1] = ARGV[o + 1 + k] end
    end
    if #gone > 0 then
      redis.call('SREM', key, unpack(gone))
      if keepC == 0 then
        for k = 1, #gone do dropped[#dropped + 1] = gone[k] end
      end
    end
  end
  left(token, key)
  o = to + 1
end
while o <= nargv do
  local token = ARGV[o]
  local id = ARGV[o + 1]
  local key = lp .. token
  na = na + 1
  if redis.call('SREM', key, id) == 1 then
    acks[na] = 1
    left(token, key)
    local job = jp .. id
    local kind = ARGV[o + 2]
    local text = ARGV[o + 3]
    if kind == 'c' then
      if ev then emit('completed', id, text) end
      if keepC == 0 then
        dropped[#dropped + 1] = id
      else
        redis.call('HSET', job, 'r', text)
        completed[nc + 1] = finishedAt()
        completed[nc + 2] = id
        nc = nc + 2
      end
    elseif kind == 'd' then
      if ev then emit('failed', id, text) end
      if keepF == 0 then
        dropped[#dropped + 1] = id
      else
        redis.call('HSET', job, 'e', text)
        failed[#failed + 1] = finishedAt()
        failed[#failed + 1] = id
      end
    elseif kind == 'r' then
      redis.call('HINCRBY', job, 'a', 1)
      redis.call('HSET', job, 'e', text)
      local delay = tonumber(ARGV[o + 4])
      if ev then emit('retrying', id, text, delay) end
      if delay > 0 then
        redis.call('ZADD', KEYS[2], now + delay, id)
      else
        requeue(job, id, now, aging)
        mark()
      end
    else
      -- Handed back (the worker closed): the attempt is not counted.
      requeue(job, id, redis.call('HGET', job, 'rt'), aging)
      mark()
    end
  else
    acks[na] = 0
  end
  o = o + 5
end
if #dropped > 0 then drop(dropped) end
if nc > 0 then
  batch('ZADD', KEYS[7], completed)
  trim(KEYS[7], keepC, ageC)
end
if #failed > 0 then
  batch('ZADD', KEYS[8], failed)
  trim(KEYS[8], keepF, ageF)
end
-- Flushed per phase, so a job's events keep their order (retrying before active, stalled before failed).
if ev then flush() end
if count < 0 then return { now, 0, {}, {}, acks } end

local lease = tonumber(ARGV[3])
local maxScore = ARGV[4]
local maxStalls = tonumber(ARGV[6])

local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1000)
if #due > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, #due / 2 - 1)
  for i = 1, #due, 2 do
    local job = jp .. due[i]
    if redis.call('EXISTS', job) == 1 then requeue(job, due[i], due[i + 1], aging) end
  end
end

-- Expired leases (their worker died or stalled): their jobs go back in line, keeping their place.
-- At most 100 leases or about 1000 jobs a call, so one call never blocks Redis for long.
local stalled = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 100)
if #expired > 0 then
  local dead = {}
  local done = 0
  for _, token in ipairs(expired) do
    if #stalled >= 1000 then break end
    done = done + 1
    local key = lp .. token
    local ids = redis.call('SMEMBERS', key)
    redis.call('DEL', key)
    for _, id in ipairs(ids) do
      local job = jp .. id
      if redis.call('EXISTS', job) == 1 then
        local stalls = redis.call('HINCRBY', job, 's', 1)
        if ev then emit('stalled', id) end
        if stalls > maxStalls then
          local reason = '{"message":"The job stalled ' .. stalls .. ' times (its lease expired each time)","code":"E_LEASE_LOST"}'
          redis.call('HSET', job, 'e', reason)
          if ev then emit('failed', id, reason) end
          dead[#dead + 1] = finishedAt()
          dead[#dead + 1] = id
        else
          redis.call('HINCRBY', job, 'a', 1)
          requeue(job, id, redis.call('HGET', job, 'rt'), aging)
        end
        stalled[#stalled + 1] = id
      end
    end
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, done - 1)
  if #stalled > 0 then mark() end
  if #dead > 0 then
    batch('ZADD', KEYS[8], dead)
    trim(KEYS[8], keepF, ageF)
  end
end

if ev then flush() end
if count == 0 then return { now, 0, {}, stalled, acks } end
local wanted = count
local limited
count, limited = allowance(count, limitMax, limitMs)
if count == 0 then return { now, 0, {}, stalled, acks, wakeIn(limited) } end
local token = redis.call('INCR', KEYS[5])
-- Exact decimal digits (Lua would print a large number in exponent form).
local tk = string.format('%d', token)
local out = {}
local no = 0
local members = {}
local taken = 0
local function take(id)
  local f = redis.call('HMGET', jp .. id, 'p', 'rt', 'a')
  if not f[1] then return end
  taken = taken + 1
  members[taken] = id
  out[no + 1] = id
  out[no + 2] = f[1]
  out[no + 3] = f[3] or 0
  out[no + 4] = f[2]
  no = no + 4
  if ev then emit('active', id, (f[3] or 0) + 1) end
end

if aging > 0 then
  local starving = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now - aging, 'LIMIT', 0, count)
  for _, id in ipairs(starving) do
    redis.call('ZREM', KEYS[6], id)
    if redis.call('ZREM', KEYS[1], id) == 1 then take(id) end
  end
end
local want = count - taken
if want > 0 then
  local next
  if maxScore == '+inf' then
    next = redis.call('ZRANGE', KEYS[1], 0, want - 1)
  else
    next = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', maxScore, 'LIMIT', 0, want)
  end
  if #next > 0 then
    -- The first members by score are the first by rank.
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #next - 1)
    if aging > 0 then batch('ZREM', KEYS[6], next) end
    for i = 1, #next do take(next[i]) end
  end
end
if taken > 0 then
  batch('SADD', lp .. tk, members)
  redis.call('ZADD', KEYS[3], now + lease, tk)
  if limitMax > 0 then
    spend(taken, tk, limitMs)
    -- Short because the limit is now spent: wake when it frees a slot.
    if taken < wanted and limited == nil then
      local _
      _, limited = allowance(1, limitMax, limitMs)
    end
  end
end
if ev then flush() end
if taken < wanted then return { now, token, out, stalled, acks, wakeIn(limited) } end
-- A worker woken from idle took a full batch: wake the next one if jobs still wait.
if woke and redis.call('ZCARD', KEYS[1]) > 0 then mark() end
return { now, token, out, stalled, acks }
`,
)
