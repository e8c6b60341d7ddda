-- wrk script: GET /graphql with the query in QUERY_FILE and variables rotating over the values in
-- VALUES_FILE (one per line), as {"<VAR>": value}. Set by bench/run.sh through the environment.
local function enc(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local function read(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("*a")
  f:close()
  return s
end
local query = enc(read(os.getenv("QUERY_FILE")))
local var = os.getenv("VAR")
local values = {}
for line in io.lines(os.getenv("VALUES_FILE")) do
  if #line > 0 then values[#values + 1] = line end
end
local paths = {}
for i, v in ipairs(values) do
  paths[i] = "/graphql?query=" .. query .. "&variables=" .. enc('{"' .. var .. '":"' .. v .. '"}')
end
local n = 0
wrk.headers["Accept"] = "application/json"
function setup(thread)
  thread:set("offset", math.random(#paths))
end
request = function()
  n = n + 1
  return wrk.format("GET", paths[((n + (offset or 0)) % #paths) + 1])
end
