-- wrk script: /graphql with the query in QUERY_FILE and variables rotating over the values in
-- VALUES_FILE (one per line, written as the inside of a JSON string), as {"<VAR>": value}.
-- GET with query parameters by default; METHOD=POST sends a JSON body instead (PostGraphile 5
-- serves no GET). Set by the bench/*.sh scripts through the environment.
local function enc(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local function json_string(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end
local function read(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("*a")
  f:close()
  return s
end
local post = os.getenv("METHOD") == "POST"
local query = read(os.getenv("QUERY_FILE"))
local var = os.getenv("VAR")
local requests = {}
for line in io.lines(os.getenv("VALUES_FILE")) do
  if #line > 0 then
    local variables = '{"' .. var .. '":"' .. line .. '"}'
    if post then
      requests[#requests + 1] = '{"query":' .. json_string(query) .. ',"variables":' .. variables .. '}'
    else
      requests[#requests + 1] = "/graphql?query=" .. enc(query) .. "&variables=" .. enc(variables)
    end
  end
end
local n = 0
wrk.headers["Accept"] = "application/json"
-- ACCEPT_ENCODING: the Accept-Encoding header to send (none by default).
local encoding = os.getenv("ACCEPT_ENCODING")
if encoding and #encoding > 0 then wrk.headers["Accept-Encoding"] = encoding end
if post then wrk.headers["Content-Type"] = "application/json" end
function setup(thread)
  thread:set("offset", math.random(#requests))
end
request = function()
  n = n + 1
  local r = requests[((n + (offset or 0)) % #requests) + 1]
  if post then return wrk.format("POST", "/graphql", nil, r) end
  return wrk.format("GET", r)
end
