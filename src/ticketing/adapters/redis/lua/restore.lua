-- restore.lua: bring one schedule's seat state in Redis in line with the database.
-- The database is the truth; this script only changes what it can change safely:
--   SOLD  (a guard row exists): the seat shows SOLD; SOLD is final and never undone here.
--   HELD  (a live hold): in rebuild mode the hold's lock is taken again (SET NX, so a lock
--         someone holds right now wins) for the time the hold has left, and the seat shows
--         HELD unless it is SOLD.
--   FREE  (no live hold, no guard row): a seat shown HELD whose lock is gone goes back to
--         AVAILABLE. A seat with a live lock is left alone: the lock belongs to a hold
--         written a moment ago that the database read did not see yet.
--   ORPHAN (a lock no live hold owns, see domain/seat_state.py): the lock is dropped if it
--         still holds that hold id (owner check), and the seat goes back to AVAILABLE.
-- User entries (rebuild mode) restore the per-user seat counts: ZADD GT, never shortening.
-- In rebuild mode the intact marker is written last, and holds are accepted again.
-- KEYS[1] seat state HASH   KEYS[2] seat events channel   KEYS[3] seat-state-intact marker
-- KEYS[4 .. 3+n] the lock key of each seat entry   KEYS[4+n .. 3+n+u] user hold ZSETs
-- then the last two: KEYS[#KEYS-1] sold seats count, KEYS[#KEYS] the schedule's seat count
-- ARGV[#ARGV] the schedule's number of seats (written in rebuild mode, with the sold count)
-- ARGV[1] 'rebuild' | 'heal'   ARGV[2] n (seat entries)   ARGV[3] m (user entries)
-- ARGV[4 ..] n seat entries of 4: seat no, 'SOLD'|'HELD'|'FREE'|'ORPHAN', hold id or '', ttl ms or 0
-- then m user entries of 3: index into the user ZSET keys (1-based), member, score ms or 'inf'
-- Returns the number of seats whose shown state changed.
local rebuild = ARGV[1] == 'rebuild'
local n, m = tonumber(ARGV[2]), tonumber(ARGV[3])
local changed, count = {}, 0

local sold_now, sold_shown = 0, 0

local function show(seat, state)
  if state == 'SOLD' then
    sold_shown = sold_shown + 1
  end
  if redis.call('HGET', KEYS[1], seat) ~= state then
    redis.call('HSET', KEYS[1], seat, state)
    changed[seat] = state
    count = count + 1
    if state == 'SOLD' then
      sold_now = sold_now + 1
    end
  end
end

for i = 0, n - 1 do
  local base = 4 + i * 4
  local seat, want, hold_id, ttl = ARGV[base], ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3])
  local lock_key = KEYS[4 + i]
  local state = redis.call('HGET', KEYS[1], seat)
  if want == 'SOLD' then
    show(seat, 'SOLD')
  elseif state ~= 'SOLD' then
    if want == 'HELD' then
      if rebuild and ttl > 0 then
        redis.call('SET', lock_key, hold_id, 'NX', 'PX', ttl)
      end
      if redis.call('EXISTS', lock_key) == 1 then
        show(seat, 'HELD')
      end
    elseif want == 'FREE' and state == 'HELD' and redis.call('EXISTS', lock_key) == 0 then
      show(seat, 'AVAILABLE')
    elseif want == 'ORPHAN' and redis.call('GET', lock_key) == hold_id then
      redis.call('DEL', lock_key)
      show(seat, 'AVAILABLE')
    end
  end
end

local users_base = 4 + n * 4
for j = 0, m - 1 do
  local at = users_base + j * 3
  redis.call('ZADD', KEYS[3 + n + tonumber(ARGV[at])], 'GT', ARGV[at + 2], ARGV[at + 1])
end

-- SOLD is final: a heal adds the seats it newly shows SOLD; a rebuild, which sends every
-- sold seat, sets the count (and the schedule's seat count) before holds are accepted again.
if rebuild then
  redis.call('SET', KEYS[#KEYS - 1], sold_shown)
  redis.call('SET', KEYS[#KEYS], ARGV[#ARGV])
  redis.call('SET', KEYS[3], '1')
elseif sold_now > 0 then
  redis.call('INCRBY', KEYS[#KEYS - 1], sold_now)
end
if count > 0 then
  redis.call('PUBLISH', KEYS[2], cjson.encode({seats = changed}))
end
return count
