// Contrast enhancements that PACS workstations, viewers and "processed for presentation" exports
// apply to radiographs: unsharp masking (edge enhancement) and CLAHE (contrast-limited adaptive
// histogram equalisation, Zuiderveld 1994). The watermark benchmark uses them as attacks a marked
// image meets in ordinary use. Pure functions on GrayImage, same bit depth out as in.
import type { GrayImage } from './png.js';

/** Separable Gaussian blur (kernel radius 3σ, edges clamped), as floats. */
function blur(img: GrayImage, sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  const { rows, cols } = img;
  const tmp = new Float32Array(rows * cols);
  const out = new Float32Array(rows * cols);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += k[i + r]! * img.pixels[y * cols + Math.min(cols - 1, Math.max(0, x + i))]!;
      tmp[y * cols + x] = s;
    }
  }
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += k[i + r]! * tmp[Math.min(rows - 1, Math.max(0, y + i)) * cols + x]!;
      out[y * cols + x] = s;
    }
  }
  return out;
}

/** Unsharp mask: out = in + amount · (in − Gaussian(in, σ)), rounded and clipped to the bit depth. */
export function unsharpMask(img: GrayImage, sigma: number, amount: number): GrayImage {
  const b = blur(img, sigma);
  const maxv = 2 ** img.bitsStored - 1;
  const out = new Uint16Array(img.pixels.length);
  for (let i = 0; i < out.length; i++) {
    const v = Math.round(img.pixels[i]! + amount * (img.pixels[i]! - b[i]!));
    out[i] = v < 0 ? 0 : v > maxv ? maxv : v;
  }
  return { ...img, pixels: out };
}

/**
 * CLAHE: the image in `grid` x `grid` tiles, each tile's histogram (`bins` bins over the full bit
 * depth) clipped at `clipLimit` times the mean bin count with the excess spread evenly, mapped by
 * its cumulative distribution; every pixel takes the bilinear blend of the four nearest tiles'
 * mappings. Output spans the full bit depth.
 */
export function clahe(img: GrayImage, grid = 8, clipLimit = 2, bins = 256): GrayImage {
  const { rows, cols } = img;
  const maxv = 2 ** img.bitsStored - 1;
  const binOf = (v: number) => Math.min(bins - 1, Math.floor((v * bins) / (maxv + 1)));
  const th = Math.ceil(rows / grid), tw = Math.ceil(cols / grid);
  const maps: Float32Array[] = [];
  for (let ty = 0; ty < grid; ty++) {
    for (let tx = 0; tx < grid; tx++) {
      const hist = new Float64Array(bins);
      let n = 0;
      for (let y = ty * th; y < Math.min(rows, (ty + 1) * th); y++) {
        for (let x = tx * tw; x < Math.min(cols, (tx + 1) * tw); x++, n++) hist[binOf(img.pixels[y * cols + x]!)]!++;
      }
      const limit = Math.max(1, (clipLimit * n) / bins);
      let excess = 0;
      for (let i = 0; i < bins; i++) if (hist[i]! > limit) { excess += hist[i]! - limit; hist[i] = limit; }
      const map = new Float32Array(bins);
      let c = 0;
      for (let i = 0; i < bins; i++) {
        c += hist[i]! + excess / bins;
        map[i] = n ? (c / n) * maxv : (i * maxv) / (bins - 1);
      }
      maps.push(map);
    }
  }
  const out = new Uint16Array(rows * cols);
  for (let y = 0; y < rows; y++) {
    // Position between tile centres (clamped at the borders).
    const fy = Math.min(grid - 1, Math.max(0, (y - th / 2) / th));
    const y0 = Math.floor(fy), y1 = Math.min(grid - 1, y0 + 1), wy = fy - y0;
    for (let x = 0; x < cols; x++) {
      const fx = Math.min(grid - 1, Math.max(0, (x - tw / 2) / tw));
      const x0 = Math.floor(fx), x1 = Math.min(grid - 1, x0 + 1), wx = fx - x0;
      const b = binOf(img.pixels[y * cols + x]!);
      const v = (1 - wy) * ((1 - wx) * maps[y0 * grid + x0]![b]! + wx * maps[y0 * grid + x1]![b]!) + wy * ((1 - wx) * maps[y1 * grid + x0]![b]! + wx * maps[y1 * grid + x1]![b]!);
      out[y * cols + x] = Math.min(maxv, Math.max(0, Math.round(v)));
    }
  }
  return { ...img, pixels: out };
}
