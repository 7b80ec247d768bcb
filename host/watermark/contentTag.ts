// Content tag: 32 bits that bind the mark to this image's coarse content.
// The chip-mean grid is averaged over an 8 x 8 grid of regions; the tag is the
// signs of the 32 lowest-frequency (zig-zag, DC excluded) 2-D DCT-II
// coefficients of those region means. Compression, noise, rescaling and
// windowing barely move 1/64-of-the-image averages, so the tag survives them;
// another image gives unrelated signs. A mark lifted from image A and added to
// image B carries A's tag, which disagrees with the tag computed from B.
//
// A coefficient near zero carries no information: the mark's own change of the
// region means (or a mild attack) can flip its sign. The detector therefore
// compares only the bits whose coefficient clears the mark's margin
// (tagMargins) and scales the allowed distance to how many there are (judgeTag).
import { MIN_PSNR_DB, TAG_BITS, TILE } from './params.js';

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

/** Over all 32 bits, tags within this Hamming distance are taken to describe the same image. */
export const TAG_MAX_DISTANCE = 5;

/** P[Bin(n, 1/2) <= d]: the chance that n independent fair bits disagree with a tag in at most d places. */
function binomialCdf(n: number, d: number): number {
  let sum = 0, c = 1;
  for (let i = 0; i <= d && i <= n; i++) { sum += c; c = (c * (n - i)) / (i + 1); }
  return sum / 2 ** n;
}

/**
 * The false-accept probability of the full-tag rule: an unrelated image (32 fair bits) is taken for
 * this one with P[Bin(32, 1/2) <= 5] ~ 5.7e-5. The reliable-bit rule keeps every case at or below it.
 */
export const TAG_FALSE_ACCEPT = binomialCdf(TAG_BITS, TAG_MAX_DISTANCE);

/** For each count n of reliable bits, the largest distance allowed (-1: no match can be proved with n bits). */
const ALLOWED: Int8Array = (() => {
  const out = new Int8Array(TAG_BITS + 1);
  for (let n = 0; n <= TAG_BITS; n++) {
    let d = -1;
    while (d + 1 <= n && binomialCdf(n, d + 1) <= TAG_FALSE_ACCEPT * (1 + 1e-9)) d++;
    out[n] = d;
  }
  return out;
})();

/** Largest distance over n reliable bits still taken as a match (-1: n bits cannot prove one). */
export function allowedTagDistance(n: number): number {
  return ALLOWED[n] ?? -1;
}

/** Fewest reliable bits that can prove a match (2^-15 <= 5.7e-5 < 2^-14). */
export const TAG_MIN_RELIABLE = ALLOWED.findIndex((d) => d >= 0);

/**
 * A reliable bit's coefficient must exceed this many times the spread of the mark's own change of
 * that coefficient (tagMargins). Measured on marked phantoms and radiographs, the mark moved a
 * coefficient by at most 2.4 of these units (of 5088), so at 5 a reliable bit is not flipped by
 * the mark; flips from attacks are what the allowed distance absorbs.
 */
export const TAG_MARGIN_SIGMAS = 5;

/**
 * Per tag coefficient, the margin its magnitude must clear to count as reliable, in the units of the
 * chip means of the image as given (bitsStored). Derived from the format only, never from pixels:
 * the mark changes chip mean i by s_j a_i, with keyed pseudo-random signs s_j that repeat every
 * TILE x TILE chips (j = tile position), and its root-mean-square change is at most
 * rms = maxval * 10^(-MIN_PSNR_DB / 20). Its change of coefficient k is sum_j s_j sum_{i in G_j} a_i w_i
 * (w_i: the DCT basis of i's region over the region's chip count; G_j: the chips at tile position j),
 * whose variance over the signs is at most rms^2 * sum_j |G_j| sum_{i in G_j} w_i^2 (Cauchy-Schwarz,
 * each chip at the rms amplitude). Chips sharing a sign are why this is not rms^2 * sum_i w_i^2.
 */
