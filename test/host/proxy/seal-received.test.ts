// The proxy's seal without the network: the MAC stream of encapsulated Pixel Data against
// DCMTK's (dcmsign --sign … --dump), the site watermark and tile table per frame of a
// multi-frame object, and what verify says when one frame's pixels are edited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sealReceived } from '../../../host/proxy/seal-received.js';
import { markFrame } from '../../../host/seal/watermark.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { TAGS, writeMacStream } from '../../../host/dicom/mac.js';
import { SIG } from '../../../host/dicom/signatures.js';
import { decodeAT } from '../../../host/dicom/values.js';
import { readAttestation } from '../../../host/dicom/attestation.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificate } from '../../../host/keys/certs.js';
import { readCertificateDer } from '../../../host/keys/provision.js';
import { createHash, randomBytes } from 'node:crypto';
import { tileHashes } from '../../../host/core/tiles.js';
import { PYTHON, run, tempDir } from '../support/run.js';
import { makeIdentities } from '../dicom/fixtures.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { DEFAULT_POLICY } from '../../../host/ingest/policy.js';
import { makeObjects, makeVariants } from './fixtures.js';

const dir = tempDir('radseal-proxy-seal-');

async function setUp() {
  mkdirSync(join(dir, 'variants'), { recursive: true });
  const natives = makeObjects(join(dir, 'native'), 160, 192);
  const variants = makeVariants(join(dir, 'native'), join(dir, 'variants'));
  const keys = await generateDeviceKey('PROXY-ROOM-2', join(dir, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'dicom-proxy');
  const trust = [parseCertificate(readCertificateDer(keys.cert))];
  return { natives, variants, device, trust };
}
const ready = setUp();

/** The proxy's seal of a file as if it had arrived from MODALITY1 (the meta header is the file's own). */
async function seal(file: string, serial: number, extra: { watermarkKey?: Uint8Array } = {}) {
  const { device } = await ready;
  const out = await sealReceived({ part10: readFileSync(file), callingAe: 'MODALITY1', remoteAddress: '::ffff:127.0.0.1', serial }, { device, ...extra });
  assert.equal(out.kind, 'sealed');
  return out;
}

test('encapsulated Pixel Data (JPEG Lossless, JPEG-LS, RLE multi-frame, JPEG 2000): radseal\'s MAC stream equals dcmsign --dump byte for byte', async () => {
  const { variants } = await ready;
  const o = run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'rsa.key'), '-out', join(dir, 'rsa.crt'), '-subj', '/CN=dcmsign-oracle', '-days', '2']);
  assert.equal(o.code, 0, o.stderr);
  for (const [i, file] of variants.encapsulated.entries()) {
    const sealed = join(dir, `enc-${i}.dcm`);
    writeFileSync(sealed, (await seal(file, 100 + i)).bytes);
    const resigned = join(dir, `enc-${i}-dcmsign.dcm`);
    const dump = join(dir, `enc-${i}.bin`);
    const d = run('dcmsign', ['--sign', join(dir, 'rsa.key'), join(dir, 'rsa.crt'), '+m5', '--dump', dump, sealed, resigned]);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    const { dataSet } = readPart10(readFileSync(resigned));
    const items = findElement(dataSet, TAGS.digitalSignaturesSequence)!.items!;
    const last = items.length - 1;
    const macItem = findElement(dataSet, TAGS.macParametersSequence)!.items![last]!;
    const parts: Uint8Array[] = [];
    writeMacStream(dataSet, decodeAT(findElement(macItem, SIG.dataElementsSigned)!.value!), items[last]!, (c) => parts.push(c));
    const ours = Buffer.concat(parts);
    const theirs = readFileSync(dump);
    assert.ok(findElement(dataSet, tag(0x7fe0, 0x0010))!.fragments!.length >= 2, 'offset table and fragments');
    assert.equal(ours.length, theirs.length, `${file}: stream length`);
    assert.ok(ours.equals(theirs), `${file}: MAC stream differs from dcmsign's`);
  }
});

