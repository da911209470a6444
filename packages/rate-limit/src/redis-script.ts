import { defineScript } from '@headroom/core'

/** Algorithm codes in the script's arguments. */
export const ALGORITHM_CODES = { gcra: 1, 'token-bucket': 2, 'fixed-window': 3, 'sliding-window': 4 } as const

/** Operation codes in the script's arguments. */
export const OP_CODES = { consume: 'c', peek: 'p', refund: 'r', block: 'b', reset: 'x' } as const

/**
 * Storage layout, shared by both scripts: per policy a string key
 * `{prefix:id}:<policy>` holding its state ("s1 s2" or "s1 s2 s3", `%.17g` numbers)
 * with its own expiry. A `block()` puts its end ahead of the state of each of the
 * blocking limiter's policies ("b<until> s1 s2", or "b<until>" alone) and keeps the key
 * alive until then, so a decision reads one key per policy, not a separate block key.
 * All keys of one id share the hash tag, hence one Cluster slot; the script derives them
 * from the `{prefix:id}` it is given. Strings with `SET ... PX` cost Redis about half of
 * what a hash with HMGET/HSET/PEXPIRE does, and every write carries its expiry.
 */
/**
 * One script decides a whole batch: every operation waiting in one tick (and, on a
 * Cluster, sharing one hash slot) in one EVALSHA, with one result per operation.
 * The arithmetic mirrors `algorithms.ts` and `decide.ts` line for line.
 *
 * KEYS[k]: the id of operation k, `{prefix:id}`.
 * ARGV: now (empty: use the server's TIME), lifetime padding in ms (client clock only),
 * the number of policy sets, each set (`n`, then per policy: algorithm, name, limit,
 * window, burst), then per operation: op code, cost (block: milliseconds), set index.
 * Returns five values per operation: allowed (1/0), policy index (-1 for a block),
 * remaining (number, or a string when fractional), reset ms, retry-after ms (-1: never).
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
local format, match, find, sub, byte, tostr, call =
  string.format, string.match, string.find, string.sub, string.byte, tostring, redis.call
local function round6(x) return floor(x * 1e6 + 0.5) / 1e6 end

-- A stored value: the block's end (0: none), whether there is state, and its numbers.
local function parse(v)
  local blocked = 0
  if v and byte(v, 1) == 98 then
    local sp = find(v, ' ', 2, true)
    if sp then blocked = tonumber(sub(v, 2, sp - 1)); v = sub(v, sp + 1)
    else blocked = tonumber(sub(v, 2)); v = false end
  end
  if not v then return blocked, false, 0, 0, 0 end
  local x, y, z = match(v, '^(%S+) (%S+) ?(%S*)$')
  return blocked, true, tonumber(x), tonumber(y), tonumber(z) or 0
end

local sets = {}
local a = 4
for s = 1, tonumber(ARGV[3]) do
  local np = tonumber(ARGV[a]); a = a + 1
  local set = { n = np, alg = {}, limit = {}, w = {}, burst = {}, sfx = {} }
  for i = 1, np do
    set.alg[i] = tonumber(ARGV[a]); set.sfx[i] = ':' .. ARGV[a + 1]; set.limit[i] = tonumber(ARGV[a + 2])
    set.w[i] = tonumber(ARGV[a + 3]); set.burst[i] = tonumber(ARGV[a + 4])
    a = a + 5
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
    return true, max(0, round6(burst - (newTat - now) / interval)), reset, 0, newTat, interval, 0, max(w, reset)
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
      return true, round6(left), reset, 0, left, now, 0, max(w, reset)
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
    return true, tat, interval, 0, max(w, ceil(tat - now))
  elseif alg == 2 then
    local rate = limit / w
    local tokens = min(burst, s1 + max(0, now - s2) * rate + cost)
    return true, tokens, now, 0, max(w, ceil((burst - tokens) / rate))
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

-- Mirrors decide() over the state arrays (hs: has state); fills w1..w3 and wt (ttl) with the writes.
local hs, st1, st2, st3, w1, w2, w3, wt = {}, {}, {}, {}, {}, {}, {}, {}
local function decide(kind, set, blocked, cost)
  if blocked > now then return false, -1, 0, blocked - now, blocked - now, false end
  local allowed = true
  local chosen, chosenRemaining, chosenRetry, chosenReset = 0, math.huge, 0, 0
  for i = 1, set.n do
    local ok, remaining, reset, retry, n1, n2, n3, t =
      evaluate(set.alg[i], set.limit[i], set.w[i], set.burst[i], hs[i], st1[i], st2[i], st3[i], cost)
    w1[i] = n1; w2[i] = n2; w3[i] = n3; wt[i] = t
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
  return allowed, chosen, chosenRemaining, chosenReset, chosenRetry, allowed and kind == 'c' and cost > 0
end

-- Writes w1..w3 with lifetime wt; a block still running stays ahead of the state and keeps the key alive.
local function write(key, set, only, blocked)
  for i = 1, set.n do
    if only == nil or only[i] then
      local value
      if set.alg[i] == 4 then value = format('%.17g %.17g %.17g', w1[i], w2[i], w3[i])
      else value = format('%.17g %.17g', w1[i], w2[i]) end
      local ttl = wt[i]
      if blocked > now then
        value = 'b' .. format('%.17g', blocked) .. ' ' .. value
        ttl = max(ttl, blocked - now)
      end
      call('SET', key .. set.sfx[i], value, 'PX', ttl + pad)
    end
  end
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
    for i = 1, set.n do call('DEL', key .. set.sfx[i]) end
    out[n + 1] = 1; out[n + 2] = 0; out[n + 3] = 0; out[n + 4] = 0; out[n + 5] = 0
  elseif kind == 'b' then
    -- The block's end goes ahead of each policy's state (a newer block replaces an older one);
    -- the key lives at least until the end, and as long as its state needs.
    local ms = ceil(cost)
    local mark = 'b' .. format('%.17g', now + ms)
    for i = 1, set.n do
      local sk = key .. set.sfx[i]
      local v = call('GET', sk)
      if v and byte(v, 1) == 98 then
        local sp = find(v, ' ', 2, true)
        if sp then v = sub(v, sp + 1) else v = false end
      end
      if v then call('SET', sk, mark .. ' ' .. v, 'PX', max(ms + pad, call('PTTL', sk)))
      else call('SET', sk, mark, 'PX', ms + pad) end
    end
    out[n + 1] = 0; out[n + 2] = -1; out[n + 3] = 0; out[n + 4] = ms; out[n + 5] = ms
  else
    local raw
    if set.n == 1 then raw = { call('GET', key .. set.sfx[1]) }
    else
      local names = {}
      for i = 1, set.n do names[i] = key .. set.sfx[i] end
      raw = call('MGET', unpack(names))
    end
    local blocked = 0
    for i = 1, set.n do
      local b
      b, hs[i], st1[i], st2[i], st3[i] = parse(raw[i])
      if b > blocked then blocked = b end
    end
    local allowed, index, remaining, reset, retry, writes
    if kind == 'r' then
      local only, any = {}, false
      for i = 1, set.n do
        local has, n1, n2, n3, t =
          refundState(set.alg[i], set.limit[i], set.w[i], set.burst[i], hs[i], st1[i], st2[i], st3[i], cost)
        only[i] = has
        if has then
          any = true
          hs[i] = true; st1[i] = n1; st2[i] = n2; st3[i] = n3; wt[i] = t
        end
      end
      local ttls = {}
      for i = 1, set.n do ttls[i] = wt[i] end
      allowed, index, remaining, reset, retry = decide('p', set, blocked, 1)
      if any then
        for i = 1, set.n do w1[i] = st1[i]; w2[i] = st2[i]; w3[i] = st3[i]; wt[i] = ttls[i] end
        write(key, set, only, blocked)
      end
    else
      allowed, index, remaining, reset, retry, writes = decide(kind, set, blocked, cost)
      if writes then write(key, set, nil, 0) end
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
 * policy parsing, closures or tables per decision. One MGET reads every key of the
 * batch, then one SET per allowed decision; a key met again in the batch reads what
 * the earlier decision wrote. Results have the batch script's layout.
 *
 * ARGV: now ('' for TIME), padding, algorithm (1 gcra, 3 fixed-window), limit, window,
 * burst, policy key suffix (`:name`), GCRA interval (as written back), then one cost per key.
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
local sfx, ivs = ARGV[7], ' ' .. ARGV[8]
local floor, ceil, max, min, format, find, sub, byte, tostr, call =
  math.floor, math.ceil, math.max, math.min, string.format, string.find, string.sub, string.byte, tostring, redis.call
local EPS = 1e-9
local interval = w / limit
local capacity = burst * interval
local nk = #KEYS
local names, values = {}, {}
for k = 1, nk do names[k] = KEYS[k] .. sfx end
if nk == 1 then values[1] = call('GET', names[1])
else
  -- One MGET for the batch, in chunks (unpack is bounded by Lua's stack).
  for i = 1, nk, 1000 do
    local got = call('MGET', unpack(names, i, min(i + 999, nk)))
    for j = 1, #got do values[i + j - 1] = got[j] end
  end
end
local written = {}
local out = {}
local n = 0
for k = 1, nk do
  local sk = names[k]
  local v = written[sk]
  if v == nil then v = values[k] end
  local cost = tonumber(ARGV[8 + k])
  local blocked = 0
  if v and byte(v, 1) == 98 then
    local sp = find(v, ' ', 2, true)
    if sp then blocked = tonumber(sub(v, 2, sp - 1)); v = sub(v, sp + 1)
    else blocked = tonumber(sub(v, 2)); v = false end
  end
  local ok, remaining, reset, retry
  local index = 0
  if blocked > now then
    ok, index, remaining, reset, retry = 0, -1, 0, blocked - now, blocked - now
  elseif alg == 1 then
    local tat = now
    if v then
      local sp = find(v, ' ', 1, true)
      local s1 = tonumber(sub(v, 1, sp - 1))
      if s1 > now then
        local s2 = tonumber(sub(v, sp + 1))
        if s2 > 0 and s2 ~= interval then tat = now + ((s1 - now) / s2) * interval else tat = s1 end
      end
    end
    local newTat = tat + cost * interval
    if cost > 0 and newTat - capacity > now then
      ok = 0
      remaining = max(0, floor((burst - (tat - now) / interval) * 1e6 + 0.5) / 1e6)
      reset = ceil(tat - now)
      retry = ceil(newTat - capacity - now)
      if cost > burst then retry = -1 end
    else
      ok = 1
      remaining = max(0, floor((burst - (newTat - now) / interval) * 1e6 + 0.5) / 1e6)
      reset = ceil(newTat - now)
      retry = 0
      if cost > 0 then
        local value = format('%.17g', newTat) .. ivs
        call('SET', sk, value, 'PX', max(w, reset) + pad)
        written[sk] = value
      end
    end
  else
    local start = now - (now % w)
    local count = 0
    if v then
      local sp = find(v, ' ', 1, true)
      if tonumber(sub(v, 1, sp - 1)) == start then count = tonumber(sub(v, sp + 1)) end
    end
    reset = start + w - now
    if count + cost <= limit + EPS * (limit + 1) then
      ok = 1
      remaining = max(0, floor((limit - count - cost) * 1e6 + 0.5) / 1e6)
      retry = 0
      if cost > 0 then
        local value = format('%.17g %.17g', start, count + cost)
        call('SET', sk, value, 'PX', reset + pad)
        written[sk] = value
      end
    else
      ok = 0
      remaining = max(0, floor((limit - count) * 1e6 + 0.5) / 1e6)
      retry = reset
      if cost > limit then retry = -1 end
    end
  end
  -- Whole numbers travel as integers; only fractions need a string (Redis truncates Lua numbers).
  if remaining ~= floor(remaining) or remaining >= 1e15 then remaining = tostr(remaining) end
  out[n + 1] = ok; out[n + 2] = index; out[n + 3] = remaining; out[n + 4] = reset; out[n + 5] = retry
  n = n + 5
end
return out
`,
)
