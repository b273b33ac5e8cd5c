-- wrk script for bench/all's vote row: POST /c/SLUG/vote from many signed-in people.
--
-- Run as: wrk -t N -c N -d D --latency -s bench/lua/votes.lua URL -- PLAN.lua
-- With -t N -c N each wrk thread has one connection and one person (plan.users[id]: the session
-- cookie and the CSRF token bench/votes.py's sign_in got through the sign-in form, as in
-- bench/lua/load.lua). Each request votes on a random amendment or section: support, oppose or
-- abstain, one in ten a withdrawal. An answer counts as good when it is 2xx, or a redirect
-- anywhere but the sign-in page (the vote route answers 302); anything else is counted in
-- non2xx. done() prints the same WRKJSON line as bench/lua/report.lua.

bad = 0

local plan, me
local threads = {}
local VALUES = { "support", "oppose", "abstain", "support", "oppose", "abstain", "support", "oppose", "abstain", "withdraw" }

local function urlencode(s)
  return (string.gsub(tostring(s), "[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function setup(thread)
  thread_count = (thread_count or 0) + 1
  thread:set("id", thread_count)
  table.insert(threads, thread)
end

function init(args)
  plan = dofile(args[1])
  me = plan.users[(id - 1) % #plan.users + 1]
  math.randomseed(plan.seed * 1000 + id)
end

function request()
  local value = VALUES[math.random(#VALUES)]
  local target
  local n = math.random(#plan.amendments + #plan.sections)
  if n <= #plan.amendments then
    target = "contribution_id=" .. urlencode(plan.amendments[n])
  else
    target = "section_key=" .. urlencode(plan.sections[n - #plan.amendments])
  end
  local body = "csrf_token=" .. urlencode(me.csrf) .. "&" .. target .. "&value=" .. value
  return wrk.format("POST", "/c/" .. plan.slug .. "/vote", {
    ["Cookie"] = me.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  local location = headers["Location"] or headers["location"] or ""
  local redirect = status >= 300 and status < 400 and not string.find(location, "/signin", 1, true)
  if not (redirect or (status >= 200 and status < 300)) then
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
