// Foundation acceptance: keygen → seal → verify through the built CLI, the
// sealed object checked by real DICOM tools, and each kind of tampering
// giving its own non-authentic verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, statSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, createHash } from 'node:crypto';
import dicomParser from 'dicom-parser';
import { makePhantom } from '../../../host/image/phantom.js';
import { decodeGrayPng, encodeGrayPng } from '../../../host/image/png.js';
import { jsonLines, radseal, run, tempDir, PYTHON, SHARED_RADIOGRAPHS } from '../support/run.js';

const dir = tempDir();
const keys = join(dir, 'keys');
const otherKeys = join(dir, 'other');
const frame = makePhantom({ rows: 300, cols: 256, bitsStored: 14, seed: 7 });
const rawPath = join(dir, 'frame.raw');
writeFileSync(rawPath, new Uint8Array(frame.pixels.buffer));
const sealed = join(dir, 'sealed.dcm');

function verifyJson(file: string, trust = join(keys, 'device.crt')) {
  const r = radseal('verify', file, '--trust', trust, '--json');
  return { ...r, report: r.stdout ? JSON.parse(r.stdout) : undefined };
}

test('keygen writes a 0600 PKCS#8 key and a self-signed Ed25519 certificate naming the device', () => {
  const r = radseal('keygen', '--id', 'DX-TEST-01', '--out', keys);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(join(keys, 'device.key')).mode & 0o777, 0o600);
  assert.match(readFileSync(join(keys, 'device.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  const cert = new X509Certificate(readFileSync(join(keys, 'device.crt')));
  assert.equal(cert.publicKey.asymmetricKeyType, 'ed25519');
  assert.match(cert.subject, /CN=DX-TEST-01/);
  assert.ok(cert.verify(cert.publicKey), 'self-signature verifies');
  assert.equal(radseal('keygen', '--id', 'DX-TEST-01', '--out', keys).code, 2, 'refuses to overwrite a key');
  assert.equal(radseal('keygen', '--id', 'DX-OTHER', '--out', otherKeys).code, 0);
});

test('seal hashes the raw frame and writes a DX object that verifies authentic', () => {
  const r = radseal('seal', '--key', join(keys, 'device.key'), '--cert', join(keys, 'device.crt'), '--in', rawPath,
    '--rows', '300', '--cols', '256', '--bits-stored', '14', '--serial', '42', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', sealed);
  assert.equal(r.code, 0, r.stderr);
  const v = verifyJson(sealed);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.equal(v.report.verdict, 'authentic');
  assert.equal(v.report.file, sealed);
  assert.deepEqual(v.report.reasons, []);
  // The device signs twice: the whole object, and the attributes alone (which keeps the
  // tile table trustworthy when only pixels are edited).
  assert.equal(v.report.signatures.length, 2);
  assert.deepEqual(v.report.signatures.map((d: { role: string }) => d.role), ['device', 'device-attributes']);
  const [sig] = v.report.signatures;
  assert.deepEqual(Object.keys(sig).sort(), ['algorithm', 'key', 'macAlgorithm', 'macId', 'policyOk', 'purpose', 'revocation', 'role', 'signedElements', 'signer', 'time', 'trustReason', 'trusted', 'valid']);
  assert.equal(sig.algorithm, 'Ed25519');
  assert.equal(sig.signer, 'DX-TEST-01');
  assert.match(sig.purpose, /Source/);
  assert.ok(sig.valid && sig.trusted);
  assert.ok(Math.abs(Date.parse(sig.time) - Date.now()) < 120_000);
  // The raw-frame hash recorded at capture is the SHA-256 of the bytes as they arrived (node:crypto as oracle).
  const expected = createHash('sha256').update(readFileSync(rawPath)).digest('hex');
  assert.deepEqual(v.report.capture, { deviceId: 'DX-TEST-01', rawSha256: expected });
});

test('the sealed object parses cleanly in dicom-parser, DCMTK and pydicom, pixels unchanged', () => {
  const bytes = readFileSync(sealed);
  const ds = dicomParser.parseDicom(bytes);
  assert.deepEqual(ds.warnings, []);
  assert.equal(ds.string('x00080060'), 'DX');
  assert.equal(ds.uint16('x00280101'), 14);
  const pd = ds.elements['x7fe00010']!;
  assert.deepEqual(new Uint8Array(bytes.buffer, bytes.byteOffset + pd.dataOffset, pd.length), new Uint8Array(frame.pixels.buffer));

  const dump = run('dcmdump', ['+E', '-q', sealed]);
  assert.equal(dump.code, 0, dump.stderr);
  assert.equal(dump.stderr, '', 'dcmdump prints no warnings or errors');
  assert.doesNotMatch(dump.stdout, /^[WE]: /m);

  const py = run(PYTHON, ['-c', `
import sys, hashlib, warnings
warnings.simplefilter('error')
import pydicom
ds = pydicom.dcmread(sys.argv[1])
a = ds.pixel_array
assert a.dtype.name == 'uint16', a.dtype
print(a.shape[0], a.shape[1], ds.BitsStored, hashlib.sha256(a.astype('<u2').tobytes()).hexdigest())
`, sealed]);
  assert.equal(py.code, 0, py.stderr);
  const pixelsSha = createHash('sha256').update(new Uint8Array(frame.pixels.buffer)).digest('hex');
  assert.equal(py.stdout.trim(), `300 256 14 ${pixelsSha}`);
});

test('dcmsign lists the Ed25519 signature (it cannot verify Ed25519)', () => {
  const r = run('dcmsign', ['--verify', sealed]);
  const uid = /Signature #1 UID=([0-9.]+)/.exec(r.stdout + r.stderr);
  assert.ok(uid, `dcmsign should list signature #1:\n${r.stdout}${r.stderr}`);
  const report = verifyJson(sealed);
  assert.equal(report.report.signatures.length, 2);
  // dcmsign's listing names the same signature UID radseal wrote.
  const ours = run('dcmdump', ['+P', '0400,0100', sealed]).stdout;
  assert.ok(ours.includes(uid[1]!), 'same Digital Signature UID');
});

function flipPixelBit(src: string, dst: string): void {
  const bytes = new Uint8Array(readFileSync(src));
  const ds = dicomParser.parseDicom(bytes);
  const at = ds.elements['x7fe00010']!.dataOffset + 2 * 12345;
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(dst, bytes);
}

test('one pixel bit flipped → tampered, exit 1', () => {
  const f = join(dir, 'bitflip.dcm');
  flipPixelBit(sealed, f);
  const v = verifyJson(f);
  assert.equal(v.code, 1);
  assert.equal(v.report.verdict, 'tampered');
  assert.ok(v.report.reasons.some((r: string) => /Pixel Data/.test(r)), v.report.reasons.join('\n'));
  assert.equal(v.report.signatures[0].valid, false);
});

test("PatientName changed (by DCMTK's dcmodify) → tampered, exit 1", () => {
  const f = join(dir, 'renamed.dcm');
  copyFileSync(sealed, f);
  const m = run('dcmodify', ['-nb', '-m', '(0010,0010)=DOE^JANE', f]);
  assert.equal(m.code, 0, m.stderr);
  const v = verifyJson(f);
  assert.equal(v.code, 1);
  assert.equal(v.report.verdict, 'tampered');
  assert.ok(v.report.reasons.some((r: string) => /does not match the signed data/.test(r)));
});

test('Digital Signatures Sequence removed → unsigned, exit 1', () => {
  const f = join(dir, 'stripped.dcm');
  copyFileSync(sealed, f);
  const m = run('dcmodify', ['-nb', '-e', '(fffa,fffa)', f]);
  assert.equal(m.code, 0, m.stderr);
  assert.doesNotMatch(run('dcmdump', [f]).stdout, /DigitalSignaturesSequence/);
  const v = verifyJson(f);
  assert.equal(v.code, 1);
  assert.equal(v.report.verdict, 'unsigned');
});

test('a different trusted certificate → untrusted, exit 1', () => {
  const v = verifyJson(sealed, join(otherKeys, 'device.crt'));
  assert.equal(v.code, 1);
  assert.equal(v.report.verdict, 'untrusted');
  assert.equal(v.report.signatures[0].valid, true);
  assert.equal(v.report.signatures[0].trusted, false);
});

test('a truncated file → invalid with a clear reason and no stack trace, exit 1', () => {
  const bytes = readFileSync(sealed);
  for (const keep of [100, 131, 400, Math.floor(bytes.length / 2), bytes.length - 300, bytes.length - 1]) {
    const f = join(dir, `truncated-${keep}.dcm`);
    writeFileSync(f, bytes.subarray(0, keep));
    const v = verifyJson(f);
    assert.equal(v.code, 1, `kept ${keep} bytes`);
    assert.equal(v.report.verdict, 'invalid', `kept ${keep} bytes: ${JSON.stringify(v.report)}`);
    assert.ok(v.report.reasons.length > 0 && v.report.reasons.every((r: string) => r.length > 10 && !/\n\s+at /.test(r)));
    assert.doesNotMatch(v.stderr, /\n\s+at /);
  }
});

test('several files: one JSON line each, exit 1 when any is not authentic; unreadable file or missing trust: exit 2', () => {
  const f = join(dir, 'bitflip.dcm');
  const r = radseal('verify', sealed, f, '--trust', join(keys, 'device.crt'), '--json');
  assert.equal(r.code, 1);
  const arr = jsonLines<{ verdict: string }>(r.stdout);
  assert.deepEqual(arr.map((x: { verdict: string }) => x.verdict), ['authentic', 'tampered']);
  assert.equal(radseal('verify', join(dir, 'nope.dcm'), '--trust', join(keys, 'device.crt')).code, 2);
  assert.equal(radseal('verify', sealed).code, 2);
  assert.equal(radseal('verify', sealed, '--trust', join(dir, 'missing.crt')).code, 2);
});

test('seal refuses a key that does not match the certificate, and a world-readable key', () => {
  const out = join(dir, 'never.dcm');
  const r = radseal('seal', '--key', join(otherKeys, 'device.key'), '--cert', join(keys, 'device.crt'), '--in', rawPath,
    '--rows', '300', '--cols', '256', '--bits-stored', '14', '--out', out);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /does not belong to the certificate/);
  assert.doesNotMatch(r.stderr, /PRIVATE KEY|[A-Za-z0-9+/]{40,}/, 'no key material in errors');
  assert.equal(existsSync(out), false);
  const loose = join(dir, 'loose.key');
  copyFileSync(join(keys, 'device.key'), loose);
  run('chmod', ['644', loose]);
  const r2 = radseal('seal', '--key', loose, '--cert', join(keys, 'device.crt'), '--in', rawPath,
    '--rows', '300', '--cols', '256', '--bits-stored', '14', '--out', out);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /accessible by others/);
});

test('seal takes 8- and 16-bit PNG; a real radiograph round-trips bit-exact', (t) => {
  const png = join(dir, 'phantom.png');
  writeFileSync(png, encodeGrayPng(frame));
  const out = join(dir, 'png.dcm');
  const r = radseal('seal', '--key', join(keys, 'device.key'), '--cert', join(keys, 'device.crt'), '--in', png, '--bits-stored', '14', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(verifyJson(out).report.verdict, 'authentic');
  const real = join(SHARED_RADIOGRAPHS, 'RG3_J2KR_stored_values_16bit.png');
  if (!existsSync(real)) return t.skip(`${real} absent`);
  const out2 = join(dir, 'rg3.dcm');
  assert.equal(radseal('seal', '--key', join(keys, 'device.key'), '--cert', join(keys, 'device.crt'), '--in', real, '--bits-stored', '10', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', out2).code, 0);
  const py = run(PYTHON, ['-c', `
import sys, numpy as np, pydicom
a = pydicom.dcmread(sys.argv[1]).pixel_array
print(a.shape, int(a.max()))
np.save(sys.argv[2], a.astype('<u2'))
`, out2, join(dir, 'rg3.npy')]);
  assert.equal(py.code, 0, py.stderr);
  assert.match(py.stdout, /\(1760, 1760\) 1023/);
  // pydicom's pixels (saved as .npy) against the PNG's stored values.
  const npy = readFileSync(join(dir, 'rg3.npy'));
  const headerLen = npy.readUInt16LE(8);
  const fromDicom = new Uint16Array(npy.buffer.slice(npy.byteOffset + 10 + headerLen, npy.byteOffset + npy.length));
  const fromPng = decodeGrayPng(readFileSync(real)).pixels;
  assert.equal(fromDicom.length, fromPng.length);
  assert.ok(fromDicom.every((v, i) => v === fromPng[i]), 'pixels equal the PNG stored values');
  assert.equal(verifyJson(out2).report.verdict, 'authentic');
});

