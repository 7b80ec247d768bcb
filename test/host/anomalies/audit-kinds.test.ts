// One chain, several kinds of record: a log written before kinds existed
// (verification lines without `kind`) keeps verifying after access, admin and
// alert records are appended to it, and an alert can only cite records that exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { AuditLog, AuditLogError, GENESIS, readAuditRecords, verifyAuditLog, type AccessEntry } from '../../../host/ingest/audit.js';
import { tempDir } from '../dicom/fixtures.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A log line exactly as radseal wrote it before records had kinds. */
function legacyLog(path: string): void {
  let prev = GENESIS;
  const lines: string[] = [];
  for (let seq = 1; seq <= 2; seq++) {
    const line = JSON.stringify({
      seq, time: '2026-01-01T00:00:0' + seq + '.000Z', prev, source: { via: 'c-store', ae: 'MOD', host: '127.0.0.1' },
      sopInstanceUid: `2.25.${seq}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1', fileSha256: 'ab'.repeat(32), bytes: 10, verdict: 'authentic',
      reasons: [], signers: [], device: 'DX-1', technologist: null, watermark: null, tamperedTiles: null, action: 'stored', location: null, policy: 'reject',
    });
    lines.push(line);
    prev = sha(line);
  }
  writeFileSync(path, lines.map((l) => l + '\n').join(''));
  writeFileSync(`${path}.head`, JSON.stringify({ seq: 2, sha256: prev }) + '\n');
}

const access = (over: Partial<AccessEntry> = {}): AccessEntry => ({
  kind: 'access', source: { via: 'rest', ae: null, host: '10.0.0.5', user: 'alice' }, action: 'rest-read', level: 'instance',
  studyUid: '2.25.100', seriesUid: '2.25.101', sopInstanceUid: '2.25.1', patientRef: null, instances: 1, destination: null,
  transfer: null, fileSha256: null, outcome: 'success', detail: 'GET /instances/{id}/file', ...over,
});

test('a pre-kinds log continues with access, admin and alert records in the same chain and still verifies', (t) => {
  const p = join(tempDir(t, 'radseal-kinds-'), 'audit.jsonl');
  legacyLog(p);
  const log = new AuditLog(p, { clock: () => new Date('2026-01-02T03:04:05Z') });
  const a = log.append(access());
  const d = log.append({ kind: 'admin', source: { via: 'desk', ae: null, host: '10.0.0.9', user: 'pacs-admin' }, action: 'quarantine-release', sopInstanceUid: '2.25.9', fileSha256: null, location: 'q/2.25.9.dcm', reason: 'vendor re-sent after firmware fix', outcome: 'success' });
  const al = log.append({ kind: 'alert', rule: 'replaced-authentic', severity: 'high', summary: 'x', evidence: [1, a.seq], subject: { source: null, device: 'DX-1', sopInstanceUid: '2.25.1' }, detector: 'test' });
  const v = log.append({ source: { via: 'c-store', ae: 'MOD', host: null }, sopInstanceUid: '2.25.3', sopClassUid: null, fileSha256: null, bytes: 1, verdict: 'authentic', reasons: [], signers: [], device: 'DX-1', technologist: null, watermark: null, tamperedTiles: null, action: 'stored', location: null, policy: 'reject' });
  log.close();
  assert.deepEqual([a.seq, d.seq, al.seq, v.seq], [3, 4, 5, 6]);
  assert.equal(a.time, '2026-01-02T03:04:05.000Z');
  assert.equal(v.kind, 'verification', 'a verification appended without kind is written with one');
  const check = verifyAuditLog(p);
  assert.equal(check.ok, true, JSON.stringify(check.firstBroken));
  assert.equal(check.records, 6);
  const { records, unreadable } = readAuditRecords(p);
  assert.deepEqual(unreadable, []);
  assert.deepEqual(records.map((r) => r.kind), ['verification', 'verification', 'access', 'admin', 'alert', 'verification']);
  // The legacy lines are untouched (their bytes are what the chain hashes).
  assert.ok(!readFileSync(p, 'utf8').split('\n')[0]!.includes('"kind"'));
  // The kind is the fourth key, so a person reading the log sees it first after the chain fields.
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(p, 'utf8').split('\n')[2]!)).slice(0, 4), ['seq', 'time', 'prev', 'kind']);
});

test('an alert citing a record that is not in the log is refused; appendMany writes a burst as one chain', (t) => {
  const p = join(tempDir(t, 'radseal-kinds-'), 'audit.jsonl');
  const log = new AuditLog(p);
  const burst = log.appendMany([access(), access({ action: 'wado' }), access({ action: 'delete', outcome: 'refused', detail: 'not allowed' })]);
  assert.deepEqual(burst.map((r) => r.seq), [1, 2, 3]);
  assert.throws(() => log.append({ kind: 'alert', rule: 'r', severity: 'low', summary: 's', evidence: [4], subject: { source: null, device: null, sopInstanceUid: null }, detector: 'test' }), AuditLogError);
  assert.throws(() => log.append({ kind: 'alert', rule: 'r', severity: 'low', summary: 's', evidence: [0], subject: { source: null, device: null, sopInstanceUid: null }, detector: 'test' }), AuditLogError);
  assert.equal(log.head.seq, 3, 'a refused alert writes nothing');
  log.close();
  assert.equal(verifyAuditLog(p).ok, true);
  assert.deepEqual(JSON.parse(readFileSync(`${p}.head`, 'utf8')), { seq: 3, sha256: sha(readFileSync(p, 'utf8').trim().split('\n')[2]!) });
});
