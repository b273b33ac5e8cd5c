-- wrk script for bench/load.py: one connection and one signed-in person per wrk thread.
--
-- Run by bench/load.py as: wrk -t N -c N -d T --timeout 60s -s bench/lua/load.lua URL -- PLAN.lua
-- PLAN.lua (written by load.py) returns a table: users (cookie, csrf), slug, sections, quotes,
-- amendments, statements, searches, the weighted mix, and outdir, where each thread writes its
-- log. With -t N -c N each thread has ONE connection, so responses answer its requests in
-- order: `pending` is the request the next response answers.
--
-- Each thread's log (outdir/thread-<id>.log), tab-separated, one line per event:
--   S <seq> <kind> <what...>        a write was sent (before the response)
--   R <seq> <status> <location>     its response
-- A write whose S has no R got no answer (a reset connection, or the run ended): unknown.

local plan, me, log
local seq = 0
local pending = nil      -- the write the next response answers (nil: a read)
local pending_kind = nil
statuses = {}            -- "kind status" -> count; read by done() through thread:get

local function urlencode(s)
  return (string.gsub(tostring(s), "[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function form(fields)
  local parts = {}
  for _, kv in ipairs(fields) do
    parts[#parts + 1] = urlencode(kv[1]) .. "=" .. urlencode(kv[2])
  end
  return table.concat(parts, "&")
end

local function pick(list) return list[math.random(#list)] end

function setup(thread)
  -- runs in the main Lua state, once per thread, before init
  thread_count = (thread_count or 0) + 1
  thread:set("id", thread_count)
  threads = threads or {}
  table.insert(threads, thread)
end

function init(args)
  plan = dofile(args[1])
  me = plan.users[id]
  math.randomseed(plan.seed * 1000 + id)
  log = io.open(plan.outdir .. "/thread-" .. id .. ".log", "w")
  log:setvbuf("line")
  total_weight = 0
  for _, w in ipairs(plan.mix) do total_weight = total_weight + w[2] end
end

local function get(kind, path)
  pending, pending_kind = nil, kind
  return wrk.format("GET", path, { ["Cookie"] = me.cookie })
end

local function post(kind, path, fields, what)
  seq = seq + 1
  pending, pending_kind = seq, kind
  log:write("S\t" .. seq .. "\t" .. kind .. "\t" .. what .. "\n")
  table.insert(fields, 1, { "csrf_token", me.csrf })
  return wrk.format("POST", path, {
    ["Cookie"] = me.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, form(fields))
end

local function choose()
  local r = math.random() * total_weight
  for _, w in ipairs(plan.mix) do
    r = r - w[2]
    if r <= 0 then return w[1] end
  end
  return plan.mix[#plan.mix][1]
end

local VOTES = { "support", "oppose", "abstain", "support", "oppose", "abstain", "support", "oppose", "abstain", "withdraw" }
local STATEMENT_VOTES = { "agree", "disagree", "pass", "agree", "disagree", "pass", "agree", "disagree", "pass", "withdraw" }

function request()
  local kind = choose()
  local slug = plan.slug
  if kind == "read consultation" then
    return get(kind, "/c/" .. slug)
  elseif kind == "read section" then
    return get(kind, "/c/" .. slug .. "/s/" .. pick(plan.sections))
  elseif kind == "read amendment" then
    return get(kind, "/amendments/" .. pick(plan.amendments))
  elseif kind == "search" then
    return get(kind, "/search?q=" .. urlencode(pick(plan.searches)))
  elseif kind == "comment" or kind == "annotation" then
    -- the marker is one word (letters and digits), so every search backend indexes it whole
    local marker = plan.prefix .. id .. "x" .. (seq + 1)
    local body = "Bench " .. kind .. " " .. marker .. ": " .. pick(plan.sentences)
    if kind == "comment" then
      local key = pick(plan.sections)
      return post(kind, "/c/" .. slug .. "/comments", { { "section_key", key }, { "body", body } }, marker .. "\t" .. key)
    end
    local q = pick(plan.quotes)
    return post(kind, "/c/" .. slug .. "/comments",
      { { "section_key", q.section }, { "quote", q.quote }, { "body", body } }, marker .. "\t" .. q.section)
  elseif kind == "vote amendment" then
    local item, value = pick(plan.amendments), pick(VOTES)
    return post(kind, "/c/" .. slug .. "/vote", { { "contribution_id", item }, { "value", value } }, "c" .. item .. "\t" .. value)
  elseif kind == "vote statement" then
    local item, value = pick(plan.statements), pick(STATEMENT_VOTES)
    return post(kind, "/c/" .. slug .. "/vote", { { "contribution_id", item }, { "value", value } }, "c" .. item .. "\t" .. value)
  elseif kind == "vote section" then
    local key, value = pick(plan.sections), pick(VOTES)
    return post(kind, "/c/" .. slug .. "/vote", { { "section_key", key }, { "value", value } }, "s" .. key .. "\t" .. value)
  elseif kind == "support" then
    local item = pick(plan.amendments)
    return post(kind, "/amendments/" .. item .. "/support", {}, tostring(item))
  end
  error("unknown kind in the mix: " .. kind)
end

function response(status, headers, body)
  local key = pending_kind .. "\t" .. status
  statuses[key] = (statuses[key] or 0) + 1
  if pending then
    local location = headers["Location"] or headers["location"] or ""
    log:write("R\t" .. pending .. "\t" .. status .. "\t" .. location .. "\n")
  end
  pending, pending_kind = nil, nil
end

function done(summary, latency, requests)
  -- runs in the main Lua state; load.py parses these lines
  io.write("WRK\tduration_us\t" .. summary.duration .. "\n")
  io.write("WRK\trequests\t" .. summary.requests .. "\n")
  io.write("WRK\tbytes\t" .. summary.bytes .. "\n")
  for _, name in ipairs({ "connect", "read", "write", "status", "timeout" }) do
    io.write("WRK\terror_" .. name .. "\t" .. summary.errors[name] .. "\n")
  end
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write("WRK\tlatency_p" .. p .. "_us\t" .. latency:percentile(p) .. "\n")
  end
  io.write("WRK\tlatency_max_us\t" .. latency.max .. "\n")
  io.write("WRK\tlatency_mean_us\t" .. latency.mean .. "\n")
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for key, n in pairs(counts) do
      io.write("STATUS\t" .. key .. "\t" .. n .. "\n")
    end
  end
end
