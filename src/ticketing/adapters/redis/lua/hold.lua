-- hold.lua: lock every requested seat or none, for a user with a live pass.
-- Checks, in order: the user's pass is live (by the Redis clock); the user's seats
-- (live holds + confirmed purchases) plus this request stay within the limit; no
-- requested seat is locked or SOLD. Only then: SET each lock (value = hold id, PX),
-- mark the seats HELD, remember the hold for the user, and publish the change.
-- Seat keys arrive sorted, so overlapping requests touch seats in the same order.
-- Before anything: the seat state must be intact (its marker key present). A Redis that
-- lost its data would otherwise call every SOLD seat free and every user's count zero.
-- And a hold id voided by an abandoned request (see release.lua) takes nothing.
-- KEYS[1] pass ZSET   KEYS[2] user's holds ZSET (member "<count>|<hold id>" -> expiry ms, +inf once sold)
-- KEYS[3] seat state HASH   KEYS[4] seat events channel   KEYS[5] seat-state-intact marker
-- KEYS[6] this hold id's void marker   KEYS[7] the user's hold rate-limit STRING (lib/rate.lua)
-- KEYS[8..] seat lock keys
-- ARGV[1] user id   ARGV[2] hold id   ARGV[3] hold ttl ms   ARGV[4] max seats per user
-- ARGV[5] rate interval ms   ARGV[6] burst   ARGV[7..] seat numbers, in the same order as the lock keys
-- A replay of the same hold id (every lock already its own) answers as the first call did.
-- Returns {1, pass_expiry_ms, hold_expiry_ms} | {0, taken seat...} | {-1} no live pass
--         | {-2, seats the user already has} | {-3} seat state lost, being rebuilt
--         | {-4} the hold id was voided | {-5, wait_ms} over the rate limit (counted first, nothing done)
-- include: rate
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local over = rate_wait(KEYS[7], now, tonumber(ARGV[5]), tonumber(ARGV[6]))
if over > 0 then
  return {-5, over}
end
if redis.call('EXISTS', KEYS[5]) == 0 then
  return {-3}
end
if redis.call('EXISTS', KEYS[6]) == 1 then
  return {-4}
end
local user, hold_id = ARGV[1], ARGV[2]
local ttl, max_seats = tonumber(ARGV[3]), tonumber(ARGV[4])
local n = #KEYS - 7

-- A replay of this very request: a client retried the call after its answer was lost (a
-- broken connection, a slot that moved in a failover). Hold ids are made per request, so
-- every lock already holding this id means the first call took them: answer as it did,
-- never "taken" for the request's own seats.
local replay = n > 0
for i = 1, n do
  if redis.call('GET', KEYS[7 + i]) ~= hold_id then
    replay = false
    break
  end
end
if replay then
  local expiry = redis.call('ZSCORE', KEYS[2], n .. '|' .. hold_id)
  if expiry then
    return {1, tonumber(redis.call('ZSCORE', KEYS[1], user) or now), tonumber(expiry)}
  end
end

local pass_expiry = redis.call('ZSCORE', KEYS[1], user)
if not pass_expiry or tonumber(pass_expiry) <= now then
  return {-1}
end

redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local have = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  have = have + tonumber(string.match(member, '^(%d+)|'))
end
if have + n > max_seats then
  return {-2, have}
end

local taken = {}
for i = 1, n do
  if redis.call('EXISTS', KEYS[7 + i]) == 1 or redis.call('HGET', KEYS[3], ARGV[6 + i]) == 'SOLD' then
    taken[#taken + 1] = ARGV[6 + i]
  end
end
if #taken > 0 then
  return {0, unpack(taken)}
end

local changed = {}
for i = 1, n do
  redis.call('SET', KEYS[7 + i], hold_id, 'PX', ttl)
  redis.call('HSET', KEYS[3], ARGV[6 + i], 'HELD')
  changed[ARGV[6 + i]] = 'HELD'
end
redis.call('ZADD', KEYS[2], now + ttl, n .. '|' .. hold_id)
redis.call('PUBLISH', KEYS[4], cjson.encode({seats = changed}))
return {1, tonumber(pass_expiry), now + ttl}
