// Reconciliation inside real Orthanc 1.10.1 + orthanc-python: POST /radseal/reconcile in the
// Python hook has radseal reconcile-service correct a stored instance (history recorded, PACS
// signature), deletes the original and stores the corrected object, which passes the hook's
// verification before storage. A correction radseal refuses leaves the original untouched.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readPart10 } from '../../../host/dicom/reader.js';
import { encodeDataSet } from '../../../host/dicom/writer.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { checkSignatures } from '../../../host/dicom/signatures.js';
import { decodeString } from '../../../host/dicom/values.js';
import { parsePart10 } from '../../../host/net/cstore.js';
import { newSeed, seedSigner } from '../../../host/keys/ed25519.js';
import { issueCertificate } from '../../../host/keys/x509.js';
import { writeEd25519KeyFile } from '../../../host/keys/filestore.js';
import { toPem } from '../../../host/keys/pem.js';
import { RADSEAL_ARC } from '../../../host/keys/pki/profiles.js';
import { asCaptured } from '../../../host/ingest/as-captured.js';
import { META, sealTo, tempDir, testFrame } from '../dicom/fixtures.js';
import { makeObjects } from '../../services/ingest-fixtures.js';
import { startOrthancEnv, pythonPlugin, ORTHANC_DICOM, type OrthancEnv } from '../../services/orthanc.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const RECONCILE_PORT = 8044;

async function pacsKeyFiles(dir: string): Promise<{ key: string; cert: string }> {
  const seed = newSeed();
  const signer = seedSigner(seed);
  const der = await issueCertificate({ subject: { commonName: 'PACS-1', organization: 'radseal pacs' }, subjectPublicKey: signer.publicKey, issuerSigner: signer, extendedKeyUsage: [`${RADSEAL_ARC}.2.3`] });
  const paths = { key: join(dir, 'pacs.key'), cert: join(dir, 'pacs.crt') };
  writeEd25519KeyFile(paths.key, seed);
  writeFileSync(paths.cert, toPem('CERTIFICATE', der));
  return paths;
}

