-- mark_sold.lua: show seats SOLD because the database guard says they are sold
-- (used when a confirmation lost at the guard, e.g. after Redis lost its data).
-- KEYS[1] seat state HASH   KEYS[2] seat events channel   KEYS[3] sold seats count
-- ARGV[1..] seat numbers
-- Returns the number of seats that changed to SOLD.
local changed, count = {}, 0
for i = 1, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= 'SOLD' then
    redis.call('HSET', KEYS[1], ARGV[i], 'SOLD')
    changed[ARGV[i]] = 'SOLD'
    count = count + 1
  end
end
if count > 0 then
  redis.call('INCRBY', KEYS[3], count)
  redis.call('PUBLISH', KEYS[2], cjson.encode({seats = changed}))
end
return count
