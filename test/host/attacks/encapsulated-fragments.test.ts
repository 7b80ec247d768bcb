// Encapsulated Pixel Data sealed by the proxy as the modality compressed it. Its MAC stream (PS3.15
// A.1.1, as DCMTK writes it) carries each fragment's item tag but not its length, so fragments
// merged (the 4-byte length of the next item dropped, its tag kept inside the merged bytes) or split
// at FE FF 00 E0 give the same stream: every signature stays valid while a viewer decodes another
// image (RLE multi-frame: a frame dropped, another garbled). Only the attestation's hash, over the
// items with their lengths, sees it. And Pixel Data written as explicit UN must not be read back as
// the OB that was signed (DCMTK reads it as a sequence).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/run.js';
import { run } from '../dicom/fixtures.js';
import { makeObjects } from '../proxy/fixtures.js';
import { sealReceived } from '../../../host/proxy/seal-received.js';
import { generateDeviceKey, readCertificateDer } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { verifyObject, type VerifyReport } from '../../../host/ingest/verify.js';
import { parseCertificate, type CertInfo } from '../../../host/keys/certs.js';
import { readPart10Meta } from '../../../host/dicom/reader.js';
import { must, str, t, writePart10, type Part10 } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-fragments-');
let trust: CertInfo[];
const sealed: Record<'rle' | 'jpeg', Buffer> = { rle: Buffer.alloc(0), jpeg: Buffer.alloc(0) };

before(async () => {
  mkdirSync(join(dir, 'native'), { recursive: true });
  const natives = makeObjects(join(dir, 'native'), 64, 80);
  const from = (name: string) => natives.find((f) => f.endsWith(name))!;
  const rle = join(dir, 'rf-multi-rle.dcm'), jpeg = join(dir, 'cr-jpeg.dcm');
  assert.equal(run('dcmcrle', [from('rf-multi.dcm'), rle]).status, 0);
  assert.equal(run('dcmcjpeg', [from('cr.dcm'), jpeg]).status, 0);
  const keys = await generateDeviceKey('PROXY-ROOM-2', join(dir, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'dicom-proxy');
  trust = [parseCertificate(readCertificateDer(keys.cert))];
  for (const [k, file] of [['rle', rle], ['jpeg', jpeg]] as const) {
    const out = await sealReceived({ part10: readFileSync(file), callingAe: 'MODALITY1', remoteAddress: '::ffff:127.0.0.1', serial: 7 }, { device });
    assert.equal(out.kind, 'sealed');
    if (out.kind === 'sealed') sealed[k] = Buffer.from(out.bytes);
  }
});

const verify = (b: Uint8Array, full = false): VerifyReport => verifyObject('attack.dcm', b, trust, { fullPixelCheck: full });
const show = (r: VerifyReport) => `${r.verdict}: ${r.reasons.join(' | ')}`;
const PIXEL_HEADER = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]);

/** Where each item of the encapsulated Pixel Data lies (the basic offset table first). */
function fragments(b: Buffer): Array<{ at: number; length: number }> {
  let pos = b.indexOf(PIXEL_HEADER) + PIXEL_HEADER.length;
  const out = [];
  while (b.readUInt32LE(pos) !== 0xe0ddfffe) {
    const length = b.readUInt32LE(pos + 4);
    out.push({ at: pos, length });
    pos += 8 + length;
  }
  return out;
}

/** Items i and i+1 as one item: the second's length field dropped, its item tag kept as data. */
function merge(b: Buffer, i: number): Buffer {
  const items = fragments(b);
  const [a, c] = [items[i]!, items[i + 1]!];
  const length = Buffer.alloc(4);
  length.writeUInt32LE(a.length + 4 + c.length);
  return Buffer.concat([b.subarray(0, a.at + 4), length, b.subarray(a.at + 8, c.at + 4), b.subarray(c.at + 8)]);
}

