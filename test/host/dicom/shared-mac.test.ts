// checkSignatures hashes the data elements once for Ed25519 signatures that list the same elements
// with the same algorithm (device + technologist co-signature) and finishes a copy per signature
// item. The oracle: one whole MAC stream per signature (macDigest) verified with node:crypto, on
// valid, tampered and forged objects; every signature's result must be the same either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify as cryptoVerify } from 'node:crypto';
import { addSignature, checkSignatures, macDigest, PURPOSE, SIG, type MacAlgorithm } from '../../../host/dicom/signatures.js';
import { TAGS, signableTags } from '../../../host/dicom/mac.js';
import { decodeAT, decodeString, decodeUS, str } from '../../../host/dicom/values.js';
import { findElement, tag, type DataSet } from '../../../host/dicom/model.js';
import { parseCertificate } from '../../../host/keys/certs.js';
import { makeIdentities, tempDir, type Identities } from './fixtures.js';

const PIXEL_DATA = tag(0x7fe0, 0x0010);
const PATIENT_NAME = tag(0x0010, 0x0010);

function dataSet(): DataSet {
  const pixels = new Uint8Array(64 * 64 * 2).map((_, i) => (i * 7919) & 0xff);
  return [
    str(tag(0x0008, 0x0018), 'UI', '1.2.3.4.5'),
    str(PATIENT_NAME, 'PN', 'Test^Patient'),
    { tag: PIXEL_DATA, vr: 'OW', value: pixels },
    str(tag(0x7fe1, 0x0010), 'LO', 'AFTER PIXELS'),
  ];
}

/** Device (Ed25519, SHA-512, every element), technologist (same), the device over the attributes only, and ECDSA P-256. */
async function signed(ids: Identities): Promise<DataSet> {
  const ds = dataSet();
  const all = signableTags(ds);
  await addSignature(ds, { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source, signedTags: all });
  await addSignature(ds, { signer: ids.technologist.signer, certificateDer: ids.technologist.certificateDer, purpose: PURPOSE.author, signedTags: all });
  await addSignature(ds, { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source, signedTags: all.filter((t) => t !== PIXEL_DATA) });
  const ecdsa = ids.deviceWithEcdsa.ecdsa!;
  await addSignature(ds, { signer: ecdsa.signer, certificateDer: ecdsa.certificateDer, purpose: PURPOSE.source, signedTags: all });
  return ds;
}

const items = (ds: DataSet) => findElement(ds, TAGS.digitalSignaturesSequence)!.items!;

/** The ordinary path for one Ed25519 signature: the whole MAC stream hashed anew for it alone. */
function oracle(ds: DataSet, item: DataSet): { valid: boolean; missing: number } {
  const macId = decodeUS(findElement(item, SIG.macIdNumber)!.value);
  const macItem = findElement(ds, TAGS.macParametersSequence)!.items!.find((m) => decodeUS(findElement(m, SIG.macIdNumber)!.value) === macId)!;
  const alg = decodeString(findElement(macItem, SIG.macAlgorithm)!.value) as MacAlgorithm;
  const tags = decodeAT(findElement(macItem, SIG.dataElementsSigned)!.value!);
  const { digest, missing } = macDigest(ds, tags, item, alg);
  const cert = parseCertificate(findElement(item, TAGS.certificateOfSigner)!.value!);
  const sig = findElement(item, TAGS.signature)!.value!;
  return { valid: missing.length === 0 && cryptoVerify(null, digest, cert.x509.publicKey, sig), missing: missing.length };
}

/** Every Ed25519 signature's result equals the oracle's; returns the validity of each signature in order. */
function agree(ds: DataSet): boolean[] {
  const checks = checkSignatures(ds);
  const its = items(ds);
  assert.equal(checks.length, its.length);
  checks.forEach((c, i) => {
    assert.equal(c.checked, true, c.problems.join('; '));
    if (c.algorithm !== 'Ed25519') return;
    const o = oracle(ds, its[i]!);
    assert.equal(c.valid, o.valid, `signature ${c.macId}: shared pass says ${c.valid}, a pass of its own says ${o.valid}`);
    assert.equal(c.problems.filter((p) => p.includes('is missing')).length, o.missing);
  });
  return checks.map((c) => c.valid);
}

test('shared MAC pass: the same verdict per signature as a pass of its own, valid, tampered and forged', async (t) => {
  const ids = await makeIdentities(tempDir(t));

  // Valid: all four hold.
  assert.deepEqual(agree(await signed(ids)), [true, true, true, true]);

  // A pixel changed: every signature over Pixel Data fails, the attributes-only one holds.
  let ds = await signed(ids);
  (findElement(ds, PIXEL_DATA)!.value as Uint8Array)[77] ^= 1;
  assert.deepEqual(agree(ds), [false, false, true, false]);

  // A signed attribute changed: all four fail.
  ds = await signed(ids);
  findElement(ds, PATIENT_NAME)!.value = new TextEncoder().encode('Other^Patient');
  assert.deepEqual(agree(ds), [false, false, false, false]);

  // The technologist's own item part changed (its DateTime): only that signature fails, so the
  // shared elements' hash is copied per item and not finished once for all.
  ds = await signed(ids);
  findElement(items(ds)[1]!, SIG.digitalSignatureDateTime)!.value = new TextEncoder().encode('20200101000000.000000+0000');
  assert.deepEqual(agree(ds), [true, false, true, true]);

  // Forged: the technologist's signature value swapped for the device's (a valid signature by
  // another key over another item part).
  ds = await signed(ids);
  findElement(items(ds)[1]!, TAGS.signature)!.value = findElement(items(ds)[0]!, TAGS.signature)!.value;
  assert.deepEqual(agree(ds), [true, false, true, true]);

  // Forged: a signature flipped in one bit, on the device's.
  ds = await signed(ids);
  const sig = findElement(items(ds)[0]!, TAGS.signature)!;
  sig.value = sig.value!.slice();
  sig.value[5] ^= 0x10;
  assert.deepEqual(agree(ds), [false, true, true, true]);

  // A signed element removed: every signature listing it fails and names it missing.
  ds = await signed(ids);
  ds.splice(ds.findIndex((e) => e.tag === tag(0x7fe1, 0x0010)), 1);
  assert.deepEqual(agree(ds), [false, false, false, false]);
});
