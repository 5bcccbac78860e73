-- enter.lua: POST /api/v1/schedules/<id>/queue, every request as the next user from a token file,
-- so each request is a real first entry (a new ticket), not an idempotent repeat. Threads take
-- interleaved users (thread k: users k, k + threads, ...); after the last token a thread wraps
-- around and the entries become repeats (the runner sizes the file to avoid that).
-- Env: TOKENS_FILE (one bearer token per line), SCHEDULE_ID, WRK_THREADS (the -t value).
-- Run: TOKENS_FILE=/abs/tokens.txt SCHEDULE_ID=3 WRK_THREADS=2 wrk -t2 -c64 -d10s -s loadtest/wrk/enter.lua http://127.0.0.1:8000
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local report = require("report")

local tokens, path, step, next_user

setup = report.number_threads

function init(args)
  tokens = report.load_lines(os.getenv("TOKENS_FILE"))
  path = "/api/v1/schedules/" .. assert(os.getenv("SCHEDULE_ID"), "SCHEDULE_ID is required") .. "/queue"
  step = tonumber(os.getenv("WRK_THREADS") or "1")
  next_user = thread_index or 0
end

function request()
  local token = tokens[(next_user % #tokens) + 1]
  next_user = next_user + step
  return wrk.format("POST", path, { ["Authorization"] = "Bearer " .. token })
end

function response(status)
  report.count(status)
end

done = report.done
