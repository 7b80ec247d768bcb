// verify --wm-key runs the watermark searches itself: a sealed frame whose pixels were turned by 3°
// (or cropped) after sealing is not authentic (the signature decides), and the report says the site
// mark is still there, which search found it, and that it names the sealing device and frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePhantom } from '../../../host/image/phantom.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { grayFromParsed } from '../../../host/image/dicom.js';
import { rotate } from '../../../host/image/transform.js';
import { capturePayload } from '../../../host/seal/watermark.js';
import { radseal, tempDir } from '../support/run.js';

const dir = tempDir();
const k = join(dir, 'keys'), wm = join(dir, 'wm.key');
const rows = 1024, cols = 1024;
const frame = makePhantom({ rows, cols, bitsStored: 12, seed: 44, photons: 20000 });
writeFileSync(join(dir, 'f.raw'), new Uint8Array(frame.pixels.buffer));

/** The object with its Pixel Data values replaced in place (same length), as an editor would leave it. */
function withPixels(file: string, out: string, pixels: Uint16Array): void {
  const bytes = readFileSync(file);
  const old = grayFromParsed(readPart10(bytes)).pixels;
  const at = bytes.indexOf(Buffer.from(old.buffer, old.byteOffset, old.byteLength));
  assert.ok(at > 0, 'pixel data found');
  Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength).copy(bytes, at);
  writeFileSync(out, bytes);
}
function verify(file: string) {
  const r = radseal('verify', file, '--trust', join(k, 'device.crt'), '--wm-key', wm, '--json');
  return { code: r.code, report: JSON.parse(r.stdout) };
}

test('a sealed frame turned by 3° after sealing: not authentic, the rotation search finds the attested mark', () => {
  assert.equal(radseal('keygen', '--id', 'DX-ROT-1', '--out', k).code, 0);
  assert.equal(radseal('watermark', 'keygen', '--out', wm).code, 0);
  const sealed = join(dir, 'sealed.dcm');
  const s = radseal('seal', '--key', join(k, 'device.key'), '--cert', join(k, 'device.crt'), '--in', join(dir, 'f.raw'), '--rows', String(rows), '--cols', String(cols), '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--serial', '77', '--wm-key', wm, '--out', sealed);
  assert.equal(s.code, 0, s.stderr);
  const intact = verify(sealed);
  assert.equal(intact.report.verdict, 'authentic');
  assert.equal(intact.report.watermark.search.foundBy, 'aligned');
  assert.deepEqual(intact.report.watermark.search.stages.map((x: { stage: string }) => x.stage), ['aligned'], 'no search runs when the aligned test finds the mark');

  const marked = grayFromParsed(readPart10(readFileSync(sealed)));
  const turned = join(dir, 'turned.dcm');
  withPixels(sealed, turned, rotate(marked, 3).pixels);
  const { code, report } = verify(turned);
  assert.notEqual(code, 0);
  assert.notEqual(report.verdict, 'authentic', 'the signature decides: the pixels changed');
  const w = report.watermark;
  assert.equal(w.present, true);
  assert.equal(w.search.foundBy, 'rotation');
  assert.ok(Math.abs(w.search.rotationDeg - 3) <= 0.35, `angle ${w.search.rotationDeg}`);
  assert.equal(w.payloadHex, Buffer.from(capturePayload('DX-ROT-1', 77)).toString('hex'));
  assert.equal(w.payloadMatchesAttestation, true);
  assert.ok(w.falsePositiveProbability <= 1e-6);
  assert.ok(report.reasons.some((r: string) => /found by the rotation search/.test(r)), report.reasons.join('\n'));
});
