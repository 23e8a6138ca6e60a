-- GET /workouts/prs: half all-time (read model), half ranges of a month, a
-- quarter or a year (day bests), with previous window and deltas.
package.path = package.path .. ";" .. (os.getenv("LOAD_DIR") or ".") .. "/?.lua"
local common = require("common")
local user = common.user()
local exercises = { "bench%20press", "squat", "deadlift", "barbell%20row", "incline%20bench%20press" }
local ranges = {
  "&from=2026-05-01&to=2026-05-31",
  "&from=2026-01-01&to=2026-03-31",
  "&from=2025-06-01&to=2026-05-31",
  "&from=2025-11-15T12:00:00Z&to=2026-02-10T08:30:00Z",
}
bad = 0

setup = common.setup

function init(args)
  math.randomseed(os.time() + (id or 0) * 104729)
end

request = function()
  local path = "/workouts/prs?userId=" .. user .. "&exercise=" .. exercises[math.random(#exercises)]
  if math.random() < 0.5 then
    path = path .. ranges[math.random(#ranges)]
  end
  return wrk.format("GET", path)
end

response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

done = function(summary, latency, requests) common.done("prs", summary, latency, requests) end