test('multi-frame native pixels: the site mark and a tile table per frame; an edit in frame 3 is named in frame 3\'s tile rows', async () => {
  const { natives, trust } = await ready;
  const key = new Uint8Array(randomBytes(32));
  const rf = natives.find((f) => f.endsWith('rf-multi.dcm'))!;
  const sealed = await seal(rf, 200, { watermarkKey: key });
  assert.ok(sealed.watermarked);
  const bytes = Buffer.from(sealed.bytes);
  const report = verifyObject('rf.dcm', bytes, trust, { watermarkKey: key });
  assert.equal(report.verdict, 'authentic', report.reasons.join('; '));
  const a = readAttestation(readPart10(bytes).dataSet)!;
  assert.equal(a.received?.numberOfFrames, 3);
  assert.equal(a.tiles!.hashes.length, 3 * 3 * 3 * 32, '3 frames of 3x3 tiles (160x192 px, 64 px tiles)');
  // The mark changed the pixels (so the raw hash of what arrived differs from the stored one) in every frame.
  assert.notDeepEqual(Buffer.from(a.rawFrameSha256), Buffer.from(a.pixelDataSha256));
  const original = readPart10(readFileSync(rf));
  const stored = readPart10(bytes);
  const frameBytes = 160 * 192 * 2;
  const was = findElement(original.dataSet, tag(0x7fe0, 0x0010))!.value!;
  const now = findElement(stored.dataSet, tag(0x7fe0, 0x0010))!.value!;
  for (let f = 0; f < 3; f++) assert.ok(!Buffer.from(was.subarray(f * frameBytes, (f + 1) * frameBytes)).equals(now.subarray(f * frameBytes, (f + 1) * frameBytes)), `frame ${f + 1} marked`);
  // Marked where they lie in a buffer of the seal's own, the file encoded around them: the very pixels a
  // mark of each frame alone makes, and the file a view with the pixels at their offset in it.
  for (let f = 0; f < 3; f++) {
    const alone = markFrame({ rows: 160, cols: 192, bitsStored: 12, pixels: new Uint16Array(Uint8Array.from(was.subarray(f * frameBytes, (f + 1) * frameBytes)).buffer) }, key, (await ready).device.deviceId, 200);
    const m = alone.frame.pixels;
    assert.ok(Buffer.from(m.buffer, m.byteOffset, m.byteLength).equals(now.subarray(f * frameBytes, (f + 1) * frameBytes)), `frame ${f + 1}: the mark a frame alone gets`);
  }
  assert.ok(sealed.bytes.byteOffset > 0 && sealed.bytes.buffer.byteLength > sealed.bytes.length, 'encoded where the marked pixels lie');
  // One pixel of frame 3, row 100, column 10: tile row 2·3+1 = 7 of the stacked table, column 0.
  const at = now.byteOffset - bytes.byteOffset + 2 * frameBytes + (100 * 192 + 10) * 2;
  bytes[at] ^= 0x01;
  const edited = verifyObject('rf-edited.dcm', bytes, trust);
  assert.equal(edited.verdict, 'tampered');
  assert.deepEqual(edited.tamperedTiles?.tiles, [[7, 0]]);
  assert.equal(edited.tamperedTiles?.tableAuthenticated, true);
});

test('8-bit multi-frame XA: sealed without mark or tile table (both are for 16-bit grey pixels), and authentic', async () => {
  const { natives, trust } = await ready;
  const xa = natives.find((f) => f.endsWith('xa-multi.dcm'))!;
  const sealed = await seal(xa, 300, { watermarkKey: new Uint8Array(randomBytes(32)) });
  assert.equal(sealed.watermarked, false);
  assert.match(sealed.notes.join(' '), /no site watermark/);
  const report = verifyObject('xa.dcm', sealed.bytes, trust);
  assert.equal(report.verdict, 'authentic', report.reasons.join('; '));
  assert.equal(readAttestation(readPart10(sealed.bytes).dataSet)!.received!.peerAddress, '127.0.0.1');
});

