/**
 * Storage layout, shared by both scripts: per policy a string key
 * `{prefix:id}:<policy>` holding its state ("s1 s2" or "s1 s2 s3", `%.17g` numbers; for a
 * sliding log its entries "t1 c1 t2 c2 ...") with its own expiry. A `block()` puts its end ahead of the state of each of the
 * blocking limiter's policies ("b<until> s1 s2", or "b<until>" alone) and keeps the key
 * alive until then, so a decision reads one key per policy, not a separate block key.
 * All keys of one id share the hash tag, hence one Cluster slot; the script derives them
 * from the `{prefix:id}` it is given. Strings with `SET ... PX` cost Redis about half of
 * what a hash with HMGET/HSET/PEXPIRE does, and every write carries its expiry.
 */

/** Both scripts' clock: the caller's time in ARGV[1] (\`time: 'client'\`), else Redis' TIME, in ms. */
export const LUA_NOW = `
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`
