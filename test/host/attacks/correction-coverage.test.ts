// A PACS correction (Original Attributes Sequence + the PACS signature) vouches for what it records
// and nothing else. The PACS signs every element present when it corrects a Patient ID, so an
// element someone added after capture and before the correction (an overlay drawing on the image,
// a Pixel Spacing changing every measurement) would be covered by that signature without ever being
// recorded or named: an honest correction must not launder it into "authentic".
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/run.js';
import { sealedObject, verifyLib, expectVerdict, type Sealed } from './support.js';
import { edit, insertSorted, us, str, bin, t, type Node } from '../../attacks/part10.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { encodePart10 } from '../../../host/dicom/writer.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { decodeString } from '../../../host/dicom/values.js';
import { newSeed, seedSigner } from '../../../host/keys/ed25519.js';
import { issueCertificate } from '../../../host/keys/x509.js';
import { RADSEAL_ARC } from '../../../host/keys/pki/profiles.js';
import { reconcile } from '../../../host/ingest/reconcile.js';
import { addSignature, PURPOSE } from '../../../host/dicom/signatures.js';
import { toPem } from '../../../host/keys/pem.js';

const dir = tempDir('radseal-attack-correction-');
let s: Sealed;
let pacs: { signer: ReturnType<typeof seedSigner>; certificateDer: Uint8Array };
let trustPem = '';

before(async () => {
  s = await sealedObject(dir);
  const signer = seedSigner(newSeed());
  const certificateDer = await issueCertificate({ subject: { commonName: 'PACS-1', organization: 'radseal pacs' }, subjectPublicKey: signer.publicKey, issuerSigner: signer, extendedKeyUsage: [`${RADSEAL_ARC}.2.3`] });
  pacs = { signer, certificateDer };
  trustPem = join(dir, 'trust-with-pacs.pem');
  writeFileSync(trustPem, readFileSync(s.ids.trustPem, 'utf8') + toPem('CERTIFICATE', certificateDer));
});

/** The honest PACS correction of the Patient ID, as `radseal reconcile` makes it, of whatever `bytes` hold. */
async function corrected(bytes: Uint8Array): Promise<Uint8Array> {
  const r = await reconcile(readPart10(bytes).dataSet, [{ tag: tag(0x0010, 0x0020), newValue: 'PID-CORRECTED' }], { ...pacs, modifyingSystem: 'PACS-1' });
  return part10Of(r.dataSet);
}

function part10Of(ds: ReturnType<typeof readPart10>['dataSet']): Uint8Array {
  const text = (g: number, e: number) => decodeString(findElement(ds, tag(g, e))!.value);
  return encodePart10({ sopClassUid: text(0x0008, 0x0016), sopInstanceUid: text(0x0008, 0x0018) }, ds);
}

/**
 * `elements` added to an honestly corrected object and countersigned by the PACS key over every
 * element present, as a PACS that signs whatever it holds would (radseal reconcile refuses: below).
 */
async function launderedAfterCorrection(elements: Node[]): Promise<Uint8Array> {
  const ds = readPart10(edit(await corrected(s.bytes), (f) => { for (const e of elements) insertSorted(f.dataSet, e); })).dataSet;
  await addSignature(ds, { signer: pacs.signer, certificateDer: pacs.certificateDer, purpose: PURPOSE.verification });
  return part10Of(ds);
}

const overlay = (): Node[] => [us(t(0x6000, 0x0010), 64), us(t(0x6000, 0x0011), 80), str(t(0x6000, 0x0040), 'CS', 'G'),
  { tag: t(0x6000, 0x0050), vr: 'SS', value: new Uint8Array([1, 0, 1, 0]) }, us(t(0x6000, 0x0100), 1), us(t(0x6000, 0x0102), 0),
  bin(t(0x6000, 0x3000), 'OW', new Uint8Array((64 * 80) / 8).fill(0xff))];

test('control: an honest correction of the Patient ID is authentic and named', async () => {
  const r = verifyLib({ ids: { trustPem } }, await corrected(s.bytes));
  assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
  assert.ok(r.reasons.some((x) => /reconciled: \(0010,0020\) "PID-0001" → "PID-CORRECTED" by PACS-1/.test(x)));
});

const ADDED: Array<[string, () => Node[], RegExp]> = [
  ['an overlay plane (6000,xxxx)', overlay, /\(6000,3000\)/],
  ['Pixel Spacing (0028,0030)', () => [str(t(0x0028, 0x0030), 'DS', '0.5\\0.5')], /\(0028,0030\)/],
  ['Window Center & Width Explanation (0028,1055)', () => [str(t(0x0028, 0x1055), 'LO', 'BONE')], /\(0028,1055\)/],
];

for (const [name, elements, named] of ADDED) {
  test(`${name} added before an honest Patient ID correction: tampered, the element named, the correction still reported`, async () => {
    const r = verifyLib({ ids: { trustPem } }, await launderedAfterCorrection(elements()));
    expectVerdict(r, 'tampered', /present but covered by no trusted device signature/);
    assert.ok(r.reasons.some((x) => named.test(x)), r.reasons.join(' | '));
    assert.ok(r.signatures.every((x) => x.valid), 'every signature, the PACS one included, holds');
  });

  test(`radseal reconcile refuses to countersign an object with ${name} added after capture, naming it`, async () => {
    const added = edit(s.bytes, (f) => { for (const e of elements()) insertSorted(f.dataSet, e); });
    await assert.rejects(corrected(added), (e: Error) => e.name === 'ReconcileError' && /refusing to countersign/.test(e.message) && named.test(e.message));
  });
}
