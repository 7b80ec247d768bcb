-- radseal access auditing of C-FIND for Orthanc 1.10 (Orthanc's Python plugin has no C-FIND
-- filter that leaves Orthanc's own C-FIND in place; radseal_access.py audits everything else).
-- Each C-FIND is posted to `radseal verify-service` (POST /access) before Orthanc answers it:
-- who (calling AE, address), the query level and the names of the keys asked for. Query values
-- (a C-FIND may search by patient name) are never sent.
--
-- Configuration (orthanc.json): "LuaScripts": [ "/etc/orthanc/radseal_access.lua" ] and
--   "Radseal": { "VerifyUrl": "http://127.0.0.1:8043/verify" }   (or "AccessUrl": ".../access")

local config = GetOrthancConfiguration()
local radseal = config['Radseal'] or {}
local ACCESS_URL = radseal['AccessUrl'] or string.gsub(radseal['VerifyUrl'] or 'http://127.0.0.1:8043/verify', '/verify$', '') .. '/access'
local LEVELS = { PATIENT = 'patient', STUDY = 'study', SERIES = 'series', IMAGE = 'instance' }
local UID_KEYS = { ['0020,000d'] = 'studyUid', ['0020,000e'] = 'seriesUid', ['0008,0018'] = 'sopInstanceUid' }

function IncomingFindRequestFilter(query, origin)
  local keys = {}
  local event = {
    action = 'c-find', outcome = 'requested',
    source = { via = 'dimse', ae = origin['RemoteAet'], host = origin['RemoteIp'] },
    level = LEVELS[string.upper(query['0008,0052'] or '')],
  }
  for tag, value in pairs(query) do
    table.insert(keys, tag)
    -- A UID asked for exactly (no wildcard) names what is being looked at; UIDs are not PHI.
    local uid = UID_KEYS[string.lower(tag)]
    if uid and type(value) == 'string' and string.match(value, '^[0-9.]+$') then event[uid] = value end
  end
  table.sort(keys)
  event['detail'] = string.sub('C-FIND ' .. (query['0008,0052'] or '?') .. ' keys ' .. table.concat(keys, ' '), 1, 400)
  local ok, err = pcall(function()
    HttpPost(ACCESS_URL, DumpJson({ events = { event } }, true), { ['Content-Type'] = 'application/json' })
  end)
  if not ok then print('radseal: C-FIND access record not written: ' .. tostring(err)) end
  return query
end
