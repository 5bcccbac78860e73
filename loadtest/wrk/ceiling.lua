-- ceiling.lua: GET /readyz/redis (one Redis GET per request), the same-run ceiling the enter and
-- hold throughputs are compared with. No per-request Lua: only done() reports, as JSON.
-- Run: wrk -t2 -c64 -d10s --latency -s loadtest/wrk/ceiling.lua http://127.0.0.1:8000/readyz/redis
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local report = require("report")

done = report.done
