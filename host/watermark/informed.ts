// Informed embedding: the embedder holds the frame, so it can read its own mark the way the detector
// will and put the mark's energy where the frame works against it. The detector is unchanged (so every
// mark made before reads as it did, and marks made here read with older detectors): only the split of
// the fixed MSE budget over the chips changes.
//
// Why: the detector's chip-mean residual of the frame itself is the only noise on the lossless path.
// On a frame of pure noise (no structure for the mask to follow) that noise is 2-3x the mark per chip;
// with 4 tiles (512 x 512) some keys put enough coded bits where the frame's own residual opposes them
// that the Viterbi decoder fails (measured: 2 of 300 keys, hard bit errors 13% median, 18% worst among
// the decoded ones). Here the positions whose read value is weak or wrong get a larger share of the
// energy, round by round, until the payload reads back with a margin.
import type { Core } from '../core/wasm.js';
import { ex, f32, put, viterbi, type Layout } from './core.js';
import { CHIP, CLIP_K, CODED_BITS, INFO_BITS, TILE, TILE2 } from './params.js';

/** Aligned pilot z above which the detector takes a payload read from the chip means alone (index.ts uses it too). */
export const EARLY_Z = 8;
/** What the embedder asks of its own mark, read as the detector will: z this far above EARLY_Z ... */
const Z_MARGIN = 1;
/** ... and at most this fraction of coded bits wrong before decoding (decoding failed at 17-18% on the noise frame). */
const MAX_BIT_ERROR_RATE = 0.14;
/**
 * Reallocation: each round a tile position's share of the energy is multiplied by
 * exp(STEP * clamp(TARGET - v, -1, 1)), v its read value (expected sign x fold / rms of the fold), kept
 * within [MIN_SHARE, MAX_SHARE]; the budget is refitted. Positions the frame already reads right give
 * energy to those it reads weak or wrong. Measured on fresh 512 x 512 12-bit noise frames (256 levels),
 * 100 keys each: payload unreadable 70% with no reallocation; boosting every weak position by 1.5x a
 * round: 15%; this rule: 1-3% (TARGET 0.5-1, STEP 0.3-0.5); STEP 1 or TARGET 1.5: 9-32%.
 */
const ROUNDS = 16;
const STEP = 0.5;
const TARGET = 0.75;
const MIN_SHARE = 0.25;
const MAX_SHARE = 10;

export interface Reading {
  /** Pilot z of the chip-mean signal at the aligned geometry. */
  z: number;
  /** The decoded information bits equal the intended ones. */
  decoded: boolean;
  /** Hard decisions that disagree with the intended codeword (of 354). */
  bitErrors: number;
}

/**
 * The arena blocks the readings use (allocated once per embed: allocation may move core memory), 16 bytes
 * per chip: kept in the watermark's own core, not in a caller's budgeted core that holds the frame.
 */
export interface ReadSpace {
  means: number; res: number; scratch: number; fold: number; soft: number; sgn: number; role: number;
}

export function readSpace(core: Core, n: number, layout: Layout): ReadSpace {
  return {
    means: core.alloc(4 * n), res: core.alloc(4 * n), scratch: core.alloc(8 * n), fold: core.alloc(4 * TILE2),
    soft: core.alloc(4 * CODED_BITS), sgn: put(core, layout.sign), role: put(core, layout.role),
  };
}

/**
 * The detector's aligned chip-mean reading (index.ts detectAsGiven, the early path) of the chip means
 * already in `sp.means`: the same core calls on the same numbers, so a frame whose final pixels read
 * well here reads the same in the detector. `values` (optional, per tile position) receives expected
 * sign x fold / rms of the fold.
 */
export function readMeans(core: Core, sp: ReadSpace, gr: number, gc: number, info: Uint8Array, coded: Uint8Array, signs: Int8Array, values?: Float32Array): Reading {
  const w = ex(core);
  w.wmResidual(sp.means, gr, gc, CLIP_K, sp.res, sp.scratch);
  w.wmFold(sp.res, gr, gc, TILE, 0, 0, sp.fold);
  const z = w.wmSoftBits(sp.fold, TILE, 0, 0, sp.sgn, sp.role, CODED_BITS, sp.soft);
  const soft = f32(core, sp.soft, CODED_BITS).slice();
  if (values) {
    const F = f32(core, sp.fold, TILE2);
    let all = 0;
    for (let j = 0; j < TILE2; j++) all += F[j]! * F[j]!;
    const rms = Math.sqrt(all / TILE2) || 1;
    for (let j = 0; j < TILE2; j++) values[j] = (signs[j]! * F[j]!) / rms;
  }
  let bitErrors = 0;
  for (let i = 0; i < CODED_BITS; i++) if ((soft[i]! < 0 ? 1 : 0) !== coded[i]) bitErrors++;
  const got = z > 0 ? viterbi(soft, INFO_BITS) : null;
  let decoded = !!got;
  if (got) for (let i = 0; i < INFO_BITS; i++) if (got[i] !== info[i]) { decoded = false; break; }
  return { z, decoded, bitErrors };
}

/** A reading good enough that the detector's early path takes it, with room to spare. */
export function comfortable(r: Reading): boolean {
  return r.decoded && r.z >= EARLY_Z + Z_MARGIN && r.bitErrors <= MAX_BIT_ERROR_RATE * CODED_BITS;
}

export interface AmplitudePlan {
  /** Exact sum over chips of the mean squared change of the robust layer (wmAmplitudes). */
  sumE: number;
  /** The predicted reading of the chip means after marking (before the fragile layer). */
  predicted: Reading | null;
  /** Reallocation rounds run and tile positions whose share was raised. */
  rounds: number;
  boosted: number;
  /** Some chip may change (it touches neither 0 nor the maximum). */
  room: boolean;
}

