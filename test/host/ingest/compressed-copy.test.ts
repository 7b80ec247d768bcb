// A copy a PACS compressed after signing (the device sealed native pixels): never authentic (not
// the object sealed, the verdict stays `invalid`, re-encoded), but its pixels are decoded and checked
// against the seal. Compressed by the real tools: DCMTK dcmcjpls (JPEG-LS), dcmcjpeg (JPEG Lossless
// SV1), dcmcrle (RLE), OpenJPEG opj_compress wrapped by pydicom (JPEG 2000). Lossless copies of the
// sealed pixels: "bit for bit", the device signature holding over the decoded pixels. Pixels edited,
// then compressed losslessly: tampered, the tiles named. Lossy: invalid, no tamper map. Streams that
// lie about their size or are broken: a reason, never a crash.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeIdentities, sealTo, testFrame, run, PYTHON, type Identities } from '../dicom/fixtures.js';
import { tempDir } from '../support/run.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { DEFAULT_READ_LIMITS, readPart10 } from '../../../host/dicom/reader.js';
import { findElement, PIXEL_DATA } from '../../../host/dicom/model.js';
import { decodeSingleFrame as decodeWithLimit } from '../../../host/image/encapsulated.js';

const ROWS = 150, COLS = 130;
const dir = tempDir('radseal-compressed-copy-');
let ids: Identities;
const sealed = join(dir, 'sealed.dcm');
/** The decoder under the verifier's default limit. */
const decodeSingleFrame = (ts: string, fragments: Uint8Array[], g: Parameters<typeof decodeWithLimit>[2]) => decodeWithLimit(ts, fragments, g, DEFAULT_READ_LIMITS.maxInflatedBytes);
const trust = () => parseCertificates(readFileSync(ids.trustPem));
const verify = (file: string) => verifyObject(file, readFileSync(file), trust());

