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
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min
local format, tostr, call = string.format, tostring, redis.call
local function round6(x) return floor(x * 1e6 + 0.5) / 1e6 end

-- Policy sets: flat arrays, parsed once per batch.
local sets = {}
local a = 4
for s = 1, tonumber(ARGV[3]) do
  local np = tonumber(ARGV[a]); a = a + 1
  local set = { n = np, fields = { 'b' }, alg = {}, limit = {}, w = {}, burst = {}, f1 = {}, f2 = {}, f3 = {}, at = {}, iv = {} }
  for i = 1, np do
    local alg, name = tonumber(ARGV[a]), ARGV[a + 1]
    set.alg[i] = alg; set.limit[i] = tonumber(ARGV[a + 2]); set.w[i] = tonumber(ARGV[a + 3]); set.burst[i] = tonumber(ARGV[a + 4])
    a = a + 5
    local fields = set.fields
    set.at[i] = #fields + 1
    set.f1[i] = name .. ':1'; fields[#fields + 1] = set.f1[i]
    set.f2[i] = name .. ':2'; fields[#fields + 1] = set.f2[i]
    if alg == 4 then set.f3[i] = name .. ':3'; fields[#fields + 1] = set.f3[i] end
    set.iv[i] = format('%.17g', set.w[i] / set.limit[i])
  end
  sets[s] = set
end

local function gcraTat(has, s1, s2, interval)
  if not has or s1 <= now then return now end
  if s2 > 0 and s2 ~= interval then return now + ((s1 - now) / s2) * interval end
  return s1
end

-- One policy: allowed, remaining, reset, retry, next state (n1, n2, n3), ttl. No tables: this runs per decision.
local function evaluate(alg, limit, w, burst, has, s1, s2, s3, cost)
  if alg == 1 then
    local interval = w / limit
    local tat = gcraTat(has, s1, s2, interval)
    local newTat = tat + cost * interval
    local allowAt = newTat - burst * interval
    if cost > 0 and allowAt > now then
      local retry = ceil(allowAt - now)
      if cost > burst then retry = -1 end
      return false, max(0, round6(burst - (tat - now) / interval)), ceil(tat - now), retry, tat, interval, 0, 0
    end
    local reset = ceil(newTat - now)
    return true, max(0, round6(burst - (newTat - now) / interval)), reset, 0, newTat, interval, 0, max(1, reset)
  elseif alg == 2 then
    local rate = limit / w
    local tokens = burst
    if has then
      local refilled = s1 + max(0, now - s2) * rate
      if refilled < tokens then tokens = refilled end
    end
    if tokens + EPS * (burst + 1) >= cost then
      local left = max(0, tokens - cost)
      local reset = ceil((burst - left) / rate)
      return true, round6(left), reset, 0, left, now, 0, max(1, reset)
    end
    local retry = max(1, ceil((cost - tokens) / rate))
    if cost > burst then retry = -1 end
    return false, max(0, round6(tokens)), ceil((burst - tokens) / rate), retry, tokens, now, 0, 0
  elseif alg == 3 then
    local start = now - (now % w)
    local count = 0
    if has and s1 == start then count = s2 end
    local reset = start + w - now
    if count + cost <= limit + EPS * (limit + 1) then
      return true, max(0, round6(limit - count - cost)), reset, 0, start, count + cost, 0, reset
    end
    local retry = reset
    if cost > limit then retry = -1 end
    return false, max(0, round6(limit - count)), reset, retry, start, count, 0, 0
  else
    local start = now - (now % w)
    local current, previous = 0, 0
    if has then
      if s1 == start then current = s2; previous = s3
      elseif s1 == start - w then previous = s2 end
    end
    local elapsed = now - start
    local estimate = (previous * (w - elapsed)) / w + current
    local reset = w - elapsed
    local tolerance = EPS * (limit + 1)
    if estimate + cost <= limit + tolerance then
      return true, max(0, round6(limit - estimate - cost)), reset, 0, start, current + cost, previous, reset + w
    end
    local retry
    if cost > limit then retry = -1
    elseif current + cost <= limit + tolerance then
      retry = max(1, ceil(w - ((limit - current - cost) * w) / previous) - elapsed)
    else
      retry = reset + max(0, ceil(w - ((limit - cost) * w) / current))
    end
    return false, max(0, round6(limit - estimate)), reset, retry, start, current, previous, 0
  end
end

-- Mirrors refundState(): has, n1, n2, n3, ttl.
local function refundState(alg, limit, w, burst, has, s1, s2, s3, cost)
  if not has then return false, 0, 0, 0, 0 end
  if alg == 1 then
    local interval = w / limit
    local tat = max(now, gcraTat(has, s1, s2, interval) - cost * interval)
    return true, tat, interval, 0, max(1, ceil(tat - now))
  elseif alg == 2 then
    local rate = limit / w
    local tokens = min(burst, s1 + max(0, now - s2) * rate + cost)
    return true, tokens, now, 0, max(1, ceil((burst - tokens) / rate))
  elseif alg == 3 then
    local start = now - (now % w)
    if s1 ~= start then return false, 0, 0, 0, 0 end
    return true, start, max(0, s2 - cost), 0, start + w - now
  else
    local start = now - (now % w)
    local ttl = start + 2 * w - now
    if s1 == start then return true, start, max(0, s2 - cost), s3, ttl end
    if s1 == start - w then return true, start, 0, max(0, s2 - cost), ttl end
    return false, 0, 0, 0, 0
  end
end

-- Mirrors decide() over state arrays st1..st3 (hs: has state); fills w1..w3 with the writes.
local hs, st1, st2, st3, w1, w2, w3 = {}, {}, {}, {}, {}, {}, {}
local function decide(kind, set, blocked, cost)
  if blocked > now then return false, -1, 0, blocked - now, blocked - now, false, 0 end
  local allowed = true
  local chosen, chosenRemaining, chosenRetry, chosenReset = 0, math.huge, 0, 0
  local ttl = 0
  for i = 1, set.n do
    local ok, remaining, reset, retry, n1, n2, n3, t =
      evaluate(set.alg[i], set.limit[i], set.w[i], set.burst[i], hs[i], st1[i], st2[i], st3[i], cost)
    w1[i] = n1; w2[i] = n2; w3[i] = n3
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
  if allowed then chosenRetry = 0 end
  return allowed, chosen, chosenRemaining, chosenReset, chosenRetry, allowed and kind == 'c' and cost > 0, ttl
end

local function write(key, set, ttl, only)
  if set.n == 1 and set.alg[1] ~= 4 then
    -- The common case, without building an argument table. GCRA's interval is formatted once per batch.
    local v2 = set.iv[1]
    if set.alg[1] ~= 1 then v2 = format('%.17g', w2[1]) end
    call('HSET', key, set.f1[1], format('%.17g', w1[1]), set.f2[1], v2)
    call('PEXPIRE', key, ttl + pad)
    return
  end
  local args = {}
  for i = 1, set.n do
    if only == nil or only[i] then
      args[#args + 1] = set.f1[i]; args[#args + 1] = format('%.17g', w1[i])
      args[#args + 1] = set.f2[i]; args[#args + 1] = format('%.17g', w2[i])
      if set.alg[i] == 4 then args[#args + 1] = set.f3[i]; args[#args + 1] = format('%.17g', w3[i]) end
    end
  end
  call('HSET', key, unpack(args))
  call('PEXPIRE', key, ttl + pad)
end

local out = {}
local n = 0
local o = a
for k = 1, #KEYS do
  local key = KEYS[k]
  local kind = ARGV[o]
  local cost = tonumber(ARGV[o + 1])
  local set = sets[tonumber(ARGV[o + 2])]
  o = o + 3
  if kind == 'x' then
    call('DEL', key)
    out[n + 1] = 1; out[n + 2] = 0; out[n + 3] = '0'; out[n + 4] = 0; out[n + 5] = 0
  elseif kind == 'b' then
    local ms = ceil(cost)
    call('HSET', key, 'b', now + ms)
    if call('PTTL', key) < ms + pad then call('PEXPIRE', key, ms + pad) end
    out[n + 1] = 0; out[n + 2] = -1; out[n + 3] = '0'; out[n + 4] = ms; out[n + 5] = ms
  else
    local raw
    if set.n == 1 and set.alg[1] ~= 4 then raw = call('HMGET', key, 'b', set.f1[1], set.f2[1])
    else raw = call('HMGET', key, unpack(set.fields)) end
    local blocked = tonumber(raw[1]) or 0
    for i = 1, set.n do
      local at = set.at[i]
      local s1 = tonumber(raw[at])
      if s1 then
        hs[i] = true; st1[i] = s1; st2[i] = tonumber(raw[at + 1]) or 0
        if set.alg[i] == 4 then st3[i] = tonumber(raw[at + 2]) or 0 else st3[i] = 0 end
      else
        hs[i] = false; st1[i] = 0; st2[i] = 0; st3[i] = 0
      end
    end
    local allowed, index, remaining, reset, retry, writes, ttl
    if kind == 'r' then
      ttl = 0
      if blocked > now then ttl = blocked - now end
      local only, any = {}, false
      for i = 1, set.n do
        local has, n1, n2, n3, t =
          refundState(set.alg[i], set.limit[i], set.w[i], set.burst[i], hs[i], st1[i], st2[i], st3[i], cost)
        only[i] = has
        if has then
          any = true
          if t > ttl then ttl = t end
          hs[i] = true; st1[i] = n1; st2[i] = n2; st3[i] = n3
        end
      end
      allowed, index, remaining, reset, retry = decide('p', set, blocked, 1)
      if any then
        for i = 1, set.n do w1[i] = st1[i]; w2[i] = st2[i]; w3[i] = st3[i] end
        write(key, set, ttl, only)
      end
    else
      allowed, index, remaining, reset, retry, writes, ttl = decide(kind, set, blocked, cost)
      if writes then write(key, set, ttl, nil) end
    end
    if allowed then out[n + 1] = 1 else out[n + 1] = 0 end
    -- Whole numbers travel as integers; only fractions need a string (Redis truncates Lua numbers).
    if remaining == floor(remaining) and remaining < 1e15 then out[n + 3] = remaining else out[n + 3] = tostr(remaining) end
    out[n + 2] = index; out[n + 4] = reset; out[n + 5] = retry
  end
  n = n + 5
end
return out
`,
)

/**
 * The hot path: a batch of `consume` calls against one GCRA or fixed-window policy (the
 * usual shape of API traffic), with the arithmetic of `algorithms.ts` inlined: no
 * policy parsing, closures or tables per decision. Redis time per decision is about
 * that of the three commands it issues. Results have the batch script's layout.
 *
 * ARGV: now ('' for TIME), padding, algorithm (1 gcra, 3 fixed-window), limit, window,
 * burst, field 1, field 2, GCRA interval (as written back), then one cost per key.
 */
export const consumeScript = defineScript(
  'headroom-rate-limit-consume',
  `
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local pad = tonumber(ARGV[2])
local alg, limit, w, burst = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local f1, f2, ivs = ARGV[7], ARGV[8], ARGV[9]
local floor, ceil, max, format, call = math.floor, math.ceil, math.max, string.format, redis.call
local EPS = 1e-9
local out = {}
local n = 0
local interval = w / limit
for k = 1, #KEYS do
  local key = KEYS[k]
  local cost = tonumber(ARGV[9 + k])
  local raw = call('HMGET', key, 'b', f1, f2)
  local blocked = tonumber(raw[1])
  local ok, remaining, reset, retry
  if blocked and blocked > now then
    ok, remaining, reset, retry = false, 0, blocked - now, blocked - now
    out[n + 2] = -1
  elseif alg == 1 then
    local tat = now
    local s1 = tonumber(raw[2])
    if s1 and s1 > now then
      local s2 = tonumber(raw[3]) or 0
      if s2 > 0 and s2 ~= interval then tat = now + ((s1 - now) / s2) * interval else tat = s1 end
    end
    local newTat = tat + cost * interval
    local allowAt = newTat - burst * interval
    if cost > 0 and allowAt > now then
      ok = false
      remaining = max(0, floor((burst - (tat - now) / interval) * 1e6 + 0.5) / 1e6)
      reset = ceil(tat - now)
      retry = ceil(allowAt - now)
      if cost > burst then retry = -1 end
    else
      ok = true
      remaining = max(0, floor((burst - (newTat - now) / interval) * 1e6 + 0.5) / 1e6)
      reset = ceil(newTat - now)
      retry = 0
      if cost > 0 then
        call('HSET', key, f1, format('%.17g', newTat), f2, ivs)
        call('PEXPIRE', key, max(1, reset) + pad)
      end
    end
    out[n + 2] = 0
  else
    local start = now - (now % w)
    local count = 0
    if tonumber(raw[2]) == start then count = tonumber(raw[3]) or 0 end
    reset = start + w - now
    if count + cost <= limit + EPS * (limit + 1) then
      ok = true
      remaining = max(0, floor((limit - count - cost) * 1e6 + 0.5) / 1e6)
      retry = 0
      if cost > 0 then
        call('HSET', key, f1, start, f2, format('%.17g', count + cost))
        call('PEXPIRE', key, reset + pad)
      end
    else
      ok = false
      remaining = max(0, floor((limit - count) * 1e6 + 0.5) / 1e6)
      retry = reset
      if cost > limit then retry = -1 end
    end
    out[n + 2] = 0
  end
  if ok then out[n + 1] = 1 else out[n + 1] = 0 end
  if remaining == floor(remaining) and remaining < 1e15 then out[n + 3] = remaining else out[n + 3] = tostring(remaining) end
  out[n + 4] = reset
  out[n + 5] = retry
  n = n + 5
end
return out
`,
)
