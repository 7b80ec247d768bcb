// Synthetic radiograph-like frames for tests and benchmarks: smooth
// anatomy-like structure (soft-tissue blobs, a body outline, bone-like bands
// with sharp edges, a collimation gradient) plus Poisson detector noise.
// Deterministic for a given seed. Never a substitute for real images in the
// benchmark tables, only a stand-in where they are absent or for other sizes.
import type { GrayImage } from './png.js';
import { gaussian, xorshift } from './transform.js';

export interface PhantomOptions {
  rows: number;
  cols: number;
  bitsStored: number;
  seed?: number;
  /** Mean photon count at full scale (Poisson noise level); default 4000. */
  photons?: number;
}

export function makePhantom(o: PhantomOptions): GrayImage {
  const { rows, cols, bitsStored } = o;
  const rand = xorshift(o.seed ?? 1);
  const g = gaussian(rand);
  const maxv = 2 ** bitsStored - 1;
  const blobs = Array.from({ length: 14 }, () => ({
    y: rand() * rows, x: rand() * cols, s: (0.05 + 0.2 * rand()) * Math.min(rows, cols), a: 0.25 * (rand() - 0.3),
  }));
  const bones = Array.from({ length: 3 }, () => ({
    c: rand() * cols, w: (0.03 + 0.05 * rand()) * cols, t: (rand() - 0.5) * 0.6, a: 0.18 + 0.12 * rand(),
  }));
  const photons = o.photons ?? 4000;
  const px = new Uint16Array(rows * cols);
  for (let y = 0; y < rows; y++) {
    const fy = y / rows;
    for (let x = 0; x < cols; x++) {
      const fx = x / cols;
      // body: an ellipse of higher attenuation
      const ex = (fx - 0.5) / 0.42, ey = (fy - 0.5) / 0.48;
      const r2 = ex * ex + ey * ey;
      let att = r2 < 1 ? 0.35 + 0.15 * Math.sqrt(1 - r2) : 0.05;
      for (const b of blobs) {
        const d2 = ((y - b.y) ** 2 + (x - b.x) ** 2) / (b.s * b.s);
        if (d2 < 9) att += b.a * Math.exp(-d2);
      }
      for (const b of bones) {
        const d = Math.abs(x - (b.c + b.t * (y - rows / 2)));
        if (d < b.w && r2 < 1) att += b.a * (0.7 + 0.3 * Math.sqrt(1 - (d / b.w) ** 2));
      }
      att += 0.08 * fy; // heel-effect gradient
      let v = Math.min(0.97, Math.max(0.02, att));
      // Poisson noise approximated by a Gaussian with variance = mean count
      const count = v * photons;
      v = (count + Math.sqrt(count) * g()) / photons;
      const q = Math.round(v * maxv);
      px[y * cols + x] = q < 0 ? 0 : q > maxv ? maxv : q;
    }
  }
  return { rows, cols, bitsStored, pixels: px };
}

/**
 * A smooth body centred at `centre` of the width (0.5: symmetric left-right and top-bottom) plus
 * +-20 LSB of uniform noise. Its coarse content is nearly symmetric, so half the watermark content
 * tag's coefficients are about zero: the hard case for the tag, and the link tests' frame.
 */
export function bodyPhantom(rows: number, cols: number, bitsStored: number, seed: number, centre = 0.5): GrayImage {
  const px = new Uint16Array(rows * cols);
  let s = seed | 1;
  for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const body = Math.exp(-(((x - centre * cols) / cols) ** 2 * 6 + ((y - rows / 2) / rows) ** 2 * 3));
    px[y * cols + x] = Math.min(2 ** bitsStored - 1, Math.round(300 + (2 ** bitsStored - 600) * body + ((s >>> 0) % 41) - 20));
  }
  return { rows, cols, bitsStored, pixels: px };
}
