-- wrk script: GET /impi/<impi>/av/digest?impu=<impu> for a uniformly random subscriber of the
-- population hearth-loadgen provisions (IMPI <prefix>{i}@<domain>, IMPU sip:<prefix>{i}@<domain>).
local n = tonumber(os.getenv("SUBSCRIBERS") or "10000")
local prefix = os.getenv("PREFIX") or "lg"
local domain = os.getenv("DOMAIN") or "example.com"

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

function request()
  local i = math.random(0, n - 1)
  local path = string.format("/impi/%s%d%%40%s/av/digest?impu=sip%%3A%s%d%%40%s",
    prefix, i, domain, prefix, i, domain)
  return wrk.format("GET", path)
end
