-- POST /api/v1/reports for account R<area><n>, each request the next account: wrk ... -- <key> <areas> <per_area>
local counter = 0
local key, areas, per_area

function init(args)
  key, areas, per_area = args[1], tonumber(args[2]), tonumber(args[3])
end

function request()
  local n = counter % (areas * per_area)
  counter = counter + 1
  -- Round-robin over areas, so each area's reports arrive spread over the run, as in a storm.
  local area, index = n % areas, math.floor(n / areas)
  local symptom = (counter % 50 == 0) and "hazard" or "no_power"
  local body = string.format('{"account":"R%04d%03d","symptom":"%s"}', area, index, symptom)
  return wrk.format("POST", "/api/v1/reports",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end