/** radseal reconcile-service inside the namespace, beside Orthanc and verify-service. */
async function startReconcileInNs(env: OrthancEnv, dir: string, keys: { key: string; cert: string }): Promise<ChildProcess> {
  const script = join(dir, 'reconcile-service.mts');
  writeFileSync(script, [
    `import { startReconcileService } from ${JSON.stringify(join(ROOT, 'host/ingest/reconcile-service.ts'))};`,
    `import { loadPacsSigner } from ${JSON.stringify(join(ROOT, 'host/ingest/pacs-signer.ts'))};`,
    `await startReconcileService({ host: '127.0.0.1', port: ${RECONCILE_PORT}, pacs: loadPacsSigner(${JSON.stringify(keys.key)}, ${JSON.stringify(keys.cert)}), modifyingSystem: 'PACS-1', log: (m) => console.log(m) });`,
  ].join('\n'));
  const p = spawn('ip', ['netns', 'exec', env.ns, process.execPath, '--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    const r = await env.inNs('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', `http://127.0.0.1:${RECONCILE_PORT}/reconcile`]);
    if (r.stdout === '400') return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  p.kill('SIGTERM');
  throw new Error('reconcile-service did not come up');
}

async function curlJson(env: OrthancEnv, args: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await env.inNs('curl', ['-s', '-w', '\n%{http_code}', ...args]);
  const lines = r.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: lines.length ? JSON.parse(lines.join('\n')) as Record<string, unknown> : {} };
}

async function findInstance(env: OrthancEnv, uid: string): Promise<string[]> {
  const r = await env.inNs('curl', ['-sf', '-X', 'POST', '-d', JSON.stringify({ Level: 'Instance', Query: { SOPInstanceUID: uid } }), 'http://127.0.0.1:8042/tools/find']);
  return JSON.parse(r.stdout) as string[];
}

async function waitMetadata(env: OrthancEnv, id: string, name: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const r = await env.inNs('curl', ['-sf', `http://127.0.0.1:8042/instances/${id}/metadata/${name}`]);
    if (r.code === 0) return r.stdout;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no metadata ${name} on ${id}\n${env.logs()}`);
}

/** Orthanc (Python hook, reject policy) + verify-service + reconcile-service, with one sealed instance stored. */
async function orthancWithInstance(t: TestContext, prefix: string, trustPacs: boolean) {
  const dir = tempDir(t, prefix);
  const objs = await makeObjects(dir, 2, 128, 160);
  const keys = await pacsKeyFiles(dir);
  const trust = join(dir, 'trust.pem');
  writeFileSync(trust, readFileSync(objs.ids.trustPem, 'utf8') + (trustPacs ? readFileSync(keys.cert, 'utf8') : ''));
  const env = await startOrthancEnv(dir, { trustPem: trust, onFailure: 'reject', hook: 'python', radseal: { ReconcileUrl: `http://127.0.0.1:${RECONCILE_PORT}/reconcile` } });
  let service: ChildProcess | undefined;
  t.after(async () => {
    service?.kill('SIGTERM');
    await env.stop();
  });
  service = await startReconcileInNs(env, dir, keys);
  const st = await env.inNs('storescu', ['-aet', 'MODALITY', '-aec', 'ORTHANC', '127.0.0.1', String(ORTHANC_DICOM), join(dir, 'sealed-0.dcm')]);
  assert.equal(st.code, 0, st.stderr);
  const uid = parsePart10(objs.sealed[0]!).sopInstanceUid;
  const [original] = await findInstance(env, uid);
  assert.ok(original, `stored\n${env.logs()}`);
  assert.equal(await waitMetadata(env, original, 'RadsealVerdict'), 'authentic');
  return { dir, env, objs, uid, original, ids: objs.ids };
}

const reconcileRequest = (env: OrthancEnv, body: unknown) =>
  curlJson(env, ['-X', 'POST', '-d', JSON.stringify(body), 'http://127.0.0.1:8042/radseal/reconcile']);

test('Orthanc + Python hook: POST /radseal/reconcile replaces a stored instance (and every instance of a study) with the corrected, PACS-signed object; a refused correction leaves it alone', { skip: pythonPlugin() ? false : 'Orthanc Python plugin (orthanc-python) not installed' }, async (t) => {
  const { dir, env, objs, uid, original, ids } = await orthancWithInstance(t, 'radseal-reconcile-orthanc-', true);

  // Refused by radseal (Rows is not reconcilable): nothing changes in Orthanc.
  const refused = await reconcileRequest(env, { instance: original, changes: { '0028,0010': '64' } });
  assert.equal(refused.status, 422, `${JSON.stringify(refused.body)}\n${env.logs().split("\n").filter((l) => /Error|error|Traceback|line [0-9]/.test(l)).join("\n")}`);
  assert.match(String(refused.body.error), /not reconcilable/);
  assert.deepEqual(await findInstance(env, uid), [original]);

  const done = await reconcileRequest(env, { instance: original, changes: { '0010,0020': 'PID-7777', PatientName: 'Doe^John' }, reason: 'CORRECT' });
  assert.equal(done.status, 200, `${JSON.stringify(done.body)}\n${env.logs()}`);
  const [result] = done.body.instances as Array<{ instance: string; replaced: string; changes: unknown }>;
  const corrected = result!.instance;
  assert.equal(result!.replaced, original);
  assert.notEqual(corrected, original, 'a new Patient ID files the instance under another Orthanc id');
  assert.deepEqual(await findInstance(env, uid), [corrected], 'one instance under the SOP Instance UID: the corrected one');
  assert.deepEqual(result!.changes, [{ tag: '(0010,0020)', before: 'PID-0001', after: 'PID-7777' }, { tag: '(0010,0010)', before: 'Test^Patient', after: 'Doe^John' }]);

  const served = join(dir, 'served.dcm');
  assert.equal((await env.inNs('curl', ['-sf', '-o', served, `http://127.0.0.1:8042/instances/${corrected}/file`])).code, 0);
  const current = readPart10(new Uint8Array(readFileSync(served))).dataSet;
  assert.equal(decodeString(findElement(current, tag(0x0010, 0x0020))?.value), 'PID-7777');
  assert.ok(checkSignatures(current).some((c) => c.purposeCode === '5' && c.valid), 'the PACS signature holds over the stored object');
  const back = asCaptured(current);
  assert.deepEqual(back.problems, []);
  assert.equal(Buffer.from(encodeDataSet(back.dataSet)).toString('hex'), Buffer.from(encodeDataSet(readPart10(objs.sealed[0]!).dataSet)).toString('hex'), 'as captured, byte for byte');
  // The corrected object passed the hook's verification before storage (reject policy).
  const verdict = await waitMetadata(env, corrected, 'RadsealVerdict');
  assert.equal(verdict, 'authentic', `${await waitMetadata(env, corrected, 'RadsealReasons')}\n${env.logs()}`);
  // A whole study (two images) in one request: both replaced, both verified.
  const studyUid = '2.25.4242';
  const files = [join(dir, 'study-a.dcm'), join(dir, 'study-b.dcm')];
  for (const [k, f] of files.entries()) await sealTo(f, testFrame(64, 64, 12, 20 + k), ids.device, { frameSerial: 500 + k, meta: { ...META, patientId: 'TRAUMA-9', studyInstanceUid: studyUid } });
  for (const f of files) assert.equal((await env.inNs('storescu', ['-aet', 'MODALITY', '-aec', 'ORTHANC', '127.0.0.1', String(ORTHANC_DICOM), f])).code, 0);
  const studies = await curlJson(env, ['-X', 'POST', '-d', JSON.stringify({ Level: 'Study', Query: { StudyInstanceUID: studyUid } }), 'http://127.0.0.1:8042/tools/find']);
  const study = (studies.body as unknown as string[])[0]!;
  const whole = await reconcileRequest(env, { study, changes: { PatientID: 'PID-9000', AccessionNumber: 'ACC-9000' } });
  assert.equal(whole.status, 200, `${JSON.stringify(whole.body)}\n${env.logs()}`);
  const replaced = whole.body.instances as Array<{ instance: string }>;
  assert.equal(replaced.length, 2);
  for (const r of replaced) {
    assert.equal(await waitMetadata(env, r.instance, 'RadsealVerdict'), 'authentic');
    const tags = JSON.parse((await env.inNs('curl', ['-sf', `http://127.0.0.1:8042/instances/${r.instance}/simplified-tags`])).stdout) as Record<string, unknown>;
    assert.deepEqual([tags.PatientID, tags.AccessionNumber], ['PID-9000', 'ACC-9000']);
  }
});

test('Orthanc + Python hook: a correction the verifier refuses (PACS signer not trusted, reject policy) puts the original back and answers 409', { skip: pythonPlugin() ? false : 'Orthanc Python plugin (orthanc-python) not installed' }, async (t) => {
  const { env, uid, original } = await orthancWithInstance(t, 'radseal-reconcile-orthanc-rb-', false);
  const r = await reconcileRequest(env, { instance: original, changes: { PatientID: 'PID-7777' } });
  assert.equal(r.status, 409, `${JSON.stringify(r.body)}\n${env.logs()}`);
  assert.equal(r.body.instance, original, 'the original is back under its own id');
  assert.deepEqual(await findInstance(env, uid), [original]);
  const served = (await env.inNs('curl', ['-sf', `http://127.0.0.1:8042/instances/${original}/simplified-tags`])).stdout;
  assert.equal((JSON.parse(served) as Record<string, string>).PatientID, 'PID-0001');
  assert.equal(await waitMetadata(env, original, 'RadsealVerdict'), 'authentic');
});
