# radseal in Orthanc Explorer (Orthanc 1.10+, Python plugin 4.0+; imported by radseal_filter.py).
#
# Every instance, series and study page of Orthanc Explorer gets a panel (radseal_explorer.js)
# with the verdict as a coloured badge (authentic / tampered / unsigned / untrusted / invalid),
# the device, technologist and capture time, a link to the full HTML report, and on series and
# study pages a line such as "3 of 4 images authentic" with one row per image.
#
#   GET /radseal/explorer/instances/ID   (or series/ID, studies/ID) -> JSON for the panel
#   GET /radseal/report/ID               -> the HTML verification report of instance ID
#
# The verdict is made now, on the stored bytes, by `radseal report` (the same verifier as at
# ingest, with the site's trust bundle), not read from the RadsealVerdict metadata: metadata is
# writable by any REST client, so the badge would only repeat what someone wrote there. The
# ingest-time verdict is shown beside it when the two differ (a certificate revoked since, a
# trust bundle changed). Results are cached per instance and file hash.
#
# Configuration (orthanc.json, "Radseal" section):
#   "Command": ["radseal"]                           how to run radseal (e.g. ["node", "/usr/lib/radseal/bin/radseal.js"])
#   "VerifyArgs": ["--trust", "/etc/radseal/trust.pem"]   verify options (trust, --wm-key, --policy, ...)
#   "ReportTimeoutSeconds": 60
#
# These routes sit behind Orthanc's own authentication like the rest of its REST API. The report
# shows no patient name or ID (radseal report's default); the panel shows none either.

import collections
import hashlib
import html
import json
import os
import re
import subprocess
import tempfile
import threading

import orthanc

_config = json.loads(orthanc.GetConfiguration()).get('Radseal', {})
COMMAND = list(_config.get('Command', ['radseal']))
VERIFY_ARGS = list(_config.get('VerifyArgs', []))
TIMEOUT = float(_config.get('ReportTimeoutSeconds', 60))

_CACHE_MAX = 2048
_cache = collections.OrderedDict()  # (instance id, file sha256) -> (summary, report html)
_lock = threading.Lock()
_SUMMARY = re.compile(r'<meta name="radseal-summary" content="([^"]*)">')
_SEVERITY = ('tampered', 'untrusted', 'invalid', 'unsigned')
_ID = r'([0-9a-f]{8}(?:-[0-9a-f]{8}){4})'  # Orthanc ids: SHA-1 in five dashed groups


def _failed(reason):
    return {'verdict': 'invalid', 'title': 'Could not be checked', 'colour': '#5f5f5f', 'reason': reason,
            'device': None, 'technologist': None, 'capturedAt': None, 'sopInstanceUid': None}


def _run_report(data):
    """(summary dict, report html or None) for the bytes of one instance."""
    with tempfile.TemporaryDirectory(prefix='radseal-explorer-') as tmp:
        dcm, out = os.path.join(tmp, 'instance.dcm'), os.path.join(tmp, 'report.html')
        with open(dcm, 'wb') as f:
            f.write(data)
        try:
            p = subprocess.run(COMMAND + ['report', dcm, '--out', out] + VERIFY_ARGS,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        except Exception as e:  # not installed, timed out: never shown as anything but "could not be checked"
            return _failed('radseal could not be run: %s' % (e,)), None
        if p.returncode not in (0, 1) or not os.path.exists(out):
            err = p.stderr.decode('utf-8', 'replace').strip().splitlines()
            return _failed('radseal report failed: %s' % (err[-1] if err else 'exit %d' % p.returncode)), None
        with open(out, 'rb') as f:
            page = f.read()
    m = _SUMMARY.search(page.decode('utf-8', 'replace'))
    if not m:
        return _failed('radseal report gave no summary'), None
    summary = json.loads(html.unescape(m.group(1)))
    # The exit code is the verdict's second witness: 0 only for authentic.
    if (p.returncode == 0) != (summary.get('verdict') == 'authentic'):
        return _failed('radseal report contradicted itself'), None
    return summary, page


def _instance(instance_id):
    data = bytes(orthanc.RestApiGet('/instances/%s/file' % instance_id))
    key = (instance_id, hashlib.sha256(data).hexdigest())
    with _lock:
        hit = _cache.get(key)
        if hit:
            _cache.move_to_end(key)
            return hit
    made = _run_report(data)
    if made[1] is not None:  # failures are tried again on the next view
        with _lock:
            _cache[key] = made
            while len(_cache) > _CACHE_MAX:
                _cache.popitem(last=False)
    return made


def _ingest_verdict(instance_id):
    try:
        return orthanc.RestApiGet('/instances/%s/metadata/RadsealVerdict' % instance_id).decode('utf-8', 'replace')
    except Exception:
        return None


def _instance_panel(instance_id):
    summary, _ = _instance(instance_id)
    return dict(summary, id=instance_id, ingestVerdict=_ingest_verdict(instance_id),
                report='../radseal/report/%s' % instance_id)


def _group_panel(level, ident):
    instances = json.loads(orthanc.RestApiGet('/%s/%s/instances' % (level, ident)))
    rows = [_instance_panel(i['ID']) for i in instances]
    total = len(rows)
    authentic = sum(1 for r in rows if r['verdict'] == 'authentic')
    counts = collections.Counter(r['verdict'] for r in rows)
    line = '%d of %d image%s authentic' % (authentic, total, '' if total == 1 else 's')
    # The set's badge: authentic only when every image is; otherwise its most serious verdict.
    verdict = 'authentic' if total and authentic == total else next(
        (v for v in _SEVERITY if counts.get(v)), 'invalid')
    return {'line': line, 'total': total, 'authentic': authentic, 'counts': dict(counts), 'verdict': verdict,
            'devices': sorted({r['device'] for r in rows if r['device']}),
            'technologists': sorted({r['technologist'] for r in rows if r['technologist']}),
            'instances': rows}


def _json(output, body):
    output.AnswerBuffer(json.dumps(body).encode('ascii'), 'application/json')


def on_panel(output, uri, **request):
    if request['method'] != 'GET':
        output.SendMethodNotAllowed('GET')
        return
    level, ident = request['groups']
    try:
        if level == 'instances':
            return _json(output, _instance_panel(ident))
        return _json(output, _group_panel(level, ident))
    except Exception:  # unknown id (Orthanc answered 404 to our own GET)
        output.SendHttpStatusCode(404)


def on_report(output, uri, **request):
    if request['method'] != 'GET':
        output.SendMethodNotAllowed('GET')
        return
    try:
        summary, page = _instance(request['groups'][0])
    except Exception:
        output.SendHttpStatusCode(404)
        return
    if page is None:
        page = ('<!DOCTYPE html><meta charset="utf-8"><title>radseal</title><p>No report: %s</p>'
                % html.escape(summary['reason'])).encode('utf-8')
    output.AnswerBuffer(page, 'text/html; charset=utf-8')


orthanc.RegisterRestCallback('/radseal/explorer/(instances|series|studies)/' + _ID, on_panel)
orthanc.RegisterRestCallback('/radseal/report/' + _ID, on_report)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'radseal_explorer.js'), encoding='utf-8') as _js:
    orthanc.ExtendOrthancExplorer(_js.read())
