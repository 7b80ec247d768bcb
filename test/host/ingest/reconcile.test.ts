// PACS corrections (IHE PIR) recorded in Original Attributes Sequence and signed by a PACS
// signer: the data set as captured comes back exactly, so the device's signatures still hold
// over it, and the PACS signature holds over the corrected object; what a correction may not
// change is refused and, when forged into a record, flagged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { readPart10 } from '../../../host/dicom/reader.js';
import { encodeDataSet, encodePart10 } from '../../../host/dicom/writer.js';
import { type DataSet, findElement, tag, type Tag } from '../../../host/dicom/model.js';
import { checkSignatures } from '../../../host/dicom/signatures.js';
import { writeMacStream } from '../../../host/dicom/mac.js';
import { decodeString } from '../../../host/dicom/values.js';
import { UID } from '../../../host/dicom/uids.js';
import { newSeed, seedSigner } from '../../../host/keys/ed25519.js';
import { issueCertificate } from '../../../host/keys/x509.js';
import { RADSEAL_ARC } from '../../../host/keys/pki/profiles.js';
import { reconcile, ReconcileError, type ReconcileOptions } from '../../../host/ingest/reconcile.js';
import { asCaptured } from '../../../host/ingest/as-captured.js';
import { HISTORY, withoutSignatures } from '../../../host/ingest/reconcilable.js';
import { loadPacsSigner } from '../../../host/ingest/pacs-signer.js';
import { startReconcileService } from '../../../host/ingest/reconcile-service.js';
import { register as registerReconcile } from '../../../host/cli/reconcile.js';
import { writeEd25519KeyFile } from '../../../host/keys/filestore.js';
import { toPem } from '../../../host/keys/pem.js';
import { makeIdentities, python, run, sealTo, tempDir, testFrame } from '../dicom/fixtures.js';

const T = {
  patientName: tag(0x0010, 0x0010),
  patientId: tag(0x0010, 0x0020),
  issuer: tag(0x0010, 0x0021),
  studyDescription: tag(0x0008, 0x1030),
  accession: tag(0x0008, 0x0050),
  rows: tag(0x0028, 0x0010),
  pixelSpacing: tag(0x0018, 0x1164),
  sopInstanceUid: tag(0x0008, 0x0018),
};

async function pacsIdentity(): Promise<Pick<ReconcileOptions, 'signer' | 'certificateDer' | 'modifyingSystem'>> {
  const signer = seedSigner(newSeed());
  // The PACS signer profile (EKU radseal .2.3) as host/keys/pki will issue it.
  const certificateDer = await issueCertificate({ subject: { commonName: 'PACS-1', organization: 'radseal pacs' }, subjectPublicKey: signer.publicKey, issuerSigner: signer, extendedKeyUsage: [`${RADSEAL_ARC}.2.3`] });
  return { signer, certificateDer, modifyingSystem: 'PACS-1' };
}

async function sealed(dir: string, withEverything = false): Promise<{ bytes: Uint8Array; ds: DataSet }> {
  const ids = await makeIdentities(dir);
  const bytes = withEverything
    ? await sealTo(join(dir, 'sealed.dcm'), testFrame(96, 80, 14, 5), ids.deviceWithEcdsa, { technologist: ids.technologist })
    : await sealTo(join(dir, 'sealed.dcm'), testFrame(96, 80, 14, 5), ids.device);
  return { bytes, ds: readPart10(bytes).dataSet };
}

/** Written and read back, as a PACS would store and serve it. */
function roundTrip(ds: DataSet): DataSet {
  const uid = decodeString(findElement(ds, T.sopInstanceUid)?.value);
  return readPart10(encodePart10({ sopClassUid: UID.dxImageStorageForPresentation, sopInstanceUid: uid }, ds)).dataSet;
}

function macStream(ds: DataSet, signedTags: Tag[]): Buffer {
  const chunks: Uint8Array[] = [];
  writeMacStream(ds, signedTags, [], (c) => chunks.push(c.slice()));
  return Buffer.concat(chunks);
}

const hex = (ds: DataSet) => Buffer.from(encodeDataSet(ds)).toString('hex');

