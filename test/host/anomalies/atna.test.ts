// Access records and anomaly alerts as ATNA messages: every access action (both phases of a
// retrieval, a refusal) and both alert kinds give an A.5 message that validates (jing), with the
// patient as a participant object when the PACS hook gave one, and the right event for each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAtnaMessage } from '../../../host/audit/atna-message.js';
import { ACCESS_ACTIONS, type AccessEntry, type AlertEntry, type Chained } from '../../../host/ingest/audit.js';
import { accessEvent, alertEvent, type AtnaTarget } from '../../../host/anomaly/atna.js';
import { jing, schemaRng, tempDir } from '../audit/fixtures.js';

const target: AtnaTarget = { sink: { emit: () => undefined }, receiver: { userId: 'radseal verify-service', alternativeUserId: 'AETITLES=ORTHANC', address: 'pacs1' } };
const source = { id: 'pacs1', type: '4' as const };
let seq = 0;
const access = (over: Partial<AccessEntry>): Chained<AccessEntry> => ({
  seq: ++seq, time: '2026-03-05T10:00:00.000Z', prev: '0'.repeat(64), kind: 'access', source: { via: 'rest', ae: 'VIEWER1', host: '10.0.0.5', user: 'alice' },
  action: 'rest-read', level: 'instance', studyUid: '2.25.1', seriesUid: '2.25.2', sopInstanceUid: '2.25.3', patientRef: 'ab'.repeat(16), instances: 1,
  destination: null, transfer: null, fileSha256: null, outcome: 'requested', detail: 'GET /instances/{id}/file', ...over,
});

test('every access action and both alert kinds give a valid A.5 message with the expected event', (t) => {
  const dir = tempDir(t, 'radseal-anom-atna-');
  const cases: Array<[string, string, string]> = [];
  const add = (name: string, xml: string, event: string) => {
    const f = join(dir, `${cases.length}.xml`);
    writeFileSync(f, xml);
    cases.push([name, f, event]);
    assert.match(xml, new RegExp(`csd-code="${event}"`), name);
  };
  const expected: Record<string, string> = { 'rest-read': '110103', wado: '110103', qido: '110112', stow: '110104', 'c-store': '110104', 'c-find': '110112', 'c-move': '110104', 'c-get': '110104', delete: '110103', modify: '110103' };
  for (const action of ACCESS_ACTIONS) {
    const xml = buildAtnaMessage(accessEvent(access({ action, destination: action === 'c-move' ? 'WS1' : null }), target, { patient: { id: 'PID-7' }, sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1' }), source);
    add(action, xml, expected[action]!);
    if (!['qido', 'c-find'].includes(action)) assert.match(xml, /PID-7/, `${action}: the patient is a participant object`);
  }
  add('c-move begin', buildAtnaMessage(accessEvent(access({ action: 'c-move', destination: 'EXFIL', transfer: { id: 'm1', phase: 'begin' } }), target), source), '110102');
  add('c-get begin', buildAtnaMessage(accessEvent(access({ action: 'c-get', transfer: { id: 'g1', phase: 'begin' } }), target), source), '110102');
  const refused = buildAtnaMessage(accessEvent(access({ action: 'delete', outcome: 'refused', detail: 'not allowed' }), target), source);
  add('refused delete', refused, '110103');
  assert.match(refused, /EventOutcomeIndicator="4"/);
  const alert = (rule: string): Chained<AlertEntry> => ({ seq: 9, time: '2026-03-05T10:00:01.000Z', prev: '0'.repeat(64), kind: 'alert', rule, severity: 'high', summary: 'user mallory deleted instance 2.25.3, stored authentic', evidence: [4, 8], subject: { source: { via: 'rest', ae: null, host: '10.0.0.9', user: 'mallory' }, device: null, sopInstanceUid: '2.25.3' }, detector: 'verify-service' });
  const anomaly = buildAtnaMessage(alertEvent(alert('replaced-authentic'), target), source);
  add('anomaly alert', anomaly, '110113');
  assert.match(anomaly, /RS007/);
  const description = Buffer.from(/type="Alert Description" value="([^"]+)"/.exec(anomaly)![1]!, 'base64').toString('utf8');
  assert.match(description, /^replaced-authentic \(audit records 4, 8; alert record 9\): user mallory deleted/);
  add('chain alert', buildAtnaMessage(alertEvent(alert('chain'), target), source), '110113');
  assert.equal(jing(schemaRng(dir), cases.map(([, f]) => f)), '', 'jing: every message valid');
});
