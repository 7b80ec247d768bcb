# radseal access auditing for Orthanc (imported by radseal_filter.py; Debian's Orthanc 1.10.1
# with orthanc-python 4.0). Every access to an instance is posted to `radseal verify-service`
# (POST /access), which writes it into the hash-chained audit log (the one writer of the
# chain), pseudonymises the patient, runs the anomaly rules and sends the ATNA message.
#
# What Orthanc 1.10.1 lets a plugin see, and how each access kind is caught:
#   REST, DICOMweb (WADO-RS, QIDO-RS, STOW-RS), WADO-URI, deletions, /modify, /anonymize,
#   metadata and attachment changes:   RegisterIncomingHttpRequestFilter (before the request
#                                       is served; the record says "requested")
#   C-MOVE:  RegisterMoveCallback: this module performs the move itself (POST
#            /modalities/{target}/store), so it writes Begin and end records around it
#   C-FIND:  radseal_access.lua (Lua IncomingFindRequestFilter; Python has no C-FIND filter)
#   C-GET:   no hook at all in 1.10.1: this module follows Orthanc's log file (DICOM category
#            at verbose, set at start) for "C-GET-SCU request received" and "C-GET: Sending
#            resource"; configure "OrthancLogFile" to the file given to Orthanc's --logfile
#   C-STORE: the verification records of radseal_filter.py (every arrival is verified)
# Query values (a QIDO or C-FIND may search by name) are never sent; the patient ID is sent
# only for its keyed pseudonym and the ATNA message.
#
# Configuration ("Radseal" in orthanc.json):
#   "AuditAccess": true                            (radseal's orthanc.json turns it on)
#   "AccessUrl": "http://127.0.0.1:8043/access"   (default: VerifyUrl with /access)
#   "RefuseUnaudited": false   true: an HTTP request whose access record cannot be written is refused
#   "OrthancLogFile": "/var/log/orthanc/orthanc.log"   for C-GET (Orthanc started with --logfile=...)

import base64
import json
import os
import re
import threading
import time
import urllib.request

import orthanc

_config = json.loads(orthanc.GetConfiguration()).get('Radseal', {})
ACCESS_URL = _config.get('AccessUrl') or re.sub(r'/verify$', '', _config.get('VerifyUrl', 'http://127.0.0.1:8043/verify')) + '/access'
REFUSE_UNAUDITED = bool(_config.get('RefuseUnaudited', False))
LOG_FILE = _config.get('OrthancLogFile')
TIMEOUT = float(_config.get('TimeoutSeconds', 60))
# Deletions and changes are recorded per instance (the anomaly rules follow instances); up to this many.
MAX_EXPANDED = int(_config.get('MaxInstancesPerRecord', 10000))

_METHODS = {1: 'GET', 2: 'POST', 3: 'PUT', 4: 'DELETE'}
_LEVELS = {'patients': 'patient', 'studies': 'study', 'series': 'series', 'instances': 'instance'}
_PARENT = {'instance': 'ParentSeries', 'series': 'ParentStudy', 'study': 'ParentPatient'}


