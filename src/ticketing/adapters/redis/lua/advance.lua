-- advance.lua: one admission tick for one schedule, atomic, so any number of
-- advancers may run at once and live passes never exceed capacity.
-- Drops expired passes, then moves min(free capacity, admit_per_tick) users from the
-- head of the line (lowest ticket first = FIFO) into the pass set with expiry now+ttl.
-- Also keeps the measured admission rate used for ETAs: admissions are counted only
-- while people are waiting, in windows of >= 2 s, smoothed 50/50 with the last value.
-- Every admitted ticket number is appended to an audit list (the last 1,000,000 kept)
-- so anyone can check afterwards that admission order equals arrival order.
-- After a tick that admitted someone, the last ticket admitted ("served") and the rate are
-- published: one message serves every waiting page, which counts its own place from it.
-- KEYS[1] queue ZSET   KEYS[2] pass ZSET   KEYS[3] rate HASH   KEYS[4] admissions LIST
-- KEYS[5] queue events channel   KEYS[6] sold seats count   KEYS[7] the schedule's seat count
-- KEYS[8] sold-out flag STRING
-- ARGV[1] capacity   ARGV[2] pass ttl ms   ARGV[3] admit per tick
-- Sold out (every seat SOLD): nobody is admitted, and the pages are told once, when it
-- happens (the flag); told again, once, should a seat come back.
-- include: sold_out
-- Returns {expired, admitted, still_waiting, live_passes}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local per_tick = tonumber(ARGV[3])

local expired = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local live = redis.call('ZCARD', KEYS[2])
local waiting_before = redis.call('ZCARD', KEYS[1])
local n = math.min(capacity - live, per_tick)
local closed = sold_out(KEYS[6], KEYS[7])
if closed then
  n = 0
end

local admitted = 0
if n > 0 and waiting_before > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], n)
  local tickets = {}
  for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], now + ttl, popped[i])
    admitted = admitted + 1
    tickets[admitted] = popped[i + 1]
  end
  -- unpack() is bounded by Lua's C stack, so push in chunks.
  for first = 1, admitted, 1000 do
    redis.call('RPUSH', KEYS[4], unpack(tickets, first, math.min(first + 999, admitted)))
  end
  if admitted > 0 then
    redis.call('LTRIM', KEYS[4], -1000000, -1)
  end
end

if waiting_before > 0 then
  local ws = tonumber(redis.call('HGET', KEYS[3], 'ws') or now)
  local wc = tonumber(redis.call('HGET', KEYS[3], 'wc') or 0) + admitted
  if now - ws >= 2000 then
    local sample = wc * 1000 / (now - ws)
    local old = tonumber(redis.call('HGET', KEYS[3], 'per_s') or '0')
    local rate = sample
    if old > 0 then rate = (old + sample) / 2 end
    redis.call('HSET', KEYS[3], 'per_s', string.format('%.3f', rate), 'ws', now, 'wc', 0)
  else
    redis.call('HSET', KEYS[3], 'ws', ws, 'wc', wc)
  end
else
  -- Idle time says nothing about the admission rate: restart the window.
  redis.call('HSET', KEYS[3], 'ws', now, 'wc', 0)
end

local told = false
if closed then
  told = redis.call('SET', KEYS[8], '1', 'NX')
elseif redis.call('DEL', KEYS[8]) == 1 then
  told = true  -- a seat came back: the line is open again
end
if admitted > 0 or told then
  local per_s = tonumber(redis.call('HGET', KEYS[3], 'per_s') or '0')
  local served = tonumber(redis.call('LINDEX', KEYS[4], -1) or '0')
  redis.call('PUBLISH', KEYS[5], string.format('{"served":%d,"per_s":%.3f,"sold_out":%s}', served, per_s, tostring(closed)))
end

return {expired, admitted, waiting_before - admitted, live + admitted}
