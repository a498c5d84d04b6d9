-- wrk script: one REST request per call with a bearer token and (by default) a fresh
-- Idempotency-Key per request; bench/run_wrk.sh runs it for every route of `make bench`.
--
-- Same output contract as the reference harness (../shared/bench/wrk/spin.lua): done() prints one
-- line starting "BENCH_JSON " with rps, p50/p90/p99, errors, non2xx, statuses and one sample body
-- per status. Unlike the reference it cannot prebuild its requests: our money routes refuse a
-- request without an Idempotency-Key (400) and replay a repeated one, so every request carries
-- the key "<BENCH_KEY_PREFIX>-t<thread>-<counter>", unique within a run and, through the prefix,
-- across runs against the same database.
--
-- Configured through the environment (bench/run_wrk.sh sets these):
--   BENCH_MODE        spread (default): a random player per request (many wallets);
--                     hot: always the first player (one wallet row, maximum lock contention);
--                     once: every player in turn, from BENCH_OFFSET on, each used once (a daily
--                     claim); past the last player it starts over (the server then refuses).
--   BENCH_TOKENS      file with one access JWT per line (empty: no Authorization header).
--   BENCH_BODIES      file with one request body per line, line i for player i (e.g. a login);
--                     empty: BENCH_BODY for every request.
--   BENCH_BODY        request body (default {"bet": 10}).
--   BENCH_METHOD      POST (default) or GET (no body).
--   BENCH_IDEMPOTENCY 1 (default): send an Idempotency-Key; 0: none.
--   BENCH_OFFSET      once: the first player's index (0-based); BENCH_THREADS: wrk's threads.
--   BENCH_KEY_PREFIX  prefix of every idempotency key: [A-Za-z0-9_-:.], at most 60 characters.
--   BENCH_SAMPLE      1 (default): count responses per status, keep the first body of each status
--                     and count replays (header Idempotent-Replayed); 0: no response callback.

local mode = os.getenv("BENCH_MODE") or "spread"
local tokens_file = os.getenv("BENCH_TOKENS") or ""
local body = os.getenv("BENCH_BODY") or '{"bet": 10}'
local bodies_file = os.getenv("BENCH_BODIES") or ""
local method = os.getenv("BENCH_METHOD") or "POST"
local idempotency = (os.getenv("BENCH_IDEMPOTENCY") or "1") ~= "0"
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
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
local request_bodies = {}
local players = 0
local headers = { ["Content-Type"] = "application/json" }
counter = 0  -- global: done() reads every thread's count (a once-run's players used)
local key_base = ""
function init(args)
  local tokens = read_lines(tokens_file)
  request_bodies = read_lines(bodies_file)
  if mode == "hot" then
    tokens = { tokens[1] }
    request_bodies = { request_bodies[1] }
  elseif mode ~= "spread" and mode ~= "once" then
    error("BENCH_MODE must be spread, hot or once, not " .. mode)
  end
  for i, token in ipairs(tokens) do authorizations[i] = "Bearer " .. token end
  players = math.max(1, #authorizations, #request_bodies)
  key_base = string.format("%s-t%d-", key_prefix, thread_id or 0)
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
end

function request()
  counter = counter + 1
  if idempotency then headers["Idempotency-Key"] = key_base .. counter end
  local player = 1
  if mode == "once" then  -- threads interleave: thread t takes offset+t, offset+t+threads, ...
    player = (offset + (thread_id or 0) + thread_count * (counter - 1)) % players + 1
  elseif players > 1 then
    player = math.random(players)
  end
  if #authorizations > 0 then headers["Authorization"] = authorizations[player] end
  if method == "GET" then return wrk.format("GET", nil, headers, nil) end
  return wrk.format(method, nil, headers, request_bodies[player] or body)
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
  local max_calls = 0
  for _, t in ipairs(threads) do max_calls = math.max(max_calls, t:get("counter") or 0) end
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
      .. '"max_thread_calls": %d, "statuses": {%s}, "samples": {%s}}\n',
    summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, e.status,
    summary.requests, seconds, latency.mean / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, replayed, json_string(key_prefix), max_calls,
    table.concat(statuses, ", "), table.concat(samples, ", ")))
end