test('a correction rebuilds to exactly the sealed data set: capture signatures hold there, the PACS signature over the corrected object', async (t) => {
  const dir = tempDir(t, 'radseal-reconcile-');
  const original = await sealed(dir, true);
  const pacs = await pacsIdentity();
  const r = await reconcile(original.ds, [
    { tag: T.patientId, newValue: 'PID-7777' },
    { tag: T.patientName, newValue: 'Doe^John' },
    { tag: T.issuer, newValue: 'HOSPITAL-A' }, // absent at capture
    { tag: T.studyDescription, newValue: 'Chest PA' }, // present and empty at capture
  ], { ...pacs, time: new Date('2026-12-03T08:00:00Z') });
  assert.equal(r.removedSignatures, 0);
  assert.deepEqual(r.changes.map((c) => [c.before, c.after]), [['PID-0001', 'PID-7777'], ['Test^Patient', 'Doe^John'], ['', 'HOSPITAL-A'], ['', 'Chest PA']]);
  assert.equal(decodeString(findElement(original.ds, T.patientId)?.value), 'PID-0001', 'the input is left alone');
  const current = roundTrip(r.dataSet);
  assert.equal(decodeString(findElement(current, T.patientId)?.value), 'PID-7777');

  const now = checkSignatures(current);
  assert.equal(now.length, 5);
  const pacsCheck = now.find((c) => c.macId === r.macId)!;
  assert.equal(pacsCheck.valid, true, pacsCheck.problems.join('; '));
  assert.equal(pacsCheck.purposeCode, '5');
  assert.ok(pacsCheck.signedTags.includes(HISTORY.originalAttributesSequence), 'the history is inside the PACS MAC');
  assert.ok(now.filter((c) => c.macId !== r.macId).every((c) => !c.valid), 'capture signatures do not hold over the corrected object');

  const back = asCaptured(current);
  assert.deepEqual(back.problems, []);
  assert.equal(hex(back.dataSet), hex(original.ds), 'the rebuilt data set is the sealed one, byte for byte');
  for (const c of checkSignatures(original.ds)) {
    assert.ok(macStream(back.dataSet, c.signedTags).equals(macStream(original.ds, c.signedTags)), `MAC stream of signature #${c.macId}`);
  }
  const rebuiltChecks = checkSignatures(back.dataSet);
  assert.equal(rebuiltChecks.length, 4);
  for (const c of rebuiltChecks) assert.equal(c.valid, true, `capture signature #${c.macId}: ${c.problems.join('; ')}`);

  assert.equal(back.corrections.length, 1);
  const [c] = back.corrections;
  assert.deepEqual([c!.time?.toISOString(), c!.modifyingSystem, c!.reason, c!.sourceOfPreviousValues], ['2026-12-03T08:00:00.000Z', 'PACS-1', 'CORRECT', 'DX-ROOM-3']);
  assert.deepEqual(c!.changes.map((x) => [x.name, x.before, x.after]), [
    ['Study Description', '', 'Chest PA'],
    ["Patient's Name", 'Test^Patient', 'Doe^John'],
    ['Patient ID', 'PID-0001', 'PID-7777'],
    ['Issuer of Patient ID', '', 'HOSPITAL-A'],
  ]);
  assert.equal(findElement(back.dataSet, T.issuer), undefined, 'an attribute absent at capture is absent again');
  assert.equal(findElement(back.dataSet, T.studyDescription)?.value?.length, 0, 'an attribute empty at capture is empty again');
});

test('two corrections in sequence: both recorded, the first PACS signature replaced, the rebuild undoes both', async (t) => {
  const dir = tempDir(t, 'radseal-reconcile2-');
  const original = await sealed(dir);
  const pacs = await pacsIdentity();
  const first = await reconcile(original.ds, [{ tag: T.patientId, newValue: 'TRAUMA-17' }], pacs);
  const second = await reconcile(roundTrip(first.dataSet), [{ tag: T.patientId, newValue: 'PID-4242' }, { tag: T.accession, newValue: 'ACC-99' }], { ...pacs, reason: 'COERCE', purpose: 'review' });
  assert.equal(second.removedSignatures, 1);
  assert.equal(second.macId, first.macId, 'the old PACS signature is gone, the new one takes its MAC ID');
  const current = roundTrip(second.dataSet);
  const checks = checkSignatures(current);
  assert.equal(checks.length, 3, 'two device signatures and one PACS signature');
  assert.equal(checks.find((c) => c.macId === second.macId)?.valid, true);
  assert.equal(checks.find((c) => c.macId === second.macId)?.purposeCode, '13');

  const back = asCaptured(current);
  assert.deepEqual(back.problems, []);
  assert.equal(hex(back.dataSet), hex(original.ds));
  for (const c of checkSignatures(back.dataSet)) assert.equal(c.valid, true, c.problems.join('; '));
  assert.deepEqual(back.corrections.map((c) => [c.reason, c.changes.map((x) => `${x.name}: ${x.before} -> ${x.after}`)]), [
    ['CORRECT', ['Patient ID: PID-0001 -> TRAUMA-17']],
    ['COERCE', ['Accession Number: ACC-1 -> ACC-99', 'Patient ID: TRAUMA-17 -> PID-4242']],
  ]);
});

