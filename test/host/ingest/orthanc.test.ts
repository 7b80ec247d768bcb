// radseal inside real Orthanc 1.10.1 (Debian), run in a private network
// namespace with radseal verify-service beside it: sealed, tampered and
// unsigned objects are C-STOREd into Orthanc by DCMTK storescu and by radseal's
// own SCU; the Lua hook posts each stored file to the verifier, the verdict
// comes back as instance metadata over Orthanc's REST API, non-authentic
// instances are deleted under the reject policy, and the audit chain verifies.
// With the Python hook (radseal_filter.py) non-authentic instances are refused
// before Orthanc stores them at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePart10 } from '../../../host/net/cstore.js';
import { verifyAuditLog, type AuditRecord } from '../../../host/ingest/audit.js';
import { tempDir } from '../dicom/fixtures.js';
import { createHash } from 'node:crypto';
import { makeObjects, tamperPixels } from '../../services/ingest-fixtures.js';
import { startOrthancEnv, pythonPlugin, dicomWebPlugin, ORTHANC_DICOM, type OrthancEnv } from '../../services/orthanc.js';

// Verification records only: the live anomaly monitor may add alert records (a tampered copy under a stored UID is one).
const readAudit = (p: string): AuditRecord[] => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord).filter((r) => (r.kind ?? 'verification') === 'verification');

async function storescu(env: OrthancEnv, file: string): Promise<void> {
  const r = await env.inNs('storescu', ['-aet', 'MODALITY', '-aec', 'ORTHANC', '127.0.0.1', String(ORTHANC_DICOM), file]);
  assert.equal(r.code, 0, `storescu: ${r.stderr}\n${env.logs()}`);
}

/** Orthanc's instance id for a SOP Instance UID, or null when Orthanc does not hold it. */
async function findInstance(env: OrthancEnv, uid: string): Promise<string | null> {
  const r = await env.inNs('curl', ['-sf', '-X', 'POST', '-d', JSON.stringify({ Level: 'Instance', Query: { SOPInstanceUID: uid } }), 'http://127.0.0.1:8042/tools/find']);
  const ids = JSON.parse(r.stdout) as string[];
  return ids[0] ?? null;
}

async function metadata(env: OrthancEnv, id: string, name: string): Promise<string> {
  const r = await env.inNs('curl', ['-sf', `http://127.0.0.1:8042/instances/${id}/metadata/${name}`]);
  assert.equal(r.code, 0, `metadata ${name} of ${id}: ${r.stderr}\n${env.logs()}`);
  return r.stdout;
}

