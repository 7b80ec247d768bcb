// Realistic detector frames for the simulator: a real radiograph from
// ../shared/data/radiographs resampled to the board's geometry, or a generated
// phantom (smooth anatomy-like structure with edges) when the folder is absent,
// then fresh Poisson (photon) noise per exposure. Pixels are bitsStored-bit
// values in 16-bit little-endian words, row-major, as the link carries them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { projectRoot } from '../core/wasm.js';
import { Rng } from './rng.js';

export function radiographsDir(): string {
  return process.env.RADSEAL_RADIOGRAPHS ?? join(projectRoot(), '..', 'shared', 'data', 'radiographs');
}

/** Expected (noise-free) intensities in [0, 1], rows*cols. */
export interface BaseImage {
  rows: number;
  cols: number;
  values: Float32Array;
  source: string;
}

/** Loads the first 16-bit radiograph PNG it finds and resamples it; null when none is there. */
export function radiographBase(rows: number, cols: number, dir = radiographsDir()): BaseImage | null {
  for (const name of ['RG1_J2KI_stored_values_16bit.png', 'RG3_J2KR_stored_values_16bit.png']) {
    const p = join(dir, name);
    if (!existsSync(p)) continue;
    const img = decode(readFileSync(p));
    if (img.channels !== 1) continue;
    const src = img.data as Uint16Array | Uint8Array;
    let max = 1;
    for (let i = 0; i < src.length; i++) if (src[i] > max) max = src[i];
    return { rows, cols, values: resample(src, img.height, img.width, rows, cols, 1 / max), source: p };
  }
  return null;
}

function resample(src: ArrayLike<number>, sh: number, sw: number, rows: number, cols: number, scale: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const fy = (sh - 1) / Math.max(1, rows - 1);
  const fx = (sw - 1) / Math.max(1, cols - 1);
  for (let y = 0; y < rows; y++) {
    const sy = y * fy;
    const y0 = Math.floor(sy);
    const y1 = Math.min(sh - 1, y0 + 1);
    const wy = sy - y0;
    for (let x = 0; x < cols; x++) {
      const sx = x * fx;
      const x0 = Math.floor(sx);
      const x1 = Math.min(sw - 1, x0 + 1);
      const wx = sx - x0;
      const a = src[y0 * sw + x0] * (1 - wx) + src[y0 * sw + x1] * wx;
      const b = src[y1 * sw + x0] * (1 - wx) + src[y1 * sw + x1] * wx;
      out[y * cols + x] = (a * (1 - wy) + b * wy) * scale;
    }
  }
  return out;
}

/** A chest-like phantom: body, two lungs, spine, ribs, a collimator edge and a small dense marker. */
export function phantomBase(rows: number, cols: number, seed = 1): BaseImage {
  const rng = new Rng(seed);
  const v = new Float32Array(rows * cols);
  const cx = cols / 2 + (rng.next() - 0.5) * cols * 0.04;
  const cy = rows / 2;
  for (let y = 0; y < rows; y++) {
    const ny = (y - cy) / rows;
    for (let x = 0; x < cols; x++) {
      const nx = (x - cx) / cols;
      let a = 0.08; // air
      const body = nx * nx / 0.17 + ny * ny / 0.22;
      if (body < 1) {
        a = 0.55 + 0.1 * (1 - body);
        for (const side of [-1, 1]) {
          const lx = (nx - side * 0.17) / 0.13;
          const ly = (ny + 0.02) / 0.3;
          const l = lx * lx + ly * ly;
          if (l < 1) a -= 0.3 * Math.sqrt(1 - l);
        }
        const spine = Math.exp(-((nx / 0.035) ** 2));
        a += 0.3 * spine;
        const rib = Math.sin((ny + 0.5) * 38 + Math.abs(nx) * 9);
        if (rib > 0.85 && Math.abs(nx) < 0.3) a += 0.08;
      }
      if (x < cols * 0.03 || x > cols * 0.97) a = 0.98; // collimator blades
      if (Math.abs(nx + 0.33) < 0.01 && Math.abs(ny + 0.4) < 0.01) a = 0.95; // lead marker
      v[y * cols + x] = Math.min(1, Math.max(0, a));
    }
  }
  return { rows, cols, values: v, source: 'phantom' };
}

/**
 * One exposure: scales the base to bitsStored and adds Poisson noise with
 * `photonsAtFull` photons at full scale (normal approximation, fine at these counts).
 */
export function exposeFrame(base: BaseImage, bitsStored: number, seed: number, photonsAtFull = 20000): Uint8Array {
  const max = (1 << bitsStored) - 1;
  const out = new Uint16Array(base.rows * base.cols);
  const rng = new Rng(seed);
  // A table of standard normals indexed by a cheap integer PRNG keeps this ~50 ns/pixel.
  const G = new Float32Array(1 << 16);
  for (let i = 0; i < G.length; i++) G[i] = rng.gauss();
  let s = (seed * 2654435761) >>> 0 || 1;
  const gain = max / photonsAtFull;
  const v = base.values;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const mean = v[i] * max;
    const n = mean + Math.sqrt(mean * gain) * G[(s >>> 0) & 0xffff];
    out[i] = n <= 0 ? 0 : n >= max ? max : Math.round(n);
  }
  return new Uint8Array(out.buffer);
}

export function baseFor(rows: number, cols: number, seed = 1): BaseImage {
  return radiographBase(rows, cols) ?? phantomBase(rows, cols, seed);
}
