-- wrk script: replay pre-built (pre-signed) requests, a stripe of them per wrk thread, and
-- print one JSON line of figures at the end. The request file has one request a line:
--   header-name: value<TAB>header-name: value<TAB>...<TAB><TAB>body
-- The file and the path come from the environment (BENCH_REQUESTS, BENCH_PATH).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("BENCH_PATH")
  local stripes = tonumber(os.getenv("BENCH_THREADS"))
  requests = {}
  local n = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    if n % stripes == id then
      local head, body = line:match("^(.-)\t\t(.*)$")
      local headers = {}
      for name, value in head:gmatch("([^\t:]+): ([^\t]*)") do
        headers[name] = value
      end
      table.insert(requests, wrk.format("POST", path, headers, body))
    end
    n = n + 1
  end
  i = 0
end

function request()
  i = i + 1
  if i > #requests then
    i = 1 -- past the end the requests repeat (duplicates): size the file for the run
  end
  return requests[i]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
