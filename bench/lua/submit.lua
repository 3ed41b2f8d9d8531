-- POST /api/v1/outages with a new external_id each time: wrk ... -- <key> <starts_epoch> <run>
local counter = 0
local key, starts, run

function init(args)
  key, starts, run = args[1], tonumber(args[2]), args[3]
end

local function iso(epoch)
  return os.date("!%Y-%m-%dT%H:%M:%S+00:00", epoch)
end

function request()
  counter = counter + 1
  local s = starts + counter * 60
  local body = string.format(
    '{"external_id":"B-%s-%d","kind":"planned","title":"Line maintenance",' ..
    '"reason":"Switchgear replacement","region":"310115","area_description":"Keyuan Road",' ..
    '"scope":{"feeders":["F-%d"],"transformer_areas":["TA-%d"]},"starts_at":"%s","ends_at":"%s"}',
    run, counter, counter % 300, counter, iso(s), iso(s + 6 * 3600))
  return wrk.format("POST", "/api/v1/outages",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end
