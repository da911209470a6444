import { defineScript } from '@headroom/core'
import { LUA_NOW } from './script-format.js'

/**
 * The hot path: a batch of `consume` calls against one GCRA or fixed-window policy (the
 * usual shape of API traffic), with the arithmetic of `algorithms/evaluate.ts` inlined: no
 * policy parsing, closures or tables per decision. One MGET reads every key of the
 * batch, then one SET per allowed decision; a key met again in the batch reads what
 * the earlier decision wrote. Its KEYS and ARGV are the table at its top.
 */
const ARGS = `
-- KEYS[k]      {prefix:id}: decision k (its state key appends ARGV[7])
-- ARGV[1]      now: the caller's time in ms, or '' to read Redis' TIME
-- ARGV[2]      pad: ms added to every lifetime (client clock only, else 0)
-- ARGV[3]      algorithm: 1 gcra, 3 fixed-window
-- ARGV[4]      limit
-- ARGV[5]      window, ms
-- ARGV[6]      burst
-- ARGV[7]      policy key suffix, ':name'
-- ARGV[8]      GCRA interval, as the state stores it
-- ARGV[8 + k]  cost of decision k
-- Returns five values per decision: allowed (1/0), policy index (-1: a block), remaining
-- (a string when fractional), reset ms, retry-after ms (-1: never).
`

export const consumeScript = defineScript(
  'headroom-rate-limit-consume',
  `${ARGS}${LUA_NOW}local pad = tonumber(ARGV[2])
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
