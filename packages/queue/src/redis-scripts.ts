import { defineScript } from '@headroom/core'

/*
 * Every script gets the same KEYS, all under one hash tag `{prefix:name}` so a queue
 * lives in one Cluster slot:
 *   1 wait (ZSET, score priority * 2^40 + sequence)   2 delayed (ZSET, due time)
 *   3 active (ZSET of leases, score lease deadline)    4 seq (counter)
 *   5 fence (counter of lease tokens)                  6 age (ZSET, ready time; aging only)
 *   7 completed (ZSET, finish time in µs)              8 failed (ZSET, finish time in µs)
 * and ARGV[1], the prefix of job hashes (`{prefix:name}:j:`), which share the tag, as do
 * the lease sets `{prefix:name}:l:<token>`.
 *
 * A claim takes one fencing token from `fence` and leases its whole batch under it: the
 * set `l:<token>` holds the ids of the batch's jobs still leased, `active` holds the token
 * scored by the lease deadline. A job is held by at most one lease at a time and every new
 * lease has a new token, so (job id, token) names one lease of one job: a settlement or
 * heartbeat for a job that has left its lease set (settled, recovered, handed back) is
 * refused. One token a batch makes leasing, renewing and fencing a few multi-member
 * commands on a small set instead of commands per job.
 *
 * Job hash fields: p payload, w wait score, rt ready time, a attempts that ended without
 * settling the job (retried or stalled; absent = 0), s stalls, e last error, r result.
 * A job's state is the structure that holds it (see getScript), so the hot path writes no
 * state field: claiming a job reads its hash once, completing it writes nothing to it
 * unless the handler returned a value. Members leave sorted sets by rank (ZRANGE +
 * ZREMRANGEBYRANK), which is cheaper than ZPOPMIN (no scores to format) or ZREMs.
 * Needs Redis 6.2 (SMISMEMBER). Time is always the server's (`TIME`), so workers with
 * skewed clocks agree.
 */

const PREAMBLE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Finished sets are scored in µs, plus one per job finished by this call, so the newest
-- are kept even when many finish in the same millisecond (equal scores would sort by id).
local finished = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function finishedAt()
  finished = finished + 1
  return finished
end
local jp = ARGV[1]
local lp = string.sub(jp, 1, -3) .. 'l:'
-- One command for a whole list, in slices of 1000 values (unpack and the C stack are bounded).
-- Replies of table type (HMGET) are concatenated.
local function batch(cmd, key, list, flag)
  local out
  local n = #list
  for i = 1, n, 1000 do
    local j = math.min(i + 999, n)
    local r
    if key == nil then r = redis.call(cmd, unpack(list, i, j))
    elseif flag == nil then r = redis.call(cmd, key, unpack(list, i, j))
    else r = redis.call(cmd, key, flag, unpack(list, i, j)) end
    if out == nil then out = r
    elseif type(r) == 'table' then
      for k = 1, #r do out[#out + 1] = r[k] end
    end
  end
  return out
end
local function requeue(key, id, readyAt, aging)
  redis.call('ZADD', KEYS[1], redis.call('HGET', key, 'w'), id)
  redis.call('HSET', key, 'rt', readyAt)
  if aging > 0 then redis.call('ZADD', KEYS[6], readyAt, id) end
end
local function drop(ids)
  local keys = {}
  for i = 1, #ids do keys[i] = jp .. ids[i] end
  batch('DEL', nil, keys)
end
-- Keeps the newest \`keep\` members of a finished set, none older than \`age\` ms.
local function trim(set, keep, age)
  local excess = redis.call('ZCARD', set) - keep
  if excess > 0 then
    drop(redis.call('ZRANGE', set, 0, excess - 1))
    redis.call('ZREMRANGEBYRANK', set, 0, excess - 1)
  end
  if age > 0 then
    local old = redis.call('ZRANGEBYSCORE', set, '-inf', (now - age) * 1000, 'LIMIT', 0, 1000)
    if #old > 0 then
      drop(old)
      redis.call('ZREMRANGEBYRANK', set, 0, #old - 1)
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
local ready = {}
local later = {}
local aged = {}
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
      redis.call('HSET', key, 'p', ARGV[o + 1], 'w', score, 'rt', now + delay)
      later[#later + 1] = now + delay
      later[#later + 1] = id
    else
      redis.call('HSET', key, 'p', ARGV[o + 1], 'w', score, 'rt', now)
      ready[#ready + 1] = score
      ready[#ready + 1] = id
      if aging > 0 then
        aged[#aged + 1] = now
        aged[#aged + 1] = id
      end
    end
  end
  ids[#ids + 1] = id
end
if #ready > 0 then batch('ZADD', KEYS[1], ready) end
if #later > 0 then batch('ZADD', KEYS[2], later) end
if #aged > 0 then batch('ZADD', KEYS[6], aged) end
return ids
`,
)

