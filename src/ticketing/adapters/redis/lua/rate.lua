-- rate.lua: count one request against an identity's rate limit (for requests whose own work
-- is not a script of its own: payment orders, seat-map reads).
-- KEYS[1] the identity's rate STRING   ARGV[1] interval ms   ARGV[2] burst
-- Returns 0 (counted) or the ms until the request would be allowed (nothing counted).
-- include: rate
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return rate_wait(KEYS[1], now, tonumber(ARGV[1]), tonumber(ARGV[2]))
