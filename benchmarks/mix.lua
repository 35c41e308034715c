-- wrk script: POST the React SDK's calls in turn, each as one of N customers in turn.
--   wrk ... -s mix.lua <url> -- <customers> <user prefix> <run id> <path> [<path> ...]
-- A path ending in usage-events/create gets a usage event with a transactionId of its own.
-- done() prints one JSON line: requests, duration, errors, latency percentiles (us).

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  customers = tonumber(args[1])
  prefix = args[2]
  run_id = args[3]
  paths = {}
  for i = 4, #args do
    paths[#paths + 1] = args[i]
  end
  counter = thread_id * 7919
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  headers["X-User"] = prefix .. (counter % customers)
  local body = "{}"
  if string.sub(path, -19) == "usage-events/create" then
    body = string.format(
      '{"usageMeterSlug":"api_calls","amount":1,"transactionId":"txn_%s_%d_%d"}',
      run_id, thread_id, counter
    )
  end
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean
  ))
end
