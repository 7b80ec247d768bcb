// The anomaly rules inside verify-service: access events posted by the PACS hook go into
// the same chain (patients as keyed pseudonyms, never IDs or names), a deletion of an
// instance verified authentic raises an alert record citing both records at once, a restart
// does not raise it again, and a log whose writer fell silent says so when the service starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog, readAuditRecords, verifyAuditLog, type AccessEntry } from '../../../host/ingest/audit.js';
import { startVerifyService } from '../../../host/ingest/service.js';
import { tempDir } from '../dicom/fixtures.js';
import { makeObjects, testIngestor } from '../../services/ingest-fixtures.js';

async function post(port: number, path: string, body: string | Uint8Array, type = 'application/json'): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: typeof body === 'string' ? body : new Blob([Buffer.from(body)]), headers: { 'content-type': type } });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

const event = (over: Record<string, unknown>) => ({ action: 'rest-read', source: { via: 'rest', ae: null, host: '10.0.0.7', user: 'alice' }, level: 'instance', outcome: 'requested', ...over });

test('verify-service: access events join the chain with pseudonymous patients; deleting an authentic instance is an alert at once, not twice after a restart', async (t) => {
  const dir = tempDir(t, 'radseal-live-');
  const objs = await makeObjects(dir, 2);
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'flag');
  const svc = await startVerifyService({ host: '127.0.0.1', port: 0, ingestor });
  t.after(() => svc.close());

  const v = await post(svc.port, '/verify?via=orthanc-dicom', objs.sealed[0]!, 'application/dicom');
  assert.equal(v.json.verdict, 'authentic');
  const uid = v.json.sopInstanceUid as string;

  const reads = await post(svc.port, '/access', JSON.stringify({ events: [
    event({ studyUid: '2.25.7', sopInstanceUid: uid, patientId: 'PAT-12345', patientName: 'Doe^Jane' }),
    event({ action: 'wado', studyUid: '2.25.7', patientId: 'PAT-12345' }),
    event({ action: 'qido', level: 'study', detail: 'GET /dicom-web/studies', query: Buffer.from('PatientName=Doe*').toString('base64') }),
  ] }));
  assert.equal(reads.status, 200, JSON.stringify(reads.json));
  assert.deepEqual(reads.json.seqs, [2, 3, 4]);
  const text = readFileSync(auditPath, 'utf8');
  for (const phi of ['PAT-12345', 'Doe', 'Jane', 'PatientName']) assert.ok(!text.includes(phi), `the log holds no "${phi}"`);
  const recs = readAuditRecords(auditPath).records as Array<AccessEntry & { seq: number }>;
  assert.match(recs[1]!.patientRef!, /^[0-9a-f]{32}$/);
  assert.equal(recs[1]!.patientRef, recs[2]!.patientRef, 'same patient, same pseudonym');
  assert.equal(statSync(`${auditPath}.pseudonym-key`).mode & 0o077, 0, 'the pseudonym key is private');

  // Refused bodies name the problem and write nothing.
  const bad = await post(svc.port, '/access', JSON.stringify({ events: [event({ action: 'peek', sopInstanceUid: 'not-a-uid' })] }));
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error), /action/);
  assert.match(String(bad.json.error), /sopInstanceUid/);
  assert.equal((await post(svc.port, '/access', '{not json')).status, 400);
  assert.equal(ingestor.o.audit.head.seq, 4);

  const del = await post(svc.port, '/access', JSON.stringify({ events: [event({ action: 'delete', sopInstanceUid: uid, source: { via: 'rest', ae: null, host: '10.0.0.9', user: 'mallory' }, outcome: 'success', detail: 'DELETE /instances/{id}' })] }));
  assert.deepEqual(del.json.seqs, [5]);
  const after = readAuditRecords(auditPath).records;
  assert.equal(after.length, 6, 'the alert is written right after the deletion');
  const alert = after[5]!;
  assert.equal(alert.kind, 'alert');
  if (alert.kind !== 'alert') return;
  assert.equal(alert.rule, 'replaced-authentic');
  assert.equal(alert.detector, 'verify-service');
  assert.deepEqual(alert.evidence, [1, 5]);
  assert.equal(verifyAuditLog(auditPath).ok, true);

  // A restart reads the log, learns, and does not raise the same alert again.
  await svc.close();
  const again = await startVerifyService({ host: '127.0.0.1', port: 0, ingestor });
  t.after(() => again.close());
  assert.equal(ingestor.o.audit.head.seq, 6);
});

test('a service starting on a log whose writer fell silent during busy hours raises writer-stopped', async (t) => {
  const dir = tempDir(t, 'radseal-live-');
  const objs = await makeObjects(dir, 2);
  const path = join(dir, 'audit.jsonl');
  // Three days of a record every 5 minutes, ending 6 hours ago.
  const end = Date.now() - 6 * 3_600_000;
  const times: number[] = [];
  for (let t0 = end - 3 * 86_400_000; t0 <= end; t0 += 5 * 60_000) times.push(t0);
  let i = 0;
  const pre = new AuditLog(path, { clock: () => new Date(times[i++]!) });
  pre.appendMany(times.map(() => ({ kind: 'access', source: { via: 'dimse', ae: 'VIEWER1', host: '10.3.0.5', user: null }, action: 'c-find', level: 'study', studyUid: null, seriesUid: null, sopInstanceUid: null, patientRef: null, instances: null, destination: null, transfer: null, fileSha256: null, outcome: 'success', detail: null } as AccessEntry)));
  pre.close();
  const { ingestor } = testIngestor(t, dir, objs, 'flag');
  const svc = await startVerifyService({ host: '127.0.0.1', port: 0, ingestor });
  t.after(() => svc.close());
  const last = readAuditRecords(path).records.at(-1)!;
  assert.equal(last.kind, 'alert');
  if (last.kind !== 'alert') return;
  assert.equal(last.rule, 'writer-stopped');
  assert.deepEqual(last.evidence, [times.length]);
  assert.match(last.summary, /no audit record for 6 h/);
});

test('the live monitor\'s timer catches a transfer that never finishes, with no further record to trigger it', async (t) => {
  const dir = tempDir(t, 'radseal-live-');
  const path = join(dir, 'audit.jsonl');
  const log = new AuditLog(path);
  t.after(() => log.close());
  const { AnomalyMonitor } = await import('../../../host/anomaly/monitor.js');
  const { rulesFrom } = await import('../../../host/anomaly/rules.js');
  const monitor = new AnomalyMonitor(log, { rules: rulesFrom({ rules: { 'transfer-incomplete': { timeoutMinutes: 0.002 } } }), detector: 'test', tickMs: 40 });
  t.after(() => monitor.stop());
  const begin = log.append({ kind: 'access', source: { via: 'dimse', ae: 'VIEWER1', host: '10.3.0.5', user: null }, action: 'c-move', level: 'study', studyUid: '2.25.1', seriesUid: null, sopInstanceUid: null, patientRef: null, instances: 3, destination: 'WS1', transfer: { id: 'm-1', phase: 'begin' }, fileSha256: null, outcome: 'requested', detail: null });
  for (let i = 0; i < 50 && monitor.alerts.length === 0; i++) await new Promise((r) => setTimeout(r, 40));
  const last = readAuditRecords(path).records.at(-1)!;
  assert.equal(last.kind, 'alert');
  if (last.kind !== 'alert') return;
  assert.equal(last.rule, 'transfer-incomplete');
  assert.deepEqual(last.evidence, [begin.seq]);
  assert.match(last.summary, /transfer m-1 by AE VIEWER1 at 10\.3\.0\.5 to WS1 began/);
});