/** A copy of `file` changed by a few lines of pydicom (`ds` is the data set). */
function withPydicom(file: string, out: string, code: string): string {
  const r = run(PYTHON, ['-c', `import pydicom\nfrom pydicom.dataset import Dataset\nds = pydicom.dcmread(${JSON.stringify(file)})\n${code}\nds.save_as(${JSON.stringify(out)})`]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

test('the logged-in technologist co-signs (Author) and is named as the operator; an operator the modality named is never overwritten', async () => {
  const { natives } = await ready;
  const cr = natives.find((f) => f.endsWith('cr.dcm'))!;
  const ids = await makeIdentities(join(dir, 'ids'), 'PROXY-ROOM-3', 'tech042');
  const trust = parseCertificates(readFileSync(ids.trustPem));
  const policy = { ...DEFAULT_POLICY, requireTechnologistSignature: true };
  const received = (file: string) => ({ part10: readFileSync(file), callingAe: 'MODALITY1', remoteAddress: '127.0.0.1', serial: 400 });
  // The modality left Operators' Name empty: the technologist's name and identification are added, and co-signed.
  const unnamed = withPydicom(cr, join(dir, 'no-operator.dcm'), "ds.OperatorsName = ''");
  const out = await sealReceived(received(unnamed), { device: ids.device, technologist: ids.technologist });
  assert.equal(out.kind === 'sealed' && out.coSignedBy, 'tech042');
  const report = verifyObject('cr.dcm', out.bytes, trust, { policy });
  assert.equal(report.verdict, 'authentic', report.reasons.join('; '));
  assert.deepEqual(report.technologist, { operatorId: 'tech042', operatorsName: 'Doe^Jane', signer: 'tech042', accepted: true });
  // The modality names someone else (Operators' Name, or Operator Identification Sequence): kept, no co-signature, the reason noted.
  const named = await sealReceived(received(cr), { device: ids.device, technologist: ids.technologist });
  assert.equal(named.kind === 'sealed' && named.coSignedBy, undefined);
  assert.match(named.kind === 'sealed' ? named.notes.join(' ') : '', /names operator "Tech\^Tom" in Operators' Name/);
  const other = withPydicom(cr, join(dir, 'other-operator.dcm'), `ds.OperatorsName = ''
item = Dataset(); code = Dataset()
code.CodeValue = 'tech777'; code.CodingSchemeDesignator = '99RADSEAL'; code.CodeMeaning = 'Other^Person'
item.PersonIdentificationCodeSequence = [code]
ds.OperatorIdentificationSequence = [item]`);
  const kept = await sealReceived(received(other), { device: ids.device, technologist: ids.technologist });
  assert.equal(kept.kind === 'sealed' && kept.coSignedBy, undefined);
  assert.match(kept.kind === 'sealed' ? kept.notes.join(' ') : '', /names operator "tech777", not the logged-in technologist "tech042"/);
  for (const k of [named, kept]) assert.equal(verifyObject('named.dcm', k.bytes, trust).verdict, 'authentic');
});

test('with the site mark, an ECDSA device key and a co-signing technologist: the MAC through the marked pixels, their table and hash made beside it, at any tile size; authentic, DCMTK verifies the ECDSA signature', async () => {
  const { natives } = await ready;
  const ids = await makeIdentities(join(dir, 'ids-wm'), 'PROXY-ROOM-4', 'tech042');
  const trust = parseCertificates(readFileSync(ids.trustPem));
  const policy = { ...DEFAULT_POLICY, requireTechnologistSignature: true };
  const unnamed = withPydicom(natives.find((f) => f.endsWith('rf-multi.dcm'))!, join(dir, 'rf-no-operator.dcm'), "ds.OperatorsName = ''");
  const key = new Uint8Array(randomBytes(32));
  for (const tileSize of [64, 48, 0]) {
    const out = await sealReceived({ part10: readFileSync(unnamed), callingAe: 'MODALITY1', remoteAddress: '127.0.0.1', serial: 500 + tileSize },
      { device: ids.deviceWithEcdsa, technologist: ids.technologist, watermarkKey: key, tileSize });
    assert.ok(out.kind === 'sealed' && out.watermarked && out.coSignedBy === 'tech042');
    assert.deepEqual(out.notes.filter((n) => /MAC/.test(n)), [], 'the MAC through the marked pixels was the one signed');
    const report = verifyObject('rf-wm.dcm', out.bytes, trust, { policy, watermarkKey: key });
    assert.equal(report.verdict, 'authentic', `tile size ${tileSize}: ${report.reasons.join('; ')}`);
    const parsed = readPart10(Buffer.from(out.bytes));
    const a = readAttestation(parsed.dataSet)!;
    const stored = findElement(parsed.dataSet, tag(0x7fe0, 0x0010))!.value!;
    assert.deepEqual(Buffer.from(a.pixelDataSha256), createHash('sha256').update(stored).digest(), 'the stored (marked) pixels\' hash');
    const frameBytes = 160 * 192 * 2;
    if (tileSize) {
      const expected = Buffer.concat([0, 1, 2].map((f) => tileHashes(stored.subarray(f * frameBytes, (f + 1) * frameBytes), 160, 192, tileSize)));
      assert.ok(Buffer.from(a.tiles!.hashes).equals(expected), `tile size ${tileSize}: the table of the marked frames`);
    } else assert.equal(a.tiles, undefined);
    const file = join(dir, `rf-wm-${tileSize}.dcm`);
    writeFileSync(file, out.bytes);
    const d = run('dcmsign', ['--verify', '+cf', ids.certs.ecdsa, file]);
    assert.match(d.stdout + d.stderr, /Signature #\d+ UID=[\d.]+\nW: +Signature Verification : OK/, d.stdout + d.stderr);
  }
});

test('an object whose signatures were removed but whose MAC Parameters Sequence was left: refused with the reason, never sealed into an object that cannot verify', async () => {
  const { natives, device } = await ready;
  const sealed = await sealReceived({ part10: readFileSync(natives[0]!), callingAe: 'MODALITY1', remoteAddress: '127.0.0.1', serial: 1 }, { device });
  assert.equal(sealed.kind, 'sealed');
  const { encodePart10 } = await import('../../../host/dicom/writer.js');
  const parsed = readPart10(sealed.bytes);
  assert.ok(findElement(parsed.dataSet, TAGS.macParametersSequence));
  const stripped = parsed.dataSet.filter((e) => e.tag !== TAGS.digitalSignaturesSequence);
  const uid = (t: number) => Buffer.from(findElement(parsed.dataSet, t)!.value!).toString('latin1').replace(/\0+$/, '');
  const part10 = encodePart10({ sopClassUid: uid(tag(0x0008, 0x0016)), sopInstanceUid: uid(tag(0x0008, 0x0018)) }, stripped);
  await assert.rejects(sealReceived({ part10, callingAe: 'MODALITY1', remoteAddress: '127.0.0.1', serial: 2 }, { device }), (err: Error & { status?: number; comment?: string }) => {
    assert.equal(err.name, 'Refusal');
    assert.ok(err.status !== undefined && err.status !== 0);
    assert.match(err.message, /MAC Parameters Sequence \(4FFE,0001\) without Digital Signatures/);
    return true;
  });
});
