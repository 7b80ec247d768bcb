// Content tag before/after: the full-tag rule (Hamming distance <= 5 of 32) against the reliable-bit
// rule (host/watermark/contentTag.ts judgeTag), on the same samples.
//  - Genuine: fresh frames (a near-symmetric phantom like the link tests' frame, the simulator's chest
//    phantom, generated phantoms, regions of the real radiographs, the NIH chest, the radiographs at
//    native size), a fresh key and payload each, the exports and attacks that keep the geometry.
//    A reject is a genuine mark judged "does not fit these pixels".
//  - Transplant: the exact mark of image A (marked A - A) added to a different image B of the same size,
//    as given, windowed to 8 bits, and windowed + JPEG q90. An accept is a transplanted mark judged a match.
// Both rules see the tag bytes the embedder wrote and the chip means of the image at the marked geometry
// (what detect computes there); a share of the genuine samples also runs detectWatermark to confirm that
// the detector reports the same judgement. CT_TRIALS (default 140) frames, CT_PAIRS (default 240) pairs.
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readGrayImage, type GrayImage } from '../host/image/png.js';
import { decodeGrayJpeg, encodeGrayJpeg } from '../host/image/jpeg.js';
import { haveOpenJpeg, jp2RoundTrip } from '../host/image/jp2.js';
import { clahe, unsharpMask } from '../host/image/enhance.js';
import { addGaussianNoise, downscaleBox, fullRangeTo8, gamma, percentileTo8 } from '../host/image/transform.js';
import { phantomBase, exposeFrame } from '../host/sim/frames.js';
import { bodyPhantom } from '../host/image/phantom.js';
import { detectWatermark, embedWatermark } from '../host/watermark/index.js';
import { contentTagFromMeans, judgeTag, TAG_MAX_DISTANCE } from '../host/watermark/contentTag.js';
import { DATA, freshRandom, originals, phantomFrame, smallFrame } from './watermark-set.js';

const TRIALS = Number(process.env.CT_TRIALS ?? 140);
const PAIRS = Number(process.env.CT_PAIRS ?? 240);
const rnd = freshRandom();
const origs = originals();
const nih = origs.length ? readGrayImage(join(DATA, '00000001_000.png')) : null;

/** The frame of test/host/link/arena.test.ts. */
const symmetricPhantom = (rows: number, cols: number, bits: number, seed: number): GrayImage => bodyPhantom(rows, cols, bits, seed);
function chipMeans(img: GrayImage, chip: number): { m: Float64Array; gr: number; gc: number } {
  const gr = Math.floor(img.rows / chip), gc = Math.floor(img.cols / chip);
  const m = new Float64Array(gr * gc);
  for (let y = 0; y < gr * chip; y++) {
    const o = Math.floor(y / chip) * gc;
    for (let x = 0; x < gc * chip; x++) m[o + Math.floor(x / chip)]! += img.pixels[y * img.cols + x]!;
  }
  for (let i = 0; i < m.length; i++) m[i]! /= chip * chip;
  return { m, gr, gc };
}
function hamming(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) for (let x = a[i]! ^ b[i]!; x; x >>= 1) d += x & 1;
  return d;
}
/** Both rules on one image: the old one's match, and the new judgement. */
function judge(embedded: Uint8Array, img: GrayImage, chip: number, invert: boolean) {
  const { m, gr, gc } = chipMeans(img, chip);
  const oldMatch = hamming(embedded, contentTagFromMeans(m, gr, gc, invert)) <= TAG_MAX_DISTANCE;
  return { oldMatch, now: judgeTag(embedded, m, gr, gc, img.bitsStored, invert) };
}

const size = () => ({ rows: 700 + Math.floor(rnd() * 401), cols: 700 + Math.floor(rnd() * 401) });
const seed = () => 1 + Math.floor(rnd() * 1e9);
const sim = (rows: number, cols: number, bits: number): GrayImage =>
  ({ rows, cols, bitsStored: bits, pixels: new Uint16Array(exposeFrame(phantomBase(rows, cols, seed()), bits, seed()).buffer) });