/**
 * Acknowledges a batch and claims the next one in the same call (one round trip per
 * batch for a busy worker).
 *
 * ARGV: jp, count (-1: acknowledge only), leaseMs, maxScore ('+inf' or '(<score>' under
 * load shedding), agingMs, maxStalls, keepCompleted, ageCompleted, keepFailed, ageFailed,
 * g, then g groups of jobs completed without a result (token, n, then n ids), then per
 * other settlement: token, id, kind (c completed with a result, r retry, d dead, x release),
 * text (result or error), delayMs.
 *
 * Settlements first; one whose job is no longer in its lease is refused (fencing). Then,
 * unless count is -1: promotes due delayed jobs, recovers expired leases and leases up to
 * `count` jobs under one new token.
 * Returns { now, token, { id, payload, attempts ended, readyAt, ... }, { stalled ids },
 * { 1 accepted / 0 refused per settlement, in ARGV order } }.
 */
export const claimScript = defineScript(
  'headroom-queue-claim',
  `${PREAMBLE}
local count = tonumber(ARGV[2])
local aging = tonumber(ARGV[5])
local keepC = tonumber(ARGV[7])
local ageC = tonumber(ARGV[8])
local keepF = tonumber(ARGV[9])
local ageF = tonumber(ARGV[10])
local groups = tonumber(ARGV[11])

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
local o = 12
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
while o <= #ARGV do
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
      if keepC == 0 then
        dropped[#dropped + 1] = id
      else
        redis.call('HSET', job, 'r', text)
        completed[nc + 1] = finishedAt()
        completed[nc + 2] = id
        nc = nc + 2
      end
    elseif kind == 'd' then
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
      if delay > 0 then
        redis.call('ZADD', KEYS[2], now + delay, id)
      else
        requeue(job, id, now, aging)
      end
    else
      -- Handed back (the worker closed): the attempt is not counted.
      requeue(job, id, redis.call('HGET', job, 'rt'), aging)
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
        if stalls > maxStalls then
          redis.call('HSET', job, 'e', '{"message":"The job stalled ' .. stalls .. ' times (its lease expired each time)","code":"E_LEASE_LOST"}')
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
  if #dead > 0 then
    batch('ZADD', KEYS[8], dead)
    trim(KEYS[8], keepF, ageF)
  end
end

if count == 0 then return { now, 0, {}, stalled, acks } end
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
end
return { now, token, out, stalled, acks }
`,
)

/**
 * ARGV: jp, leaseMs, then per lease: token, n, then n ids. Extends the leases still
 * holding one of their jobs; returns the ids no longer held.
 */
export const extendScript = defineScript(
  'headroom-queue-extend',
  `${PREAMBLE}
local lease = tonumber(ARGV[2])
local lost = {}
local o = 3
while o <= #ARGV do
  local token = ARGV[o]
  local n = tonumber(ARGV[o + 1])
  local held = redis.call('SMISMEMBER', lp .. token, unpack(ARGV, o + 2, o + 1 + n))
  local any = false
  for k = 1, n do
    if held[k] == 1 then any = true else lost[#lost + 1] = ARGV[o + 1 + k] end
  end
  if any then redis.call('ZADD', KEYS[3], 'XX', now + lease, token) end
  o = o + 2 + n
end
return lost
`,
)

/** ARGV: jp, id. Returns { state (w d a c f), { field, value, ... } }, or nil when the job does not exist. */
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

/** ARGV: jp. Deletes up to about 1000 jobs (and, once none is left, the counters); returns how many. */
export const obliterateScript = defineScript(
  'headroom-queue-obliterate',
  `${PREAMBLE}
local removed = 0
for _, token in ipairs(redis.call('ZRANGE', KEYS[3], 0, 999)) do
  local key = lp .. token
  local ids = redis.call('SMEMBERS', key)
  if #ids > 0 then drop(ids) end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[3], token)
  removed = removed + #ids + 1
  if removed >= 1000 then return removed end
end
for _, set in ipairs({ KEYS[1], KEYS[2], KEYS[7], KEYS[8] }) do
  local ids = redis.call('ZRANGE', set, 0, 999 - removed)
  if #ids > 0 then
    drop(ids)
    redis.call('ZREMRANGEBYRANK', set, 0, #ids - 1)
    removed = removed + #ids
  end
  if removed >= 1000 then return removed end
end
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
return removed
`,
)
