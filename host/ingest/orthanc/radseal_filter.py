# radseal verification for Orthanc, before storage (Orthanc 1.10+, Python plugin 4.0+;
# tested with Debian's orthanc 1.10.1 and orthanc-python 4.0).
#
# Every instance Orthanc receives (C-STORE, REST upload, DICOMweb) is posted, as the exact bytes
# received, to `radseal verify-service` on loopback *before* Orthanc stores it. When the service's
# policy says so ("delete": true, i.e. --on-failure reject), the instance is discarded: it never
# reaches storage, so no viewer, router or query ever sees it, not even for a moment. The service
# keeps a copy of every non-authentic object with its report in its quarantine folder and writes
# the audit record, so nothing is lost by refusing it. Instances that are kept get the verdict as
# metadata once stored, as with radseal.lua (use one hook or the other, not both).
#
# Configuration (orthanc.json):
#   "Plugins": [ "/usr/lib/orthanc/libOrthancPython.so.4.0" ],
#   "PythonScript": "/etc/orthanc/radseal_filter.py",
#   "Radseal": { "VerifyUrl": "http://127.0.0.1:8043/verify",
#                "TimeoutSeconds": 60,
#                "RefuseUnverified": false },
#   "UserMetadata": { "RadsealVerdict": 4600, "RadsealReasons": 4601,
#                     "RadsealAuditSeq": 4602, "RadsealFileSha256": 4603, "RadsealAction": 4604 }
#
# Corrections of patient or study identification (IHE PIR) go through POST /radseal/reconcile (below),
# with "ReconcileUrl": "http://127.0.0.1:8044/reconcile" in "Radseal" (radseal reconcile-service).
#
# RefuseUnverified: when the verifier cannot be reached or gives no verdict, false (default) keeps
# the instance with the verdict "unverified" (a study is never lost to a verifier outage, and it is
# never shown as authentic); true refuses it (the sender keeps it and may send it again later).
#
# Written by hand: Orthanc's own filters (Lua ReceivedInstanceFilter) see the tags only up to
# Pixel Data, never the Digital Signatures that follow it; this callback sees the whole file.

import collections
import hashlib
import json
import threading
import urllib.error
import urllib.parse
import urllib.request

import orthanc

_config = json.loads(orthanc.GetConfiguration()).get('Radseal', {})
VERIFY_URL = _config.get('VerifyUrl', 'http://127.0.0.1:8043/verify')
TIMEOUT = float(_config.get('TimeoutSeconds', 60))
REFUSE_UNVERIFIED = bool(_config.get('RefuseUnverified', False))

# Verdicts of instances kept, by the SHA-256 of the bytes received, until Orthanc has stored them
# and the metadata can be written (the stored callback runs after storage, on another thread).
# Bounded: an instance Orthanc then does not store (e.g. one it already holds) never comes back.
_pending = collections.OrderedDict()
_PENDING_MAX = 4096
_lock = threading.Lock()

_ORIGINS = {
    orthanc.InstanceOrigin.DICOM_PROTOCOL: 'dicom',
    orthanc.InstanceOrigin.REST_API: 'rest',
    orthanc.InstanceOrigin.PLUGIN: 'plugin',
    orthanc.InstanceOrigin.LUA: 'lua',
    orthanc.InstanceOrigin.WEB_DAV: 'webdav',
}


def _verify(data, via):
    url = VERIFY_URL + '?' + urllib.parse.urlencode({'via': via, 'stage': 'before-storage'})
    req = urllib.request.Request(url, data=data, method='POST', headers={'Content-Type': 'application/dicom'})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
        answer = json.loads(r.read().decode('utf-8'))
    if not isinstance(answer, dict) or 'verdict' not in answer:
        raise ValueError('verify-service answered without a verdict')
    return answer


