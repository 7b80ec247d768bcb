// Access auditing in real Orthanc (Debian 1.10.1 + orthanc-python + DICOMweb): storescu,
// curl (REST, QIDO-RS, WADO-RS, WADO-URI, /modify, DELETE), STOW-RS, findscu, movescu and
// getscu each leave their record in radseal's hash-chained log with who and what (UIDs, the
// patient only as a pseudonym, no query values); deleting or modifying an instance that was
// stored authentic raises an alert record citing the verification and the access.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAuditRecords, verifyAuditLog, type AccessEntry, type AnyAuditRecord } from '../../../host/ingest/audit.js';
import { tempDir } from '../dicom/fixtures.js';
import { makeObjects } from '../../services/ingest-fixtures.js';
import { ORTHANC_DICOM, ORTHANC_HTTP } from '../../services/orthanc.js';
import { accessPluginsMissing, startAccessEnv, DEST_PORT } from './orthanc-access-env.js';

const BASE = `http://127.0.0.1:${ORTHANC_HTTP}`;
type Access = AccessEntry & { seq: number };

async function until<T>(what: string, f: () => T | undefined, logs: () => string, ms = 20_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 150))) {
    const v = f();
    if (v !== undefined) return v;
  }
  throw new Error(`${what} did not happen within ${ms} ms\n${logs()}`);
}

