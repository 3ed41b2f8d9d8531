-- POST /api/v1/outages/{id}/approve for each id in a file, once: wrk ... -- <key> <ids file>
local ids = {}
local next_id = 0
local key

function init(args)
  key = args[1]
  for line in io.lines(args[2]) do ids[#ids + 1] = line end
end

function request()
  next_id = next_id + 1
  local id = ids[((next_id - 1) % #ids) + 1]
  -- Freshly submitted records are at revision 1: the version a reviewer would have read.
  return wrk.format("POST", "/api/v1/outages/" .. id .. "/approve", {["Authorization"] = "Bearer " .. key, ["If-Match"] = "\"1\""})
end
