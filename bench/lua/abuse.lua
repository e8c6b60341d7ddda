-- wrk script for bench/abuse.sh: a mix of cheap, expensive, over-limit and malformed requests,
-- counting answers by status class; any 5xx is a failure.
local reqs = {}
local function post(body, ctype)
  return wrk.format("POST", "/graphql", { ["Content-Type"] = ctype or "application/json", ["Accept"] = "application/json" }, body)
end
local function get(qs)
  return wrk.format("GET", "/graphql?" .. qs, { ["Accept"] = "application/json" })
end
-- cheap
reqs[#reqs + 1] = post('{"query":"{ papers(first: 5) { nodes { arxivId title } } }"}')
reqs[#reqs + 1] = get("query=%7B__typename%7D")
reqs[#reqs + 1] = post('{"query":"{ paper(arxivId: \\"2601.00001\\") { title upvotes } }"}')
-- expensive (within limits)
reqs[#reqs + 1] = post('{"query":"{ papers(first: 100) { nodes { title abstract authors { name } } } }"}')
reqs[#reqs + 1] = post('{"query":"{ searchPapers(query: \\"diffusion model\\", first: 50) { totalCount edges { highlights { fragment } } } }"}')
reqs[#reqs + 1] = post('{"query":"{ authors(first: 50) { nodes { name papers(first: 20) { nodes { title } } } } }"}')
-- over the limits
reqs[#reqs + 1] = post('{"query":"{ papers(first: 100) { nodes { authors { author { papers(first: 100) { nodes { title } } } } } } }"}')
local deep = "__typename"
for i = 1, 30 do deep = "papers { nodes { " .. deep .. " } }" end
reqs[#reqs + 1] = post('{"query":"{ ' .. deep .. ' }"}')
-- malformed
reqs[#reqs + 1] = post('{"query": ')
reqs[#reqs + 1] = post('{"query":"{ nosuch }"}')
reqs[#reqs + 1] = post('{"query":"{ __typename }"}', "text/plain")
reqs[#reqs + 1] = post('{"query":"query($x: Int!) { papers(first: $x) { totalCount } }","variables":{"x":null}}')
reqs[#reqs + 1] = get("query=%7B")

local n = 0
function init(args)
  s2, s4, s5, other = 0, 0, 0, 0
end
request = function()
  n = n + 1
  return reqs[((n + offset) % #reqs) + 1]
end
response = function(status, headers, body)
  if status >= 500 then s5 = s5 + 1
  elseif status >= 400 then s4 = s4 + 1
  elseif status >= 200 and status < 300 then s2 = s2 + 1
  else other = other + 1 end
end
local threads = {}
function setup(thread)
  thread:set("offset", math.random(#reqs))
  threads[#threads + 1] = thread
end
function done(summary, latency, requests)
  local a, b, c, d = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("s2"); b = b + t:get("s4"); c = c + t:get("s5"); d = d + t:get("other")
  end
  io.write(string.format("ABUSE requests=%d 2xx=%d 4xx=%d 5xx=%d other=%d socket_errors=%d p50_ms=%.1f p99_ms=%.1f\n",
    summary.requests, a, b, c, d,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
