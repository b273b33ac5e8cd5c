-- wrk script for bench/wrk.py: GETs of the URL given to wrk, counting answers that are not 2xx,
-- and a done() that prints one line, WRKJSON {...}, which bench/wrk.py parses.
--
-- Run as: wrk -t T -c C -d D --latency -s bench/lua/report.lua http://HOST:PORT/path

bad = 0 -- answers that are not 2xx, per thread; read by done() through thread:get

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, thread in ipairs(threads) do
    non2xx = non2xx + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "non2xx": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, non2xx, e.connect, e.read, e.write, e.status, e.timeout))
end
