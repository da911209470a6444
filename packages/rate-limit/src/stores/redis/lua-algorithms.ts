import { MAX_LOG_ENTRIES } from '../../algorithms/evaluate.js'

/**
 * The five algorithms in Lua, a piece of the batch script (`redis-script-batch.ts`):
 * `gcraTat`, `slidingLog`, `evaluate` and `refundState`, mirroring `algorithms.ts` step
 * for step. It relies on the locals the script's head defines (`now`, `EPS`, `round6`,
 * the math aliases). For `sliding-log` (code 5) the state is the log's text,
 * "t1 c1 t2 c2 ...", carried in `s1` and returned in `n1`.
 */
export const LUA_ALGORITHMS = `
local gmatch, concat = string.gmatch, table.concat
local function gcraTat(has, s1, s2, interval)
  if not has or s1 <= now then return now end
  if s2 > 0 and s2 ~= interval then return now + ((s1 - now) / s2) * interval end
  return s1
end

-- A sliding log's entries still in the window (from the first live one on), oldest first, and their units.
local function liveLog(log, w)
  local ts, cs, n, used = {}, {}, 0, 0
  if log then
    local from, live, t = now - w, false, nil
    for x in gmatch(log, '%S+') do
      if t == nil then t = tonumber(x)
      else
        if live or t > from then
          live = true; n = n + 1; ts[n] = t; cs[n] = tonumber(x); used = used + cs[n]
        end
        t = nil
      end
    end
  end
  return ts, cs, n, used
end

local function joinLog(ts, cs, s, n)
  local parts = {}
  for i = s, n do parts[i - s + 1] = format('%.17g %.17g', ts[i], cs[i]) end
  return concat(parts, ' ')
end

-- Mirrors slidingLog(): exact, the units of the last w ms plus the cost must fit in the limit.
local function slidingLog(limit, w, has, log, cost)
  local ts, cs, n, used = liveLog(has and log, w)
  local tolerance = EPS * (limit + 1)
  if used + cost <= limit + tolerance then
    local s = 1
    if cost > 0 then
      if n > 0 and ts[n] >= now then cs[n] = cs[n] + cost
      else n = n + 1; ts[n] = now; cs[n] = cost end
      local cap = min(${MAX_LOG_ENTRIES}, max(1, ceil(limit)))
      while n - s + 1 > cap do cs[s + 1] = cs[s + 1] + cs[s]; s = s + 1 end
    end
    local reset = 0
    if n >= s then reset = ts[n] + w - now end
    return true, max(0, round6(limit - used - cost)), reset, 0, joinLog(ts, cs, s, n), 0, 0, max(1, reset)
  end
  local retry = -1
  if cost <= limit then
    retry = w
    local freed = 0
    for i = 1, n do
      freed = freed + cs[i]
      if used - freed + cost <= limit + tolerance then retry = ts[i] + w - now; break end
    end
  end
  local reset = 0
  if n > 0 then reset = ts[n] + w - now end
  return false, max(0, round6(limit - used)), reset, retry, '', 0, 0, 0
end

-- One policy: allowed, remaining, reset, retry, next state (n1, n2, n3), ttl. No tables (but for a log): this runs per decision.
local function evaluate(alg, limit, w, burst, has, s1, s2, s3, cost)
  if alg == 5 then return slidingLog(limit, w, has, s1, cost) end
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
  if alg == 5 then
    -- Mirrors refundLog(): the units come off the newest entries.
    local ts, cs, n = liveLog(s1, w)
    local left = cost
    while n > 0 and left > 0 do
      if cs[n] <= left then left = left - cs[n]; n = n - 1
      else cs[n] = cs[n] - left; left = 0 end
    end
    local ttl = 1
    if n > 0 then ttl = max(1, ts[n] + w - now) end
    return true, joinLog(ts, cs, 1, n), 0, 0, ttl
  end
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
`
