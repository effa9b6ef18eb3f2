-- POSTs the chat-completion body in $BENCH_BODY_FILE with the headers the paths need, and prints one JSON line of
-- results at the end (wrk's --latency table does not go past p99).
local body_file = os.getenv("BENCH_BODY_FILE")
local f = assert(io.open(body_file, "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_API_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end

-- With $BENCH_PAUSE_MS each connection waits about that long after an answer before its next request: a paced load, so
-- that two paths can be compared at the same request rate instead of each at its own saturation. The pause is drawn
-- uniformly from 0 to twice the mean, as independent clients would: with one fixed pause the connections stay in step
-- and arrive as bursts of 64 (seen here as the direct path's median jumping from about 60 us to 390 us between runs).
local pause = tonumber(os.getenv("BENCH_PAUSE_MS") or "")
if pause and pause > 0 then
  function init(args)
    -- Each thread has its own generator; the clock's fraction keeps two threads started in one second apart.
    math.randomseed(os.time() + math.floor(os.clock() * 1e6) + math.random(1, 1e6))
  end
  function delay() return math.random(0, 2 * pause) end
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration / 1e6, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.mean))
end
