import { defineScript } from '@headroom/core'

/**
 * Opens the fleet: the `open` key lives for the open duration (the server expires it,
 * so no instance's clock matters) and the half-open lease is dropped. An instance that
 * finds the fleet already open adopts the remaining time instead of publishing again,
 * so a burst seen by every instance at once makes one message, not one per instance.
 * `tripped` outlives `open` until the fleet closes: it tells "open ran out, probe now"
 * apart from "the fleet closed", which look alike once `open` is gone.
 * A sync after a gap publishes only what the fleet does not know: with `tripped` present
 * the fleet is in its own half-open episode and must not be pushed back to open.
 * Returns the open time left, in ms (0: the fleet is tripped and probing).
 */
export const openScript = defineScript(
  'breaker-open',
  `
-- KEYS[1] open      exists while the fleet is open
-- KEYS[2] probe     the half-open lease
-- KEYS[3] tripped   from an open until the fleet closes
-- ARGV[1] ms        open duration
-- ARGV[2] origin    this hub's id
-- ARGV[3] channel   the fleet's pub/sub channel
-- ARGV[4] message   the encoded open message
-- ARGV[5] mode      '1' force (a manual trip), '0' decision (goes through an existing
--                   tripped: a reopen after a failed probe), '2' sync after a gap
-- ARGV[6] trippedMs how long tripped outlives open
local current = redis.call('PTTL', KEYS[1])
if current > 0 and ARGV[5] ~= '1' then
  redis.call('DEL', KEYS[2])
  return current
end
if ARGV[5] == '2' and redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[6])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return tonumber(ARGV[1])
`,
)

/** Closes the fleet. */
export const closeScript = defineScript(
  'breaker-close',
  `
-- KEYS[1] open, KEYS[2] probe, KEYS[3] tripped (all deleted)
-- ARGV[1] channel   the fleet's pub/sub channel
-- ARGV[2] message   the encoded close message
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`,
)

/**
 * Asks to half-open: still open -> {1, ms left}; the fleet closed meanwhile (its
 * message may trail this answer, on another connection) -> {3, 0}; the lease is free
 * (or already ours) -> take it, {0, lease ms}; another instance probes -> {2, its lease
 * ms left}.
 */
export const acquireProbeScript = defineScript(
  'breaker-acquire-probe',
  `
-- KEYS[1] open      exists while the fleet is open
-- KEYS[2] probe     the half-open lease (its holder's id)
-- KEYS[3] tripped   from an open until the fleet closes
-- ARGV[1] origin    this hub's id
-- ARGV[2] leaseMs   the lease length
local open = redis.call('PTTL', KEYS[1])
if open > 0 then return {1, open} end
if redis.call('EXISTS', KEYS[3]) == 0 then return {3, 0} end
local holder = redis.call('GET', KEYS[2])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return {0, tonumber(ARGV[2])}
end
return {2, redis.call('PTTL', KEYS[2])}
`,
)
