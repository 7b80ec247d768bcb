// Frame kinds the watermark has never been tuned on: noise at every stored depth, flat and empty
// frames, saturation, tiny and odd sizes, the real radiographs, MONOCHROME1-style inversion and
// collimation borders. Used by bench/watermark-sweep.ts (many fresh keys) and the CI test
// test/host/watermark/frame-kinds.test.ts (a few). Every frame is made fresh from `rand`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readGrayImage, type GrayImage } from '../host/image/png.js';
import { makePhantom } from '../host/image/phantom.js';
import { changeCap, detectWatermark, embedWatermark, type DetectOptions } from '../host/watermark/index.js';
import { DATA, originals } from './watermark-set.js';

export interface FrameKind {
  name: string;
  /** A fresh frame of this kind. */
  make(rand: () => number): GrayImage;
  /** Large frame (seconds per trial with the searches): fewer trials. */
  large?: boolean;
}

const maxOf = (bits: number) => 2 ** bits - 1;

/** Uniform noise over `levels` levels centred in the range (all of it when the range is smaller). */
export function noiseFrame(rows: number, cols: number, bits: number, levels: number, rand: () => number): GrayImage {
  const maxv = maxOf(bits), span = Math.min(levels, maxv + 1), lo = Math.floor((maxv + 1 - span) / 2);
  const pixels = new Uint16Array(rows * cols);
  for (let i = 0; i < pixels.length; i++) pixels[i] = lo + Math.floor(rand() * span);
  return { rows, cols, bitsStored: bits, pixels };
}

function flat(rows: number, cols: number, bits: number, value: number): GrayImage {
  return { rows, cols, bitsStored: bits, pixels: new Uint16Array(rows * cols).fill(value) };
}

/** A smooth ramp (a quarter of the range across the frame), with or without a little read noise (sigma ~ 0.6 LSB). */
function gradient(rows: number, cols: number, bits: number, noisy: boolean, rand: () => number): GrayImage {
  const maxv = maxOf(bits), pixels = new Uint16Array(rows * cols);
  for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) {
    const v = maxv * (0.35 + (0.25 * (x + 0.5 * y)) / (cols + 0.5 * rows)) + (noisy ? rand() + rand() + rand() - 1.5 : 0);
    pixels[y * cols + x] = Math.round(v);
  }
  return { rows, cols, bitsStored: bits, pixels };
}

function phantom(rows: number, cols: number, bits: number, rand: () => number): GrayImage {
  return makePhantom({ rows, cols, bitsStored: bits, seed: 1 + Math.floor(rand() * 1e9), photons: 20000 });
}

/** The left half driven to the maximum (a burnt-out region). */
function halfSaturated(img: GrayImage): GrayImage {
  const maxv = maxOf(img.bitsStored), pixels = img.pixels.slice();
  for (let y = 0; y < img.rows; y++) pixels.fill(maxv, y * img.cols, y * img.cols + (img.cols >> 1));
  return { ...img, pixels };
}

/** MONOCHROME1 storage: the stored values are the inverse of the MONOCHROME2 ones. */
function inverted(img: GrayImage): GrayImage {
  const maxv = maxOf(img.bitsStored);
  return { ...img, pixels: img.pixels.map((v) => maxv - v) };
}

/** Collimation: everything outside a centred window covering `inner` of each side set to 0. */
function collimated(img: GrayImage, inner: number, rand: () => number): GrayImage {
  const pixels = img.pixels.slice();
  const h = Math.round(img.rows * inner), w = Math.round(img.cols * inner);
  const top = Math.floor(rand() * (img.rows - h)), left = Math.floor(rand() * (img.cols - w));
  for (let y = 0; y < img.rows; y++) for (let x = 0; x < img.cols; x++) {
    if (y < top || y >= top + h || x < left || x >= left + w) pixels[y * img.cols + x] = 0;
  }
  return { ...img, pixels };
}

