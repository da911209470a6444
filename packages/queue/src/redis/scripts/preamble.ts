// The Lua shared by every queue script: the key layout they all assume (below) and the
// PREAMBLE each one starts with (server time, key prefixes, batching and retention helpers).

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
 * When the queue records events, KEYS[9] is its event stream `{prefix:name}:events` and
 * the last ARGV is the stream's MAXLEN (scripts read their own ARGV up to `nargv`). Each
 * script XADDs the events of the changes it makes, so an event exists iff its change does.
 * The events of one kind from one phase of a call share an entry (`e <kind>` then the
 * items: added id, name, delay; active id, attempt; progress id, value; completed id,
 * result or ''; failed id, error; retrying id, error, delay; stalled id): one XADD per
 * batch rather than per job keeps the stream's cost to the Redis work of a few commands.
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

export const PREAMBLE = `
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
local ev = KEYS[9]
local nargv = #ARGV
local evMax
if ev then
  evMax = ARGV[nargv]
  nargv = nargv - 1
end
-- Events of this call, gathered by kind (a, b, c: one item's values; nil ones are
-- skipped) and written by flush(), one entry per kind, in the order kinds were first used.
local evKinds = {}
local evItems = {}
local function emit(kind, a, b, c)
  local items = evItems[kind]
  if items == nil then
    items = {}
    evItems[kind] = items
    evKinds[#evKinds + 1] = kind
  end
  local n = #items
  items[n + 1] = a
  if b ~= nil then
    items[n + 2] = b
    if c ~= nil then items[n + 3] = c end
  end
end
local function flush()
  for k = 1, #evKinds do
    local kind = evKinds[k]
    local items = evItems[kind]
    -- A stream entry holds field-value pairs: an odd count gets a trailing '' (readers skip it).
    if #items % 2 == 1 then items[#items + 1] = '' end
    -- 3000 values: whole items of 1, 2 or 3 values, and a bounded unpack.
    for i = 1, #items, 3000 do
      redis.call('XADD', ev, 'MAXLEN', '~', evMax, '*', 'e', kind, unpack(items, i, math.min(i + 2999, #items)))
    end
  end
  evKinds = {}
  evItems = {}
end
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
