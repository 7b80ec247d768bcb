// Content tag: 32 bits that bind the mark to this image's coarse content.
// The chip-mean grid is averaged over an 8 x 8 grid of regions; the tag is the
// signs of the 32 lowest-frequency (zig-zag, DC excluded) 2-D DCT-II
// coefficients of those region means. Compression, noise, rescaling and
// windowing barely move 1/64-of-the-image averages, so the tag survives them;
// another image gives unrelated signs. A mark lifted from image A and added to
// image B carries A's tag, which disagrees with the tag computed from B.
import { TAG_BITS } from './params.js';

const ZIGZAG: Array<[number, number]> = (() => {
  const out: Array<[number, number]> = [];
  for (let s = 0; s < 15; s++) {
    for (let i = 0; i <= s; i++) {
      const u = s % 2 === 0 ? s - i : i;
      const v = s - u;
      if (u < 8 && v < 8) out.push([u, v]);
    }
  }
  return out;
})();

/** DCT coefficients used for the tag (index 0 = first AC in zig-zag order). */
export function tagCoefficients(means: ArrayLike<number>, gr: number, gc: number): Float64Array {
  // Region sums: a column -> region lookup and one row accumulator per region row.
  const rxOf = new Int32Array(gc);
  for (let x = 0; x < gc; x++) rxOf[x] = Math.min(7, Math.floor((x * 8) / gc));
  const reg = new Float64Array(64);
  const cnt = new Float64Array(64);
  for (let y = 0; y < gr; y++) {
    const ry = Math.min(7, Math.floor((y * 8) / gr)) * 8;
    const o = y * gc;
    let x = 0;
    for (let rx = 0; rx < 8; rx++) {
      let acc = 0;
      const start = x;
      while (x < gc && rxOf[x] === rx) acc += means[o + x++]!;
      reg[ry + rx]! += acc;
      cnt[ry + rx]! += x - start;
    }
  }
  for (let i = 0; i < 64; i++) reg[i] = cnt[i]! > 0 ? reg[i]! / cnt[i]! : 0;
  const coef = new Float64Array(TAG_BITS);
  for (let k = 0; k < TAG_BITS; k++) {
    const [u, v] = ZIGZAG[k + 1]!;
    let s = 0;
    for (let y = 0; y < 8; y++) {
      const cy = Math.cos(((2 * y + 1) * u * Math.PI) / 16);
      for (let x = 0; x < 8; x++) s += reg[y * 8 + x]! * cy * Math.cos(((2 * x + 1) * v * Math.PI) / 16);
    }
    coef[k] = s;
  }
  return coef;
}

/** 32-bit tag, MSB = first coefficient, as 4 bytes. `invert` flips every bit (MONOCHROME1 / negated export). */
export function contentTagFromMeans(means: ArrayLike<number>, gr: number, gc: number, invert = false): Uint8Array {
  const coef = tagCoefficients(means, gr, gc);
  const out = new Uint8Array(TAG_BITS / 8);
  for (let k = 0; k < TAG_BITS; k++) {
    const bit = (coef[k]! > 0) !== invert ? 1 : 0;
    out[k >> 3]! |= bit << (7 - (k & 7));
  }
  return out;
}

export function hamming(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    let x = a[i]! ^ b[i]!;
    while (x) { d += x & 1; x >>= 1; }
  }
  return d;
}

/** Tags within this Hamming distance (of 32) are taken to describe the same image. */
export const TAG_MAX_DISTANCE = 5;
