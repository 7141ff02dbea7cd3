-- wrk: OCSP requests cycling over N different ones (one per certificate).
-- OCSP_REQUESTS names a file with one request a line: for OCSP_MODE=post
-- the hex of the DER request, posted to OCSP_PATH as
-- application/ocsp-request; for OCSP_MODE=get the path to GET
-- (/ocsp/<url-encoded base64>). The requests are built once per thread;
-- each thread starts at another place in the list.
local mode = os.getenv("OCSP_MODE") or "post"
local path = os.getenv("OCSP_PATH") or "/ocsp"
local requests = {}
local counter = 0
local threads = 0

local function unhex(text)
  return (text:gsub("..", function(byte) return string.char(tonumber(byte, 16)) end))
end

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  local file = assert(io.open(os.getenv("OCSP_REQUESTS"), "r"))
  for line in file:lines() do
    if line ~= "" then
      if mode == "get" then
        requests[#requests + 1] = wrk.format("GET", line)
      else
        requests[#requests + 1] = wrk.format("POST", path, { ["Content-Type"] = "application/ocsp-request" },
          unhex(line))
      end
    end
  end
  file:close()
  assert(#requests > 0, "no requests in " .. os.getenv("OCSP_REQUESTS"))
  counter = (id * 7919) % #requests
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