test('every access kind at Orthanc is in the audit chain; deleting or modifying an authentic instance is an alert', { skip: accessPluginsMissing() }, async (t) => {
  const dir = tempDir(t, 'radseal-orthanc-access-');
  const objs = await makeObjects(dir, 3);
  const env = await startAccessEnv(dir, objs.ids.trustPem);
  t.after(() => env.stop());
  const records = (): AnyAuditRecord[] => readAuditRecords(env.auditPath).records;
  const accesses = (action: string): Access[] => records().filter((r): r is AnyAuditRecord & Access => r.kind === 'access' && r.action === action);
  const waitAccess = (action: string, n = 1) => until(`${n} ${action} record(s)`, () => (accesses(action).length >= n ? accesses(action) : undefined), env.logs);
  const curl = async (...args: string[]) => {
    const r = await env.inNs('curl', ['-sS', '-f', ...args]);
    assert.equal(r.code, 0, `curl ${args.join(' ')}: ${r.stderr}\n${env.logs()}`);
    return r.stdout;
  };

  // C-STORE: verified on arrival (verification records).
  const files = objs.sealed.slice(0, 2).map((b, i) => {
    const p = join(dir, `in-${i}.dcm`);
    writeFileSync(p, b);
    return p;
  });
  const st = await env.inNs('storescu', ['-aet', 'MOD1', '-aec', 'ORTHANC', '127.0.0.1', String(ORTHANC_DICOM), ...files]);
  assert.equal(st.code, 0, st.stderr);
  await until('2 verifications', () => (records().filter((r) => r.kind === 'verification').length >= 2 ? true : undefined), env.logs);
  const ids = JSON.parse(await curl(`${BASE}/instances`)) as string[];
  assert.equal(ids.length, 2);
  const tags = await Promise.all(ids.map(async (id) => JSON.parse(await curl(`${BASE}/instances/${id}/simplified-tags`)) as Record<string, string>));
  const [a, b] = tags as [Record<string, string>, Record<string, string>];

  // REST read of the file.
  await curl('-o', '/dev/null', '-u', 'alice:secret', `${BASE}/instances/${ids[0]}/file`);
  const reads = (await waitAccess('rest-read')).filter((r) => r.detail === 'GET /instances/{id}/file');
  assert.equal(reads.length, 1);
  assert.equal(reads[0]!.sopInstanceUid, a.SOPInstanceUID);
  assert.equal(reads[0]!.studyUid, a.StudyInstanceUID);
  assert.equal(reads[0]!.source.user, 'alice');
  assert.equal(reads[0]!.source.host, '127.0.0.1');
  assert.match(reads[0]!.patientRef!, /^[0-9a-f]{32}$/);

  // QIDO-RS (by patient name), WADO-RS, WADO-URI.
  await curl('-o', '/dev/null', `${BASE}/dicom-web/studies?PatientName=Test*`);
  await curl('-o', '/dev/null', `${BASE}/dicom-web/studies/${b.StudyInstanceUID}/series/${b.SeriesInstanceUID}/instances/${b.SOPInstanceUID}`);
  await curl('-o', '/dev/null', `${BASE}/wado?requestType=WADO&studyUID=${b.StudyInstanceUID}&seriesUID=${b.SeriesInstanceUID}&objectUID=${b.SOPInstanceUID}&contentType=application/dicom`);
  const qido = (await waitAccess('qido')).find((r) => r.detail === 'GET /dicom-web/studies');
  assert.ok(qido, 'QIDO recorded');
  const wado = await waitAccess('wado', 2);
  assert.deepEqual(wado.map((r) => r.sopInstanceUid), [b.SOPInstanceUID, b.SOPInstanceUID]);

  // STOW-RS: the store is recorded, and the object verified.
  const third = join(dir, 'in-2.dcm');
  writeFileSync(third, objs.sealed[2]!);
  const stow = await env.inNs(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../services/stow-send.ts'), `${BASE}/dicom-web/studies`, third]);
  assert.match(stow.stdout, /"ok":true/, stow.stdout + stow.stderr);
  await waitAccess('stow');

  // C-FIND (Lua), C-MOVE (performed by the plugin), C-GET (from Orthanc's log).
  const find = await env.inNs('findscu', ['-S', '-aet', 'FINDER', '-aec', 'ORTHANC', '-k', 'QueryRetrieveLevel=STUDY', '-k', 'PatientName=Test*', '-k', 'StudyInstanceUID', '127.0.0.1', String(ORTHANC_DICOM)]);
  assert.equal(find.code, 0, find.stderr);
  const cfind = (await waitAccess('c-find'))[0]!;
  assert.equal(cfind.source.ae, 'FINDER');
  assert.equal(cfind.source.host, '127.0.0.1');
  assert.equal(cfind.level, 'study');
  const move = await env.inNs('movescu', ['-S', '-aet', 'MOVER', '-aec', 'ORTHANC', '-aem', 'DEST', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${a.StudyInstanceUID}`, '127.0.0.1', String(ORTHANC_DICOM)]);
  assert.equal(move.code, 0, move.stderr + env.logs());
  const moves = await waitAccess('c-move', 2);
  assert.deepEqual(moves.map((r) => r.transfer?.phase), ['begin', 'end']);
  assert.equal(moves[0]!.transfer!.id, moves[1]!.transfer!.id);
  assert.deepEqual([moves[1]!.source.ae, moves[1]!.destination, moves[1]!.studyUid, moves[1]!.outcome], ['MOVER', 'DEST', a.StudyInstanceUID, 'success']);
  assert.ok(readdirSync(env.destDir).length >= 1, 'the destination received the study');
  // One image by C-MOVE (IMAGE level), and a move to an AE Orthanc does not know: refused, and recorded as refused.
  const image = await env.inNs('movescu', ['-S', '-aet', 'MOVER', '-aec', 'ORTHANC', '-aem', 'DEST', '-k', 'QueryRetrieveLevel=IMAGE', '-k', `StudyInstanceUID=${b.StudyInstanceUID}`, '-k', `SeriesInstanceUID=${b.SeriesInstanceUID}`, '-k', `SOPInstanceUID=${b.SOPInstanceUID}`, '127.0.0.1', String(ORTHANC_DICOM)]);
  assert.equal(image.code, 0, image.stderr);
  const imageMoves = (await waitAccess('c-move', 4)).slice(2);
  assert.deepEqual(imageMoves.map((r) => [r.level, r.sopInstanceUid, r.instances]), [['instance', b.SOPInstanceUID, 1], ['instance', b.SOPInstanceUID, 1]]);
  await env.inNs('movescu', ['-S', '-aet', 'MOVER', '-aec', 'ORTHANC', '-aem', 'NOWHERE', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${a.StudyInstanceUID}`, '127.0.0.1', String(ORTHANC_DICOM)]);
  const refused = (await waitAccess('c-move', 5))[4]!;
  assert.deepEqual([refused.outcome, refused.destination], ['refused', 'NOWHERE']);
  assert.match(refused.detail!, /unknown destination AE NOWHERE/);
  const getDir = join(dir, 'got');
  const get = await env.inNs('sh', ['-c', `mkdir -p ${getDir} && getscu -S -aet GETSCU -aec ORTHANC -od ${getDir} -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=${b.StudyInstanceUID} 127.0.0.1 ${ORTHANC_DICOM}`]);
  assert.equal(get.code, 0, get.stderr);
  const cget = (await waitAccess('c-get'))[0]!;
  assert.deepEqual([cget.source.ae, cget.source.host, cget.studyUid], ['GETSCU', '127.0.0.1', b.StudyInstanceUID]);
  assert.equal(DEST_PORT, 11113);

  // Changes: /modify and DELETE of instances stored authentic are alerts citing the verification.
  await curl('-o', '/dev/null', '-X', 'POST', '-d', '{"Replace": {"InstitutionName": "Elsewhere"}}', `${BASE}/instances/${ids[1]}/modify`);
  await curl('-o', '/dev/null', '-X', 'DELETE', '-u', 'mallory:x', `${BASE}/instances/${ids[0]}`);
  const del = (await waitAccess('delete'))[0]!;
  const mod = (await waitAccess('modify'))[0]!;
  assert.deepEqual([del.sopInstanceUid, del.source.user], [a.SOPInstanceUID, 'mallory']);
  assert.equal(mod.sopInstanceUid, b.SOPInstanceUID);
  const alerts = await until('two alerts', () => {
    const al = records().filter((r) => r.kind === 'alert' && r.rule === 'replaced-authentic');
    return al.length >= 2 ? al : undefined;
  }, env.logs);
  const verificationOf = (uid: string) => records().find((r) => r.kind === 'verification' && r.sopInstanceUid === uid && r.verdict === 'authentic')!.seq;
  assert.deepEqual(alerts.map((x) => x.kind === 'alert' && x.evidence).sort(), [[verificationOf(a.SOPInstanceUID), del.seq], [verificationOf(b.SOPInstanceUID), mod.seq]].sort());

  // The log: one intact chain, no patient name or ID, no query value.
  assert.equal(verifyAuditLog(env.auditPath).ok, true);
  const text = readFileSync(env.auditPath, 'utf8');
  for (const phi of ['Test^Patient', 'PID-0001', 'Test*']) assert.ok(!text.includes(phi), `the log holds no "${phi}"`);
});
