// The gateway files and audits an object under the SOP Instance UID its data set holds (the
// signed one), never the one the C-STORE command or the meta header names; when the command
// names another object (or another SOP class), the object is refused (or, under the flag
// policy, quarantined) with a reason naming both: object A sent as B is never "B authentic".
// Stored and quarantined objects are PHI: folders 0700, files 0600.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cStore, parsePart10, DicomNetError } from '../../../host/net/cstore.js';
import { buildPart10 } from '../../../host/net/scp.js';
import { startGateway } from '../../../host/ingest/gateway/gateway.js';
import { claimedIdentityProblem, internalErrorReport } from '../../../host/ingest/gateway/ingest.js';
import type { AuditRecord } from '../../../host/ingest/audit.js';
import { tempDir } from '../dicom/fixtures.js';
import { makeObjects, testIngestor } from '../../services/ingest-fixtures.js';

const readAudit = (p: string): AuditRecord[] => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord);
const CR = '1.2.840.10008.5.1.4.1.1.1';

/** Object `a`'s data set under a meta header (so a C-STORE command) naming another UID or class. */
function sentAs(a: Uint8Array, sopInstanceUid: string, sopClassUid?: string): Uint8Array {
  const p = parsePart10(a);
  return buildPart10(sopClassUid ?? p.sopClassUid, sopInstanceUid, p.transferSyntaxUid, a.subarray(p.dataSetOffset));
}

test('claimedIdentityProblem names both UIDs; unknown data set UIDs are left to the verdict, unless it says authentic', () => {
  const r = { ...internalErrorReport('x', 'n/a'), sopInstanceUid: '1.2.3', sopClassUid: CR };
  assert.equal(claimedIdentityProblem(r, undefined), null);
  assert.equal(claimedIdentityProblem(r, { sopInstanceUid: '1.2.3', sopClassUid: CR }), null);
  assert.match(claimedIdentityProblem(r, { sopInstanceUid: '9.9', sopClassUid: CR })!, /command names SOP Instance UID 9\.9, the data set holds 1\.2\.3/);
  assert.match(claimedIdentityProblem(r, { sopInstanceUid: '1.2.3', sopClassUid: '1.2' })!, /SOP Class UID 1\.2, the data set holds 1\.2\.840/);
  assert.equal(claimedIdentityProblem(internalErrorReport('x', 'n/a'), { sopInstanceUid: '9.9', sopClassUid: CR }), null);
  const authenticWithoutUids = { ...internalErrorReport('x', 'n/a'), verdict: 'authentic' as const };
  assert.match(claimedIdentityProblem(authenticWithoutUids, { sopInstanceUid: '9.9', sopClassUid: CR })!, /names SOP Instance UID 9\.9, the data set holds \(none\)/);
});

test('gateway: object A sent as B (or as another SOP class) is refused, filed and audited under A; never stored as B', async (t) => {
  const dir = tempDir(t, 'radseal-gw-uid-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const [a, b] = objs.sealed.map((s) => parsePart10(s).sopInstanceUid) as [string, string];
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'reject');
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor });
  t.after(() => gw.close());
  const target = { calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port, callingAe: 'MOD' };

  await assert.rejects(cStore(target, sentAs(objs.sealed[0]!, b)),
    (e: unknown) => e instanceof DicomNetError && /status 0xa900 \(radseal: C-STORE UIDs are not the data set's, refused\)/.test(e.message) && !e.retryable);
  await assert.rejects(cStore(target, sentAs(objs.sealed[0]!, a, CR)), /status 0xa900/);
  assert.deepEqual(readdirSync(join(dir, 'store')), [], 'nothing stored');
  const recs = readAudit(auditPath);
  assert.deepEqual(recs.map((r) => [r.sopInstanceUid, r.verdict, r.action]), [[a, 'invalid', 'rejected'], [a, 'invalid', 'rejected']]);
  assert.equal(recs[0]!.reasons[0], `the C-STORE command names SOP Instance UID ${b}, the data set holds ${a}: refused, an object is never filed under another's identity`);
  assert.match(recs[1]!.reasons[0]!, new RegExp(`command names SOP Class UID ${CR.replace(/\./g, '\\.')}, the data set holds 1\\.2\\.840\\.10008\\.5\\.1\\.4\\.1\\.1\\.1\\.1`));
  const q = readdirSync(join(dir, 'quarantine')).filter((f) => f.endsWith('.dcm'));
  assert.equal(q.length, 2);
  for (const f of q) assert.ok(f.startsWith(`${a}.`), `quarantined under the data set's UID: ${f}`);
  const sidecars = q.map((f) => JSON.parse(readFileSync(join(dir, 'quarantine', f.replace(/\.dcm$/, '.json')), 'utf8')) as { ingest: { sopInstanceUid: string; claimed: { sopInstanceUid: string } } });
  assert.deepEqual(sidecars.map((x) => [x.ingest.sopInstanceUid, x.ingest.claimed.sopInstanceUid]).sort(), [[a, a], [a, b]].sort());

  // The same object sent honestly is authentic and stored under A.
  assert.equal((await cStore(target, objs.sealed[0]!)).status, 0);
  assert.deepEqual(readdirSync(join(dir, 'store')), [`${a}.dcm`]);
});

test('gateway, flag policy: a mislabelled object is accepted but quarantined, never stored or forwarded', async (t) => {
  const dir = tempDir(t, 'radseal-gw-uid-flag-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const b = parsePart10(objs.sealed[1]!).sopInstanceUid;
  const { ingestor, auditPath } = testIngestor(t, dir, objs, 'flag');
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor });
  t.after(() => gw.close());
  assert.equal((await cStore({ calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port }, sentAs(objs.sealed[0]!, b))).status, 0);
  assert.deepEqual(readdirSync(join(dir, 'store')), []);
  assert.deepEqual(readAudit(auditPath).map((r) => [r.verdict, r.action]), [['invalid', 'quarantined']]);
});

test('store and quarantine: folders 0700 (an existing 0755 one is tightened), files 0600', async (t) => {
  const dir = tempDir(t, 'radseal-gw-modes-');
  const objs = await makeObjects(dir, 2, 128, 128);
  mkdirSync(join(dir, 'store'));
  chmodSync(join(dir, 'store'), 0o755);
  const { ingestor } = testIngestor(t, dir, objs, 'reject');
  const mode = (p: string) => statSync(p).mode & 0o777;
  assert.equal(mode(join(dir, 'store')), 0o700);
  assert.equal(mode(join(dir, 'quarantine')), 0o700);
  const stored = await ingestor.ingest(objs.sealed[0]!, { via: 'test', ae: null, host: null });
  const quarantined = await ingestor.ingest(objs.tampered, { via: 'test', ae: null, host: null });
  assert.equal(mode(stored.path!), 0o600);
  assert.equal(mode(quarantined.path!), 0o600);
  assert.equal(mode(quarantined.path!.replace(/\.dcm$/, '.json')), 0o600);
});
