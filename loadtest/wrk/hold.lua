-- hold.lua: POST /api/v1/schedules/<id>/holds, every request a different (user, seat): lines of
-- "<bearer token> <pass token> <seat_no>" prepared by the runner (admitted users, each on a few
-- distinct seats within the per-user limit), so holds succeed and each one writes its rows.
-- Threads take interleaved lines; after the last line a thread wraps around and those holds
-- answer 409 (seat taken), still counted per status.
-- Env: HOLDS_FILE, SCHEDULE_ID, WRK_THREADS (the -t value).
-- Run: HOLDS_FILE=/abs/holds.txt SCHEDULE_ID=4 WRK_THREADS=2 wrk -t2 -c64 -d10s -s loadtest/wrk/hold.lua http://127.0.0.1:8000
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local report = require("report")

local holds, path, step, next_line

setup = report.number_threads

function init(args)
  holds = {}
  for _, line in ipairs(report.load_lines(os.getenv("HOLDS_FILE"))) do
    local token, pass, seat = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
    holds[#holds + 1] = {
      headers = {
        ["Authorization"] = "Bearer " .. token,
        ["X-Queue-Pass"] = pass,
        ["Content-Type"] = "application/json",
      },
      body = '{"seat_nos":["' .. seat .. '"]}',
    }
  end
  path = "/api/v1/schedules/" .. assert(os.getenv("SCHEDULE_ID"), "SCHEDULE_ID is required") .. "/holds"
  step = tonumber(os.getenv("WRK_THREADS") or "1")
  next_line = thread_index or 0
end

function request()
  local h = holds[(next_line % #holds) + 1]
  next_line = next_line + step
  return wrk.format("POST", path, h.headers, h.body)
end

function response(status)
  report.count(status)
end

done = report.done