export interface PlanInput {
  /** The core holding the frame and the embed's chip arrays; `rc` the core holding the reading space (may be the same). */
  core: Core; rc: Core; sp: ReadSpace;
  /** Arena blocks from wmChipStats / wmMask: chip sums (u32), min, max (u16), mask (f32); amp receives the amplitudes. */
  sum: number; mn: number; mx: number; mask: number; amp: number;
  gr: number; gc: number; maxv: number; cap: number;
  /** Allowed sum over chips of the per-chip mean squared change. */
  budget: number;
  info: Uint8Array; coded: Uint8Array;
  /** Expected sign (+1/-1) per tile position for this codeword. */
  signs: Int8Array;
  /** Reallocation rounds allowed (default ROUNDS); 0: every tile position keeps the same share. */
  rounds?: number;
}

/** The largest gain whose exact MSE fits the budget, for the mask as it is; amplitudes left in `amp`. */
function fitGain(p: PlanInput, m2: number): number {
  const w = ex(p.core), n = p.gr * p.gc;
  let gain = Math.sqrt(Math.max(0, p.budget - n / 6) / m2);
  let sumE = 0;
  for (let it = 0; it < 60; it++) {
    sumE = w.wmAmplitudes(p.mask, p.mn, p.mx, n, gain, p.cap, p.maxv, p.amp);
    if (sumE <= p.budget) return sumE;
    gain *= Math.sqrt(p.budget / sumE) * 0.995;
  }
  return w.wmAmplitudes(p.mask, p.mn, p.mx, n, 0, p.cap, p.maxv, p.amp);
}

/**
 * Amplitudes for the robust layer: the masked amplitudes at the largest gain within the budget, then,
 * while the predicted reading is not comfortable, weak tile positions get a larger share (the whole
 * budget is refitted each round, so the PSNR target holds). Stops when the reading is comfortable or
 * after ROUNDS rounds; the caller checks the final pixels.
 */
export function planAmplitudes(p: PlanInput): AmplitudePlan {
  const { core, gr, gc } = p;
  const n = gr * gc;
  const base = f32(core, p.mask, n).slice();
  let m2 = 0;
  for (let i = 0; i < n; i++) m2 += base[i]! * base[i]!;
  if (!(m2 > 0) || !(p.budget > 0)) {
    core.bytes(p.amp, 4 * n).fill(0);
    return { sumE: 0, predicted: null, rounds: 0, boosted: 0, room: m2 > 0 };
  }
  const share = new Float32Array(TILE2).fill(1);
  const values = new Float32Array(TILE2);
  let sumE = fitGain(p, m2);
  let predicted = predict(p, values);
  let best = { reading: predicted, share: share.slice(), round: 0 };
  let rounds = 0;
  while (!comfortable(predicted) && rounds < (p.rounds ?? ROUNDS)) {
    rounds++;
    for (let j = 0; j < TILE2; j++) {
      const t = Math.max(-1, Math.min(1, TARGET - values[j]!));
      share[j] = Math.min(MAX_SHARE, Math.max(MIN_SHARE, share[j]! * Math.exp(STEP * t)));
    }
    sumE = fitGain(p, applyShare(p, base, share));
    predicted = predict(p, values);
    if (better(predicted, best.reading)) best = { reading: predicted, share: share.slice(), round: rounds };
  }
  if (best.round !== rounds) {
    // The rounds may overshoot: the best reading seen is kept.
    sumE = fitGain(p, applyShare(p, base, best.share));
    predicted = predict(p, values);
  }
  let boosted = 0;
  for (let j = 0; j < TILE2; j++) if (best.share[j]! > 1) boosted++;
  return { sumE, predicted, rounds, boosted, room: true };
}

/** Reading a is preferable to b: comfortable, then decoded with z >= EARLY_Z, then fewer bit errors. */
function better(a: Reading, b: Reading): boolean {
  const rank = (r: Reading) => (comfortable(r) ? 2 : r.decoded && r.z >= EARLY_Z ? 1 : 0);
  return rank(a) !== rank(b) ? rank(a) > rank(b) : a.bitErrors < b.bitErrors;
}

/** The mask times each chip's tile-position share; returns the sum of squares. */
function applyShare(p: PlanInput, base: Float32Array, share: Float32Array): number {
  const { gr, gc } = p;
  const mask = f32(p.core, p.mask, gr * gc);
  let m2 = 0;
  for (let cy = 0; cy < gr; cy++) {
    const row = (cy % TILE) * TILE;
    for (let cx = 0, i = cy * gc; cx < gc; cx++, i++) {
      const m = base[i]! * share[row + (cx % TILE)]!;
      mask[i] = m;
      m2 += m * m;
    }
  }
  return m2;
}

/** The chip means after marking, from the unmarked sums and the amplitudes (the dither moves a chip's mean by exactly its level). */
function predict(p: PlanInput, values: Float32Array): Reading {
  const { core, sp, gr, gc } = p;
  const n = gr * gc;
  const sums = new Uint32Array(core.memory.buffer, p.sum, n), amps = new Int32Array(core.memory.buffer, p.amp, n);
  const means = f32(p.rc, sp.means, n);
  const inv = 1 / (CHIP * CHIP);
  for (let cy = 0; cy < gr; cy++) {
    const row = (cy % TILE) * TILE;
    for (let cx = 0, i = cy * gc; cx < gc; cx++, i++) means[i] = (sums[i]! + p.signs[row + (cx % TILE)]! * amps[i]!) * inv;
  }
  return readMeans(p.rc, sp, gr, gc, p.info, p.coded, p.signs, values);
}
