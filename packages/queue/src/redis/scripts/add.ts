// Lua that adds jobs: a batch of new jobs in one call, to wait or delayed.
import { defineScript } from '@headroom/core'
import { PREAMBLE } from './preamble.js'

/**
 * Adds a batch of jobs, each to wait or to delayed.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      agingMs (0: off)
 *       3+4i   per job i: id ('' = the next sequence number)
 *       4+4i   payload (see store/payload.ts)
 *       5+4i   priority
 *       6+4i   delayMs
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Returns the ids.
 */
export const addScript = defineScript(
  'headroom-queue-add',
  `${PREAMBLE}
local aging = tonumber(ARGV[2])
local n = (nargv - 2) / 4
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
    -- The name, still JSON-escaped, from the payload's fixed head {"n":"...","m":
    if ev then emit('added', id, string.match(ARGV[o + 1], '^{"n":"(.-)","m":') or '', delay) end
  end
  ids[#ids + 1] = id
end
if #ready > 0 then batch('ZADD', KEYS[1], ready) end
if #later > 0 then batch('ZADD', KEYS[2], later) end
if #aged > 0 then batch('ZADD', KEYS[6], aged) end
if ev then flush() end
-- Wakes an idle worker, also for a delayed job (it then waits until that one is due);
-- the marker list is described in schedule.ts.
if #ready > 0 or #later > 0 then
  local marker = string.sub(jp, 1, -3) .. 'marker'
  if redis.call('LLEN', marker) == 0 then redis.call('LPUSH', marker, 1) end
end
return ids
`,
)
