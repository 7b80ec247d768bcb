// Held-out-style frames for the watermark benchmark: small native frames made from the real
// radiographs the way a small detector would see them (a random region of the original, area-
// resampled to the target size BEFORE marking, rescaled to 12 bits, fresh Poisson-Gaussian
// detector noise), generated phantoms of the same sizes, and random crop offsets. Every call takes
// its own random source, so each benchmark run draws new regions, noise, keys and payloads.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { projectRoot } from '../host/core/wasm.js';
import { readGrayImage, type GrayImage } from '../host/image/png.js';
import { makePhantom } from '../host/image/phantom.js';
import { gaussian } from '../host/image/transform.js';

export const DATA = join(projectRoot(), '..', 'shared', 'data', 'radiographs');

/** The real originals (stored values), or [] when ../shared/data/radiographs is absent. */
export function originals(): Array<[string, GrayImage]> {
  if (!existsSync(DATA)) return [];
  return [
    ['RG3', readGrayImage(join(DATA, 'RG3_J2KR_stored_values_16bit.png'), 10)],
    ['RG1', readGrayImage(join(DATA, 'RG1_J2KI_stored_values_16bit.png'), 15)],
  ];
}

/** Uniform in [0, 1) from the OS CSPRNG: a fresh draw every run (not a seeded generator). */
export function freshRandom(): () => number {
  let buf = randomBytes(4096), i = 0;
  return () => {
    if (i + 4 > buf.length) { buf = randomBytes(4096); i = 0; }
    const v = buf.readUInt32LE(i) / 4294967296;
    i += 4;
    return v;
  };
}

/** Area-weighted resample of the region (top, left, h, w) of `src` to rows x cols (every source pixel weighs by its overlap). */
export function areaResample(src: GrayImage, top: number, left: number, h: number, w: number, rows: number, cols: number): Float64Array {
  const sy = h / rows, sx = w / cols;
  // Column weights once: for output column x, the source columns and their overlap.
  const colSpans: Array<Array<[number, number]>> = [];
  for (let x = 0; x < cols; x++) {
    const a = left + x * sx, b = a + sx, span: Array<[number, number]> = [];
    for (let c = Math.floor(a); c < Math.ceil(b); c++) span.push([c, Math.min(b, c + 1) - Math.max(a, c)]);
    colSpans.push(span);
  }
  const out = new Float64Array(rows * cols);
  const rowAcc = new Float64Array(cols);
  for (let y = 0; y < rows; y++) {
    const a = top + y * sy, b = a + sy;
    rowAcc.fill(0);
    for (let r = Math.floor(a); r < Math.ceil(b); r++) {
      const wy = Math.min(b, r + 1) - Math.max(a, r);
      const base = r * src.cols;
      for (let x = 0; x < cols; x++) {
        let s = 0;
        for (const [c, wx] of colSpans[x]!) s += wx * src.pixels[base + c]!;
        rowAcc[x]! += wy * s;
      }
    }
    for (let x = 0; x < cols; x++) out[y * cols + x] = rowAcc[x]! / (sy * sx);
  }
  return out;
}

export interface SmallFrameOptions {
  rows: number;
  cols: number;
  bitsStored?: number;
  /** Photons per pixel at full scale (quantum noise); default drawn in [8000, 40000]. */
  photons?: number;
}

/**
 * A native small frame from a real original: a random region (at least 60% of the shorter side,
 * the target's aspect ratio) area-resampled to rows x cols, its 1st–99.9th percentile range mapped
 * to 5–95% of the stored range, then Poisson (photon count) and Gaussian read noise (1.5 LSB at 12 bits)
 * added. This is a frame as a small detector would deliver it, to be marked afterwards.
 */
export function smallFrame(src: GrayImage, o: SmallFrameOptions, rand: () => number): GrayImage {
  const bits = o.bitsStored ?? 12;
  const maxv = 2 ** bits - 1;
  const aspect = o.cols / o.rows;
  const maxH = Math.min(src.rows, src.cols / aspect);
  const h = Math.max(o.rows, (0.6 + 0.4 * rand()) * maxH), w = h * aspect;
  const top = rand() * (src.rows - h), left = rand() * (src.cols - w);
  const v = areaResample(src, top, left, h, w, o.rows, o.cols);
  const sorted = Float64Array.from(v).sort();
  const lo = sorted[Math.floor(0.01 * (sorted.length - 1))]!, hi = sorted[Math.floor(0.999 * (sorted.length - 1))]!;
  const photons = o.photons ?? 8000 + 32000 * rand();
  const g = gaussian(rand);
  const read = 1.5 * 2 ** (bits - 12);
  const px = new Uint16Array(o.rows * o.cols);
  for (let i = 0; i < px.length; i++) {
    const f = Math.min(0.97, Math.max(0.02, 0.05 + 0.9 * (v[i]! - lo) / Math.max(1e-9, hi - lo)));
    const count = f * photons;
    const q = Math.round(((count + Math.sqrt(count) * g()) / photons) * maxv + read * g());
    px[i] = q < 0 ? 0 : q > maxv ? maxv : q;
  }
  return { rows: o.rows, cols: o.cols, bitsStored: bits, pixels: px };
}

/** A generated phantom of the given size with a fresh seed and noise level. */
export function phantomFrame(o: SmallFrameOptions, rand: () => number): GrayImage {
  return makePhantom({ rows: o.rows, cols: o.cols, bitsStored: o.bitsStored ?? 12, seed: 1 + Math.floor(rand() * 2 ** 31), photons: o.photons ?? 8000 + 32000 * rand() });
}

/** Random frame sizes of the classes: 700–1100 px a side, and 1.5k x 1k (either orientation). */
export function smallSize(kind: 'small' | 'dental', rand: () => number): { rows: number; cols: number } {
  if (kind === 'dental') return rand() < 0.5 ? { rows: 1000 + Math.floor(rand() * 40), cols: 1500 + Math.floor(rand() * 40) } : { rows: 1500 + Math.floor(rand() * 40), cols: 1000 + Math.floor(rand() * 40) };
  return { rows: 700 + Math.floor(rand() * 401), cols: 700 + Math.floor(rand() * 401) };
}

/** A 50%-area crop (0.7071 of each side) at an offset drawn uniformly over the frame. */
export function randomHalfCrop(img: GrayImage, rand: () => number): { top: number; left: number; rows: number; cols: number } {
  const rows = Math.round(img.rows * Math.SQRT1_2), cols = Math.round(img.cols * Math.SQRT1_2);
  return { top: Math.floor(rand() * (img.rows - rows + 1)), left: Math.floor(rand() * (img.cols - cols + 1)), rows, cols };
}
