import { defineScript } from '@headroom/core'
import { LUA_ALGORITHMS } from './lua-algorithms.js'
import { LUA_DECIDE } from './lua-decide.js'
import { LUA_NOW } from './script-format.js'

/** The script's KEYS and ARGV, at its top. */
const ARGS = `
-- KEYS[k]   {prefix:id}: operation k
-- ARGV[1]   now: the caller's time in ms, or '' to read Redis' TIME
-- ARGV[2]   pad: ms added to every lifetime (client clock only, else 0)
-- ARGV[3]   S, the number of policy sets; then S sets, each:
--             P (its number of policies), then P times: algorithm (1 gcra, 2 token-bucket,
--             3 fixed-window, 4 sliding-window, 5 sliding-log), name, limit, window ms, burst
-- then per operation k: op code (c consume, p peek, r refund, b block, x reset),
--             cost (a block's ms), set index (1..S)
-- Returns five values per operation: allowed (1/0), policy index (-1: a block), remaining
-- (a string when fractional), reset ms, retry-after ms (-1: never).
`

/** The script's head: the clock, the shared locals and helpers, and the policy sets from ARGV. */
const head = `${ARGS}${LUA_NOW}-- With a client clock, Redis expires keys on its own clock: pad lifetimes so drift never drops live state.
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
  if not v then return blocked, false, 0, 0, 0, false end
  local x, y, z = match(v, '^(%S+) (%S+) ?(%S*)$')
  return blocked, true, tonumber(x), tonumber(y), tonumber(z) or 0, v
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
`

/** The loop over the operations: reset, block, refund, or a decision (consume, peek); five values each. */
const loop = `
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
      local b, text
      b, hs[i], st1[i], st2[i], st3[i], text = parse(raw[i])
      -- A sliding log is its text (any number of entries), not three numbers.
      if set.alg[i] == 5 then st1[i] = text end
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
`

/**
 * One script decides a whole batch: every operation waiting in one tick (and, on a
 * Cluster, sharing one hash slot) in one EVALSHA, with one result per operation.
 * The arithmetic mirrors `algorithms/evaluate.ts` and `stores/memory/decide.ts` line for
 * line. Its KEYS and ARGV are the table at its top.
 */
// Each piece starts and ends with a newline, so the joins are the blank lines between
// sections and the script is byte for byte the one Redis has cached under its SHA.
export const batchScript = defineScript(
  'headroom-rate-limit-batch',
  head + LUA_ALGORITHMS + LUA_DECIDE + loop,
)
