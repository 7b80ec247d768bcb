// What verify no longer recomputes, and that it never lets anything through for it:
// - the capture attestation's pixel hash (the tile table) is recomputed only when some signature
//   fails or none proves the pixels; a tampered object is tampered with the same tamper map
//   whichever path ran, and --full-pixel-check (fullPixelCheck) always recomputes it;
// - an ECDSA P-256 signature made with the same MAC algorithm over the same elements as an
//   Ed25519 one is checked against their shared MAC digest (one pass over the pixels for both),
//   with DCMTK dcmsign as the independent oracle: its ECDSA signatures (either half of s) verify
//   here, radseal's pass `dcmsign --verify`, and a changed pixel fails both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { verifyFiles } from '../../../host/ingest/pool/verify-pool.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { encodePart10 } from '../../../host/dicom/writer.js';
import { findElement, tag, type DataSet } from '../../../host/dicom/model.js';
import { TAGS } from '../../../host/dicom/mac.js';
import { decodeAT, decodeString, decodeUS } from '../../../host/dicom/values.js';
import { addSignature, checkSignatures, PURPOSE, SIG } from '../../../host/dicom/signatures.js';
import { attestationTags, CAPTURE_BLOCK } from '../../../host/dicom/attestation.js';
import { makeIdentities, run, sealTo, tempDir, testFrame } from '../dicom/fixtures.js';

const PIXEL_DATA = tag(0x7fe0, 0x0010);
const trustOf = (...pems: string[]) => parseCertificates(Buffer.from(pems.map((p) => readFileSync(p, 'utf8')).join('')));

/** Flips one bit of the pixel at (y, x) of a cols-wide frame, in a copy of the file. */
function withPixelChanged(bytes: Uint8Array, cols: number, y: number, x: number): Buffer {
  const copy = Buffer.from(bytes);
  const off = findElement(readPart10(copy).dataSet, PIXEL_DATA)!.value!.byteOffset;
  copy[off + (y * cols + x) * 2]! ^= 0x10;
  return copy;
}

const toFile = (ds: DataSet) => encodePart10({ sopClassUid: decodeString(findElement(ds, tag(0x0008, 0x0016))!.value), sopInstanceUid: decodeString(findElement(ds, tag(0x0008, 0x0018))!.value) }, ds);

test('a trusted device signature proves the pixels; the pixel hash and tile table are recomputed whenever a signature fails', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const trust = trustOf(ids.trustPem);
  const file = join(dir, 'sealed.dcm');
  const bytes = await sealTo(file, testFrame(96, 160), ids.deviceWithEcdsa, { technologist: ids.technologist }); // 2 x 3 tiles of 64 px

  const fast = verifyObject(file, bytes, trust);
  assert.equal(fast.verdict, 'authentic', fast.reasons.join('; '));
  assert.deepEqual(fast.pixelCheck, { by: 'device-signature', macId: 1 });
  assert.equal(fast.pixelsIntact, true);
  const full = verifyObject(file, bytes, trust, { fullPixelCheck: true });
  assert.deepEqual(full.pixelCheck, { by: 'pixel-hash' });
  assert.deepEqual({ ...full, pixelCheck: undefined }, { ...fast, pixelCheck: undefined }, 'the same report either way');

  // A changed pixel: every signature over Pixel Data fails, so the hash is recomputed and the tile named.
  const tampered = withPixelChanged(bytes, 160, 70, 5);
  for (const opts of [{}, { fullPixelCheck: true }]) {
    const r = verifyObject('t.dcm', tampered, trust, opts);
    assert.equal(r.verdict, 'tampered');
    assert.deepEqual(r.pixelCheck, { by: 'pixel-hash' });
    assert.equal(r.pixelsIntact, false);
    assert.deepEqual(r.tamperedTiles, { size: 64, rows: 2, cols: 3, tiles: [[1, 0]], tableAuthenticated: true });
    assert.deepEqual(r.signatures.map((s) => [s.role, s.algorithm, s.valid]), [
      ['device', 'Ed25519', false], ['device-attributes', 'Ed25519', true], ['device', 'ECDSA-P256', false], ['technologist', 'Ed25519', false],
    ]);
  }

  // A changed attribute: the pixels still match the hash, and the report says how that was found.
  const renamed = Buffer.from(bytes);
  renamed[renamed.indexOf(Buffer.from('Test^Patient'))] = 0x42;
  const a = verifyObject('a.dcm', renamed, trust);
  assert.equal(a.verdict, 'tampered');
  assert.deepEqual(a.pixelCheck, { by: 'pixel-hash' });
  assert.equal(a.pixelsIntact, true);
  assert.ok(a.reasons.some((x) => x.startsWith('pixels intact')), a.reasons.join('; '));

  // A valid device signature that is not trusted proves nothing: recomputed.
  const untrusted = verifyObject(file, bytes, trustOf(ids.certs.technologist));
  assert.equal(untrusted.verdict, 'untrusted');
  assert.deepEqual(untrusted.pixelCheck, { by: 'pixel-hash' });
  assert.equal(untrusted.pixelsIntact, true);
});

