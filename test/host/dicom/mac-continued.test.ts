// A signature whose data elements were hashed ahead (e.g. while Pixel Data arrived) must be the
// signature of the whole MAC stream: checked by the ordinary verifier, which hashes everything anew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { addSignature, checkSignatures, PURPOSE } from '../../../host/dicom/signatures.js';
import { macValueHeader, signableTags, writeMacElements } from '../../../host/dicom/mac.js';
import { tag, type DataSet } from '../../../host/dicom/model.js';
import { ob, str } from '../../../host/dicom/values.js';
import { makeIdentities, tempDir } from './fixtures.js';

const PIXEL_DATA = tag(0x7fe0, 0x0010);

function dataSet(pixels: Uint8Array): DataSet {
  return [
    str(tag(0x0008, 0x0018), 'UI', '1.2.3.4'),
    str(tag(0x0010, 0x0010), 'PN', 'Test^Patient'),
    { tag: PIXEL_DATA, vr: 'OW', value: pixels },
    str(tag(0x7fe1, 0x0010), 'LO', 'AFTER PIXELS'),
  ];
}

test('a MAC hashed ahead, element by element and Pixel Data in pieces, gives a signature the verifier accepts', async (t) => {
  const ids = await makeIdentities(tempDir(t));
  const pixels = new Uint8Array(100_000).map((_, i) => (i * 7919) & 0xff);
  const ds = dataSet(pixels);
  const signedTags = signableTags(ds);
  const h = createHash('sha512');
  const before = ds.filter((e) => e.tag < PIXEL_DATA);
  writeMacElements(before, before.map((e) => e.tag), (c) => h.update(c));
  h.update(macValueHeader({ tag: PIXEL_DATA, vr: 'OW' }, pixels.length));
  for (let at = 0; at < pixels.length; at += 4096) h.update(pixels.subarray(at, at + 4096));
  const after = ds.filter((e) => e.tag > PIXEL_DATA);
  writeMacElements(after, after.map((e) => e.tag), (c) => h.update(c));
  await addSignature(ds, { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source, elementsMac: { hash: h, signedTags, algorithm: 'SHA512' } });
  // The same hash serves a second signature (a copy each time).
  await addSignature(ds, { signer: ids.technologist.signer, certificateDer: ids.technologist.certificateDer, purpose: PURPOSE.author, elementsMac: { hash: h, signedTags, algorithm: 'SHA512' } });
  const checks = checkSignatures(ds);
  assert.equal(checks.length, 2);
  for (const c of checks) assert.equal(c.valid, true, c.problems.join('; '));
});

test('a MAC hashed ahead over other bytes than the data set holds gives a signature that fails', async (t) => {
  const ids = await makeIdentities(tempDir(t));
  const pixels = new Uint8Array(4096).fill(9);
  const ds = dataSet(pixels);
  const h = createHash('sha512');
  writeMacElements(ds, signableTags(ds), (c) => h.update(c));
  pixels[100] ^= 1; // changed after it was hashed
  await addSignature(ds, { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source, elementsMac: { hash: h, signedTags: signableTags(ds), algorithm: 'SHA512' } });
  assert.equal(checkSignatures(ds)[0]!.valid, false);
});

test('a MAC hashed ahead for other tags or another algorithm is refused, not signed', async (t) => {
  const ids = await makeIdentities(tempDir(t));
  const ds = dataSet(new Uint8Array(16));
  const h = createHash('sha512');
  const base = { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source };
  await assert.rejects(addSignature(ds, { ...base, elementsMac: { hash: h, signedTags: signableTags(ds).slice(1), algorithm: 'SHA512' } }), /other elements or another algorithm/);
  await assert.rejects(addSignature(ds, { ...base, macAlgorithm: 'SHA256', elementsMac: { hash: h, signedTags: signableTags(ds), algorithm: 'SHA512' } }), /other elements or another algorithm/);
  assert.equal(checkSignatures(ds).length, 0);
});
