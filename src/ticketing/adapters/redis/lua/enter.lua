-- enter.lua: put a user in the waiting line, idempotently.
-- Already admitted (live pass) -> the pass; already waiting -> the same ticket;
-- otherwise a new ticket from the INCR counter (never the clock, so FIFO holds
-- across API replicas). A pass that expired is dropped and the user queues again.
-- A user already waiting who asks again before its pace allows is told how long to wait.
-- KEYS[1] queue ZSET (user -> ticket)   KEYS[2] ticket counter   KEYS[3] pass ZSET (user -> expiry ms)
-- KEYS[4] rate HASH (read only, for the ETA)   KEYS[5] the user's pace HASH bucket (user -> earliest next poll ms; keys.py)
-- KEYS[6] the user's enter rate-limit STRING (lib/rate.lua)
-- KEYS[7] sold seats count   KEYS[8] the schedule's seat count (lib/sold_out.lua)
-- ARGV[1] user id; ARGV[2..5] the poll floor (see lib/pace.lua); ARGV[6] rate interval ms, ARGV[7] burst
-- Returns {1, pass_expiry_ms} when admitted, {0, ticket, ahead, rate_per_s_string} when waiting,
-- {-2, wait_ms} when waiting and asking too early, {-3, wait_ms} over the rate limit (nothing done),
-- {-4} sold out: every seat is SOLD (no new ticket; a waiter keeps its ticket, should a seat come back).
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
if expiry then
  if tonumber(expiry) > now then
    return {1, tonumber(expiry)}
  end
  redis.call('ZREM', KEYS[3], user)
end

local ticket = redis.call('ZSCORE', KEYS[1], user)
if ticket then
  local wait = pace_wait(KEYS[5], user, now)
  if wait > 0 then
    return {-2, wait}
  end
else
  ticket = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], ticket, user)
end
local rate = redis.call('HGET', KEYS[4], 'per_s') or '0'
local ahead = redis.call('ZRANK', KEYS[1], user)
redis.call('HSET', KEYS[5], user, pace_until(now, ahead, rate))
return {0, tonumber(ticket), ahead, rate}