function tool(cmd: string, args: string[]): void {
  const r = run(cmd, args, { cwd: dir });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** JPEG 2000 lossless of `from`'s pixels by OpenJPEG, put into a copy of it by pydicom (no DCMTK encoder for it). */
function j2kCopy(from: string, out: string): void {
  tool(PYTHON, ['-c', `
import sys, subprocess, pydicom
from pydicom.encaps import encapsulate
ds = pydicom.dcmread(sys.argv[1])
arr = ds.pixel_array
h, w = arr.shape
with open(sys.argv[2] + '.pgm', 'wb') as f:
    f.write(f'P5\\n{w} {h}\\n65535\\n'.encode()); f.write(arr.astype('>u2').tobytes())
subprocess.run(['opj_compress', '-i', sys.argv[2] + '.pgm', '-o', sys.argv[2] + '.j2k'], check=True, capture_output=True)
ds.PixelData = encapsulate([open(sys.argv[2] + '.j2k', 'rb').read()])
ds['PixelData'].VR = 'OB'
ds['PixelData'].is_undefined_length = True
ds.file_meta.TransferSyntaxUID = '1.2.840.10008.1.2.4.90'
ds.save_as(sys.argv[2], write_like_original=True)
`, from, out]);
}

const reasons = (r: { reasons: string[] }) => r.reasons.join(' | ');

before(async () => {
  ids = await makeIdentities(dir);
  await sealTo(sealed, testFrame(ROWS, COLS), ids.deviceWithEcdsa);
});

test('control: the sealed object is authentic', () => {
  assert.equal(verify(sealed).verdict, 'authentic');
});

test('lossless copies (JPEG-LS, JPEG Lossless SV1, RLE, JPEG 2000): invalid and re-encoded, the decoded pixels bit for bit the sealed ones', () => {
  const copies: Array<[string, () => void, RegExp]> = [
    ['jpegls.dcm', () => tool('dcmcjpls', [sealed, 'jpegls.dcm']), /JPEG-LS Lossless .* with CharLS/],
    ['jpeg-sv1.dcm', () => tool('dcmcjpeg', [sealed, 'jpeg-sv1.dcm']), /JPEG Lossless.* with jpeg-lossless-decoder-js/],
    ['rle.dcm', () => tool('dcmcrle', [sealed, 'rle.dcm']), /RLE Lossless .* with radseal RLE/],
    ['j2k.dcm', () => j2kCopy(sealed, join(dir, 'j2k.dcm')), /JPEG 2000 .*Lossless.* with OpenJPEG/],
  ];
  for (const [name, make, decoder] of copies) {
    make();
    const r = verify(join(dir, name));
    assert.equal(r.verdict, 'invalid', `${name}: ${reasons(r)}`);
    assert.equal(r.reencoded, true, name);
    assert.match(r.reasons[0]!, /^re-encoded: Pixel Data was compressed to .* after signing/, name);
    assert.equal(r.pixelsIntact, true, `${name}: ${reasons(r)}`);
    assert.ok(r.reasons.some((x) => decoder.test(x) && /bit for bit the ones the device sealed/.test(x)), `${name}: ${reasons(r)}`);
    assert.equal(r.tamperedTiles, undefined, name);
    // The device's own signatures hold over the decoded pixels: the check is theirs, not a hash's.
    assert.ok(r.signatures.length >= 3 && r.signatures.every((s) => s.valid), `${name}: ${JSON.stringify(r.signatures.map((s) => s.valid))}`);
  }
});

test('a lossless copy whose signed attributes were changed too: invalid, its pixels said to match the pixel hash only', () => {
  const bytes = Buffer.from(readFileSync(join(dir, 'jpegls.dcm')));
  const at = bytes.indexOf(Buffer.from('Test^Patient'));
  assert.ok(at > 0);
  bytes[at] = 0x42;
  const r = verifyObject('renamed.dcm', bytes, trust());
  assert.equal(r.verdict, 'invalid', reasons(r));
  assert.equal(r.pixelsIntact, true);
  assert.ok(r.signatures.some((s) => !s.valid));
  assert.ok(r.reasons.some((x) => /the pixels match the pixel hash in the capture attestation, but a signature does not hold/.test(x)), reasons(r));
  assert.ok(!r.reasons.some((x) => /bit for bit/.test(x)), reasons(r));
});

test('with the site watermark key: the mark is looked for in the decoded pixels of a lossless copy', async () => {
  const key = randomBytes(32);
  const marked = join(dir, 'marked.dcm');
  await sealTo(marked, testFrame(256, 256, 14, 9), ids.device, { watermark: { key } });
  tool('dcmcjpls', [marked, 'marked-ls.dcm']);
  const r = verifyObject('marked-ls.dcm', readFileSync(join(dir, 'marked-ls.dcm')), trust(), { watermarkKey: key });
  assert.equal(r.verdict, 'invalid', reasons(r));
  assert.equal(r.pixelsIntact, true, reasons(r));
  assert.ok(r.watermark, `no watermark report: ${reasons(r)}`);
  assert.ok(!r.reasons.some((x) => /watermark not checked/.test(x)), reasons(r));
  assert.ok(r.reasons.some((x) => /carry the site watermark/.test(x)), reasons(r));
});

test('pixels edited, then compressed losslessly: tampered, the edited tile named', () => {
  // Three pixels in tile [1,1] (64-px tiles) raised by one, as an editor would leave them.
  const bytes = Buffer.from(readFileSync(sealed));
  const px = findElement(readPart10(bytes).dataSet, PIXEL_DATA)!.value!;
  const at = px.byteOffset - bytes.byteOffset;
  for (const [y, x] of [[70, 70], [71, 90], [100, 66]]) bytes.writeUInt16LE(bytes.readUInt16LE(at + (y * COLS + x) * 2) + 1, at + (y * COLS + x) * 2);
  writeFileSync(join(dir, 'edited.dcm'), bytes);
  assert.notEqual(verify(join(dir, 'edited.dcm')).verdict, 'authentic');
  for (const [name, make] of [['edited-ls.dcm', () => tool('dcmcjpls', ['edited.dcm', 'edited-ls.dcm'])], ['edited-rle.dcm', () => tool('dcmcrle', ['edited.dcm', 'edited-rle.dcm'])]] as const) {
    make();
    const r = verify(join(dir, name));
    assert.equal(r.verdict, 'tampered', `${name}: ${reasons(r)}`);
    assert.equal(r.pixelsIntact, false);
    assert.deepEqual(r.tamperedTiles?.tiles, [[1, 1]], name);
    assert.ok(r.reasons.some((x) => /a lossless compression keeps every value, so they were changed/.test(x)), `${name}: ${reasons(r)}`);
  }
});

test('a lossy copy (JPEG-LS near-lossless): invalid, its differences not taken for an edit, no tamper map', () => {
  tool('dcmcjpls', ['--encode-nearlossless', '--max-deviation', '3', sealed, 'near.dcm']);
  const r = verify(join(dir, 'near.dcm'));
  assert.equal(r.verdict, 'invalid', reasons(r));
  assert.equal(r.reencoded, true);
  assert.equal(r.tamperedTiles, undefined);
  assert.ok(r.reasons.some((x) => /as a lossy compression makes them: this copy cannot show that its image is the one captured/.test(x)), reasons(r));
});

test('a syntax radseal does not decode (JPEG Extended, lossy): invalid, re-encoded, the reason named', () => {
  tool('dcmcjpeg', ['--encode-extended', sealed, 'extended.dcm']);
  const r = verify(join(dir, 'extended.dcm'));
  assert.equal(r.verdict, 'invalid');
  assert.ok(r.reasons.some((x) => /its pixels were not compared with the sealed ones: radseal has no decoder for JPEG Extended/.test(x)), reasons(r));
});

test('compressed streams that lie about their size or are broken: a problem named, never a crash; the codec recovers', () => {
  tool('dcmcjpls', [sealed, 'ls.dcm']);
  const p = readPart10(readFileSync(join(dir, 'ls.dcm')));
  const fragments = findElement(p.dataSet, PIXEL_DATA)!.fragments!;
  const stream = fragments[1]!;
  const g = { rows: ROWS, cols: COLS, bitsAllocated: 16, samplesPerPixel: 1 };
  const ls = '1.2.840.10008.1.2.4.80';
  assert.ok('pixels' in decodeSingleFrame(ls, fragments, g));
  // The data set says a frame of another size than the stream's header.
  const bigger = decodeSingleFrame(ls, fragments, { ...g, rows: 4000, cols: 4000 });
  assert.match('problem' in bigger ? bigger.problem : '', /declares 130x150 pixels, the data set 4000x4000/);
  // A frame larger than radseal decodes, whatever the stream.
  const huge = decodeSingleFrame(ls, fragments, { ...g, rows: 65535, cols: 65535 });
  assert.match('problem' in huge ? huge.problem : '', /more than the \d+ radseal decodes/);
  // Truncated: CharLS refuses it; the next, whole stream decodes again.
  const cut = decodeSingleFrame(ls, [fragments[0]!, stream.subarray(0, stream.length >> 1)], g);
  assert.match('problem' in cut ? cut.problem : '', /CharLS could not decode the stream/);
  assert.ok('pixels' in decodeSingleFrame(ls, fragments, g));
  // RLE: a header whose segment count does not fit 16-bit samples, and offsets past the end.
  const rle = new Uint8Array(80);
  new DataView(rle.buffer).setUint32(0, 3, true);
  assert.match((decodeSingleFrame('1.2.840.10008.1.2.5', [new Uint8Array(0), rle], g) as { problem: string }).problem, /3 RLE segments/);
  new DataView(rle.buffer).setUint32(0, 2, true);
  new DataView(rle.buffer).setUint32(4, 64, true);
  new DataView(rle.buffer).setUint32(8, 9999, true);
  assert.match((decodeSingleFrame('1.2.840.10008.1.2.5', [new Uint8Array(0), rle], g) as { problem: string }).problem, /RLE segment 1 lies outside the stream/);
  // JPEG 2000: a JP2 file wrapper, or a codestream declaring another size.
  assert.match((decodeSingleFrame('1.2.840.10008.1.2.4.90', [new Uint8Array(0), Buffer.from('0000000c6a5020200d0a870a', 'hex')], g) as { problem: string }).problem, /not a JPEG 2000 codestream/);
  // Through the verifier: the copy whose JPEG-LS header was patched to another size is invalid, with the reason.
  const bytes = Buffer.from(readFileSync(join(dir, 'ls.dcm')));
  const sof = bytes.indexOf(Buffer.from([0xff, 0xf7]));
  bytes.writeUInt16BE(ROWS + 1, sof + 5);
  const r = verifyObject('patched.dcm', bytes, trust());
  assert.equal(r.verdict, 'invalid');
  assert.ok(r.reasons.some((x) => /its pixels were not compared with the sealed ones: CharLS could not decode the stream: the JPEG-LS frame header declares 130x151 pixels/.test(x)), reasons(r));
});
