-- POST /auth/refresh with rotation chains. Each thread owns a disjoint share of the refresh tokens in the file
-- given after "--" (one token per line, one line per session, prepared beforehand). A token is used exactly once:
-- request() takes the oldest unused token, response() parses the successor out of a 200's body and queues it.
-- So every session has at most one refresh in flight, no token is ever replayed (no grace retries, no reuse
-- detection), and each measured request is a real rotation. A non-200 answer loses that session's chain; if a
-- thread ever runs dry it sends an invalid token, which the server answers 401 (counted as an error, never hidden).
local counter = 0
function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
end

local queue, head, tail = {}, 1, 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local threads = tonumber(args[2])
  local n = 0
  for line in io.lines(args[1]) do
    if line ~= "" then
      if n % threads == thread_index then
        tail = tail + 1
        queue[tail] = line
      end
      n = n + 1
    end
  end
end

function request()
  local token = "exhausted-token-pool"
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format("POST", "/auth/refresh", headers, '{"refreshToken":"' .. token .. '"}')
end

function response(status, _, body)
  if status == 200 then
    local successor = body:match('"refreshToken":"([^"]+)"')
    if successor then
      tail = tail + 1
      queue[tail] = successor
    end
  end
end
