-- GET /workouts/history: first pages (unfiltered, by exercise prefix, by
-- muscle group) and next pages following the cursor of earlier responses.
package.path = package.path .. ";" .. (os.getenv("LOAD_DIR") or ".") .. "/?.lua"
local common = require("common")
local user = common.user()
-- Unfiltered pages use the default limit (20), filtered ones limit=25: the
-- page size in a response tells which kind it was, so only cursors of
-- unfiltered pages are followed (a cursor is bound to its filters, and wrk
-- does not pair responses with the requests that caused them).
local filters = { "", "&limit=25&exercise=bench", "&limit=25&exercise=squat", "&limit=25&muscleGroup=back", "&limit=25&muscleGroup=legs" }
local cursor = nil
bad = 0

setup = common.setup

function init(args)
  math.randomseed(os.time() + (id or 0) * 7919)
end

request = function()
  local path
  if cursor ~= nil and math.random() < 0.5 then
    path = "/workouts/history?userId=" .. user .. "&cursor=" .. cursor
  else
    cursor = nil
    path = "/workouts/history?userId=" .. user .. filters[math.random(#filters)]
  end
  return wrk.format("GET", path)
end

response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 return end
  local next = body:match('"nextCursor":"([^"]+)"')
  if next ~= nil and body:match('"count":(%d+)') == "20" then
    cursor = next
  end
end

done = function(summary, latency, requests) common.done("history", summary, latency, requests) end
