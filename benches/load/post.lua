-- POST /workouts: 5 entries per request, each with a unique idempotency key
-- (run id, thread, counter), so every accepted entry can be checked later.
package.path = package.path .. ";" .. (os.getenv("LOAD_DIR") or ".") .. "/?.lua"
local common = require("common")
local user = common.user()
local run = os.getenv("LOAD_RUN_ID") or tostring(os.time())
local day = os.getenv("LOAD_DAY") or "2026-05-01"
local per_request = 5
local counter = 0
accepted = 0
sent = 0
bad = 0
refused = 0

setup = common.setup

request = function()
  counter = counter + 1
  sent = sent + per_request
  local entries = {}
  for i = 1, per_request do
    local reps = ({ 3, 5, 8, 10 })[(counter + i) % 4 + 1]
    local kg = 60 + (counter * 7 + i * 13) % 80
    entries[i] = string.format(
      '{"exerciseName":"Load Test Press","date":"%sT%02d:%02d:00Z","idempotencyKey":"load-%s-%d-%d-%d",' ..
      '"sets":[{"reps":%d,"weight":%d,"unit":"kg"},{"reps":%d,"weight":%d,"unit":"kg"}]}',
      day, 6 + counter % 14, i * 7 % 60, run, id or 0, counter, i, reps, kg, reps + 2, kg - 10)
  end
  local body = '{"userId":"' .. user .. '","entries":[' .. table.concat(entries, ",") .. ']}'
  return wrk.format("POST", "/workouts", { ["Content-Type"] = "application/json" }, body)
end

response = function(status, headers, body)
  if status == 202 then
    accepted = accepted + per_request
  elseif status == 503 or status == 429 then
    -- Documented refusals (backpressure, rate limits): nothing was accepted.
    refused = refused + 1
  else
    bad = bad + 1
  end
end

done = function(summary, latency, requests) common.done("post", summary, latency, requests) end
