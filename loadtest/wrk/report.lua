-- report.lua: shared by the wrk scripts of this directory.
--   load_lines(path)   the non-empty lines of a file (read once per wrk thread, in init)
--   number_threads()   gives each wrk thread an index (global `thread_index`) from setup()
--   count(status)      counts one answer per status (global `statuses`, read back in done())
--   done(...)          prints one line "WRK_JSON {...}" that bench/run.py parses: requests, duration,
--                      socket errors, latency percentiles (microseconds) and the per-status counts
-- wrk runs one Lua state per thread plus one for setup()/done(); values cross between
-- them only through thread:set() and thread:get().
local M = {}

function M.load_lines(path)
  local lines = {}
  local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in file:lines() do
    if #line > 0 then
      lines[#lines + 1] = line
    end
  end
  file:close()
  assert(#lines > 0, path .. " is empty")
  return lines
end

local threads = {}

function M.number_threads(thread)
  thread:set("thread_index", #threads)
  threads[#threads + 1] = thread
end

statuses = {}

function M.count(status)
  statuses[status] = (statuses[status] or 0) + 1
end

local function statuses_json()
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p99_9":%d},"statuses":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    statuses_json()))
end

return M
