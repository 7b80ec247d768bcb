// Rotation estimate for the robust watermark: the mark's sign pattern repeats every TILE chips
// (256 px) along both axes, so the chip residual map correlates with itself at lags of whole
// tiles. In a rotated image those lags turn with it: the angle whose turned lags (1, 2 and 3
// tiles, along both axes) give the largest autocorrelation is the rotation to undo. This needs
// no key (the period is the key-independent part), so it only proposes candidates; the keyed
// detection on the image turned back decides, with its false-positive bound widened by the number
// of candidates tried.
import type { GrayImage } from '../image/png.js';
import { ex, put, wmCore } from './core.js';
import { CHIP, CLIP_K, TILE } from './params.js';

/** Angles searched, degrees: within ±MAX_DEG, in STEP_DEG steps (lag errors stay under a chip). */
export const ROTATION_MAX_DEG = 6;
const STEP_DEG = 0.05;
/** Lags of the coarse scan, in tiles: enough signal to find the peaks. */
const LAG_TILES = [1, 2, 3];
/**
 * Refinement: every lag the frame allows up to REFINE_MAX_LAG_TILES (longer lags resolve the angle
 * more finely, and a larger frame needs a finer angle: the error times the half-width must stay
 * under a few pixels), in REFINE_STEP_DEG steps within ±REFINE_SPAN_DEG of each coarse peak.
 */
const REFINE_STEP_DEG = 0.02;
const REFINE_SPAN_DEG = 0.4;
const REFINE_MAX_LAG_TILES = 16;
/** Both passes read every second row of the map: half the cost; the angle error did not change. */
const ROW_STEP = 2;

/** The detector's chip residual (high-passed, locally normalised, clipped) at the aligned grid, left in the core's arena at `res`. */
function residualMap(img: GrayImage): { res: number; gr: number; gc: number } {
  const core = wmCore();
  const w = ex(core);
  const p = put(core, img.pixels);
  const gr = Math.floor(img.rows / CHIP), gc = Math.floor(img.cols / CHIP);
  const means = core.alloc(4 * gr * gc), res = core.alloc(4 * gr * gc), scratch = core.alloc(8 * gr * gc);
  w.wmChipMeans(p, img.cols, CHIP, 0, 0, gr, gc, means);
  w.wmResidual(means, gr, gc, CLIP_K, res, scratch);
  return { res, gr, gc };
}

/**
 * The `count` most likely rotations of a marked frame, degrees (the image is the frame turned by
 * that angle: turn it back by the negative), best first; the local maxima of the tile-lag
 * autocorrelation over ±ROTATION_MAX_DEG. Frames under two tiles (512 px) a side have no lag: [].
 */
export function rotationCandidates(img: GrayImage, count = 3): number[] {
  const core = wmCore();
  const m0 = core.mark();
  try {
    return candidates(residualMap(img), count);
  } finally {
    core.release(m0);
  }
}

function candidates(m: { res: number; gr: number; gc: number }, count: number): number[] {
  const w = ex(wmCore());
  /** Σ r(p)·r(p + lag) over every rowStep-th row of the map, the shifted map sampled bilinearly; / √n (in the core). */
  const lagCorr = (dy: number, dx: number, rowStep: number) => w.wmLagCorr(m.res, m.gr, m.gc, dy, dx, rowStep);
  // Lags that leave at least one tile of overlap in both directions.
  const lags = LAG_TILES.map((n) => n * TILE).filter((L) => L + TILE <= Math.min(m.gr, m.gc));
  if (!lags.length) return [];
  const scoreAt = (deg: number, L: number[], rowStep: number) => {
    const t = (deg * Math.PI) / 180, c = Math.cos(t), s = Math.sin(t);
    let v = 0;
    for (const lag of L) v += lagCorr(lag * s, lag * c, rowStep) + lagCorr(lag * c, -lag * s, rowStep);
    return v;
  };
  const steps = Math.round(ROTATION_MAX_DEG / STEP_DEG);
  const score = new Float64Array(2 * steps + 1);
  for (let k = -steps; k <= steps; k++) score[k + steps] = scoreAt(k * STEP_DEG, lags, ROW_STEP);
  const peaks: Array<{ deg: number; v: number }> = [];
  for (let i = 0; i < score.length; i++) {
    const v = score[i]!;
    if ((i === 0 || v >= score[i - 1]!) && (i === score.length - 1 || v > score[i + 1]!)) peaks.push({ deg: (i - steps) * STEP_DEG, v });
  }
  const coarse = peaks.sort((a, b) => b.v - a.v).slice(0, count);
  const allLags: number[] = [];
  for (let L = TILE; L + TILE <= Math.min(m.gr, m.gc) && L <= REFINE_MAX_LAG_TILES * TILE; L += TILE) allLags.push(L);
  return coarse.map(({ deg }) => {
    let best = { deg, v: -Infinity };
    const n = Math.round(REFINE_SPAN_DEG / REFINE_STEP_DEG);
    for (let k = -n; k <= n; k++) {
      const d = deg + k * REFINE_STEP_DEG;
      const v = scoreAt(d, allLags, ROW_STEP);
      if (v > best.v) best = { deg: d, v };
    }
    return Math.round(best.deg * 100) / 100;
  });
}
