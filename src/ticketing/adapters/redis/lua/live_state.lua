-- The live state of one schedule for the invariant check, read in one atomic step: the
-- Redis clock, the admitted tickets (FIFO audit trail), the passes with their expiry
-- scores and the seat map. One script, one slot: the same on one server and on a cluster
-- (where a MULTI with TIME, a command without a key, could not be routed).
-- KEYS: 1 admissions  2 passes  3 seat state
local now = redis.call('TIME')
return {
  now[1], now[2],
  redis.call('LRANGE', KEYS[1], 0, -1),
  redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES'),
  redis.call('HGETALL', KEYS[3]),
}
