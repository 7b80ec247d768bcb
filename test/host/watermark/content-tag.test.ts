// The content tag judged on its reliable bits (host/watermark/contentTag.ts): a genuine mark on a
// near-symmetric frame is no longer called "transplanted", transplanted marks stay rejected, and
// a frame whose coarse content cannot bind the mark is reported undecided, never a match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentileTo8, xorshift } from '../../../host/image/transform.js';
import { bodyPhantom, makePhantom } from '../../../host/image/phantom.js';
import type { GrayImage } from '../../../host/image/png.js';
import { detectWatermark, embedWatermark } from '../../../host/watermark/index.js';
import {
  allowedTagDistance, contentTagFromMeans, judgeTag, tagCoefficients, tagMargins, TAG_FALSE_ACCEPT, TAG_MAX_DISTANCE, TAG_MIN_RELIABLE,
} from '../../../host/watermark/contentTag.js';
import { originals, smallFrame } from '../../../bench/watermark-set.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { sealFrame } from '../../../host/seal/seal.js';
import { capturePayload } from '../../../host/seal/watermark.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { verifyObject } from '../../../host/ingest/verify.js';

const chipMeans = (img: GrayImage) => {
  const gr = Math.floor(img.rows / 8), gc = Math.floor(img.cols / 8), m = new Float64Array(gr * gc);
  for (let y = 0; y < gr * 8; y++) for (let x = 0; x < gc * 8; x++) m[(y >> 3) * gc + (x >> 3)]! += img.pixels[y * img.cols + x]! / 64;
  return { m, gr, gc };
};
const hamming = (a: string, b: string) => {
  const x = Buffer.from(a, 'hex'), y = Buffer.from(b, 'hex');
  let d = 0;
  for (let i = 0; i < x.length; i++) for (let v = x[i]! ^ y[i]!; v; v >>= 1) d += v & 1;
  return d;
};
const keyOf = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());
const SYMMETRIC = bodyPhantom(768, 1024, 14, 3);
/** What the seal embeds for device SIM-0001, frame 11 (as in the link tests). */
const PAYLOAD = Buffer.from(capturePayload('SIM-0001', 11));
/** The first of the keys `content-tag ${i}` whose mark on SYMMETRIC with PAYLOAD the 32-bit rule rejected (distance 6). */
const PINNED_KEY = keyOf('content-tag 77');

/** The exact mark of `a` (marked a - a) added to `b`, clipped: the strongest transplant. */
function transplant(a: GrayImage, b: GrayImage, key: Uint8Array): GrayImage {
  const ea = embedWatermark(a, key, PAYLOAD);
  const maxv = 2 ** b.bitsStored - 1;
  return { ...b, pixels: b.pixels.map((v, i) => Math.min(maxv, Math.max(0, v + ea.image.pixels[i]! - a.pixels[i]!))) };
}

test('allowed distance: every count of reliable bits keeps an unrelated image at or below the 32-bit rule\'s 5.7e-5', () => {
  const cdf = (n: number, d: number) => { let s = 0, c = 1; for (let i = 0; i <= d; i++) { s += c; c = (c * (n - i)) / (i + 1); } return s / 2 ** n; };
  assert.ok(Math.abs(TAG_FALSE_ACCEPT - cdf(32, 5)) < 1e-12 && TAG_FALSE_ACCEPT < 5.7e-5);
  assert.equal(allowedTagDistance(32), TAG_MAX_DISTANCE, 'a fully reliable tag is judged as before');
  assert.equal(TAG_MIN_RELIABLE, 15);
  for (let n = 0; n <= 32; n++) {
    const d = allowedTagDistance(n);
    assert.equal(d < 0, n < TAG_MIN_RELIABLE, `n ${n}`);
    if (d >= 0) assert.ok(cdf(n, d) <= TAG_FALSE_ACCEPT * (1 + 1e-9), `n ${n}: P ${cdf(n, d)}`);
    assert.ok(d + 1 > n || cdf(n, d + 1) > TAG_FALSE_ACCEPT, `n ${n}: the allowance is the largest that keeps the bound`);
  }
});

