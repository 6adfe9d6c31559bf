-- Request shapes for `npm run bench` (bench/lib/wrk.ts passes the arguments).
-- Arguments after `--`: method, path, count, token, body.
--   path   the request path, or a prefix when count > 0
--   count  0: the same path every time; n > 0: path .. i with i drawn from 0..n-1
--          (random for reads and lists, in turn for writes)
--   token  sent as X-Vault-Token when not empty
--   body   sent with Content-Type: application/json when not empty; "%d" in it
--          is replaced by a request counter, so every write carries new data
-- done() prints one line, KEEP_WRK_JSON {...}, that the runner reads.
--
-- wrk checks the first request of thread 0 with its HTTP parser before the
-- run and exits on a method it does not know ("invalid HTTP method"), which
-- LIST is. That first call is answered with the same request as GET: it is
-- only parsed, never sent.

local method, path, count, token, body
local fixed = nil
local counter = 0
local checked = false
local threads = 0

setup = function(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

local function headers()
  local h = {}
  if token ~= "" then h["X-Vault-Token"] = token end
  if body ~= "" then h["Content-Type"] = "application/json" end
  return h
end

init = function(args)
  method = args[1] or "GET"
  path = args[2] or "/"
  count = tonumber(args[3] or "0") or 0
  token = args[4] or ""
  body = args[5] or ""
  math.randomseed(os.time())
  if count == 0 and not string.find(body, "%d", 1, true) then
    fixed = wrk.format(method, path, headers(), body ~= "" and body or nil)
  end
end

request = function()
  if not checked then
    checked = true
    if thread_index == 0 then
      return wrk.format("GET", path, headers(), body ~= "" and body or nil)
    end
  end
  if fixed then return fixed end
  counter = counter + 1
  local p = path
  if count > 0 then
    local i
    if method == "GET" or method == "LIST" then i = math.random(0, count - 1) else i = counter % count end
    p = path .. i
  end
  local b = nil
  if body ~= "" then b = string.gsub(body, "%%d", tostring(counter)) end
  return wrk.format(method, p, headers(), b)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'KEEP_WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
