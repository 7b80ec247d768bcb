// Pixel transforms used to export or attack images: 8-bit windows, noise,
// rescaling, cropping, gamma. Pure functions on GrayImage.
import type { GrayImage } from './png.js';

/** Linear window [lo, hi] -> 0..255 (clipped, rounded); `invert` maps lo to white (MONOCHROME1 display). */
export function windowTo8(img: GrayImage, lo: number, hi: number, invert = false): GrayImage {
  const out = new Uint16Array(img.pixels.length);
  const scale = 255 / Math.max(1e-9, hi - lo);
  for (let i = 0; i < out.length; i++) {
    let v = Math.round((img.pixels[i]! - lo) * scale);
    v = v < 0 ? 0 : v > 255 ? 255 : v;
    out[i] = invert ? 255 - v : v;
  }
  return { rows: img.rows, cols: img.cols, bitsStored: 8, pixels: out };
}

/** Full stored range window: 0..2^bits-1 -> 0..255. */
export function fullRangeTo8(img: GrayImage, invert = false): GrayImage {
  return windowTo8(img, 0, 2 ** img.bitsStored - 1, invert);
}

/** The value at quantile q (0..1) of the pixel histogram. */
export function percentile(img: GrayImage, q: number): number {
  const hist = new Uint32Array(65536);
  for (const v of img.pixels) hist[v]!++;
  const target = q * (img.pixels.length - 1);
  let acc = 0;
  for (let v = 0; v < 65536; v++) {
    acc += hist[v]!;
    if (acc > target) return v;
  }
  return 65535;
}

/** 0.5-99.5 percentile window to 8 bits. */
export function percentileTo8(img: GrayImage, lowQ = 0.005, highQ = 0.995, invert = false): GrayImage {
  return windowTo8(img, percentile(img, lowQ), percentile(img, highQ), invert);
}

/** Deterministic PRNG (xorshift32) for reproducible attack noise. Not for keys. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12), v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** Adds Gaussian noise of standard deviation sigma (in LSB), clipped to the range, rounded. */
export function addGaussianNoise(img: GrayImage, sigma: number, seed = 1): GrayImage {
  const g = gaussian(xorshift(seed));
  const maxv = 2 ** img.bitsStored - 1;
  const out = new Uint16Array(img.pixels.length);
  for (let i = 0; i < out.length; i++) {
    const v = Math.round(img.pixels[i]! + sigma * g());
    out[i] = v < 0 ? 0 : v > maxv ? maxv : v;
  }
  return { ...img, pixels: out };
}

/** Area-average downscale by an integer factor. */
export function downscaleBox(img: GrayImage, factor: number): GrayImage {
  const rows = Math.floor(img.rows / factor), cols = Math.floor(img.cols / factor);
  const out = new Uint16Array(rows * cols);
  const k = factor * factor;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      let s = 0;
      for (let dy = 0; dy < factor; dy++) {
        const base = (y * factor + dy) * img.cols + x * factor;
        for (let dx = 0; dx < factor; dx++) s += img.pixels[base + dx]!;
      }
      out[y * cols + x] = Math.round(s / k);
    }
  }
  return { rows, cols, bitsStored: img.bitsStored, pixels: out };
}

/** Bilinear resize to (rows, cols) (pixel-centre aligned; with an area pre-average when shrinking by >= 2). */
export function resizeBilinear(img: GrayImage, rows: number, cols: number): GrayImage {
  const out = new Uint16Array(rows * cols);
  const sy = img.rows / rows, sx = img.cols / cols;
  for (let y = 0; y < rows; y++) {
    const fy = Math.min(img.rows - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy), y1 = Math.min(img.rows - 1, y0 + 1), wy = fy - y0;
    for (let x = 0; x < cols; x++) {
      const fx = Math.min(img.cols - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx), x1 = Math.min(img.cols - 1, x0 + 1), wx = fx - x0;
      const p = img.pixels;
      const v = (1 - wy) * ((1 - wx) * p[y0 * img.cols + x0]! + wx * p[y0 * img.cols + x1]!) + wy * ((1 - wx) * p[y1 * img.cols + x0]! + wx * p[y1 * img.cols + x1]!);
      out[y * cols + x] = Math.round(v);
    }
  }
  return { rows, cols, bitsStored: img.bitsStored, pixels: out };
}

export function crop(img: GrayImage, top: number, left: number, rows: number, cols: number): GrayImage {
  const out = new Uint16Array(rows * cols);
  for (let y = 0; y < rows; y++) out.set(img.pixels.subarray((top + y) * img.cols + left, (top + y) * img.cols + left + cols), y * cols);
  return { rows, cols, bitsStored: img.bitsStored, pixels: out };
}

/** Gamma on the normalised range. */
export function gamma(img: GrayImage, g: number): GrayImage {
  const maxv = 2 ** img.bitsStored - 1;
  const out = new Uint16Array(img.pixels.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(maxv * Math.pow(img.pixels[i]! / maxv, g));
  return { ...img, pixels: out };
}

/** Copies a src rectangle of img (or of `from`) to a destination in a copy of img. */
export function pasteRect(img: GrayImage, from: GrayImage, sy: number, sx: number, dy: number, dx: number, h: number, w: number): GrayImage {
  const out = img.pixels.slice();
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out[(dy + y) * img.cols + dx + x] = Math.min(2 ** img.bitsStored - 1, from.pixels[(sy + y) * from.cols + sx + x]!);
  }
  return { ...img, pixels: out };
}

/** Rotation by `degrees` about the centre, bilinear, same size; outside samples clamp to the border. */
export function rotate(img: GrayImage, degrees: number): GrayImage {
  const { rows, cols } = img;
  const out = new Uint16Array(rows * cols);
  const a = (degrees * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a);
  const cy = (rows - 1) / 2, cx = (cols - 1) / 2;
  const p = img.pixels;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const fy = Math.min(rows - 1, Math.max(0, c * (y - cy) - s * (x - cx) + cy));
      const fx = Math.min(cols - 1, Math.max(0, s * (y - cy) + c * (x - cx) + cx));
      const y0 = Math.floor(fy), x0 = Math.floor(fx), y1 = Math.min(rows - 1, y0 + 1), x1 = Math.min(cols - 1, x0 + 1);
      const wy = fy - y0, wx = fx - x0;
      out[y * cols + x] = Math.round((1 - wy) * ((1 - wx) * p[y0 * cols + x0]! + wx * p[y0 * cols + x1]!) + wy * ((1 - wx) * p[y1 * cols + x0]! + wx * p[y1 * cols + x1]!));
    }
  }
  return { ...img, pixels: out };
}

/** Mirror left-right (`horizontal`) or top-bottom. */
export function flip(img: GrayImage, horizontal: boolean): GrayImage {
  const { rows, cols } = img;
  const out = new Uint16Array(rows * cols);
  for (let y = 0; y < rows; y++) {
    const sy = horizontal ? y : rows - 1 - y;
    for (let x = 0; x < cols; x++) out[y * cols + x] = img.pixels[sy * cols + (horizontal ? cols - 1 - x : x)]!;
  }
  return { ...img, pixels: out };
}