test('what is shown or measured is refused by reconcile and flagged by asCaptured when forged into a record', async (t) => {
  const dir = tempDir(t, 'radseal-reconcile3-');
  const original = await sealed(dir);
  const pacs = await pacsIdentity();
  for (const bad of [T.rows, T.pixelSpacing, T.sopInstanceUid]) {
    await assert.rejects(reconcile(original.ds, [{ tag: bad, newValue: '1' }], pacs), (e: Error) => e instanceof ReconcileError && /not reconcilable/.test(e.message));
  }
  await assert.rejects(reconcile(original.ds, [{ tag: T.patientId, newValue: 'PID-0001' }], pacs), /nothing to change/);
  await assert.rejects(reconcile(original.ds, [{ tag: T.patientId, newValue: 'A\\B' }], pacs), /control characters/);
  await assert.rejects(reconcile(original.ds, [{ tag: T.patientName, newValue: 'Müller^Jörg' }], { ...pacs, modifyingSystem: '' }), /Modifying System is required/);

  // A forged record: Rows "restored" from 200 (a PACS that shrank the image and called it a correction).
  const r = await reconcile(original.ds, [{ tag: T.patientId, newValue: 'X-1' }], pacs);
  const history = findElement(r.dataSet, HISTORY.originalAttributesSequence)!;
  const record = findElement(history.items![0]!, HISTORY.modifiedAttributesSequence)!.items![0]!;
  record.push({ tag: T.rows, vr: 'US', value: new Uint8Array([200, 0]) });
  record.push({ tag: tag(0x0010, 0x1002), vr: 'SQ', items: [[]] });
  const back = asCaptured(r.dataSet);
  assert.ok(back.problems.some((p) => /\(0028,0010\) was changed, and it is not a reconcilable attribute/.test(p)), back.problems.join('\n'));
  assert.ok(back.problems.some((p) => /nested sequence \(0010,1002\)/.test(p)), back.problems.join('\n'));
  await assert.rejects(reconcile(r.dataSet, [{ tag: T.patientId, newValue: 'X-2' }], pacs), /history is unusable/);

  // An item without its record, with a malformed time and an unknown reason.
  const broken = roundTrip((await reconcile(original.ds, [{ tag: T.patientId, newValue: 'X-1' }], pacs)).dataSet);
  const item = findElement(broken, HISTORY.originalAttributesSequence)!.items![0]!;
  item.splice(0, item.length,
    { tag: HISTORY.attributeModificationDateTime, vr: 'DT', value: new TextEncoder().encode('2026-12-03') },
    { tag: HISTORY.modifyingSystem, vr: 'LO', value: new TextEncoder().encode('PACS-1') },
    { tag: HISTORY.reasonForTheAttributeModification, vr: 'CS', value: new TextEncoder().encode('UPDATE') });
  const problems = asCaptured(broken).problems.join('\n');
  assert.match(problems, /no Modified Attributes Sequence/);
  assert.match(problems, /Attribute Modification DateTime \(0400,0562\) is malformed/);
  assert.match(problems, /"UPDATE", not CORRECT or COERCE/);
});