async function waitAudit(env: OrthancEnv, n: number): Promise<AuditRecord[]> {
  for (let i = 0; i < 150; i++) {
    try {
      const recs = readAudit(env.auditPath);
      if (recs.length >= n) return recs;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`audit log did not reach ${n} records\n${env.logs()}`);
}

/** The Lua hook runs after storage: wait until it has written the verdict (or deleted the instance). */
async function settle(env: OrthancEnv, n: number): Promise<void> {
  await waitAudit(env, n);
  await new Promise((r) => setTimeout(r, 500));
}

test('Orthanc, flag policy: every stored instance gets its verdict as metadata; tampered stays flagged; a same-UID copy is never seen; audit chain intact', async (t) => {
  const dir = tempDir(t, 'radseal-orthanc-');
  const objs = await makeObjects(dir, 3);
  const env = await startOrthancEnv(dir, { trustPem: objs.ids.trustPem, onFailure: 'flag' });
  t.after(() => env.stop());
  const tampered2 = tamperPixels(objs.sealed[2]!, 70, 140, 20, 20);
  const files = { sealed: join(dir, 'sealed-0.dcm'), tampered: join(dir, 'tampered.dcm'), tampered2: join(dir, 'tampered-2.dcm'), unsigned: join(dir, 'unsigned.dcm') };
  writeFileSync(files.tampered, objs.tampered);
  writeFileSync(files.tampered2, tampered2);
  writeFileSync(files.unsigned, objs.unsigned);
  for (const [i, f] of [files.sealed, files.tampered2, files.unsigned, files.tampered].entries()) {
    await storescu(env, f);
    await settle(env, i + 1);
  }
  const recs = readAudit(env.auditPath);

  const idSealed = await findInstance(env, parsePart10(objs.sealed[0]!).sopInstanceUid);
  assert.ok(idSealed, 'the sealed instance is in Orthanc');
  assert.equal(await metadata(env, idSealed, 'RadsealVerdict'), 'authentic');
  assert.equal(await metadata(env, idSealed, 'RadsealAction'), 'stored');
  assert.equal(recs[0]!.verdict, 'authentic');
  // Orthanc rewrites the meta header (group 0002, not signed) but keeps the data set exactly as sent.
  const back = join(dir, 'from-orthanc.dcm');
  assert.equal((await env.inNs('curl', ['-sf', '-o', back, `http://127.0.0.1:8042/instances/${idSealed}/file`])).code, 0);
  const served = new Uint8Array(readFileSync(back));
  assert.equal(recs[0]!.fileSha256, createHash('sha256').update(served).digest('hex'), 'the hook posted the stored file');
  assert.notEqual(recs[0]!.fileSha256, createHash('sha256').update(objs.sealed[0]!).digest('hex'), 'meta header rewritten');
  assert.deepEqual(Buffer.from(served.subarray(parsePart10(served).dataSetOffset)), Buffer.from(objs.sealed[0]!.subarray(parsePart10(objs.sealed[0]!).dataSetOffset)));

  const id2 = await findInstance(env, parsePart10(tampered2).sopInstanceUid);
  assert.ok(id2);
  assert.equal(await metadata(env, id2, 'RadsealVerdict'), 'tampered');
  assert.equal(await metadata(env, id2, 'RadsealAuditSeq'), '2');
  assert.match(await metadata(env, id2, 'RadsealReasons'), /^tampered: /);
  assert.equal(recs[1]!.verdict, 'tampered');
  assert.deepEqual(recs[1]!.tamperedTiles!.tiles, [[1, 2]]);
  assert.equal(recs[1]!.source.ae, 'MODALITY');
  assert.match(recs[1]!.source.via, /^orthanc/);

  const idUnsigned = await findInstance(env, parsePart10(objs.unsigned).sopInstanceUid);
  assert.ok(idUnsigned);
  assert.equal(await metadata(env, idUnsigned, 'RadsealVerdict'), 'unsigned');
  assert.match(await metadata(env, idUnsigned, 'RadsealReasons'), /no Digital Signatures Sequence/);

  // Orthanc 1.10.1 (OverwriteInstances false): a tampered copy under an already-stored SOP Instance UID is
  // answered with success, Orthanc keeps the first file, and OnStoredInstance hands the hook that first file:
  // the verifier never sees the tampered bytes. Only the gateway in front of Orthanc sees every arrival.
  assert.equal(recs.length, 4);
  assert.deepEqual([recs[3]!.verdict, recs[3]!.sopInstanceUid, recs[3]!.fileSha256], ['authentic', recs[0]!.sopInstanceUid, recs[0]!.fileSha256]);
  assert.equal(await metadata(env, idSealed, 'RadsealVerdict'), 'authentic');

  // Quarantine copies of the non-authentic ones, with reports.
  assert.equal(readdirSync(env.quarantine).filter((f) => f.endsWith('.json')).length, 2);
  assert.equal(verifyAuditLog(env.auditPath).ok, true);
});

test('Orthanc, reject policy: a tampered instance is deleted after storage, the authentic one stays; quarantine and audit keep the evidence', async (t) => {
  const dir = tempDir(t, 'radseal-orthanc-rj-');
  const objs = await makeObjects(dir, 2, 128, 192);
  const env = await startOrthancEnv(dir, { trustPem: objs.ids.trustPem, onFailure: 'reject' });
  t.after(() => env.stop());
  const tampered = join(dir, 'tampered-1.dcm');
  writeFileSync(tampered, tamperPixels(objs.sealed[1]!, 10, 10, 5, 5));
  await storescu(env, join(dir, 'sealed-0.dcm'));
  await storescu(env, tampered);
  await settle(env, 2);
  const idOk = await findInstance(env, parsePart10(objs.sealed[0]!).sopInstanceUid);
  assert.ok(idOk);
  assert.equal(await metadata(env, idOk, 'RadsealVerdict'), 'authentic');
  assert.equal(await findInstance(env, parsePart10(objs.sealed[1]!).sopInstanceUid), null, 'tampered instance deleted from Orthanc');
  const stats = (await env.rest('/statistics')) as { CountInstances: number };
  assert.equal(stats.CountInstances, 1);
  const recs = readAudit(env.auditPath);
  assert.deepEqual(recs.map((r) => [r.verdict, r.action]), [['authentic', 'stored'], ['tampered', 'rejected']]);
  const q = readdirSync(env.quarantine);
  assert.equal(q.filter((f) => f.endsWith('.dcm')).length, 1);
  assert.equal(verifyAuditLog(env.auditPath).ok, true);
});

/** The instance ids Orthanc's change log says were ever created, and whether any was deleted. */
async function changes(env: OrthancEnv): Promise<{ newInstances: string[]; deleted: number }> {
  const c = (await env.rest('/changes?limit=1000')) as { Changes: Array<{ ChangeType: string; ID: string }> };
  return { newInstances: c.Changes.filter((x) => x.ChangeType === 'NewInstance').map((x) => x.ID), deleted: c.Changes.filter((x) => x.ChangeType === 'Deleted').length };
}

test('Orthanc + Python hook, reject policy: non-authentic instances are refused before storage (C-STORE and REST), even a tampered copy under a stored UID; evidence kept', { skip: pythonPlugin() ? false : 'Orthanc Python plugin (orthanc-python) not installed' }, async (t) => {
  const dir = tempDir(t, 'radseal-orthanc-py-');
  const objs = await makeObjects(dir, 2, 128, 192);
  const env = await startOrthancEnv(dir, { trustPem: objs.ids.trustPem, onFailure: 'reject', hook: 'python' });
  t.after(() => env.stop());
  const files = { tampered: join(dir, 'tampered-1.dcm'), unsigned: join(dir, 'unsigned.dcm'), sameUid: join(dir, 'tampered-0.dcm') };
  writeFileSync(files.tampered, tamperPixels(objs.sealed[1]!, 10, 10, 5, 5));
  writeFileSync(files.unsigned, objs.unsigned);
  writeFileSync(files.sameUid, tamperPixels(objs.sealed[0]!, 40, 40, 8, 8));

  await storescu(env, join(dir, 'sealed-0.dcm'));
  // Orthanc 1.10.1 answers a discarded C-STORE with Success (storescu exits 0): the refusal is in
  // the audit log and the quarantine, not in the DIMSE status. The gateway returns a failure status.
  await storescu(env, files.tampered);
  const up = await env.inNs('curl', ['-s', '-X', 'POST', '--data-binary', `@${files.unsigned}`, 'http://127.0.0.1:8042/instances']);
  assert.equal((JSON.parse(up.stdout) as { Status: string }).Status, 'FilteredOut', `REST upload of an unsigned object: ${up.stdout}`);
  await storescu(env, files.sameUid);
  const recs = await waitAudit(env, 4);

  assert.deepEqual(recs.map((r) => [r.verdict, r.action, r.source.via]), [
    ['authentic', 'stored', 'orthanc-dicom'],
    ['tampered', 'rejected', 'orthanc-dicom'],
    ['unsigned', 'rejected', 'orthanc-rest'],
    ['tampered', 'rejected', 'orthanc-dicom'],
  ]);
  assert.equal(recs[3]!.sopInstanceUid, parsePart10(objs.sealed[0]!).sopInstanceUid, 'the tampered copy under a stored UID was seen and refused');
  // Never stored, so never visible: one instance ever created, none deleted.
  const idOk = await findInstance(env, parsePart10(objs.sealed[0]!).sopInstanceUid);
  assert.ok(idOk);
  assert.deepEqual(await changes(env), { newInstances: [idOk], deleted: 0 });
  assert.equal(((await env.rest('/statistics')) as { CountInstances: number }).CountInstances, 1);
  assert.equal(await metadata(env, idOk, 'RadsealVerdict'), 'authentic');
  assert.equal(await metadata(env, idOk, 'RadsealAuditSeq'), '1');
  assert.equal(await metadata(env, idOk, 'RadsealFileSha256'), recs[0]!.fileSha256);
  // The stored file is the authentic one, byte for byte in its data set.
  const back = join(dir, 'from-orthanc.dcm');
  assert.equal((await env.inNs('curl', ['-sf', '-o', back, `http://127.0.0.1:8042/instances/${idOk}/file`])).code, 0);
  const served = new Uint8Array(readFileSync(back));
  assert.deepEqual(Buffer.from(served.subarray(parsePart10(served).dataSetOffset)), Buffer.from(objs.sealed[0]!.subarray(parsePart10(objs.sealed[0]!).dataSetOffset)));
  assert.equal(readdirSync(env.quarantine).filter((f) => f.endsWith('.dcm')).length, 3);
  assert.equal(verifyAuditLog(env.auditPath).ok, true);
});

test('Orthanc + Python hook, verifier unreachable: kept as "unverified" (never authentic) by default, refused with RefuseUnverified', { skip: pythonPlugin() ? false : 'Orthanc Python plugin (orthanc-python) not installed' }, async (t) => {
  const dir = tempDir(t, 'radseal-orthanc-py-down-');
  const objs = await makeObjects(dir, 2, 96, 96);
  const uid = parsePart10(objs.sealed[0]!).sopInstanceUid;
  // Port 9 (discard) has no listener in the namespace: connection refused.
  for (const refuse of [false, true]) {
    const sub = join(dir, refuse ? 'refuse' : 'keep');
    const env = await startOrthancEnv(sub, { trustPem: objs.ids.trustPem, onFailure: 'flag', hook: 'python', radseal: { VerifyUrl: 'http://127.0.0.1:9/verify', RefuseUnverified: refuse } });
    try {
      await storescu(env, join(dir, 'sealed-0.dcm'));
      // The stored callback writes metadata just after storage.
      await new Promise((r) => setTimeout(r, 500));
      const id = await findInstance(env, uid);
      if (refuse) {
        assert.equal(id, null, 'refused while the verifier is down');
        assert.match(env.logs(), /refusing an unverified instance \(verify-service unreachable/);
      } else {
        assert.ok(id, 'kept while the verifier is down');
        assert.equal(await metadata(env, id, 'RadsealVerdict'), 'unverified');
        assert.match(await metadata(env, id, 'RadsealReasons'), /verify-service unreachable/);
      }
    } finally {
      await env.stop();
    }
  }
});

test('STOW-RS into Orthanc (DICOMweb plugin) with the Python hook: the sealed object stored byte for byte in its data set, a tampered one refused before storage, nothing listening is retryable', { skip: pythonPlugin() && dicomWebPlugin() ? false : 'orthanc-python or orthanc-dicomweb not installed' }, async (t) => {
  const dir = tempDir(t, 'radseal-orthanc-stow-');
  const objs = await makeObjects(dir, 2, 96, 128);
  const env = await startOrthancEnv(dir, { trustPem: objs.ids.trustPem, onFailure: 'reject', hook: 'python', dicomWeb: true });
  t.after(() => env.stop());
  const tampered = join(dir, 'tampered-1.dcm');
  writeFileSync(tampered, tamperPixels(objs.sealed[1]!, 10, 10, 5, 5));
  const send = async (url: string, ...files: string[]) => {
    const r = await env.inNs(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../services/stow-send.ts'), url, ...files]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; ok: boolean; error?: string; retryable?: boolean });
  };
  const [ok, bad] = await send('http://127.0.0.1:8042/dicom-web/studies', join(dir, 'sealed-0.dcm'), tampered);
  assert.equal(ok!.ok, true, ok!.error);
  // Orthanc 1.10.1 with DICOMweb 1.7 lists a discarded instance in the Referenced SOP Sequence, as
  // its C-STORE answers Success: the refusal is in the audit log and the quarantine (below), and
  // the instance is not in Orthanc.
  assert.equal(bad!.ok, true, bad!.error);
  const [down] = await send('http://127.0.0.1:9/dicom-web/studies', join(dir, 'sealed-0.dcm'));
  assert.deepEqual([down!.ok, down!.retryable], [false, true]);
  assert.match(down!.error!, /unreachable/);

  const id = await findInstance(env, parsePart10(objs.sealed[0]!).sopInstanceUid);
  assert.ok(id);
  assert.equal(await metadata(env, id, 'RadsealVerdict'), 'authentic');
  assert.equal(await findInstance(env, parsePart10(objs.sealed[1]!).sopInstanceUid), null);
  const back = join(dir, 'from-orthanc.dcm');
  assert.equal((await env.inNs('curl', ['-sf', '-o', back, `http://127.0.0.1:8042/instances/${id}/file`])).code, 0);
  const served = new Uint8Array(readFileSync(back));
  assert.deepEqual(Buffer.from(served.subarray(parsePart10(served).dataSetOffset)), Buffer.from(objs.sealed[0]!.subarray(parsePart10(objs.sealed[0]!).dataSetOffset)));
  const recs = await waitAudit(env, 2);
  assert.deepEqual(recs.map((r) => [r.verdict, r.action]), [['authentic', 'stored'], ['tampered', 'rejected']]);
});
