// The viewer's DICOMweb proxy against a stub PACS (error paths a real Orthanc will not produce on
// demand): verdicts are made on the bytes, never taken from the metadata; a PACS serving another
// instance's bytes gives "invalid"; the proxy is read-only; static files never leave OHIF's folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../dicom/fixtures.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { parsePart10 } from '../../../host/net/cstore.js';
import { startViewer, wrapLines } from '../../../host/web/viewer/server.js';
import { VERDICT_TAGS } from '../../../host/web/viewer/app-config.js';
import { stripSignatures } from '../../services/ingest-fixtures.js';
import { makeStudy } from './study.js';

test('viewer proxy: verdicts from the bytes, not from the metadata; wrong bytes are invalid; read-only; no path escape', async (t) => {
  const dir = tempDir(t, 'radseal-viewer-proxy-');
  const study = await makeStudy(dir);
  const authentic = study.bytes[0]!;
  const unsigned = stripSignatures(study.bytes[1]!);
  const uid = (b: Uint8Array) => parsePart10(b).sopInstanceUid;
  const swapped = study.bytes[2]!; // the PACS will serve authentic's bytes under this one's UID
  const served = new Map([[uid(authentic), authentic], [uid(unsigned), unsigned], [uid(swapped), authentic]]);
  const forged = { [VERDICT_TAGS.creator]: { vr: 'LO', Value: ['RADSEAL VIEWER'] }, [VERDICT_TAGS.verdict]: { vr: 'LO', Value: ['authentic'] }, '00091099': { vr: 'LO', Value: ['x'] } };
  const meta = (sop: string) => ({
    '0020000D': { vr: 'UI', Value: [study.studyUid] }, '0020000E': { vr: 'UI', Value: [study.seriesUid] }, '00080018': { vr: 'UI', Value: [sop] }, ...forged,
  });
  const pacs = http.createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    if (req.method !== 'GET') return res.writeHead(500).end('the proxy must not pass this on');
    if (path.endsWith('/metadata')) {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      return res.end(JSON.stringify([...served.keys()].map(meta)));
    }
    const bytes = served.get(path.split('/').pop()!);
    if (!bytes) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=BOUNDARY' });
    res.end(Buffer.concat([Buffer.from('--BOUNDARY\r\nContent-Type: application/dicom\r\n\r\n'), bytes, Buffer.from('\r\n--BOUNDARY--\r\n')]));
  });
  await new Promise<void>((r) => pacs.listen(0, '127.0.0.1', () => r()));
  t.after(() => pacs.close());
  const ohif = join(dir, 'ohif');
  mkdirSync(ohif);
  writeFileSync(join(ohif, 'index.html'), '<!doctype html><title>OHIF</title>');
  writeFileSync(join(dir, 'secret.txt'), 'outside');
  const viewer = await startViewer({ host: '127.0.0.1', port: 0, pacs: `http://127.0.0.1:${(pacs.address() as { port: number }).port}/dicom-web`, ohifDir: ohif, trust: parseCertificates(readFileSync(study.ids.trustPem)) });
  t.after(() => viewer.close());

  const r = await fetch(`${viewer.url}dicom-web/studies/${study.studyUid}/series/${study.seriesUid}/metadata`);
  assert.equal(r.status, 200);
  const out = await r.json() as Array<Record<string, { Value?: string[] }>>;
  const verdictOf = (sop: string) => out.find((d) => d['00080018']!.Value![0] === sop)!;
  assert.equal(verdictOf(uid(authentic))[VERDICT_TAGS.verdict]!.Value![0], 'authentic');
  assert.equal(verdictOf(uid(unsigned))[VERDICT_TAGS.verdict]!.Value![0], 'unsigned', 'a verdict in the metadata is never believed');
  const wrong = verdictOf(uid(swapped));
  assert.equal(wrong[VERDICT_TAGS.verdict]!.Value![0], 'invalid', 'bytes of another instance are not this one');
  assert.match(wrong[VERDICT_TAGS.reason]!.Value![0]!, /the PACS served SOP Instance/);
  for (const d of out) assert.equal(d['00091099'], undefined, 'look-alike private elements are removed');

  const reasonLines = verdictOf(uid(unsigned))[VERDICT_TAGS.reason]!.Value!;
  assert.ok(reasonLines.length >= 1 && reasonLines.every((l) => l.length <= 60), 'the reason in overlay-sized lines');
  const long = 'word '.repeat(100).trim();
  assert.deepEqual(wrapLines(long, 20, 3).map((l) => l.length <= 20), [true, true, true]);
  assert.match(wrapLines(long, 20, 3)[2]!, /…$/, 'a cut reason says so');
  assert.deepEqual(wrapLines('short reason', 60, 4), ['short reason']);

  assert.equal((await fetch(`${viewer.url}dicom-web/studies`, { method: 'POST', body: 'x' })).status, 405);
  const report = await fetch(`${viewer.url}radseal/report/${study.studyUid}/${study.seriesUid}/${uid(unsigned)}`);
  assert.match(await report.text(), /<h1>No provenance/);
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
    const s = await fetch(`${viewer.url.slice(0, -1)}${p}`);
    assert.doesNotMatch(await s.text(), /outside/, `${p} stays inside OHIF's folder`);
  }
  assert.match(await (await fetch(`${viewer.url}viewer`)).text(), /<title>OHIF/, 'OHIF routes get index.html');
  assert.match(await (await fetch(`${viewer.url}app-config.js`)).text(), /viewportOverlay\.topLeft/);
});