test('a changed record of the previous value breaks the rebuild: the device signature fails over it', async (t) => {
  const dir = tempDir(t, 'radseal-reconcile4-');
  const original = await sealed(dir);
  const r = await reconcile(original.ds, [{ tag: T.patientId, newValue: 'PID-7777' }], await pacsIdentity());
  const current = roundTrip(r.dataSet);
  const record = findElement(findElement(current, HISTORY.originalAttributesSequence)!.items![0]!, HISTORY.modifiedAttributesSequence)!.items![0]!;
  const recorded = findElement(record, T.patientId)!;
  recorded.value = new TextEncoder().encode('PID-0002'); // same length, one digit changed
  const back = asCaptured(current);
  assert.deepEqual(back.problems, [], 'the record itself is well-formed');
  assert.equal(back.corrections[0]!.changes[0]!.before, 'PID-0002');
  const checks = checkSignatures(back.dataSet);
  assert.ok(checks.length > 0 && checks.every((c) => !c.valid), 'no capture signature holds over the forged history');
  assert.equal(checkSignatures(current).find((c) => c.macId === r.macId)?.valid, false, 'and the PACS signature no longer holds either');
  // Nor will a PACS countersign it.
  await assert.rejects(reconcile(current, [{ tag: T.patientId, newValue: 'PID-8888' }], await pacsIdentity()), /capture signature #1 does not hold/);
});

test('the corrected object is well-formed: pydicom reads it with warnings as errors, dciodvfy adds no error', async (t) => {
  const dir = tempDir(t, 'radseal-reconcile5-');
  const original = await sealed(dir, true);
  const r = await reconcile(original.ds, [{ tag: T.patientId, newValue: 'PID-7777' }, { tag: T.issuer, newValue: 'HOSPITAL-A' }, { tag: T.patientName, newValue: 'Müller^Jörg' }], await pacsIdentity());
  const uid = decodeString(findElement(original.ds, T.sopInstanceUid)?.value);
  const file = join(dir, 'reconciled.dcm');
  writeFileSync(file, encodePart10({ sopClassUid: UID.dxImageStorageForPresentation, sopInstanceUid: uid }, r.dataSet));
  const out = python(`
import sys, warnings, pydicom
warnings.simplefilter('error')
pydicom.config.settings.reading_validation_mode = pydicom.config.RAISE
ds = pydicom.dcmread(sys.argv[1])
for elem in ds.iterall():
    elem.value
item = ds.OriginalAttributesSequence[0]
m = item.ModifiedAttributesSequence[0]
print(ds.PatientID, ds.PatientName, ds.IssuerOfPatientID)
print(m.PatientID, repr(m.IssuerOfPatientID), m.PatientName)
print(item.ModifyingSystem, item.ReasonForTheAttributeModification, item.SourceOfPreviousValues)
`, [file]).trim().split('\n');
  assert.deepEqual(out, ['PID-7777 Müller^Jörg HOSPITAL-A', "PID-0001 '' Test^Patient", 'PACS-1 CORRECT DX-ROOM-3']);
  const errors = (f: string) => { const v = run('dciodvfy', [f]); return (v.stdout + v.stderr).split('\n').filter((l) => /^Error/.test(l)); };
  assert.deepEqual(errors(file), errors(join(dir, 'sealed.dcm')), 'dciodvfy: no new errors');
  assert.deepEqual(errors(file), []);
});

async function pacsKeyFiles(dir: string, id = 'PACS-1'): Promise<{ key: string; cert: string }> {
  const seed = newSeed();
  const signer = seedSigner(seed);
  const der = await issueCertificate({ subject: { commonName: id, organization: 'radseal pacs' }, subjectPublicKey: signer.publicKey, issuerSigner: signer, extendedKeyUsage: [`${RADSEAL_ARC}.2.3`] });
  const paths = { key: join(dir, `${id}.key`), cert: join(dir, `${id}.crt`) };
  writeEd25519KeyFile(paths.key, seed);
  writeFileSync(paths.cert, toPem('CERTIFICATE', der));
  return paths;
}

async function cli(args: string[]): Promise<void> {
  const program = new Command('radseal').exitOverride();
  registerReconcile(program);
  await program.parseAsync(['node', 'radseal', ...args]);
}

test('radseal reconcile: writes a new file atomically, never over an existing one, and refuses a key others can read', async (t) => {
  const dir = tempDir(t, 'radseal-reconcile-cli-');
  const original = await sealed(dir);
  const keys = await pacsKeyFiles(dir);
  const out = join(dir, 'corrected.dcm');
  const args = ['reconcile', join(dir, 'sealed.dcm'), '--set', '0010,0020=PID-7777', '--set', 'PatientName=Doe^John', '--key', keys.key, '--cert', keys.cert, '--system', 'PACS-1', '--out', out];
  await cli(args);
  const current = readPart10(readFileSync(out)).dataSet;
  assert.equal(decodeString(findElement(current, T.patientName)?.value), 'Doe^John');
  const back = asCaptured(current);
  assert.deepEqual(back.problems, []);
  assert.equal(hex(back.dataSet), hex(original.ds));
  assert.ok(checkSignatures(current).some((c) => c.valid && c.purposeCode === '5'));
  await assert.rejects(cli(args), /already exists; refusing to overwrite/);
  await assert.rejects(cli([...args.slice(0, -1), join(dir, 'x.dcm'), '--set', 'Rows=1']), /neither a tag .* nor the keyword/);
  await assert.rejects(cli([...args.slice(0, -1), join(dir, 'x.dcm'), '--set', '0028,0010=1']), /not reconcilable/);
  chmodSync(keys.key, 0o644);
  await assert.rejects(cli([...args.slice(0, -1), join(dir, 'y.dcm')]), /accessible by others/);
  assert.equal(existsSync(join(dir, 'x.dcm')) || existsSync(join(dir, 'y.dcm')), false);

  // A second PACS extends the first one's correction only when told to trust its signer.
  const second = await pacsKeyFiles(dir, 'PACS-2');
  const again = ['reconcile', out, '--set', 'AccessionNumber=ACC-2', '--key', second.key, '--cert', second.cert, '--system', 'PACS-2', '--out'];
  await assert.rejects(cli([...again, join(dir, 'z.dcm')]), /not vouched for: signed by PACS-1/);
  await cli([...again, join(dir, 'z.dcm'), '--trust', keys.cert]);
  const twice = asCaptured(readPart10(readFileSync(join(dir, 'z.dcm'))).dataSet);
  assert.deepEqual(twice.corrections.map((c) => c.modifyingSystem), ['PACS-1', 'PACS-2']);
  assert.equal(hex(twice.dataSet), hex(original.ds));
});

test('POST /reconcile answers the corrected, PACS-signed object; refusals are named', async (t) => {
  const dir = tempDir(t, 'radseal-reconcile-http-');
  const original = await sealed(dir);
  const keys = await pacsKeyFiles(dir);
  const service = await startReconcileService({ host: '127.0.0.1', port: 0, pacs: loadPacsSigner(keys.key, keys.cert), modifyingSystem: 'PACS-1' });
  t.after(() => service.close());
  const post = (query: string) => fetch(`http://127.0.0.1:${service.port}/reconcile?${query}`, { method: 'POST', body: Buffer.from(original.bytes), headers: { 'content-type': 'application/dicom' } });
  const ok = await post(new URLSearchParams([['set', '0010,0020=PID-7777'], ['set', 'PatientName=Müller^Jörg'], ['reason', 'COERCE']]).toString());
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.headers.get('x-radseal-changes')!), [
    { tag: '(0010,0020)', before: 'PID-0001', after: 'PID-7777' },
    { tag: '(0010,0010)', before: 'Test^Patient', after: 'Müller^Jörg' },
  ]);
  const current = readPart10(new Uint8Array(await ok.arrayBuffer())).dataSet;
  assert.equal(checkSignatures(current).find((c) => c.signatureUid === ok.headers.get('x-radseal-signature-uid'))?.valid, true);
  const back = asCaptured(current);
  assert.equal(back.corrections[0]!.reason, 'COERCE');
  assert.equal(hex(back.dataSet), hex(original.ds));
  const refused = await post('set=0028,0010=1');
  assert.equal(refused.status, 422);
  assert.match(((await refused.json()) as { error: string }).error, /not reconcilable/);
  assert.equal((await post('reason=CORRECT')).status, 400);
});