/** A random rows x cols region of a real radiograph (its own depth). */
function region(src: GrayImage, rows: number, cols: number, rand: () => number): GrayImage {
  const top = Math.floor(rand() * (src.rows - rows + 1)), left = Math.floor(rand() * (src.cols - cols + 1));
  const pixels = new Uint16Array(rows * cols);
  for (let y = 0; y < rows; y++) pixels.set(src.pixels.subarray((top + y) * src.cols + left, (top + y) * src.cols + left + cols), y * cols);
  return { rows, cols, bitsStored: src.bitsStored, pixels };
}

/**
 * The kinds. `scale` < 1 shrinks the synthetic frames that are large (the CI test's budget); the real
 * radiographs are then used as 768 x 768 regions.
 */
export function frameKinds(scale = 1): FrameKind[] {
  const real = originals();
  const chest8 = join(DATA, '00000001_000.png');
  if (existsSync(chest8)) real.push(['NIH chest', readGrayImage(chest8, 8)]);
  const kinds: FrameKind[] = [];
  for (const bits of [8, 10, 12, 14, 16]) kinds.push({ name: `noise ${bits}-bit, 256 levels, 512x512`, make: (r) => noiseFrame(512, 512, bits, 256, r) });
  kinds.push({ name: 'noise 12-bit, full range, 512x512', make: (r) => noiseFrame(512, 512, 12, 4096, r) });
  kinds.push({ name: 'noise 16-bit, 4096 levels, 1024x1024', make: (r) => noiseFrame(1024, 1024, 16, 4096, r) });
  kinds.push({ name: 'flat mid-grey 12-bit 512x512', make: () => flat(512, 512, 12, 2048) });
  kinds.push({ name: 'flat value 1, 12-bit 512x512', make: () => flat(512, 512, 12, 1) });
  kinds.push({ name: 'all zero 12-bit 512x512', make: () => flat(512, 512, 12, 0) });
  kinds.push({ name: 'all max 12-bit 512x512', make: () => flat(512, 512, 12, 4095) });
  kinds.push({ name: 'all zero 8-bit 300x200', make: () => flat(300, 200, 8, 0) });
  kinds.push({ name: 'gradient 12-bit 512x512, no noise', make: (r) => gradient(512, 512, 12, false, r) });
  kinds.push({ name: 'gradient 14-bit 768x640, read noise', make: (r) => gradient(768, 640, 14, true, r) });
  kinds.push({ name: 'phantom 12-bit 512x512, half saturated', make: (r) => halfSaturated(phantom(512, 512, 12, r)) });
  kinds.push({ name: 'tiny 64x64 noise 12-bit', make: (r) => noiseFrame(64, 64, 12, 256, r) });
  kinds.push({ name: 'tiny 100x37 phantom 12-bit', make: (r) => phantom(100, 37, 12, r) });
  kinds.push({ name: 'tiny 7x5 noise 10-bit', make: (r) => noiseFrame(7, 5, 10, 256, r) });
  kinds.push({ name: 'line 1x4096 noise 12-bit', make: (r) => noiseFrame(1, 4096, 12, 256, r) });
  kinds.push({ name: 'column 2000x1 noise 12-bit', make: (r) => noiseFrame(2000, 1, 12, 256, r) });
  kinds.push({ name: 'strip 8x3000 noise 12-bit', make: (r) => noiseFrame(8, 3000, 12, 256, r) });
  const big = (n: number) => Math.max(64, Math.round(n * scale));
  kinds.push({ name: `odd ${big(2049)}x${big(1531)} phantom 12-bit`, make: (r) => phantom(big(2049), big(1531), 12, r), large: scale >= 1 });
  kinds.push({ name: `odd ${big(1023)}x${big(777)} phantom 10-bit`, make: (r) => phantom(big(1023), big(777), 10, r) });
  kinds.push({ name: `phantom 16-bit ${big(1536)}x${big(1024)}, collimated (inner 55%)`, make: (r) => collimated(phantom(big(1536), big(1024), 16, r), 0.55, r), large: scale >= 1 });
  for (const [name, img] of real) {
    const whole = scale >= 1 || img.rows * img.cols <= 768 * 768;
    const pick = (r: () => number) => (whole ? img : region(img, 768, 768, r));
    const size = whole ? `${img.rows}x${img.cols}` : '768x768 region';
    kinds.push({ name: `${name} ${size} ${img.bitsStored}-bit`, make: pick, large: whole });
    kinds.push({ name: `${name} ${size} MONOCHROME1 (inverted)`, make: (r) => inverted(pick(r)), large: whole });
    kinds.push({ name: `${name} ${size} collimated (inner 50%, zero borders)`, make: (r) => collimated(pick(r), 0.5, r), large: whole });
  }
  return kinds;
}

