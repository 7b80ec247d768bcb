// Synthetic radiographs for tests, demos and benchmarks: anatomy-like smooth
// structure (body, lungs, heart, spine, ribs), sharp edges (a metal marker, a
// collimator edge) and photon (Poisson) noise. Deterministic for a seed, so a
// failing test can be replayed; not a cryptographic generator.
import type { GrayImage } from './png.js';

/** mulberry32: a small, fast, well-distributed PRNG for test data only. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviate (Box–Muller). */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Poisson deviate: exact (Knuth) for small means, normal approximation above 30. */
export function poisson(mean: number, rand: () => number): number {
  if (mean < 30) {
    const l = Math.exp(-mean);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= rand();
    } while (p > l);
    return k - 1;
  }
  return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(rand)));
}

export interface PhantomOptions {
  rows: number;
  cols: number;
  bitsStored: number;
  seed?: number;
  /** Photons per pixel in unattenuated regions; lower means noisier. */
  photons?: number;
}

const inEllipse = (x: number, y: number, cx: number, cy: number, rx: number, ry: number) =>
  ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;

/** A chest-like phantom. Detector signal is high where little tissue attenuates. */
export function chestPhantom(opts: PhantomOptions): GrayImage {
  const { rows, cols, bitsStored } = opts;
  const rand = seededRandom(opts.seed ?? 1);
  const photons = opts.photons ?? 4000;
  const max = 2 ** bitsStored - 1;
  // Small per-seed jitter so different seeds give different anatomy.
  const j = () => 1 + (rand() - 0.5) * 0.08;
  const body = { cx: 0.5 * j(), cy: 0.55 * j(), rx: 0.46 * j(), ry: 0.5 * j() };
  const lungL = { cx: 0.33 * j(), cy: 0.48 * j(), rx: 0.13 * j(), ry: 0.28 * j() };
  const lungR = { cx: 0.67 * j(), cy: 0.48 * j(), rx: 0.13 * j(), ry: 0.28 * j() };
  const heart = { cx: 0.56 * j(), cy: 0.62 * j(), rx: 0.12 * j(), ry: 0.11 * j() };
  const marker = { x: 0.08 + rand() * 0.05, y: 0.08 + rand() * 0.05, s: 0.03 };
  const ribPhase = rand() * Math.PI;
  const pixels = new Uint16Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const y = r / rows;
    for (let c = 0; c < cols; c++) {
      const x = c / cols;
      // Attenuation (line integral, arbitrary units): soft tissue, lungs subtract, bone adds.
      let mu = 0.15;
      const b = inEllipse(x, y, body.cx, body.cy, body.rx, body.ry);
      if (b < 1) mu += 1.6 * Math.sqrt(1 - b);
      for (const lung of [lungL, lungR]) {
        const l = inEllipse(x, y, lung.cx, lung.cy, lung.rx, lung.ry);
        if (l < 1) mu -= 0.9 * Math.sqrt(1 - l);
      }
      const h = inEllipse(x, y, heart.cx, heart.cy, heart.rx, heart.ry);
      if (h < 1) mu += 0.5 * Math.sqrt(1 - h);
      const spine = Math.abs(x - body.cx) / 0.035;
      if (spine < 1 && b < 1) mu += 0.9 * Math.sqrt(1 - spine * spine);
      if (b < 0.9 && Math.abs(x - body.cx) > 0.04) {
        // Ribs: thin curved bands across the lung fields.
        const band = Math.sin((y + 0.04 * Math.cos((x - 0.5) * 6)) * 60 + ribPhase);
        if (band > 0.75) mu += 0.25 * (band - 0.75) * 4;
      }
      if (Math.abs(x - marker.x) < marker.s && Math.abs(y - marker.y) < marker.s) mu += 3; // lead marker: a hard edge
      if (x > 0.97) mu += 4; // collimator blade
      const mean = photons * Math.exp(-Math.max(0, mu));
      const counts = poisson(mean, rand);
      pixels[r * cols + c] = Math.min(max, Math.round((counts / photons) * max * 0.92));
    }
  }
  return { rows, cols, bitsStored, pixels };
}
