-- pass_alive.lua: is this user's pass still live (by the Redis clock)?
-- KEYS[1] pass ZSET
-- ARGV[1] user id
-- Returns the pass expiry in ms when live, 0 otherwise.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if expiry and tonumber(expiry) > now then
  return tonumber(expiry)
end
return 0