export function tagMargins(gr: number, gc: number, bitsStored: number): Float64Array {
  const rms = (2 ** bitsStored - 1) * 10 ** (-MIN_PSNR_DB / 20);
  const regionOf = (i: number, g: number) => Math.min(7, Math.floor((i * 8) / g));
  // Per region row (col): its chips, and the sum of their tile rows' (cols') repetition counts.
  // |G_j| factorises into row and column counts, so Q_r = sum_{i in r} |G_j(i)| does too.
  const along = (g: number) => {
    const reps = new Float64Array(TILE);
    for (let i = 0; i < g; i++) reps[i % TILE]!++;
    const n = new Float64Array(8), q = new Float64Array(8);
    for (let i = 0; i < g; i++) { const r = regionOf(i, g); n[r]!++; q[r]! += reps[i % TILE]!; }
    return { n, q };
  };
  const ys = along(gr), xs = along(gc);
  const margins = new Float64Array(TAG_BITS);
  for (let k = 0; k < TAG_BITS; k++) {
    const [u, v] = ZIGZAG[k + 1]!;
    let s2 = 0;
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
      const cnt = ys.n[y]! * xs.n[x]!;
      if (!cnt) continue;
      const w = (Math.cos(((2 * y + 1) * u * Math.PI) / 16) * Math.cos(((2 * x + 1) * v * Math.PI) / 16)) / cnt;
      s2 += w * w * ys.q[y]! * xs.q[x]!;
    }
    margins[k] = TAG_MARGIN_SIGMAS * rms * Math.sqrt(s2);
  }
  return margins;
}

export interface TagJudgement {
  /** The tag of the image as given (all 32 bits, as embedded tags are computed). */
  computed: Uint8Array;
  /** Hamming distance over the reliable bits only. */
  distance: number;
  /** Bits whose coefficient clears its margin. */
  reliableBits: number;
  /** Largest distance over the reliable bits still taken as a match (-1: too few reliable bits to prove one). */
  maxDistance: number;
  /**
   * true: the tag fits these pixels (an unrelated image does so with probability <= TAG_FALSE_ACCEPT).
   * false: the reliable bits disagree in more than maxDistance places (with too few to prove a match: in any).
   * null: undecided: fewer than TAG_MIN_RELIABLE reliable bits (flat or symmetric coarse content), all
   * agreeing. Never a match: the tag neither binds the mark to these pixels nor contradicts it.
   */
  match: boolean | null;
}

/**
 * Compares an embedded tag with the chip means of the image as given (at the detected geometry;
 * `invert` for a negated export) on the reliable bits only.
 */
export function judgeTag(embedded: Uint8Array, means: ArrayLike<number>, gr: number, gc: number, bitsStored: number, invert = false): TagJudgement {
  const coef = tagCoefficients(means, gr, gc);
  const margins = tagMargins(gr, gc, bitsStored);
  const computed = new Uint8Array(TAG_BITS / 8);
  let reliableBits = 0, distance = 0;
  for (let k = 0; k < TAG_BITS; k++) {
    const bit = (coef[k]! > 0) !== invert ? 1 : 0;
    computed[k >> 3]! |= bit << (7 - (k & 7));
    if (Math.abs(coef[k]!) < margins[k]!) continue;
    reliableBits++;
    if (((embedded[k >> 3]! >> (7 - (k & 7))) & 1) !== bit) distance++;
  }
  const maxDistance = allowedTagDistance(reliableBits);
  // Undecided only while the reliable bits agree: with n < TAG_MIN_RELIABLE of them an unrelated
  // image gets that far with probability 2^-n; any disagreement beyond the allowance is a mismatch.
  const match = distance <= maxDistance ? true : distance > Math.max(maxDistance, 0) ? false : null;
  return { computed, distance, reliableBits, maxDistance, match };
}
