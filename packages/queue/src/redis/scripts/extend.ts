// Lua of the heartbeat: renew the leases a worker still holds, report the jobs it lost.
import { defineScript } from '@headroom/core'
import { PREAMBLE } from './preamble.js'

/**
 * Renews leases (a worker's heartbeat).
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      leaseMs
 *       3...   per lease: token, n, then its n job ids
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Extends the leases still
 * holding one of their jobs; returns the ids no longer held.
 */
export const extendScript = defineScript(
  'headroom-queue-extend',
  `${PREAMBLE}
local lease = tonumber(ARGV[2])
local lost = {}
local o = 3
while o <= nargv do
  local token = ARGV[o]
  local n = tonumber(ARGV[o + 1])
  local held = redis.call('SMISMEMBER', lp .. token, unpack(ARGV, o + 2, o + 1 + n))
  local any = false
  for k = 1, n do
    if held[k] == 1 then any = true else lost[#lost + 1] = ARGV[o + 1 + k] end
  end
  if any then redis.call('ZADD', KEYS[3], 'XX', now + lease, token) end
  o = o + 2 + n
end
return lost
`,
)