test('the margin covers the mark\'s own change of every tag coefficient (phantoms, a radiograph region, three keys each)', () => {
  const rand = xorshift(7);
  const frames: GrayImage[] = [SYMMETRIC, makePhantom({ rows: 900, cols: 700, bitsStored: 12, seed: 11, photons: 20000 })];
  const rg = originals()[0];
  if (rg) frames.push(smallFrame(rg[1], { rows: 820, cols: 760 }, rand));
  let worst = 0;
  for (const f of frames) {
    const before = chipMeans(f);
    const c0 = tagCoefficients(before.m, before.gr, before.gc);
    const margins = tagMargins(before.gr, before.gc, f.bitsStored);
    for (let k = 0; k < 3; k++) {
      const e = embedWatermark(f, keyOf(`margin ${f.rows} ${k}`), PAYLOAD);
      const after = chipMeans(e.image);
      const c1 = tagCoefficients(after.m, after.gr, after.gc);
      for (let j = 0; j < 32; j++) worst = Math.max(worst, Math.abs(c1[j]! - c0[j]!) / margins[j]!);
    }
  }
  // The margin is 5 units of the mark's spread; the mark moved no coefficient by more than 2.4 units in 5088 measured.
  assert.ok(worst < 0.6, `largest mark change / margin ${worst.toFixed(3)}`);
});

