-- Shared by the load scripts: per-thread counters reported as one JSON line.
local M = {}
local threads = {}

function M.setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function M.done(endpoint, summary, latency, requests)
  local accepted = 0
  local bad = 0
  local sent = 0
  local refused = 0
  for _, t in ipairs(threads) do
    accepted = accepted + (t:get("accepted") or 0)
    bad = bad + (t:get("bad") or 0)
    sent = sent + (t:get("sent") or 0)
    refused = refused + (t:get("refused") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'LOAD_RESULT {"endpoint":"%s","requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"bad_bodies":%d,"accepted_entries":%d,"sent_entries":%d,"refused":%d}\n',
    endpoint, summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, bad, accepted, sent, refused))
end

function M.user()
  return os.getenv("LOAD_USER") or "665f1c2b8a1e4d0012345678"
end

return M