test('a PACS never countersigns a history it cannot vouch for: a value changed since the last correction, a history signed by another key', async (t) => {
  const dir = tempDir(t, 'radseal-reconcile-launder-');
  const original = await sealed(dir);
  const pacs = await pacsIdentity();
  const first = roundTrip((await reconcile(original.ds, [{ tag: T.patientId, newValue: 'PID-7777' }], pacs)).dataSet);
  // Patient ID changed after the correction: the record still rebuilds the capture, but the PACS signature fails.
  const changed = first.map((e) => (e.tag === T.patientId ? { ...e, value: new TextEncoder().encode('EVIL-666') } : e));
  assert.deepEqual(checkSignatures(asCaptured(changed).dataSet).filter((c) => !c.valid), [], 'capture signatures hold over the rebuild');
  await assert.rejects(reconcile(changed, [{ tag: T.accession, newValue: 'ACC-2' }], pacs), /reconciliation signature #3 does not hold/);
  // Another key's history is not taken on trust by default, and is when the caller vouches for it.
  const other = await pacsIdentity();
  await assert.rejects(reconcile(first, [{ tag: T.accession, newValue: 'ACC-2' }], other), /not vouched for: signed by PACS-1, not by this PACS signer's key/);
  const accepted = await reconcile(first, [{ tag: T.accession, newValue: 'ACC-2' }], { ...other, trustHistorySigner: (c) => (c.certificate?.commonName === 'PACS-1' ? null : 'unknown') });
  assert.equal(accepted.removedSignatures, 1);
  // A history without any reconciliation signature is refused.
  const unsigned = withoutHistorySignature(first);
  await assert.rejects(reconcile(unsigned, [{ tag: T.accession, newValue: 'ACC-2' }], pacs), /no reconciliation signature covers/);
});

function withoutHistorySignature(ds: DataSet): DataSet {
  const drop = new Set(checkSignatures(ds).filter((c) => c.signedTags.includes(HISTORY.originalAttributesSequence)).map((c) => c.macId));
  return withoutSignatures(ds, drop);
}
