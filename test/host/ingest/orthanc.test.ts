// radseal inside real Orthanc 1.10.1 (Debian), run in a private network
// namespace with radseal verify-service beside it: sealed, tampered and
// unsigned objects are C-STOREd into Orthanc by DCMTK storescu and by radseal's
// own SCU; the Lua hook posts each stored file to the verifier, the verdict
// comes back as instance metadata over Orthanc's REST API, non-authentic
// instances are deleted under the reject policy, and the audit chain verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePart10 } from '../../../host/net/cstore.js';
import { verifyAuditLog, type AuditRecord } from '../../../host/ingest/audit.js';
import { tempDir } from '../dicom/fixtures.js';
import { createHash } from 'node:crypto';
import { makeObjects, tamperPixels } from '../../services/ingest-fixtures.js';
import { startOrthancEnv, ORTHANC_DICOM, type OrthancEnv } from '../../services/orthanc.js';

const readAudit = (p: string): AuditRecord[] => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);

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
