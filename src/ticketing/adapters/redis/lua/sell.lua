-- sell.lua: after the database confirmed a hold, show its seats SOLD, drop its locks
-- (only if still ours), keep the seats counted against the user's limit for good,
-- and give back the user's pass so the next person in line is admitted. Idempotent.
-- KEYS[1] user's holds ZSET   KEYS[2] seat state HASH   KEYS[3] seat events channel
-- KEYS[4] pass ZSET   KEYS[5] sold seats count   KEYS[6..] seat lock keys
-- ARGV[1] hold id   ARGV[2] the hold's member in the user's ZSET   ARGV[3] user id
-- ARGV[4..] seat numbers
-- Returns the number of seats that changed to SOLD.
local hold_id = ARGV[1]
local changed, count = {}, 0
for i = 6, #KEYS do
  local seat = ARGV[i - 2]
  if redis.call('GET', KEYS[i]) == hold_id then
    redis.call('DEL', KEYS[i])
  end
  if redis.call('HGET', KEYS[2], seat) ~= 'SOLD' then
    redis.call('HSET', KEYS[2], seat, 'SOLD')
    changed[seat] = 'SOLD'
    count = count + 1
  end
end
redis.call('ZADD', KEYS[1], 'inf', ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[3])
if count > 0 then
  redis.call('INCRBY', KEYS[5], count)
  redis.call('PUBLISH', KEYS[3], cjson.encode({seats = changed}))
end
return count
