-- lib/pace.lua (included by enter.lua and status.lua): the earliest next poll of a waiting user.
-- The floor of domain poll_after_ms(estimate_wait_s(ahead, rate), pass_ttl, spread=0), from the
-- numbers of domain PollFloor passed as ARGV[2..5]: lowest ms, highest ms, fallback rate per s, fraction.
local function pace_until(now, ahead, rate)
  local per_s = tonumber(rate)
  if per_s <= 0 then per_s = tonumber(ARGV[4]) end
  local eta_s = 0
  if ahead > 0 then eta_s = math.ceil(ahead / per_s) end
  local base = math.min(tonumber(ARGV[3]), math.max(tonumber(ARGV[2]), eta_s * 1000 / 3))
  return string.format('%d', now + math.floor(base * tonumber(ARGV[5])))
end

-- Milliseconds this user must still wait before asking again (0: it may ask now).
local function pace_wait(pace_key, user, now)
  local not_before = tonumber(redis.call('HGET', pace_key, user) or '0')
  if not_before > now then return not_before - now end
  return 0
end
