// Lua that deletes a queue, in slices of about 1000 jobs so no call blocks Redis for long.
import { defineScript } from '@headroom/core'
import { PREAMBLE } from './preamble.js'

/**
 * Deletes up to about 1000 jobs (and, once none is left, the counters).
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Returns how many it deleted.
 */
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
if ev then redis.call('DEL', ev) end
-- Scheduling keys (schedule.ts); a scheduler's jobs went with the sets above.
local qp = string.sub(jp, 1, -3)
redis.call('DEL', qp .. 'paused', qp .. 'limiter', qp .. 'marker', qp .. 'repeat', qp .. 'repeat:next')
return removed
`,
)
