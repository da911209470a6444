/**
 * The multi-policy decision in Lua, a piece of the batch script (`redis-script-batch.ts`):
 * `decide` (all or nothing, mirroring `decide.ts`) and `write` (the state writes, a
 * running block kept ahead of them). It relies on the head's locals and on `evaluate`
 * from `redis-script-algorithms.ts`; concatenated unchanged, so the script stays the same string.
 */
export const LUA_DECIDE = `
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
      if set.alg[i] == 5 then value = w1[i]
      elseif set.alg[i] == 4 then value = format('%.17g %.17g %.17g', w1[i], w2[i], w3[i])
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
`
