// Fragile authentication layer: exact per-block verdicts on the lossless path,
// partial edge blocks, collimated (zero) regions, and its disappearance under
// lossy processing (the detector then falls back to the robust map).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GrayImage } from '../../../host/image/png.js';
import { makePhantom } from '../../../host/image/phantom.js';
import { decodeGrayJpeg, encodeGrayJpeg } from '../../../host/image/jpeg.js';
import { haveOpenJpeg, jp2RoundTrip } from '../../../host/image/jp2.js';
import { percentileTo8, xorshift } from '../../../host/image/transform.js';
import { detectWatermark, embedWatermark } from '../../../host/watermark/index.js';

const PAYLOAD = Buffer.from('0badc0ffee000001', 'hex');
const key = new Uint8Array(32).map((_, i) => (i * 29 + 3) & 255);

function blockOf(img: GrayImage, i: number): string {
  return `${Math.floor(Math.floor(i / img.cols) / 64)},${Math.floor((i % img.cols) / 64)}`;
}

test('any single-pixel change is flagged in exactly its block (odd frame size, partial edge blocks)', () => {
  const img = makePhantom({ rows: 900, cols: 835, bitsStored: 12, seed: 3, photons: 20000 });
  const e = embedWatermark(img, key, PAYLOAD);
  const intact = detectWatermark(e.image, key);
  assert.equal(intact.mapSource, 'fragile');
  assert.deepEqual(intact.fragile, { verified: 15 * 14, blocks: 15 * 14, used: true });
  assert.equal(intact.blocks.tampered.length, 0);
  const rand = xorshift(17);
  for (let k = 0; k < 40; k++) {
    // last blocks are partial (900 = 14*64 + 4, 835 = 13*64 + 3): aim there every fourth time
    const y = k % 4 === 0 ? 896 + Math.floor(rand() * 4) : Math.floor(rand() * img.rows);
    const x = k % 4 === 0 ? Math.floor(rand() * img.cols) : k % 4 === 1 ? 832 + Math.floor(rand() * 3) : Math.floor(rand() * img.cols);
    const px = e.image.pixels.slice();
    const i = y * img.cols + x;
    px[i] = k % 2 ? px[i]! ^ 1 : px[i]! + (px[i]! > 2000 ? -3 : 3); // an LSB flip or a small change
    const d = detectWatermark({ ...e.image, pixels: px }, key);
    assert.equal(d.mapSource, 'fragile');
    assert.deepEqual(d.blocks.tampered.map(([r, c]) => `${r},${c}`), [blockOf(img, i)], `pixel (${y}, ${x})`);
  }
});

test('collimated zero regions are protected too, and nothing is driven to 0', () => {
  const img = makePhantom({ rows: 768, cols: 768, bitsStored: 10, seed: 8, photons: 20000 });
  const px = img.pixels.map((v, i) => (i % 768 < 256 ? 0 : v)); // left third collimated to 0
  const z = { ...img, pixels: px };
  const e = embedWatermark(z, key, PAYLOAD);
  let up = 0;
  for (let i = 0; i < px.length; i++) {
    const a = px[i]!, b = e.image.pixels[i]!;
    assert.ok(!(b === 0 && a !== 0), 'a pixel was driven to 0');
    if (a === 0 && b === 1) up++;
  }
  assert.ok(up > 0, 'zero blocks carry fragile bits (0 -> 1)');
  const d = detectWatermark(e.image, key);
  assert.equal(d.mapSource, 'fragile');
  assert.equal(d.blocks.tampered.length, 0);
  // "Erase" a 128 x 128 patch inside the zero region (carriers back to 0), and paint a lesion out of the anatomy with 0.
  const t = e.image.pixels.slice();
  for (let y = 320; y < 448; y++) for (let x = 64; x < 192; x++) t[y * 768 + x] = 0;
  for (let y = 128; y < 192; y++) for (let x = 448; x < 512; x++) t[y * 768 + x] = 0;
  const dt = detectWatermark({ ...e.image, pixels: t }, key);
  const got = new Set(dt.blocks.tampered.map(([r, c]) => `${r},${c}`));
  for (const b of ['5,1', '5,2', '6,1', '6,2', '2,7']) assert.ok(got.has(b), `block ${b} not flagged`);
  assert.equal(got.size, 5);
});