def post(events):
    """Sends access events to verify-service; True when they were written to the audit log."""
    if not events:
        return True
    body = json.dumps({'events': events}).encode('utf-8')
    req = urllib.request.Request(ACCESS_URL, data=body, method='POST', headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status == 200
    except Exception as e:  # unreachable, refused (400 names why), timeout
        detail = e.read().decode('utf-8', 'replace')[:300] if hasattr(e, 'read') else str(e)
        orthanc.LogWarning('radseal: access record not written (%s): %s' % (ACCESS_URL, detail))
        return False


def _get(path):
    try:
        return json.loads(orthanc.RestApiGet(path))
    except Exception:
        return None


def resource(level, ident):
    """UIDs and patient ID of an Orthanc resource, walking up its parents; None when it does not exist."""
    plural = {v: k for k, v in _LEVELS.items()}[level]
    r = _get('/%s/%s' % (plural, ident))
    if not isinstance(r, dict):
        return None
    out = {'level': level, 'studyUid': None, 'seriesUid': None, 'sopInstanceUid': None, 'patientId': None}
    node, lvl = r, level
    while node is not None:
        tags = node.get('MainDicomTags', {})
        if lvl == 'instance':
            out['sopInstanceUid'] = tags.get('SOPInstanceUID')
        elif lvl == 'series':
            out['seriesUid'] = tags.get('SeriesInstanceUID')
        elif lvl == 'study':
            out['studyUid'] = tags.get('StudyInstanceUID')
            out['patientId'] = (node.get('PatientMainDicomTags') or {}).get('PatientID') or out['patientId']
        elif lvl == 'patient':
            out['patientId'] = tags.get('PatientID') or out['patientId']
        parent = node.get(_PARENT[lvl]) if lvl in _PARENT else None
        if not parent:
            break
        lvl = {'instance': 'series', 'series': 'study', 'study': 'patient'}[lvl]
        node = _get('/%s/%s' % ({v: k for k, v in _LEVELS.items()}[lvl], parent))
    return out


def instances_of(level, ident):
    if level == 'instance':
        return [ident]
    plural = {v: k for k, v in _LEVELS.items()}[level]
    r = _get('/%s/%s/instances' % (plural, ident)) or []
    return [i['ID'] for i in r if isinstance(i, dict) and 'ID' in i][:MAX_EXPANDED]


def _event(action, source, what=None, **more):
    e = {'action': action, 'source': source, 'outcome': 'requested', 'level': None}
    if what:
        for k in ('level', 'studyUid', 'seriesUid', 'sopInstanceUid', 'patientId'):
            if what.get(k):
                e[k] = what[k]
    e.update(more)
    return e


def _user(headers):
    auth = headers.get('authorization') or headers.get('Authorization') or ''
    if auth.lower().startswith('basic '):
        try:
            return base64.b64decode(auth[6:].strip()).decode('utf-8', 'replace').split(':', 1)[0][:128] or None
        except Exception:
            return None
    return None


_ID = r'([0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8})'
_UID = r'([0-9]+(?:\.[0-9]+)*)'
_REST = re.compile(r'^/(patients|studies|series|instances)/' + _ID + r'(?:/(.*))?$')
_DW = re.compile(r'^/dicom-web/studies(?:/' + _UID + r'(?:/series(?:/' + _UID + r'(?:/instances(?:/' + _UID + r')?)?)?)?)?(/.*)?$')
_COLLECTION = re.compile(r'^/(patients|studies|series|instances)/?$')
_CHANGES = ('modify', 'anonymize')


def classify(method, uri, source):
    """The access events of one HTTP request (empty: not an access to images)."""
    m = _REST.match(uri)
    if m:
        level, ident, rest = _LEVELS[m.group(1)], m.group(2), m.group(3) or ''
        template = '%s /%s/{id}%s' % (method, m.group(1), '/' + re.sub(_ID, '{id}', rest) if rest else '')
        if method == 'DELETE' and not rest or method == 'POST' and rest in _CHANGES or method in ('PUT', 'DELETE') and rest.split('/')[0] in ('metadata', 'attachments'):
            action = 'delete' if method == 'DELETE' and not rest else 'modify'
            out = []
            for inst in instances_of(level, ident):
                what = resource('instance', inst)
                if what:
                    out.append(_event(action, source, what, instances=1, detail=template))
            return out or [_event(action, source, {'level': level}, detail=template)]
        if method == 'GET':
            what = resource(level, ident) or {'level': level}
            return [_event('rest-read', source, what, instances=len(instances_of(level, ident)) if level != 'instance' else 1, detail=template)]
        return []
    if _COLLECTION.match(uri) and method == 'GET' or uri == '/tools/find' and method == 'POST':
        return [_event('qido', source, {'level': _LEVELS.get(uri.strip('/'), None)}, detail='%s %s' % (method, uri))]
    if uri == '/instances' and method == 'POST':
        return [_event('stow', source, detail='POST /instances')]
    m = _DW.match(uri)
    if m:
        study, series, inst, tail = m.group(1), m.group(2), m.group(3), m.group(4) or ''
        what = {'level': 'instance' if inst else 'series' if series else 'study' if study else None,
                'studyUid': study, 'seriesUid': series, 'sopInstanceUid': inst}
        path = re.sub(r'\?.*$', '', uri)
        if method == 'POST':
            return [_event('stow', source, what, detail='POST ' + path)]
        collection = uri.rstrip('/').endswith(('/studies', '/series', '/instances')) and not tail
        if collection:
            return [_event('qido', source, what, detail='GET ' + path)]
        if study and study_patient(study):
            what['patientId'] = study_patient(study)
        return [_event('wado', source, what, detail='GET ' + path)]
    if uri.rstrip('/') == '/wado' and method == 'GET':
        return [_event('wado', source, {'level': 'instance'}, detail='GET /wado')]
    m = re.match(r'^/(modalities|peers)/([^/]+)/store$', uri)
    if m and method == 'POST':
        return [_event('c-move', source, detail='POST /%s/{name}/store' % m.group(1), destination=m.group(2)[:16])]
    m = re.match(r'^/radseal/(?:report|explorer/(instances|series|studies))/' + _ID + '$', uri)
    if m and method == 'GET':  # radseal's own pages in Orthanc Explorer (the report shows the instance)
        level = _LEVELS[m.group(1) or 'instances']
        return [_event('rest-read', source, resource(level, m.group(2)) or {'level': level}, detail='GET ' + re.sub(_ID, '{id}', uri))]
    if uri == '/radseal/reconcile' and method == 'POST':
        return [_event('modify', source, detail='reconcile (radseal, signed correction) POST /radseal/reconcile')]
    return []


def study_patient(study_uid):
    r = _lookup(study_uid, 'Study')
    return r.get('patientId') if r else None


def _lookup(uid, level):
    try:
        found = json.loads(orthanc.RestApiPost('/tools/lookup', uid))
    except Exception:
        return None
    for f in found or []:
        if f.get('Type') == level:
            return resource(level.lower(), f['ID'])
    return None


def on_http(uri, **request):
    method = _METHODS.get(request.get('method'), str(request.get('method')))
    source = {'via': 'dicomweb' if uri.startswith('/dicom-web/') or uri.startswith('/wado') else 'rest',
              'ae': None, 'host': request.get('ip'), 'user': _user(request.get('headers') or {})}
    try:
        events = classify(method, uri, source)
    except Exception as e:  # never let auditing take Orthanc down; say so
        orthanc.LogWarning('radseal: could not classify %s %s for the audit: %s' % (method, uri, e))
        events = [_event('rest-read', source, detail='%s (unclassified)' % method)]
    if not events:
        return True
    # WADO-URI carries its UIDs in the query string (UIDs only: no PHI).
    if uri.rstrip('/') == '/wado':
        get = request.get('get') or {}
        events[0].update({k: v for k, v in (('studyUid', get.get('studyUID')), ('seriesUid', get.get('seriesUID')), ('sopInstanceUid', get.get('objectUID'))) if v and re.match(r'^[0-9.]{1,64}$', v)})
    ok = post(events)
    return ok or not REFUSE_UNAUDITED


# --- C-MOVE: performed here, so that it is audited before and after ---

def _find_uids(level, request):
    query = {}
    for key in ('PatientID', 'StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'AccessionNumber'):
        if request.get(key):
            query[key] = request[key]
    if not query:
        return []
    r = json.loads(orthanc.RestApiPost('/tools/find', json.dumps({'Level': level, 'Query': query})))
    return r if isinstance(r, list) else []


_QR_LEVELS = {'PATIENT': 'Patient', 'STUDY': 'Study', 'SERIES': 'Series', 'IMAGE': 'Instance', 'INSTANCE': 'Instance'}


def on_move(**request):
    level = _QR_LEVELS.get((request.get('Level') or 'STUDY').upper(), 'Study')
    target = request.get('TargetAET') or ''
    source = {'via': 'dimse', 'ae': request.get('OriginatorAET') or None, 'host': _ae_hosts.get(request.get('OriginatorAET') or ''), 'user': None}
    ids = _find_uids(level, request)
    lvl = level.lower()
    transfer = 'move-%d-%d' % (os.getpid(), next(_counter))
    modalities = _get('/modalities?expand') or {}
    name = next((n for n, m in modalities.items() if isinstance(m, dict) and m.get('AET') == target), None)
    begins, ends = [], []
    for ident in ids or [None]:
        what = resource(lvl, ident) if ident else {'level': lvl, 'studyUid': request.get('StudyInstanceUID') or None,
                                                  'seriesUid': request.get('SeriesInstanceUID') or None, 'sopInstanceUid': request.get('SOPInstanceUID') or None}
        n = len(instances_of(lvl, ident)) if ident else 0
        begins.append(_event('c-move', source, what, instances=n, destination=target[:16] or None, transfer={'id': '%s.%d' % (transfer, len(begins)), 'phase': 'begin'}, detail='C-MOVE %s' % level.upper()))
    if name is None or not ids:
        for b in begins:
            b['outcome'] = 'refused'
            b['transfer'] = None
            b['detail'] = 'C-MOVE %s refused: %s' % (level.upper(), 'unknown destination AE %s' % target if name is None else 'nothing matches')
        post(begins)
        raise Exception('radseal: C-MOVE refused (%s)' % begins[0]['detail'])
    if not post(begins) and REFUSE_UNAUDITED:
        raise Exception('radseal: C-MOVE refused: the access could not be audited')
    outcome = 'success'
    try:
        r = json.loads(orthanc.RestApiPost('/modalities/%s/store' % name, json.dumps({
            'Resources': ids, 'Synchronous': True, 'LocalAet': request.get('SourceAET') or 'ORTHANC',
            'MoveOriginatorAet': request.get('OriginatorAET') or '', 'MoveOriginatorID': int(request.get('OriginatorID') or 0)})))
        if int(r.get('FailedInstancesCount', 0) or 0) > 0:
            outcome = 'failure'
    except Exception:
        outcome = 'failure'
    for b in begins:
        e = dict(b, outcome=outcome, transfer={'id': b['transfer']['id'], 'phase': 'end'})
        ends.append(e)
    post(ends)
    if outcome != 'success':
        raise Exception('radseal: C-MOVE to %s failed' % target)


# --- C-GET: Orthanc's own log is the only trace in 1.10.1 ---

_ae_hosts = {}
_counter = iter(range(1, 1 << 62))
_ASSOC = re.compile(r'Association Received from AET (\S+) on IP (\S+)')
_GET_REQ = re.compile(r'C-GET-SCU request received from AET "([^"]*)"')
_GET_SEND = re.compile(r'C-GET: Sending resource ' + _ID + r' to modality "([^"]*)"')


def _level_of(ident):
    for plural, level in _LEVELS.items():
        if _get('/%s/%s' % (plural, ident)) is not None:
            return level
    return None


def on_log_line(line):
    m = _ASSOC.search(line)
    if m:
        _ae_hosts[m.group(1)] = m.group(2)
        return
    m = _GET_SEND.search(line)
    if m:
        ident, ae = m.group(1), m.group(2)
        level = _level_of(ident)
        what = resource(level, ident) if level else None
        source = {'via': 'dimse', 'ae': ae or None, 'host': _ae_hosts.get(ae), 'user': None}
        post([_event('c-get', source, what or {'level': None}, instances=len(instances_of(level, ident)) if level else None,
                     destination=ae[:16] or None, outcome='success', detail='C-GET %s' % ((level or 'unknown').upper()))])


def _follow(path):
    """Follows Orthanc's log file from its end, like tail -F (a rotated file is reopened)."""
    f, inode = None, None
    while True:
        try:
            st = os.stat(path)
            if f is None or st.st_ino != inode or f.tell() > st.st_size:
                if f:
                    f.close()
                f = open(path, 'r', errors='replace')
                if inode is None:
                    f.seek(0, os.SEEK_END)
                inode = st.st_ino
            line = f.readline()
            if not line:
                time.sleep(0.2)
                continue
            on_log_line(line)
        except Exception as e:
            orthanc.LogWarning('radseal: following %s for C-GET: %s' % (path, e))
            time.sleep(1)


def _follow_c_get(path):
    # The REST API answers only once Orthanc has started: until then, try again.
    for _ in range(600):
        try:
            orthanc.RestApiPut('/tools/log-level-dicom', 'verbose')
            break
        except Exception:
            time.sleep(0.5)
    else:
        orthanc.LogWarning('radseal: cannot raise the DICOM log level: C-GET requests are not audited')
    _follow(path)


def start():
    if not _config.get('AuditAccess', False):
        orthanc.LogWarning('radseal: access auditing is off ("AuditAccess": true in "Radseal" turns it on)')
        return
    orthanc.RegisterIncomingHttpRequestFilter(on_http)
    orthanc.RegisterMoveCallback(on_move)
    if LOG_FILE:
        threading.Thread(target=_follow_c_get, args=(LOG_FILE,), daemon=True, name='radseal-c-get').start()
    else:
        orthanc.LogWarning('radseal: "OrthancLogFile" is not set: C-GET requests are not audited (Orthanc 1.10 has no C-GET hook)')


start()
