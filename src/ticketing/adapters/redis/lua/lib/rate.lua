-- lib/rate.lua (included by the scripts that count requests): a per-identity rate limit as a
-- generic cell rate algorithm. One STRING per identity holds its theoretical arrival time (ms);
-- `burst` requests may come at once, then one per `interval_ms`.
-- Returns 0 and counts the request, or the ms until it would be allowed (and counts nothing).
-- interval_ms 0: no limit (nothing read or written).
local function rate_wait(key, now, interval_ms, burst)
  if interval_ms <= 0 then return 0 end
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local allowed_at = tat - interval_ms * (burst - 1)
  if allowed_at > now then return math.ceil(allowed_at - now) end
  local next_tat = tat + interval_ms
  redis.call('SET', key, string.format('%d', next_tat), 'PX', math.max(1, next_tat - now))
  return 0
end
