-- radseal verification for Orthanc (tested with Debian's Orthanc 1.10.1).
--
-- Every instance Orthanc stores (C-STORE, REST upload, DICOMweb) is posted to
-- `radseal verify-service` on loopback, as the exact file Orthanc stored. The
-- verdict goes into the instance's metadata (declared as UserMetadata in the
-- configuration); when the service's policy says so ("delete": true, policy
-- reject), the instance is deleted from Orthanc. The service keeps a copy of
-- every non-authentic object with its report in its quarantine folder and
-- writes the audit record, so nothing is lost by the deletion.
--
-- Configuration (orthanc.json):
--   "Radseal": { "VerifyUrl": "http://127.0.0.1:8043/verify" }
--   (Orthanc 1.10's Lua has no per-call timeout: HttpPost uses "HttpTimeout", default 60 s)
--   "UserMetadata": { "RadsealVerdict": 4600, "RadsealReasons": 4601,
--                     "RadsealAuditSeq": 4602, "RadsealFileSha256": 4603, "RadsealAction": 4604 }
--
-- Orthanc's Lua ReceivedInstanceFilter only sees tags up to Pixel Data (never
-- the signatures, which follow it), so verification must happen after storage:
-- an instance is visible for the moment between storage and this callback.
-- Sites that must refuse before storage use the radseal C-STORE gateway in
-- front of Orthanc (radseal ingest --forward).

local config = GetOrthancConfiguration()
local radseal = config['Radseal'] or {}
local VERIFY_URL = radseal['VerifyUrl'] or 'http://127.0.0.1:8043/verify'

local function urlencode(s)
  if s == nil then return '' end
  return (string.gsub(tostring(s), '[^%w%-%._~]', function(c) return string.format('%%%02X', string.byte(c)) end))
end

local function setMetadata(instanceId, name, value)
  RestApiPut('/instances/' .. instanceId .. '/metadata/' .. name, tostring(value))
end

function OnStoredInstance(instanceId, tags, metadata, origin)
  local ae = (origin and origin['RemoteAet']) or (metadata and metadata['RemoteAET']) or ''
  local ip = (origin and origin['RemoteIp']) or (metadata and metadata['RemoteIP']) or ''
  local via = 'orthanc'
  if origin and origin['RequestOrigin'] then via = 'orthanc-' .. string.lower(origin['RequestOrigin']) end
  local url = VERIFY_URL .. '?via=' .. urlencode(via) .. '&ae=' .. urlencode(ae) .. '&host=' .. urlencode(ip) .. '&instance=' .. urlencode(instanceId)

  local ok, answer = pcall(function()
    local file = RestApiGet('/instances/' .. instanceId .. '/file')
    return HttpPost(url, file, { ['Content-Type'] = 'application/dicom' })
  end)
  if not ok or answer == nil or answer == '' then
    -- Never silently authentic: an unverified instance says so.
    print('radseal: verify-service unreachable for instance ' .. instanceId .. ': ' .. tostring(answer))
    setMetadata(instanceId, 'RadsealVerdict', 'unverified')
    setMetadata(instanceId, 'RadsealReasons', 'verify-service unreachable: ' .. tostring(answer))
    return
  end
  local r = ParseJson(answer)
  if r == nil or r['verdict'] == nil then
    setMetadata(instanceId, 'RadsealVerdict', 'unverified')
    setMetadata(instanceId, 'RadsealReasons', 'verify-service answered without a verdict')
    return
  end
  if r['delete'] then
    print('radseal: deleting instance ' .. instanceId .. ' (' .. r['verdict'] .. ', audit #' .. tostring(r['auditSeq']) .. '): ' .. tostring(r['summary']))
    RestApiDelete('/instances/' .. instanceId)
    return
  end
  setMetadata(instanceId, 'RadsealVerdict', r['verdict'])
  setMetadata(instanceId, 'RadsealReasons', r['summary'] or '')
  setMetadata(instanceId, 'RadsealAuditSeq', string.format('%d', math.floor(tonumber(r['auditSeq']) or 0)))
  setMetadata(instanceId, 'RadsealFileSha256', r['fileSha256'])
  setMetadata(instanceId, 'RadsealAction', r['action'])
end
