// The capture watermark in the seal → verify flow: embedded before hashing
// and signing, recorded in the signed attestation, required by verify when the
// site key is given, and still speaking for the image when the signature is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { makePhantom } from '../../../host/image/phantom.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { readAttestation } from '../../../host/dicom/attestation.js';
import { capturePayload } from '../../../host/seal/watermark.js';
import { radseal, run, tempDir } from '../support/run.js';

const dir = tempDir();
const k = join(dir, 'keys');
const wm = join(dir, 'wm.key');
const frame = makePhantom({ rows: 512, cols: 640, bitsStored: 12, seed: 21 });
const raw = join(dir, 'f.raw');
writeFileSync(raw, new Uint8Array(frame.pixels.buffer));
const geometry = ['--rows', '512', '--cols', '640', '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139'];

function seal(out: string, ...extra: string[]) {
  const r = radseal('seal', '--key', join(k, 'device.key'), '--cert', join(k, 'device.crt'), '--in', raw, ...geometry, ...extra, '--out', out);
  assert.equal(r.code, 0, r.stderr);
}
function verify(file: string, ...extra: string[]) {
  const r = radseal('verify', file, '--trust', join(k, 'device.crt'), '--json', ...extra);
  return { code: r.code, report: JSON.parse(r.stdout) };
}

test('set-up: device key and a 0600 site watermark key', () => {
  assert.equal(radseal('keygen', '--id', 'DX-WM-1', '--out', k).code, 0);
  assert.equal(radseal('watermark', 'keygen', '--out', wm).code, 0);
  assert.equal(readFileSync(wm).length, 32);
});

test('sealed with the site mark: authentic, payload = device tag ‖ serial, attested and signed', () => {
  const f = join(dir, 'marked.dcm');
  seal(f, '--wm-key', wm, '--serial', '4242');
  const { code, report } = verify(f, '--wm-key', wm);
  assert.equal(code, 0, JSON.stringify(report, null, 1));
  assert.equal(report.verdict, 'authentic');
  assert.equal(report.watermark.present, true);
  assert.equal(report.watermark.payloadHex, Buffer.from(capturePayload('DX-WM-1', 4242)).toString('hex'));
  assert.deepEqual(report.watermark.decoded, { deviceTagHex: report.watermark.payloadHex.slice(0, 8), frameSerial: 4242, device: 'DX-WM-1' });
  assert.equal(report.watermark.payloadMatchesAttestation, true);
  assert.ok(report.watermark.falsePositiveProbability < 1e-6);
  const att = readAttestation(readPart10(readFileSync(f)).dataSet)!;
  assert.equal(att.watermark?.scheme, 'RADSEAL-SS-1');
  assert.ok(att.watermark!.psnrDb >= 58);
  // The raw hash is of the frame as it arrived; the stored pixels are the marked ones.
  assert.equal(Buffer.from(att.rawFrameSha256).toString('hex'), createHash('sha256').update(readFileSync(raw)).digest('hex'));
  assert.notEqual(Buffer.from(att.pixelDataSha256).toString('hex'), Buffer.from(att.rawFrameSha256).toString('hex'));
  assert.match(run('dcmdump', ['+P', '0009,100a', f]).stdout, /RADSEAL-SS-1/);
});

test('sealed without the mark: verify with the site key says untrusted, never authentic', () => {
  const f = join(dir, 'unmarked.dcm');
  seal(f);
  assert.equal(verify(f).report.verdict, 'authentic', 'without a watermark key the signature alone decides');
  const { code, report } = verify(f, '--wm-key', wm);
  assert.equal(code, 1);
  assert.equal(report.verdict, 'untrusted');
  assert.equal(report.watermark.present, false);
  assert.ok(report.reasons.some((r: string) => /absent/.test(r)));
});

test('another site key: the mark is not found and the object is not authentic', () => {
  const other = join(dir, 'other-wm.key');
  assert.equal(radseal('watermark', 'keygen', '--out', other).code, 0);
  const { report } = verify(join(dir, 'marked.dcm'), '--wm-key', other);
  assert.equal(report.verdict, 'untrusted');
  assert.equal(report.watermark.present, false);
  assert.ok(report.reasons.some((r: string) => /not the site key given/.test(r)));
});

test('signature stripped: unsigned, and the pixels still name the device and frame', () => {
  const f = join(dir, 'stripped.dcm');
  copyFileSync(join(dir, 'marked.dcm'), f);
  assert.equal(run('dcmodify', ['-nb', '-e', '(fffa,fffa)', f]).code, 0);
  const { code, report } = verify(f, '--wm-key', wm);
  assert.equal(code, 1);
  assert.equal(report.verdict, 'unsigned');
  assert.equal(report.watermark.decoded.device, 'DX-WM-1');
  assert.equal(report.watermark.decoded.frameSerial, 4242);
  assert.ok(report.reasons.some((r: string) => /carry the site watermark/.test(r)));
});

test('a world-readable watermark key is refused with exit 2', () => {
  const loose = join(dir, 'loose.key');
  copyFileSync(wm, loose);
  run('chmod', ['644', loose]);
  const r = radseal('verify', join(dir, 'marked.dcm'), '--trust', join(k, 'device.crt'), '--wm-key', loose);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /accessible by others/);
});
