-- wrk script: POST /api/games/slot/spin with a bearer token and a fresh Idempotency-Key per request.
--
-- Same output contract as the reference harness (../shared/bench/wrk/spin.lua): done() prints one
-- line starting "BENCH_JSON " with rps, p50/p90/p99, errors, non2xx, statuses and one sample body
-- per status. Unlike the reference it cannot prebuild its requests: our spin route refuses a
-- request without an Idempotency-Key (400) and replays a repeated one, so every request carries
-- the key "<BENCH_KEY_PREFIX>-t<thread>-<counter>", unique within a run and, through the prefix,
-- across runs against the same database.
--
-- Configured through the environment (bench/run_wrk.sh sets these):
--   BENCH_MODE        spread (default): a random token from the file per request (many wallets);
--                     hot: always the first token (one wallet row, maximum lock contention).
--   BENCH_TOKENS      file with one access JWT per line (empty: no Authorization header).
--   BENCH_BODY        request body (default {"bet": 10}).
--   BENCH_KEY_PREFIX  prefix of every idempotency key: [A-Za-z0-9_-:.], at most 60 characters.
--   BENCH_SAMPLE      1 (default): count responses per status, keep the first body of each status
--                     and count replays (header Idempotent-Replayed); 0: no response callback.

local mode = os.getenv("BENCH_MODE") or "spread"
local tokens_file = os.getenv("BENCH_TOKENS") or ""
local body = os.getenv("BENCH_BODY") or '{"bet": 10}'
local key_prefix = os.getenv("BENCH_KEY_PREFIX") or ("wrk" .. os.time())
local sample = (os.getenv("BENCH_SAMPLE") or "1") ~= "0"

if #key_prefix > 60 or not key_prefix:match("^[%w_%-:%.]+$") then
  error("BENCH_KEY_PREFIX must be 1-60 characters of [A-Za-z0-9_-:.], not " .. key_prefix)
end

local function read_lines(path)
  local lines = {}
  if path == "" or path == "-" then return lines end
  local f = assert(io.open(path, "r"), "cannot open " .. path)
  for line in f:lines() do
    line = line:gsub("%s+$", "")
    if line ~= "" then lines[#lines + 1] = line end
  end
  f:close()
  return lines
end

-- main state: remember the threads so done() can read their counters
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

-- thread state: the Authorization header of every token, built once; the key per request
local authorizations = {}
local headers = { ["Content-Type"] = "application/json" }
local counter = 0
local key_base = ""
function init(args)
  local tokens = read_lines(tokens_file)
  if mode == "hot" then
    tokens = { tokens[1] }
  elseif mode ~= "spread" then
    error("BENCH_MODE must be spread or hot, not " .. mode)
  end
  for i, token in ipairs(tokens) do authorizations[i] = "Bearer " .. token end
  key_base = string.format("%s-t%d-", key_prefix, thread_id or 0)
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
end

function request()
  counter = counter + 1
  headers["Idempotency-Key"] = key_base .. counter
  if #authorizations > 0 then
    headers["Authorization"] = authorizations[math.random(#authorizations)]
  end
  return wrk.format("POST", nil, headers, body)
end

if sample then
  -- globals so the main state can read them with thread:get()
  function response(status, response_headers, response_body)
    local key = "n" .. status
    _G[key] = (_G[key] or 0) + 1
    local sample_key = "b" .. status
    if _G[sample_key] == nil then _G[sample_key] = string.sub(response_body or "", 1, 400) end
    if response_headers["Idempotent-Replayed"] or response_headers["idempotent-replayed"] then
      _G.replayed = (_G.replayed or 0) + 1
    end
  end
end

local function json_string(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local statuses, samples = {}, {}
  local replayed = 0
  if sample then
    local counts, bodies = {}, {}
    for _, t in ipairs(threads) do
      replayed = replayed + (t:get("replayed") or 0)
      for code = 100, 599 do
        local n = t:get("n" .. code)
        if n then
          counts[code] = (counts[code] or 0) + n
          if bodies[code] == nil then bodies[code] = t:get("b" .. code) end
        end
      end
    end
    for code = 100, 599 do
      if counts[code] then
        statuses[#statuses + 1] = string.format('"%d": %d', code, counts[code])
        samples[#samples + 1] = string.format('"%d": %s', code, json_string(bodies[code] or ""))
      end
    end
  end
  io.write(string.format(
    'BENCH_JSON {"rps": %.1f, "p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "errors": %d, "non2xx": %d, '
      .. '"requests": %d, "duration_s": %.1f, "mean_ms": %.2f, "max_ms": %.2f, "socket_errors": '
      .. '{"connect": %d, "read": %d, "write": %d, "timeout": %d}, "replayed": %d, "key_prefix": %s, '
      .. '"statuses": {%s}, "samples": {%s}}\n',
    summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, e.status,
    summary.requests, seconds, latency.mean / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, replayed, json_string(key_prefix),
    table.concat(statuses, ", "), table.concat(samples, ", ")))
end