test('pinned: a genuine mark on the near-symmetric frame that the 32-bit rule called transplanted is not a mismatch, and verifies authentic', async (t) => {
  const e = embedWatermark(SYMMETRIC, PINNED_KEY, PAYLOAD);
  const d = detectWatermark(e.image, PINNED_KEY, { sync: false });
  assert.equal(d.payloadHex, PAYLOAD.toString('hex'));
  const tag = d.contentTag!;
  // The old rule on the same tags: Hamming distance over all 32 bits > 5, i.e. "content tag mismatch".
  assert.ok(hamming(tag.embeddedHex, tag.computedHex) > TAG_MAX_DISTANCE, `all-bit distance ${hamming(tag.embeddedHex, tag.computedHex)}`);
  // Half the coefficients of a left-right and top-bottom symmetric body are ~0: the mark decides their signs.
  assert.ok(tag.reliableBits < TAG_MIN_RELIABLE, `reliable bits ${tag.reliableBits}`);
  assert.equal(tag.distance, 0, 'the reliable bits all agree');
  assert.equal(tag.match, null, 'undecided, not a mismatch and not a match');

  // The path that flaked: seal with the site mark, verify with the site key.
  const dir = mkdtempSync(join(tmpdir(), 'radseal-tag-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = await generateDeviceKey('SIM-0001', join(dir, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'test');
  const raw = SYMMETRIC.pixels;
  const sealed = await sealFrame({
    frame: { ...SYMMETRIC, pixels: raw.slice() }, rawFrameSha256: new Uint8Array(createHash('sha256').update(raw).digest()),
    frameSerial: 11, captureTime: new Date('2026-01-02T03:04:05Z'), watermark: { key: PINNED_KEY },
  }, device);
  const report = verifyObject('pinned', sealed.bytes, parseCertificates(readFileSync(keys.cert)), { watermarkKey: PINNED_KEY });
  assert.equal(report.verdict, 'authentic', report.reasons.join('; '));
  assert.equal(report.watermark?.contentTagMatches, null);
});

test('a partly symmetric frame with enough reliable bits is decided: a match as marked, a mismatch one bit past the allowance', () => {
  const f = bodyPhantom(768, 1024, 14, 3, 0.4);
  const e = embedWatermark(f, keyOf('content-tag decided'), PAYLOAD);
  const { m, gr, gc } = chipMeans(e.image);
  const embedded = Buffer.from(e.contentTagHex, 'hex');
  const j = judgeTag(embedded, m, gr, gc, f.bitsStored);
  assert.ok(j.reliableBits >= TAG_MIN_RELIABLE && j.reliableBits < 32, `reliable bits ${j.reliableBits}`);
  assert.equal(j.match, true);
  // Flip reliable bits of the embedded tag: up to the allowance it is a match, one more is a mismatch.
  const coef = tagCoefficients(m, gr, gc), margins = tagMargins(gr, gc, f.bitsStored);
  const reliable = [...coef.keys()].filter((k) => Math.abs(coef[k]!) >= margins[k]!);
  const flipped = (count: number) => {
    const t = Uint8Array.from(contentTagFromMeans(m, gr, gc));
    for (const k of reliable.slice(0, count)) t[k >> 3]! ^= 1 << (7 - (k & 7));
    return judgeTag(t, m, gr, gc, f.bitsStored);
  };
  assert.equal(flipped(j.maxDistance).match, true);
  assert.equal(flipped(j.maxDistance + 1).match, false);
});

test('transplanted marks stay rejected: onto the symmetric frame, from it, and between radiograph regions (as given and windowed to 8 bits)', () => {
  const rand = xorshift(99);
  const key = keyOf('content-tag transplant');
  const other = makePhantom({ rows: 768, cols: 1024, bitsStored: 14, seed: 5, photons: 20000 });
  const cases: Array<[string, GrayImage, GrayImage]> = [
    ['phantom -> symmetric frame', other, SYMMETRIC],
    ['symmetric frame -> phantom', SYMMETRIC, other],
  ];
  const [rg3, rg1] = originals();
  if (rg3 && rg1) cases.push(['RG3 region -> RG1 region', smallFrame(rg3[1], { rows: 900, cols: 800 }, rand), smallFrame(rg1[1], { rows: 900, cols: 800 }, rand)]);
  for (const [name, a, b] of cases) {
    const moved = transplant(a, b, key);
    for (const [how, img] of [['as given', moved], ['window 8-bit', percentileTo8(moved)]] as const) {
      const d = detectWatermark(img, key, { sync: false });
      assert.equal(d.payloadHex, PAYLOAD.toString('hex'), `${name}, ${how}: the lifted mark itself is found`);
      assert.equal(d.contentTag?.match, false, `${name}, ${how}: ${JSON.stringify(d.contentTag)}`);
    }
  }
});

test('undecided: on a flat frame the tag cannot bind the mark, genuine or transplanted: undecided, never a match', () => {
  const rand = xorshift(3);
  const flat = (): GrayImage => ({ rows: 512, cols: 640, bitsStored: 12, pixels: Uint16Array.from({ length: 512 * 640 }, () => 2000 + Math.floor(rand() * 9)) });
  const key = keyOf('content-tag flat');
  const genuine = detectWatermark(embedWatermark(flat(), key, PAYLOAD).image, key, { sync: false });
  const moved = detectWatermark(transplant(flat(), flat(), key), key, { sync: false });
  for (const [name, d] of [['genuine', genuine], ['transplanted', moved]] as const) {
    assert.equal(d.payloadHex, PAYLOAD.toString('hex'), name);
    assert.equal(d.contentTag?.reliableBits, 0, `${name}: no coefficient clears the mark's margin`);
    assert.equal(d.contentTag?.match, null, `${name}: undecided, never a match`);
  }
  // With few reliable bits any disagreement is a mismatch: the symmetric frame's tag with one reliable bit flipped.
  const { m, gr, gc } = chipMeans(SYMMETRIC);
  const coef = tagCoefficients(m, gr, gc), margins = tagMargins(gr, gc, SYMMETRIC.bitsStored);
  const k = [...coef.keys()].find((i) => Math.abs(coef[i]!) >= margins[i]!)!;
  const u = [...coef.keys()].find((i) => Math.abs(coef[i]!) < margins[i]!)!;
  const tagWith = (bit: number) => { const t = Uint8Array.from(contentTagFromMeans(m, gr, gc)); t[bit >> 3]! ^= 1 << (7 - (bit & 7)); return t; };
  assert.equal(judgeTag(tagWith(u), m, gr, gc, SYMMETRIC.bitsStored).match, null, 'an unreliable bit does not count');
  assert.equal(judgeTag(tagWith(k), m, gr, gc, SYMMETRIC.bitsStored).match, false, 'a reliable one does');
});