test('copy-move by whole blocks and paste-in from another marked image (same key) fail the tags', () => {
  const a = makePhantom({ rows: 1024, cols: 1024, bitsStored: 14, seed: 11, photons: 20000 });
  const b = makePhantom({ rows: 1024, cols: 1024, bitsStored: 14, seed: 12, photons: 20000 });
  const ea = embedWatermark(a, key, PAYLOAD), eb = embedWatermark(b, key, Buffer.from('0badc0ffee000002', 'hex'));
  for (const [name, src, sy, sx] of [['copy-move +256,+256', ea.image, 0, 0], ['copy-move +512,0', ea.image, 512, 256], ['same spot from another marked image', eb.image, 256, 256]] as const) {
    const px = ea.image.pixels.slice();
    for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) px[(256 + y) * 1024 + 256 + x] = src.pixels[(sy + y) * 1024 + sx + x]!;
    const d = detectWatermark({ ...ea.image, pixels: px }, key);
    assert.equal(d.mapSource, 'fragile', name);
    assert.deepEqual(d.blocks.tampered.map(([r, c]) => `${r},${c}`).sort(), ['4,4', '4,5', '5,4', '5,5'], name);
  }
});

test('the fragile layer vanishes under lossy export and the robust map is used instead', (t) => {
  const img = makePhantom({ rows: 1024, cols: 1024, bitsStored: 12, seed: 5, photons: 20000 });
  const e = embedWatermark(img, key, PAYLOAD);
  const jpg = decodeGrayJpeg(encodeGrayJpeg(percentileTo8(e.image), 90));
  const dj = detectWatermark(jpg, key);
  assert.equal(dj.payloadHex, PAYLOAD.toString('hex'));
  assert.ok(dj.fragile && !dj.fragile.used && dj.fragile.verified <= 0.05 * dj.fragile.blocks, JSON.stringify(dj.fragile));
  assert.notEqual(dj.mapSource, 'fragile');
  assert.ok(dj.blocks.tampered.length <= 0.1 * dj.blocks.rows * dj.blocks.cols, `${dj.blocks.tampered.length} false blocks after JPEG`);
  // forcing the robust map on the lossless path
  assert.notEqual(detectWatermark(e.image, key, { tamperMap: 'robust' }).mapSource, 'fragile');
  if (!haveOpenJpeg()) { t.diagnostic('opj_compress not installed: JPEG 2000 case skipped'); return; }
  const dj2 = detectWatermark(jp2RoundTrip(e.image, 20), key);
  assert.ok(dj2.fragile && !dj2.fragile.used, JSON.stringify(dj2.fragile));
  assert.notEqual(dj2.mapSource, 'fragile');
});

test('an expected payload is confirmed by the fragile tags when the robust decoder cannot read it (small frame)', () => {
  // 256 x 320: too small for the robust payload (the embed says so); 512 x 640 reads it since the embed
  // allocates the mark's energy by what the detector reads.
  const frame = makePhantom({ rows: 256, cols: 320, bitsStored: 12, seed: 21 });
  let robustFailed = 0;
  for (let k = 0; k < 6; k++) {
    const kk = new Uint8Array(32).fill(k + 1);
    const e = embedWatermark(frame, kk, PAYLOAD);
    const plain = detectWatermark(e.image, kk);
    assert.equal(e.robust.readable, plain.payloadHex !== null, 'the embed says whether the robust payload reads back');
    if (plain.payloadHex === null) robustFailed++;
    const d = detectWatermark(e.image, kk, { expectedPayload: PAYLOAD });
    assert.equal(d.present, true);
    assert.equal(d.payloadHex, PAYLOAD.toString('hex'));
    assert.equal(d.payloadSource, plain.payloadHex ? 'robust' : 'fragile');
    assert.equal(d.mapSource, 'fragile');
    assert.equal(d.blocks.tampered.length, 0);
    // a wrong expected payload is not confirmed, and an unmarked frame confirms nothing
    const wrong = detectWatermark(e.image, kk, { expectedPayload: Buffer.from('0badc0ffee000002', 'hex') });
    if (!plain.payloadHex) { assert.equal(wrong.payloadHex, null); assert.equal(wrong.fragile?.verified, 0); }
    const un = detectWatermark(frame, kk, { expectedPayload: PAYLOAD });
    assert.equal(un.present, false);
    assert.equal(un.payloadHex, null);
  }
  assert.ok(robustFailed > 0, 'the case this covers did not occur (robust decoding succeeded for every key)');
});
