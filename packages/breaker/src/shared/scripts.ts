import { defineScript } from '@headroom/core'

/**
 * Opens the fleet: the `open` key lives for the open duration (the server expires it,
 * so no instance's clock matters) and the half-open lease is dropped. An instance that
 * finds the fleet already open adopts the remaining time instead of publishing again,
 * so a burst seen by every instance at once makes one message, not one per instance.
 * KEYS: open, probe. ARGV: ms, origin, channel, message, force.
 * Returns the open time left, in ms.
 */
export const openScript = defineScript(
  'breaker-open',
  `
local current = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[2])
if current > 0 and ARGV[5] ~= '1' then return current end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return tonumber(ARGV[1])
`,
)

/**
 * Closes the fleet. KEYS: open, probe. ARGV: channel, message.
 */
export const closeScript = defineScript(
  'breaker-close',
  `
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`,
)

/**
 * Asks to half-open: still open -> {1, ms left}; the lease is free (or already ours)
 * -> take it, {0, lease ms}; another instance probes -> {2, its lease ms left}.
 * KEYS: open, probe. ARGV: origin, leaseMs.
 */
export const acquireProbeScript = defineScript(
  'breaker-acquire-probe',
  `
local open = redis.call('PTTL', KEYS[1])
if open > 0 then return {1, open} end
local holder = redis.call('GET', KEYS[2])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return {0, tonumber(ARGV[2])}
end
return {2, redis.call('PTTL', KEYS[2])}
`,
)
