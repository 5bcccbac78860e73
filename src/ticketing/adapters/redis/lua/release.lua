-- release.lua: free a hold's seats, but only what this hold still owns.
-- A lock whose value is another hold id is left alone (owner check). A seat whose
-- lock already expired and which still shows HELD goes back to AVAILABLE; a SOLD
-- seat never changes here. Idempotent.
-- With a void time, the hold id is also voided for that long: a hold.lua call for it that
-- was sent before (a request that gave up waiting) and runs only now takes nothing.
-- KEYS[1] user's holds ZSET   KEYS[2] seat state HASH   KEYS[3] seat events channel
-- KEYS[4] the hold id's void marker   KEYS[5..] seat lock keys
-- ARGV[1] hold id   ARGV[2] the hold's member in the user's ZSET   ARGV[3] void ms (0: none)
-- ARGV[4..] seat numbers
-- Returns the number of seats made AVAILABLE.
local hold_id = ARGV[1]
local void_ms = tonumber(ARGV[3])
if void_ms > 0 then
  redis.call('SET', KEYS[4], '1', 'PX', void_ms)
end
local changed, count = {}, 0
for i = 5, #KEYS do
  local seat = ARGV[i - 1]
  local owner = redis.call('GET', KEYS[i])
  local state = redis.call('HGET', KEYS[2], seat)
  if owner == hold_id then
    redis.call('DEL', KEYS[i])
  end
  if (owner == hold_id or not owner) and state == 'HELD' then
    redis.call('HSET', KEYS[2], seat, 'AVAILABLE')
    changed[seat] = 'AVAILABLE'
    count = count + 1
  end
end
redis.call('ZREM', KEYS[1], ARGV[2])
if count > 0 then
  redis.call('PUBLISH', KEYS[3], cjson.encode({seats = changed}))
end
return count
