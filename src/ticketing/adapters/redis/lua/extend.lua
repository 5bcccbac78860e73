-- extend.lua: keep a hold's seats locked while its payment is in flight.
-- For each seat: a lock this hold owns gets at least the new TTL (never shortened); a
-- lock that already lapsed is taken again if nobody else took the seat meanwhile and it
-- is not SOLD. A seat another hold owns (or SOLD) refuses the whole extension, and then
-- nothing changes. The user's hold entry (per-user limit) is kept alive as long.
-- A lost seat state (no marker) refuses too: a lapsed lock must not be re-taken on a
-- map that no longer knows which seats are SOLD.
-- KEYS[1] user's holds ZSET   KEYS[2] seat state HASH   KEYS[3] seat events channel
-- KEYS[4] seat-state-intact marker   KEYS[5..] seat lock keys
-- ARGV[1] hold id   ARGV[2] the hold's member in the user's ZSET   ARGV[3] ttl ms
-- ARGV[4..] seat numbers, in the same order as the lock keys
-- Returns {1, lock expiry ms} | {0, seat taken by someone else...} | {-3} seat state lost
if redis.call('EXISTS', KEYS[4]) == 0 then
  return {-3}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hold_id, ttl = ARGV[1], tonumber(ARGV[3])

local taken, lapsed = {}, {}
for i = 5, #KEYS do
  local seat = ARGV[i - 1]
  local owner = redis.call('GET', KEYS[i])
  if owner == hold_id then
    if redis.call('PTTL', KEYS[i]) < ttl then
      lapsed[#lapsed + 1] = i
    end
  elseif owner or redis.call('HGET', KEYS[2], seat) == 'SOLD' then
    taken[#taken + 1] = seat
  else
    lapsed[#lapsed + 1] = i
  end
end
if #taken > 0 then
  return {0, unpack(taken)}
end

local changed, any = {}, false
for _, i in ipairs(lapsed) do
  redis.call('SET', KEYS[i], hold_id, 'PX', ttl)
  local seat = ARGV[i - 1]
  if redis.call('HGET', KEYS[2], seat) ~= 'HELD' then
    redis.call('HSET', KEYS[2], seat, 'HELD')
    changed[seat] = 'HELD'
    any = true
  end
end
redis.call('ZADD', KEYS[1], 'GT', now + ttl, ARGV[2])
if any then
  redis.call('PUBLISH', KEYS[3], cjson.encode({seats = changed}))
end
return {1, now + ttl}
