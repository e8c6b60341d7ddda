-- wrk script: POST /graphql with a JSON body {"query": <QUERY_FILE>, "variables": {"<VAR>": value}},
-- the value rotating over the lines of VALUES_FILE. POST because PostGraphile 5 serves no GET.
local function read(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("*a")
  f:close()
  return s
end
local function json_string(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end
local query = json_string(read(os.getenv("QUERY_FILE")))
local var = os.getenv("VAR")
local bodies = {}
for line in io.lines(os.getenv("VALUES_FILE")) do
  if #line > 0 then
    bodies[#bodies + 1] = '{"query":' .. query .. ',"variables":{' .. json_string(var) .. ':' .. json_string(line) .. '}}'
  end
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
function setup(thread)
  thread:set("offset", math.random(#bodies))
end
request = function()
  n = n + 1
  return wrk.format("POST", "/graphql", nil, bodies[((n + (offset or 0)) % #bodies) + 1])
end