export interface Trial {
  /** What the embed said about its robust layer. */
  readable: boolean;
  problem: string | null;
  psnrDb: number;
  maxAbsChange: number;
  boosted: number;
  /** Detection as `radseal watermark detect` runs it (every search, no attestation). */
  present: boolean;
  score: number;
  payloadHex: string | null;
  bitErrors: number | null;
  tampered: number;
  tagMatch: boolean | null;
  /** What is wrong with this genuine, freshly marked frame (null: nothing). */
  failure: string | null;
}

/** Detection options of `radseal watermark detect` (host/cli/watermark-actions.ts). */
export const CLI_DETECT: DetectOptions = { rotation: true, timeBudgetMs: 10000 };

/**
 * Embeds and detects one frame and judges the outcome. A genuine freshly marked frame must never show a
 * tampered block, a wrong payload or a content tag that does not fit; when the embed says the robust
 * layer reads back, detection must return exactly the payload; when it says it does not, that is the
 * honest outcome (the frame had no room), not a failure. Fidelity: PSNR >= 58 dB, no change above the
 * cap, no pixel driven to 0 or the maximum.
 */
export function runTrial(img: GrayImage, key: Uint8Array, payload: Uint8Array, detect: DetectOptions = CLI_DETECT): Trial {
  const e = embedWatermark(img, key, payload);
  const d = detectWatermark(e.image, key, detect);
  const pay = Buffer.from(payload).toString('hex').padEnd(16, '0');
  const maxv = 2 ** img.bitsStored - 1, cap = changeCap(img.bitsStored);
  let fidelity: string | null = null;
  for (let i = 0; i < img.pixels.length && !fidelity; i++) {
    const a = img.pixels[i]!, b = e.image.pixels[i]!;
    if (Math.abs(a - b) > cap) fidelity = `pixel ${i} changed by ${b - a} (cap ${cap})`;
    else if ((b === 0 && a !== 0) || (b === maxv && a !== maxv)) fidelity = `pixel ${i} driven from ${a} to ${b}`;
  }
  const failure = fidelity
    ?? (e.psnrDb < 58 ? `PSNR ${e.psnrDb.toFixed(2)} dB < 58` : null)
    ?? (d.blocks.tampered.length ? `${d.blocks.tampered.length} of ${d.blocks.rows * d.blocks.cols} blocks reported tampered` : null)
    ?? (d.payloadHex !== null && d.payloadHex !== pay ? `wrong payload ${d.payloadHex}` : null)
    ?? (d.contentTag?.match === false ? 'content tag does not fit the genuine frame' : null)
    ?? (e.robust.readable && d.payloadHex !== pay ? `embed said readable, detect read ${d.payloadHex ?? 'no payload'} (present ${d.present}, score ${d.score.toFixed(1)})` : null)
    ?? (!e.robust.readable && !e.robust.problem ? 'unreadable without a reason' : null);
  return {
    readable: e.robust.readable, problem: e.robust.problem, psnrDb: e.psnrDb, maxAbsChange: e.maxAbsChange, boosted: e.robust.boostedPositions,
    present: d.present, score: d.score, payloadHex: d.payloadHex, bitErrors: d.bitErrors, tampered: d.blocks.tampered.length,
    tagMatch: d.contentTag ? d.contentTag.match : null, failure,
  };
}
