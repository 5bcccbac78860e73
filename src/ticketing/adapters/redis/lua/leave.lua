-- leave.lua: give back a place in line or a pass; the freed pass slot goes to the
-- next person at the advancer's next tick.
-- KEYS[1] queue ZSET   KEYS[2] pass ZSET   KEYS[3] the user's pace HASH bucket
-- ARGV[1] user id
-- Returns {removed_from_queue 0/1, removed_pass 0/1}.
redis.call('HDEL', KEYS[3], ARGV[1])
return {redis.call('ZREM', KEYS[1], ARGV[1]), redis.call('ZREM', KEYS[2], ARGV[1])}
