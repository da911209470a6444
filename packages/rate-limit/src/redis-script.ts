import { defineScript } from '@headroom/core'

/** Algorithm codes in the script's arguments. */
export const ALGORITHM_CODES = { gcra: 1, 'token-bucket': 2, 'fixed-window': 3, 'sliding-window': 4 } as const

/** Operation codes in the script's arguments. */
export const OP_CODES = { consume: 'c', peek: 'p', refund: 'r', block: 'b', reset: 'x' } as const

/**
 * One script decides a whole batch: every operation waiting in one tick (and, on a
 * Cluster, sharing one hash slot) in one EVALSHA, with one result per operation.
 * The arithmetic mirrors `algorithms.ts` and `decide.ts` line for line.
 *
 * KEYS[k]: the hash of operation k, `{prefix:id}`; fields `<policy>:1..3` and `b` (blocked until).
 * ARGV: now (empty: use the server's TIME), lifetime padding in ms (client clock only),
 * the number of policy sets, each set
 * (`n`, then per policy: algorithm, name, limit, window, burst), then per operation:
 * op code, cost (block: milliseconds), set index.
 * Returns five values per operation: allowed (1/0), policy index (-1 for a block),
 * remaining (string), reset ms, retry-after ms (-1: never).
 */
export const batchScript = defineScript(
  'headroom-rate-limit-batch',
  `
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- With a client clock, Redis expires keys on its own clock: pad lifetimes so drift never drops live state.
local pad = tonumber(ARGV[2])
local EPS = 1e-9
local function round6(x) return math.floor(x * 1e6 + 0.5) / 1e6 end
local function fmt(x) return string.format('%.17g', x) end

local sets = {}
local a = 4
for s = 1, tonumber(ARGV[3]) do
  local np = tonumber(ARGV[a]); a = a + 1
  local set = { fields = { 'b' } }
  for i = 1, np do
    local p = { alg = tonumber(ARGV[a]), name = ARGV[a + 1], limit = tonumber(ARGV[a + 2]),
      w = tonumber(ARGV[a + 3]), burst = tonumber(ARGV[a + 4]) }
    a = a + 5
    p.at = #set.fields + 1
    p.f = { p.name .. ':1', p.name .. ':2' }
    if p.alg == 4 then p.f[3] = p.name .. ':3' end
    for j = 1, #p.f do set.fields[#set.fields + 1] = p.f[j] end
    set[i] = p
  end
  sets[s] = set
end

local function gcraTat(st, interval)
  if not st or st[1] <= now then return now end
  if st[2] > 0 and st[2] ~= interval then return now + ((st[1] - now) / st[2]) * interval end
  return st[1]
end

-- returns allowed, remaining, reset, retry, next state (table), ttl
local function evaluate(p, st, cost)
  if p.alg == 1 then
    local interval = p.w / p.limit
    local capacity = p.burst * interval
    local tat = gcraTat(st, interval)
    local newTat = tat + cost * interval
    local allowAt = newTat - capacity
    if cost > 0 and allowAt > now then
      local retry = math.ceil(allowAt - now)
      if cost > p.burst then retry = -1 end
      return false, math.max(0, round6(p.burst - (tat - now) / interval)), math.ceil(tat - now), retry, { tat, interval, 0 }, 0
    end
    local reset = math.ceil(newTat - now)
    return true, math.max(0, round6(p.burst - (newTat - now) / interval)), reset, 0, { newTat, interval, 0 }, math.max(1, reset)
  elseif p.alg == 2 then
    local rate = p.limit / p.w
    local tokens = p.burst
    if st then
      local refilled = st[1] + math.max(0, now - st[2]) * rate
      if refilled < tokens then tokens = refilled end
    end
    if tokens + EPS * (p.burst + 1) >= cost then
      local left = math.max(0, tokens - cost)
      local reset = math.ceil((p.burst - left) / rate)
      return true, round6(left), reset, 0, { left, now, 0 }, math.max(1, reset)
    end
    local retry = math.max(1, math.ceil((cost - tokens) / rate))
    if cost > p.burst then retry = -1 end
    return false, math.max(0, round6(tokens)), math.ceil((p.burst - tokens) / rate), retry, { tokens, now, 0 }, 0
  elseif p.alg == 3 then
    local start = now - (now % p.w)
    local count = 0
    if st and st[1] == start then count = st[2] end
    local reset = start + p.w - now
    if count + cost <= p.limit + EPS * (p.limit + 1) then
      return true, math.max(0, round6(p.limit - count - cost)), reset, 0, { start, count + cost, 0 }, reset
    end
    local retry = reset
    if cost > p.limit then retry = -1 end
    return false, math.max(0, round6(p.limit - count)), reset, retry, { start, count, 0 }, 0
  else
    local w = p.w
    local start = now - (now % w)
    local current, previous = 0, 0
    if st then
      if st[1] == start then current = st[2]; previous = st[3]
      elseif st[1] == start - w then previous = st[2] end
    end
    local elapsed = now - start
    local estimate = (previous * (w - elapsed)) / w + current
    local reset = w - elapsed
    local tolerance = EPS * (p.limit + 1)
    if estimate + cost <= p.limit + tolerance then
      return true, math.max(0, round6(p.limit - estimate - cost)), reset, 0, { start, current + cost, previous }, reset + w
    end
    local retry
    if cost > p.limit then retry = -1
    elseif current + cost <= p.limit + tolerance then
      retry = math.max(1, math.ceil(w - ((p.limit - current - cost) * w) / previous) - elapsed)
    else
      retry = reset + math.max(0, math.ceil(w - ((p.limit - cost) * w) / current))
    end
    return false, math.max(0, round6(p.limit - estimate)), reset, retry, { start, current, previous }, 0
  end
end

local function refundState(p, st, cost)
  if not st then return nil, 0 end
  if p.alg == 1 then
    local interval = p.w / p.limit
    local tat = math.max(now, gcraTat(st, interval) - cost * interval)
    return { tat, interval, 0 }, math.max(1, math.ceil(tat - now))
  elseif p.alg == 2 then
    local rate = p.limit / p.w
    local tokens = math.min(p.burst, st[1] + math.max(0, now - st[2]) * rate + cost)
    return { tokens, now, 0 }, math.max(1, math.ceil((p.burst - tokens) / rate))
  elseif p.alg == 3 then
    local start = now - (now % p.w)
    if st[1] ~= start then return nil, 0 end
    return { start, math.max(0, st[2] - cost), 0 }, start + p.w - now
  else
    local w = p.w
    local start = now - (now % w)
    local ttl = start + 2 * w - now
    if st[1] == start then return { start, math.max(0, st[2] - cost), st[3] }, ttl end
    if st[1] == start - w then return { start, 0, math.max(0, st[2] - cost) }, ttl end
    return nil, 0
  end
end

-- mirrors decide(): returns allowed, index, remaining, reset, retry, writes (or nil), ttl
local function decide(kind, set, states, blocked, cost)
  if blocked > now then
    return false, -1, 0, blocked - now, blocked - now, nil, 0
  end
  local allowed = true
  local chosen, chosenRemaining, chosenRetry, chosenReset = 0, math.huge, 0, 0
  local ttl = 0
  local nexts = {}
  for i = 1, #set do
    local ok, remaining, reset, retry, nxt, t = evaluate(set[i], states[i], cost)
    nexts[i] = nxt
    if t > ttl then ttl = t end
    if not ok then
      if allowed or retry == -1 or (chosenRetry ~= -1 and retry > chosenRetry) then
        chosen = i - 1; chosenRetry = retry; chosenRemaining = remaining; chosenReset = reset
      end
      allowed = false
    elseif allowed and remaining < chosenRemaining then
      chosen = i - 1; chosenRemaining = remaining; chosenReset = reset
    end
  end
  if kind == 'p' and allowed then chosenRemaining = round6(chosenRemaining + cost) end
  local writes = nil
  if allowed and kind == 'c' and cost > 0 then writes = nexts end
  if allowed then chosenRetry = 0 end
  return allowed, chosen, chosenRemaining, chosenReset, chosenRetry, writes, ttl
end

local out = {}
local o = a
for k = 1, #KEYS do
  local key = KEYS[k]
  local kind = ARGV[o]
  local cost = tonumber(ARGV[o + 1])
  local set = sets[tonumber(ARGV[o + 2])]
  o = o + 3
  local n = #out
  if kind == 'x' then
    redis.call('DEL', key)
    out[n + 1] = 1; out[n + 2] = 0; out[n + 3] = '0'; out[n + 4] = 0; out[n + 5] = 0
  elseif kind == 'b' then
    local ms = math.ceil(cost)
    redis.call('HSET', key, 'b', now + ms)
    local pttl = redis.call('PTTL', key)
    if pttl < ms + pad then redis.call('PEXPIRE', key, ms + pad) end
    out[n + 1] = 0; out[n + 2] = -1; out[n + 3] = '0'; out[n + 4] = ms; out[n + 5] = ms
  else
    local raw = redis.call('HMGET', key, unpack(set.fields))
    local blocked = tonumber(raw[1]) or 0
    local states = {}
    for i = 1, #set do
      local p = set[i]
      local s1 = tonumber(raw[p.at])
      if s1 then
        states[i] = { s1, tonumber(raw[p.at + 1]) or 0, tonumber(raw[p.at + 2]) or 0 }
        if p.alg ~= 4 then states[i][3] = 0 end
      end
    end
    local allowed, index, remaining, reset, retry, writes, ttl
    if kind == 'r' then
      local after, refunds = {}, {}
      ttl = 0
      if blocked > now then ttl = blocked - now end
      local any = false
      for i = 1, #set do
        local nxt, t = refundState(set[i], states[i], cost)
        refunds[i] = nxt
        if nxt then
          any = true
          after[i] = nxt
          if t > ttl then ttl = t end
        else
          after[i] = states[i]
        end
      end
      allowed, index, remaining, reset, retry = decide('p', set, after, blocked, 1)
      if any then writes = refunds end
    else
      allowed, index, remaining, reset, retry, writes, ttl = decide(kind, set, states, blocked, cost)
    end
    if writes then
      local args = {}
      for i = 1, #set do
        local st = writes[i]
        if st then
          local f = set[i].f
          for j = 1, #f do
            args[#args + 1] = f[j]
            args[#args + 1] = fmt(st[j])
          end
        end
      end
      redis.call('HSET', key, unpack(args))
      redis.call('PEXPIRE', key, ttl + pad)
    end
    if allowed then out[n + 1] = 1 else out[n + 1] = 0 end
    out[n + 2] = index; out[n + 3] = tostring(remaining); out[n + 4] = reset; out[n + 5] = retry
  end
end
return out
`,
)