test('what the shortcut leaves to the device: a pixel hash the device itself signed wrong is found only by the full check', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const trust = trustOf(ids.trustPem);
  const sealed = join(dir, 'sealed.dcm');
  await sealTo(sealed, testFrame(64, 64), ids.device);
  const bare = join(dir, 'bare.dcm');
  assert.equal(run('dcmsign', ['--remove-all', sealed, bare]).status, 0);
  const ds = readPart10(readFileSync(bare)).dataSet;
  const hash = findElement(ds, attestationTags(CAPTURE_BLOCK).pixelDataSha256)!.value!;
  hash[0]! ^= 0xff;
  await addSignature(ds, { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source });
  const bytes = toFile(ds);
  // Only the device's key can make this object, and with it any pixels could be signed with a
  // matching hash: the signature is the proof. The full check still finds the device's error.
  const fast = verifyObject('wrong-hash.dcm', bytes, trust);
  assert.equal(fast.verdict, 'authentic', fast.reasons.join('; '));
  assert.deepEqual(fast.pixelCheck, { by: 'device-signature', macId: 1 });
  const full = verifyObject('wrong-hash.dcm', bytes, trust, { fullPixelCheck: true });
  assert.equal(full.verdict, 'tampered');
  assert.equal(full.pixelsIntact, false);
  assert.ok(full.reasons.includes('Pixel Data does not match the pixel hash in the capture attestation: the image was changed'), full.reasons.join('; '));

  // A device signature that leaves the pixel hash out of its list does not prove it: recomputed (and
  // found wrong), whatever the signature over Pixel Data says.
  const ds2 = readPart10(readFileSync(bare)).dataSet;
  findElement(ds2, attestationTags(CAPTURE_BLOCK).pixelDataSha256)!.value![0]! ^= 0xff;
  const listed = ds2.filter((e) => e.tag >= 0x00080000 && e.tag !== attestationTags(CAPTURE_BLOCK).pixelDataSha256).map((e) => e.tag);
  await addSignature(ds2, { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source, signedTags: listed });
  const r = verifyObject('unlisted.dcm', toFile(ds2), trust);
  assert.deepEqual(r.pixelCheck, { by: 'pixel-hash' });
  assert.notEqual(r.verdict, 'authentic');
});

/** dcmsign --verify's line for the signature with this UID: "OK" or why not. */
function dcmsignSays(file: string, signatureUid: string): string {
  const out = run('dcmsign', ['--verify', file]);
  const text = out.stdout + out.stderr;
  const at = text.indexOf(`UID=${signatureUid}`);
  assert.ok(at >= 0, `dcmsign lists no signature ${signatureUid}: ${text}`);
  const line = /Signature Verification\s*:\s*(.*)/.exec(text.slice(at))!;
  return line[1]!;
}
const dcmsignOk = (says: string) => says === 'OK' || says.startsWith('signature is OK');

/** The signature items with their MAC algorithm and signed tags. */
function signatures(ds: DataSet): Array<{ uid: string; alg: string; tags: number[]; item: DataSet }> {
  const macs = findElement(ds, TAGS.macParametersSequence)!.items!;
  return findElement(ds, TAGS.digitalSignaturesSequence)!.items!.map((item) => {
    const id = decodeUS(findElement(item, SIG.macIdNumber)!.value);
    const mac = macs.find((m) => decodeUS(findElement(m, SIG.macIdNumber)!.value) === id)!;
    return { uid: decodeString(findElement(item, SIG.digitalSignatureUid)!.value), alg: decodeString(findElement(mac, SIG.macAlgorithm)!.value), tags: decodeAT(findElement(mac, SIG.dataElementsSigned)!.value!), item };
  });
}

