-- status.lua: where a user stands, in one round trip.
-- KEYS[1] queue ZSET   KEYS[2] pass ZSET   KEYS[3] rate HASH
-- ARGV[1] user id
-- Returns {1, pass_expiry_ms} admitted, {0, ticket, ahead, rate_per_s_string} waiting,
-- {-1} not in the queue (never entered, left, or the pass expired).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local user = ARGV[1]

local expiry = redis.call('ZSCORE', KEYS[2], user)
if expiry and tonumber(expiry) > now then
  return {1, tonumber(expiry)}
end
local ticket = redis.call('ZSCORE', KEYS[1], user)
if not ticket then
  return {-1}
end
local rate = redis.call('HGET', KEYS[3], 'per_s') or '0'
return {0, tonumber(ticket), redis.call('ZRANK', KEYS[1], user), rate}