const sources: Array<[string, () => GrayImage]> = [
  ['symmetric phantom 768×1024 (link tests)', () => symmetricPhantom(768, 1024, 14, seed())],
  ['simulator chest phantom', () => { const s = size(); return sim(s.rows, s.cols, 14); }],
  ['generated phantom', () => phantomFrame(size(), rnd)],
  ...(origs.length ? [
    ['RG3 region', () => smallFrame(origs[0]![1], size(), rnd)],
    ['RG1 region', () => smallFrame(origs[1]![1], size(), rnd)],
    ['NIH chest region 300–500 px', () => { const n = 300 + Math.floor(rnd() * 200); return smallFrame(nih!, { rows: n, cols: n }, rnd); }],
    ['RG3/RG1 native size + noise', () => { const [, img] = origs[Math.floor(rnd() * 2)]!; return addGaussianNoise(img, 0.5 * 2 ** (img.bitsStored - 10), seed()); }],
  ] as Array<[string, () => GrayImage]> : []),
];
const j8 = (m: GrayImage, q: number) => decodeGrayJpeg(encodeGrayJpeg(percentileTo8(m), q));
const ojp = haveOpenJpeg();
// name, attack, chip size of the marked grid afterwards, inverted
const attacks: Array<[string, (m: GrayImage) => GrayImage, number, boolean]> = [
  ['lossless', (m) => m, 8, false],
  ['full-range 8-bit', (m) => fullRangeTo8(m), 8, false],
  ['window 8-bit', (m) => percentileTo8(m), 8, false],
  ['inverted 8-bit', (m) => percentileTo8(m, 0.005, 0.995, true), 8, true],
  ['JPEG q90', (m) => j8(m, 90), 8, false],
  ['JPEG q75', (m) => j8(m, 75), 8, false],
  ['JPEG q50', (m) => j8(m, 50), 8, false],
  ['noise 1%', (m) => addGaussianNoise(m, 0.01 * (2 ** m.bitsStored - 1), seed()), 8, false],
  ['gamma 0.8', (m) => gamma(m, 0.8), 8, false],
  ['0.5× box', (m) => downscaleBox(m, 2), 4, false],
  ['unsharp', (m) => unsharpMask(m, 2, 1), 8, false],
  ['JPEG q75 + noise', (m) => addGaussianNoise(j8(m, 75), 2.55, seed()), 8, false],
  ...(ojp ? [['JPEG 2000 20:1', (m: GrayImage) => jp2RoundTrip(m, 20), 8, false]] as Array<[string, (m: GrayImage) => GrayImage, number, boolean]> : []),
  ['CLAHE', (m) => clahe(m, 8, 2, 256), 8, false],
];

interface Tally { n: number; old: number; now: number; undecided: number; minReliable: number; sumReliable: number }
const tally = (): Tally => ({ n: 0, old: 0, now: 0, undecided: 0, minReliable: 99, sumReliable: 0 });
const pct = (k: number, n: number) => `${k}/${n} (${n ? ((100 * k) / n).toFixed(1) : '0'}%)`;

console.log(`# content tag, full-tag rule vs reliable bits — ${new Date().toISOString()} — node ${process.version}, ${TRIALS} genuine frames × ${attacks.length} exports/attacks, ${PAIRS} transplant pairs`);
const gen = new Map<string, Tally>();
let detChecked = 0, detAgree = 0;
const t0 = performance.now();
for (let t = 0; t < TRIALS; t++) {
  const [src, make] = sources[t % sources.length]!;
  const frame = make();
  const key = randomBytes(32);
  const e = embedWatermark(frame, key, randomBytes(8));
  const embedded = Buffer.from(e.contentTagHex, 'hex');
  for (const [an, fn, chip, inv] of attacks) {
    const img = fn(e.image);
    const { oldMatch, now } = judge(embedded, img, chip, inv);
    const group = an === 'lossless' ? 'lossless' : an === 'CLAHE' ? 'CLAHE' : 'exports and attacks';
    for (const k of [`${src} | ${group}`, `all | ${group}`]) {
      const x = gen.get(k) ?? tally();
      x.n++; if (!oldMatch) x.old++; if (now.match === false) x.now++; if (now.match === null) x.undecided++;
      x.minReliable = Math.min(x.minReliable, now.reliableBits); x.sumReliable += now.reliableBits;
      gen.set(k, x);
    }
    if (chip === 8 && (an === 'lossless' || t % 4 === 0)) {
      const d = detectWatermark(img, key, { sync: false });
      if (d.contentTag) { detChecked++; if (d.contentTag.match === now.match && d.contentTag.reliableBits === now.reliableBits) detAgree++; }
    }
  }
}
console.log(`\n## Genuine marks (${((performance.now() - t0) / 1000).toFixed(0)} s): judged "does not fit these pixels"`);
console.log('| frames | class | samples | full-tag rule: reject | reliable bits: reject | undecided | reliable bits min / mean |');
console.log('|---|---|---|---|---|---|---|');
for (const [k, x] of [...gen].sort(([a], [b]) => (a.startsWith('all') ? 1 : 0) - (b.startsWith('all') ? 1 : 0) || a.localeCompare(b))) {
  console.log(`| ${k} | ${x.n} | ${pct(x.old, x.n)} | ${pct(x.now, x.n)} | ${pct(x.undecided, x.n)} | ${x.minReliable} / ${(x.sumReliable / x.n).toFixed(1)} |`);
}
console.log(`detectWatermark reported the same judgement and reliable-bit count on ${detAgree} of ${detChecked} samples checked through it`);

