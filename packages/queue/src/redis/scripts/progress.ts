// Lua of job.updateProgress(): store a running job's progress and record the event, only
// while the caller still holds the job's lease.
import { defineScript } from '@headroom/core'
import { PREAMBLE } from './preamble.js'

/**
 * Records a job's progress.
 *
 * KEYS  1-8    wait, delayed, active, seq, fence, age, completed, failed (see preamble.ts)
 *       9      the event stream, only when the queue records events
 * ARGV  1      jp: the prefix of job hashes
 *       2      id
 *       3      token: the lease the worker holds
 *       4      progress (JSON)
 *       last   the stream's MAXLEN, only when the queue records events
 *
 * Stores the progress in the job hash (field `pg`)
 * and emits `progress` when the lease `token` still holds the job; returns 1, or 0 when
 * the lease was lost (fencing: a stale worker cannot report).
 */
export const progressScript = defineScript(
  'headroom-queue-progress',
  `${PREAMBLE}
local id = ARGV[2]
if redis.call('SISMEMBER', lp .. ARGV[3], id) == 0 then return 0 end
redis.call('HSET', jp .. id, 'pg', ARGV[4])
if ev then
  emit('progress', id, ARGV[4])
  flush()
end
return 1
`,
)