/** The frames DCMTK decodes: dcmdrle, then the Pixel Data value dcmdump writes out. */
function dcmtkDecodedBytes(name: string, bytes: Buffer): number {
  const file = join(dir, `${name}.dcm`), out = join(dir, `${name}-native.dcm`);
  writeFileSync(file, bytes);
  assert.equal(run('dcmdrle', [file, out]).status, 0);
  assert.equal(run('dcmdump', ['-q', '+W', dir, out]).status, 0);
  return readFileSync(join(dir, `${name}-native.dcm.0.raw`)).length;
}

test('control: the sealed RLE multi-frame and JPEG objects are authentic', () => {
  assert.ok(fragments(sealed.rle).length >= 4, 'offset table and three frames');
  for (const b of [sealed.rle, sealed.jpeg]) assert.equal(verify(b).verdict, 'authentic', show(verify(b)));
});

for (const [name, i] of [['frames 1 and 2', 1], ['the basic offset table and frame 1', 0]] as const) {
  test(`RLE: ${name} merged into one fragment (every signature still valid): tampered, by default and with --full-pixel-check`, () => {
    const forged = merge(sealed.rle, i);
    const r = verify(forged);
    assert.ok(r.signatures.length > 0 && r.signatures.every((x) => x.valid), 'the MAC stream is unchanged: no signature can see it');
    assert.equal(r.verdict, 'tampered', show(r));
    assert.ok(r.reasons.some((x) => /Pixel Data does not match the pixel hash/.test(x)), show(r));
    assert.deepEqual(r.pixelCheck, { by: 'pixel-hash' });
    assert.equal(verify(forged, true).verdict, 'tampered');
  });
}

test('RLE: what DCMTK decodes from merged frames 1 and 2 is not what was sealed (a frame short)', () => {
  const genuine = dcmtkDecodedBytes('rle-genuine', sealed.rle);
  const forged = dcmtkDecodedBytes('rle-merged', merge(sealed.rle, 1));
  assert.equal(forged, (genuine * 2) / 3, `DCMTK decoded ${forged} of ${genuine} bytes`);
});

test('JPEG: Pixel Data rewritten as explicit UN (DCMTK reads it as a sequence): invalid, named', () => {
  const forged = Buffer.from(sealed.jpeg);
  const at = forged.indexOf(PIXEL_HEADER);
  forged.write('UN', at + 4, 'latin1');
  const file = join(dir, 'jpeg-un.dcm');
  writeFileSync(file, forged);
  assert.match(run('dcmdump', [file]).stderr + run('dcmdump', [file]).stdout, /\(7fe0,0010\) with VR UN and undefined length, reading a sequence/);
  const r = verify(forged);
  assert.equal(r.verdict, 'invalid', show(r));
  assert.ok(r.reasons.some((x) => /\(7FE0,0010\).*UN/.test(x)), show(r));
});

/** The file with its meta header edited (the attack writer takes the data set verbatim). */
function withMeta(b: Buffer, fn: (f: Part10) => void): Buffer {
  const head = readPart10Meta(b);
  const f: Part10 = { preamble: head.preamble, meta: head.meta.map((e) => ({ tag: e.tag, vr: e.vr, value: e.value })), dataSet: [{ tag: 0, vr: 'OB', raw: b.subarray(head.dataSetOffset) }] };
  fn(f);
  return Buffer.from(writePart10(f));
}

for (const [name, uid] of [['JPEG Baseline', '1.2.840.10008.1.2.4.50'], ['JPEG-LS Lossless', '1.2.840.10008.1.2.4.80']] as const) {
  test(`JPEG Lossless relabelled ${name} in the (unsigned) meta header: invalid, both syntaxes named`, () => {
    const forged = withMeta(sealed.jpeg, (f) => { must(f.meta, t(0x0002, 0x0010)).value = str(0, 'UI', uid).value; });
    const r = verify(forged);
    assert.equal(r.verdict, 'invalid', show(r));
    assert.ok(r.reasons.some((x) => x.includes(uid) && x.includes('1.2.840.10008.1.2.4.70') && /relabelled/.test(x)), show(r));
  });
}

test('control: the sealed JPEG object with its meta header re-written as it was stays authentic', () => {
  const same = withMeta(sealed.jpeg, () => {});
  assert.equal(verify(same).verdict, 'authentic', show(verify(same)));
});