test('ECDSA over the MAC digest an Ed25519 signature shares: dcmsign as the oracle, either way round, either half of s', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const trust = trustOf(ids.trustPem);
  const sealed = join(dir, 'sealed.dcm');
  await sealTo(sealed, testFrame(64, 96), ids.device);
  const bare = join(dir, 'bare.dcm');
  assert.equal(run('dcmsign', ['--remove-all', sealed, bare]).status, 0);
  const n = p256.Point.CURVE().n;

  for (let i = 0; i < 3; i++) {
    // DCMTK signs first (SHA-512 MAC, every element); radseal's Ed25519 device signature lists the same elements.
    const byDcmtk = join(dir, `dcmtk-${i}.dcm`);
    const s = run('dcmsign', ['--sign', ids.certs.ecdsaKey, ids.certs.ecdsa, '+m5', '+sp', '14', bare, byDcmtk]);
    assert.equal(s.status, 0, s.stderr);
    const ds = readPart10(readFileSync(byDcmtk)).dataSet;
    const [dcmtk] = signatures(ds);
    await addSignature(ds, { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source, signedTags: dcmtk!.tags, macAlgorithm: 'SHA512' });
    const both = toFile(ds);
    const [first, second] = signatures(readPart10(both).dataSet);
    assert.deepEqual([first!.alg, second!.alg], ['SHA512', 'SHA512']);
    assert.deepEqual(second!.tags, first!.tags, 'one MAC pass for both: the same elements, the same algorithm');
    const file = join(dir, `both-${i}.dcm`);
    writeFileSync(file, both);
    assert.ok(dcmsignOk(dcmsignSays(file, dcmtk!.uid)), 'positive control: dcmsign still checks its own signature');
    const r = verifyObject(file, both, trust);
    assert.equal(r.verdict, 'authentic', r.reasons.join('; '));
    assert.deepEqual(r.signatures.map((x) => [x.algorithm, x.valid]), [['ECDSA-P256', true], ['Ed25519', true]]);

    // The other half of s: OpenSSL (and so DCMTK) accepts it, and so must the digest check.
    const value = findElement(first!.item, TAGS.signature)!.value!;
    const sig = p256.Signature.fromBytes(value.subarray(0, 2 + value[1]!), 'der');
    let flipped = new p256.Signature(sig.r, n - sig.s).toBytes('der');
    if (flipped.length % 2) flipped = Uint8Array.from([...flipped, 0]);
    const dsFlipped = readPart10(both).dataSet;
    findElement(signatures(dsFlipped)[0]!.item, TAGS.signature)!.value = flipped;
    const flippedFile = join(dir, `flipped-${i}.dcm`);
    writeFileSync(flippedFile, toFile(dsFlipped));
    assert.ok(dcmsignOk(dcmsignSays(flippedFile, dcmtk!.uid)), 'dcmsign accepts the other half of s');
    assert.deepEqual(checkSignatures(readPart10(readFileSync(flippedFile)).dataSet).map((c) => c.valid), [true, true]);

    // One pixel changed: dcmsign and radseal both refuse the ECDSA signature, and the Ed25519 one.
    const tamperedFile = join(dir, `tampered-${i}.dcm`);
    writeFileSync(tamperedFile, withPixelChanged(both, 96, 10, 10));
    assert.ok(!dcmsignOk(dcmsignSays(tamperedFile, dcmtk!.uid)), 'oracle: the tampered copy fails dcmsign');
    const tr = verifyObject(tamperedFile, readFileSync(tamperedFile), trust);
    assert.equal(tr.verdict, 'tampered');
    assert.deepEqual(tr.signatures.map((x) => [x.algorithm, x.valid]), [['ECDSA-P256', false], ['Ed25519', false]]);

    // A signature value changed by one bit in r: refused (and not because the digest was skipped).
    const dsBadR = readPart10(both).dataSet;
    const badR = Uint8Array.from(value);
    badR[value.length - 40]! ^= 0x01;
    findElement(signatures(dsBadR)[0]!.item, TAGS.signature)!.value = badR;
    assert.deepEqual(checkSignatures(dsBadR).map((c) => c.valid), [false, true]);
  }

  // radseal signs the other way round (Ed25519 first, ECDSA with the same MAC algorithm after): dcmsign accepts it.
  const ds = readPart10(readFileSync(bare)).dataSet;
  await addSignature(ds, { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source });
  const ecdsa = ids.deviceWithEcdsa.ecdsa!;
  const { signatureUid } = await addSignature(ds, { signer: ecdsa.signer, certificateDer: ecdsa.certificateDer, purpose: PURPOSE.source, macAlgorithm: 'SHA512' });
  const ours = join(dir, 'radseal-ecdsa-sha512.dcm');
  writeFileSync(ours, toFile(ds));
  const sigs = signatures(readPart10(readFileSync(ours)).dataSet);
  assert.deepEqual(sigs[1]!.tags, sigs[0]!.tags);
  assert.ok(dcmsignOk(dcmsignSays(ours, signatureUid)), 'oracle: dcmsign accepts radseal\'s ECDSA signature');
  const r = verifyObject(ours, readFileSync(ours), trust);
  assert.equal(r.verdict, 'authentic', r.reasons.join('; '));
  assert.deepEqual(r.signatures.map((x) => [x.algorithm, x.valid]), [['Ed25519', true], ['ECDSA-P256', true]]);
});

test('the verify pool passes fullPixelCheck to its workers', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const file = join(dir, 'sealed.dcm');
  await sealTo(file, testFrame(64, 64), ids.device);
  const by = async (fullPixelCheck?: boolean) => {
    const out: unknown[] = [];
    for await (const r of verifyFiles([file], { trust: ids.trustPem, workers: 1, describe: false, fullPixelCheck })) out.push(r.report?.pixelCheck);
    return out;
  };
  assert.deepEqual(await by(), [{ by: 'device-signature', macId: 1 }]);
  assert.deepEqual(await by(true), [{ by: 'pixel-hash' }]);
});