def on_received(received, origin):
    data = bytes(received)
    via = 'orthanc-' + _ORIGINS.get(origin, 'unknown')
    digest = hashlib.sha256(data).hexdigest()
    try:
        r = _verify(data, via)
    except Exception as e:  # unreachable, timeout, HTTP error, bad JSON: never "authentic"
        reason = 'verify-service unreachable: %s' % (e,)
        if REFUSE_UNVERIFIED:
            orthanc.LogWarning('radseal: refusing an unverified instance (%s)' % reason)
            return orthanc.ReceivedInstanceAction.DISCARD, None
        orthanc.LogWarning('radseal: keeping an unverified instance (%s)' % reason)
        r = {'verdict': 'unverified', 'summary': reason, 'auditSeq': 0, 'fileSha256': digest, 'action': 'unverified'}
    if r.get('delete'):
        orthanc.LogWarning('radseal: refused before storage (%s, audit #%s): %s' % (r['verdict'], r.get('auditSeq'), r.get('summary')))
        return orthanc.ReceivedInstanceAction.DISCARD, None
    with _lock:
        _pending[digest] = r
        while len(_pending) > _PENDING_MAX:
            _pending.popitem(last=False)
    return orthanc.ReceivedInstanceAction.KEEP_AS_IS, None


def on_stored(dicom, instance_id):
    digest = hashlib.sha256(bytes(dicom.GetInstanceData())).hexdigest()
    with _lock:
        r = _pending.pop(digest, None)
    if r is None:
        r = {'verdict': 'unverified', 'summary': 'no verdict was recorded before storage', 'auditSeq': 0, 'fileSha256': digest, 'action': 'unverified'}
    meta = {
        'RadsealVerdict': r['verdict'],
        'RadsealReasons': r.get('summary') or '',
        'RadsealAuditSeq': '%d' % int(r.get('auditSeq') or 0),
        'RadsealFileSha256': r.get('fileSha256') or digest,
        'RadsealAction': r.get('action') or '',
    }
    for name, value in meta.items():
        orthanc.RestApiPut('/instances/%s/metadata/%s' % (instance_id, name), str(value))


# --- Reconciliation (IHE Patient Information Reconciliation) ---
#
#   POST /radseal/reconcile  {"instance": ORTHANC_ID,          (or "series" / "study" / "patient": every instance in it)
#                             "changes": {"0010,0020": "NEW-ID", "PatientName": "Doe^John"},
#                             "reason": "CORRECT" | "COERCE"}
#   -> 200 {"instances": [{"instance": NEW_ORTHANC_ID, "replaced": ORTHANC_ID, "changes": [{"tag", "before", "after"}]}]}
#
# Orthanc's own /modify rewrites the file (by default under new UIDs) and records nothing, so the
# capture signatures simply fail. This route has radseal make the correction the standard way
# (previous values in Original Attributes Sequence, signed by the PACS signer) and stores the result
# in place of the original. Every instance is corrected by radseal first; if radseal refuses any
# (400/422, e.g. a change that is not reconcilable), nothing in Orthanc changes. Then each original
# is deleted (same UIDs: Orthanc keeps the first copy of a SOP Instance UID) and its corrected object
# stored, which passes the verification hook above like any arrival. If one is not stored (the
# verifier refused it), its original is put back, the rest stay as they were, and the answer is 409.
# Orthanc files instances under a patient by Patient ID, so a corrected ID gives new Orthanc ids.
RECONCILE_URL = _config.get('ReconcileUrl', 'http://127.0.0.1:8044/reconcile')
_LEVELS = {'instance': 'instances', 'series': 'series', 'study': 'studies', 'patient': 'patients'}
_USAGE = ('POST {"instance" (or "series", "study", "patient"): ID, "changes": {"0010,0020": "NEW-ID", ...}, '
          '"reason": "CORRECT" or "COERCE"}')


class _Refused(Exception):
    def __init__(self, status, body):
        Exception.__init__(self, body.get('error'))
        self.status, self.body = status, body


