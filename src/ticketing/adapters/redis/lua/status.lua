-- status.lua: where a user stands, in one round trip.
-- KEYS as enter.lua's: KEYS[1] queue ZSET   KEYS[2] ticket counter (unused here)   KEYS[3] pass ZSET
-- KEYS[4] rate HASH   KEYS[5] the user's pace HASH bucket (user -> earliest next poll ms; keys.py)
-- KEYS[6] the user's status rate-limit STRING (lib/rate.lua)
-- KEYS[7] sold seats count   KEYS[8] the schedule's seat count (lib/sold_out.lua)
-- ARGV[1] user id; ARGV[2..5] the poll floor (see lib/pace.lua); ARGV[6] rate interval ms, ARGV[7] burst
-- Returns {1, pass_expiry_ms} admitted, {0, ticket, ahead, rate_per_s_string} waiting,
-- {-1} not in the queue (never entered, left, or the pass expired),
-- {-2, wait_ms} still waiting and asking before the pace it was given allows: nothing more is read,
-- {-3, wait_ms} over the rate limit: nothing read at all,
-- {-4} sold out: every seat is SOLD.
-- include: pace
-- include: sold_out
-- include: rate
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local user = ARGV[1]
local over = rate_wait(KEYS[6], now, tonumber(ARGV[6]), tonumber(ARGV[7]))
if over > 0 then
  return {-3, over}
end
if sold_out(KEYS[7], KEYS[8]) then
  return {-4}
end

local expiry = redis.call('ZSCORE', KEYS[3], user)
if expiry and tonumber(expiry) > now then
  redis.call('HDEL', KEYS[5], user)
  return {1, tonumber(expiry)}
end
local ticket = redis.call('ZSCORE', KEYS[1], user)
if not ticket then
  redis.call('HDEL', KEYS[5], user)
  return {-1}
end
local wait = pace_wait(KEYS[5], user, now)
if wait > 0 then
  return {-2, wait}
end
local rate = redis.call('HGET', KEYS[4], 'per_s') or '0'
local ahead = redis.call('ZRANK', KEYS[1], user)
redis.call('HSET', KEYS[5], user, pace_until(now, ahead, rate))
return {0, tonumber(ticket), ahead, rate}
