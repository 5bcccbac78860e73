-- lib/sold_out.lua (included by enter.lua, status.lua and advance.lua): is every seat SOLD?
-- sold_key counts the schedule's seats shown SOLD (sell.lua, mark_sold.lua, restore.lua add
-- to it); count_key holds its number of seats. Without a count (a schedule older than the
-- count, or Redis lost it and the reconciler has not rebuilt yet) it is never sold out.
local function sold_out(sold_key, count_key)
  local seats = tonumber(redis.call('GET', count_key) or '0')
  return seats > 0 and tonumber(redis.call('GET', sold_key) or '0') >= seats
end