// Transplants: A and B of different kinds or different regions/seeds, the same size.
const kinds: Array<[string, (rows: number, cols: number) => GrayImage]> = [
  ['sim', (r, c) => sim(r, c, 12)],
  ['phantom', (r, c) => phantomFrame({ rows: r, cols: c, bitsStored: 12 }, rnd)],
  ['symmetric', (r, c) => symmetricPhantom(r, c, 12, seed())],
  ...(origs.length ? [
    ['RG3', (r: number, c: number) => smallFrame(origs[0]![1], { rows: r, cols: c }, rnd)],
    ['RG1', (r: number, c: number) => smallFrame(origs[1]![1], { rows: r, cols: c }, rnd)],
    ['NIH', (r: number, c: number) => smallFrame(nih!, { rows: r, cols: c }, rnd)],
  ] as Array<[string, (rows: number, cols: number) => GrayImage]> : []),
];
const tp = new Map<string, Tally>();
const t1 = performance.now();
for (let p = 0; p < PAIRS; p++) {
  const [ka, ma] = kinds[Math.floor(rnd() * kinds.length)]!, [kb, mb] = kinds[Math.floor(rnd() * kinds.length)]!;
  const small = ka === 'NIH' || kb === 'NIH';
  const rows = small ? 300 + Math.floor(rnd() * 200) : 700 + Math.floor(rnd() * 401), cols = small ? rows : 700 + Math.floor(rnd() * 401);
  const a = ma(rows, cols), b = mb(rows, cols);
  const e = embedWatermark(a, randomBytes(32), randomBytes(8));
  const embedded = Buffer.from(e.contentTagHex, 'hex');
  const maxv = 2 ** b.bitsStored - 1;
  const px = b.pixels.map((v, i) => Math.min(maxv, Math.max(0, v + e.image.pixels[i]! - a.pixels[i]!)));
  const bm: GrayImage = { ...b, pixels: px };
  // Same generator with a fresh seed: the simulator's chest and the symmetric phantom are the same
  // picture up to noise (and a 2% shift), so no content tag can tell them apart.
  const cls = ka === kb ? (ka === 'sim' || ka === 'symmetric' ? `${ka} → ${kb} (same picture, new noise)` : `${ka} → ${kb} (another region/seed)`)
    : kb === 'symmetric' ? `→ symmetric phantom` : 'different kinds';
  for (const img of [bm, percentileTo8(bm), j8(bm, 90)]) {
    const { oldMatch, now } = judge(embedded, img, 8, false);
    for (const k of [cls, 'all']) {
      const x = tp.get(k) ?? tally();
      x.n++; if (oldMatch) x.old++; if (now.match === true) x.now++; if (now.match === null) x.undecided++;
      x.minReliable = Math.min(x.minReliable, now.reliableBits); x.sumReliable += now.reliableBits;
      tp.set(k, x);
    }
  }
}
console.log(`\n## Transplanted marks (${((performance.now() - t1) / 1000).toFixed(0)} s; as given, window 8-bit, window + JPEG q90): judged a match`);
console.log('| A → B | samples | full-tag rule: accept | reliable bits: accept | undecided | reliable bits min / mean |');
console.log('|---|---|---|---|---|---|');
for (const [k, x] of [...tp].sort(([a], [b]) => (a === 'all' ? 1 : 0) - (b === 'all' ? 1 : 0) || a.localeCompare(b))) {
  console.log(`| ${k} | ${x.n} | ${pct(x.old, x.n)} | ${pct(x.now, x.n)} | ${pct(x.undecided, x.n)} | ${x.minReliable} / ${(x.sumReliable / x.n).toFixed(1)} |`);
}