def _answer(output, status, body):
    text = json.dumps(body)  # ASCII: json.dumps escapes the rest
    if status == 200:
        output.AnswerBuffer(text.encode('ascii'), 'application/json')
        return
    # The body is sent when Orthanc's HttpDescribeErrors is true (its default). orthanc-python 4.0
    # takes (status, str, size); releases from 2023 on take (status, bytes).
    try:
        output.SendHttpStatus(status, text, len(text))
    except TypeError:
        output.SendHttpStatus(status, text.encode('ascii'))


def _store(data):
    """Orthanc id of the stored instance, or None when it was not stored."""
    try:
        r = json.loads(orthanc.RestApiPost('/instances', data))
    except Exception:  # refused by the hook (DISCARD) or not DICOM
        return None
    return r.get('ID') if isinstance(r, dict) and r.get('Status') == 'Success' else None


def _radseal_error(e):
    try:
        return json.loads(e.read().decode('utf-8')).get('error') or str(e)
    except Exception:
        return str(e)


def _targets(body):
    """The Orthanc ids of the instances the request names."""
    given = [level for level in _LEVELS if level in body]
    if len(given) != 1 or not isinstance(body[given[0]], str):
        raise _Refused(400, {'error': _USAGE})
    level, ident = given[0], body[given[0]]
    if level == 'instance':
        return [ident]
    try:
        return [i['ID'] for i in json.loads(orthanc.RestApiGet('/%s/%s/instances' % (_LEVELS[level], ident)))]
    except Exception:
        raise _Refused(404, {'error': 'no %s %s' % (level, ident)})


def _corrected(instance, changes, reason):
    """(original bytes, corrected bytes, changes made) from radseal; _Refused when it will not."""
    try:
        original = orthanc.RestApiGet('/instances/%s/file' % instance)
    except Exception:
        raise _Refused(404, {'error': 'no instance %s' % instance})
    query = [('set', '%s=%s' % (k, v)) for k, v in changes.items()] + [('reason', reason)]
    req = urllib.request.Request(RECONCILE_URL + '?' + urllib.parse.urlencode(query), data=original, method='POST',
                                 headers={'Content-Type': 'application/dicom'})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return original, r.read(), json.loads(r.headers.get('X-Radseal-Changes') or '[]')
    except urllib.error.HTTPError as e:
        raise _Refused(e.code if e.code in (400, 422) else 502, {'error': 'radseal: %s' % _radseal_error(e), 'instance': instance})
    except Exception as e:
        raise _Refused(502, {'error': 'reconcile-service unreachable: %s' % (e,)})


def on_reconcile(output, uri, **request):
    if request['method'] != 'POST':
        output.SendMethodNotAllowed('POST')
        return
    try:
        try:
            body = json.loads(request['body'])
            changes, reason = body['changes'], body.get('reason', 'CORRECT')
            if not isinstance(changes, dict) or not changes:
                raise ValueError
        except Exception:
            raise _Refused(400, {'error': _USAGE})
        work = [(i,) + _corrected(i, changes, reason) for i in _targets(body)]
    except _Refused as e:
        return _answer(output, e.status, e.body)
    done = []
    for instance, original, corrected, made in work:
        orthanc.RestApiDelete('/instances/%s' % instance)
        stored = _store(corrected)
        if stored is None:
            back = _store(original)
            orthanc.LogWarning('radseal: corrected %s not stored; original put back as %s' % (instance, back))
            return _answer(output, 409, {'error': 'the corrected instance was not stored (refused by the verifier); the original was put back',
                                         'instance': back, 'instances': done})
        orthanc.LogWarning('radseal: reconciled %s -> %s (%s)' % (instance, stored, reason))
        done.append({'instance': stored, 'replaced': instance, 'changes': made})
    _answer(output, 200, {'instances': done})


orthanc.RegisterRestCallback('/radseal/reconcile', on_reconcile)
orthanc.RegisterReceivedInstanceCallback(on_received)
orthanc.RegisterOnStoredInstanceCallback(on_stored)

import radseal_explorer  # noqa: E402,F401  Orthanc Explorer: verdict badges and the report route
import radseal_access  # noqa: E402,F401  access auditing: REST, DICOMweb, C-MOVE, C-GET, deletions, changes
