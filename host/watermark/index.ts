// radseal watermark: keyed, blind spread-spectrum mark for 10-16-bit
// monochrome frames. embedWatermark() at capture, detectWatermark() at ingest
// or on any export (PNG, JPEG, ...). Design: docs/WATERMARK.md.
import type { GrayImage } from '../image/png.js';
import { rotationCandidates } from './rotation.js';
import { ex, f32, layoutFor, markInPlace, put, wmCore, convEncode, viterbi, crc16, fragileCarriers, fragileContext, FRAG_BLOCK } from './core.js';
import { contentTagFromMeans, judgeTag } from './contentTag.js';
import { EARLY_Z, planAmplitudes, readMeans, readSpace, type AmplitudePlan, type Reading } from './informed.js';
import {
  BLOCK_CHIPS, CHIP, CLIP_K, CODED_BITS, CRC_BITS, DEFAULT_PSNR_DB, FPR_TARGET, INFO_BITS, MASK_HI, MASK_LO,
  MIN_PSNR_DB, PAYLOAD_BYTES, PILOTS, TAG_BITS, TILE, TILE2,
} from './params.js';

export type { GrayImage } from '../image/png.js';
export { PAYLOAD_BYTES } from './params.js';

export interface EmbedOptions {
  /** PSNR to aim for at the stored bit depth (default 59 dB; values below 58 are refused). */
  psnrDb?: number;
  /** 4-byte content tag to embed instead of the one computed from the frame. */
  contentTag?: Uint8Array;
  /**
   * Add the fragile authentication layer (per-64-px-block keyed MAC in carrier
   * LSBs, exact tamper map on the lossless path). Default true.
   */
  fragile?: boolean;
  /**
   * Write the marked pixels into this array (length rows x cols; may be
   * `frame.pixels` itself to mark in place) instead of a freshly allocated one.
   * Saves the page faults of a new frame-sized allocation.
   */
  out?: Uint16Array;
  /**
   * false: every tile position keeps the same share of the mark's energy and no second budget is tried
   * (the allocation the core's own calls make, as the native harness does: test/host/core/native.test.ts
   * compares it bit for bit). Default true: informed allocation (informed.ts) and the read-back's floor.
   */
  reallocate?: boolean;
}

/**
 * Whether the robust layer reads back from the freshly marked frame (checked at embedding, see
 * robustOutcome). When it does not (no room: tiny, flat, empty or saturated frames), `watermark detect`
 * without the attestation cannot read the payload; verify with the attested payload still confirms the
 * frame through the fragile layer.
 */
export type RobustOutcome = RobustReading & (
  | { readable: true; problem: null }
  /** `problem`: why the robust mark does not read back. */
  | { readable: false; problem: string });

interface RobustReading {
  /** Aligned pilot z of the marked frame (0: no robust mark). */
  score: number;
  bitErrors: number | null;
  /** 'chip means': the detector's early path on the final pixels; 'detector': its full aligned test. */
  checkedBy: 'chip means' | 'detector' | 'none';
  /** Tile positions (of 1024) given a larger share of the mark's energy (informed.ts). */
  boostedPositions: number;
}

export interface EmbedResult {
  /** Whether the robust layer reads back from the marked frame (payload, content tag, block map). */
  robust: RobustOutcome;
  image: GrayImage;
  /** PSNR (dB) at the stored bit depth, computed exactly from the embedded amplitudes. */
  psnrDb: number;
  mse: number;
  /** Largest absolute pixel change (LSB at the stored depth). */
  maxAbsChange: number;
  /** Fraction of 8x8 chips carrying the mark (saturated chips carry none). */
  markedFraction: number;
  contentTagHex: string;
  payloadHex: string;
  /** Fragile layer: carrier pixels per frame and how many were changed (null when off). */
  fragile: { carriers: number; changed: number } | null;
}

export interface DetectOptions {
  /** Search crop offsets and 0.5x / 0.25x scales when the aligned test fails (default true). */
  sync?: boolean;
  /** With sync: also test the whole frame mirrored left-right, top-bottom and turned 180° (default true). */
  flips?: boolean;
  /** Block z below which a block counts as tampered (default 2.0). */
  blockThreshold?: number;
  /** Also report low blocks with no low neighbour (default false). */
  isolatedBlocks?: boolean;
  /**
   * Which tamper map to report: 'auto' (default) = the fragile layer's exact map
   * when it is intact on at least half the blocks, else the robust map;
   * 'robust' = always the robust map; 'fragile' = the fragile map whenever it could be checked.
   */
  tamperMap?: 'auto' | 'robust' | 'fragile';
  /**
   * The payload the frame should carry (e.g. from the signed attestation, up to 8
   * bytes). When the robust payload cannot be decoded (small frames, heavy damage),
   * the fragile layer is checked with this payload instead; if its tags verify on at
   * least half the blocks the payload is confirmed (payloadSource 'fragile').
   */
  expectedPayload?: Uint8Array;
  /**
   * When the mark is not found as given: estimate how the frame was rotated (up to ±6°,
   * host/watermark/rotation.ts), turn it back by each of the 3 likeliest angles and detect again
   * (default false here; verify, the ingest gateway and the CLI turn it on with a time budget: it costs
   * ~0.15 s per megapixel plus up to three detections). The rotation search has its share of the call's
   * false-positive budget (FPR_SHARES.rotation, union over the candidates), so the call stays within
   * FPR_TARGET with it. Payload, tag and block map then refer to the frame turned back.
   */
  rotation?: boolean;
  /**
   * Time budget for the searches (ms from the call's start): the aligned test always runs; the flip,
   * crop/scale and rotation searches start only while it lasts. Default: no limit.
   */
  timeBudgetMs?: number;
}

export interface BlockMap {
  /** Block edge in pixels of the image as given. */
  size: number;
  rows: number;
  cols: number;
  /** [row, col] of blocks where the mark is missing or inconsistent. */
  tampered: Array<[number, number]>;
  /** Per-block correlation z (row-major), for reports and plots. */
  z: number[];
  /**
   * Blocks the map could judge. Fragile map: all. Robust map: only blocks where an intact block's
   * expected z clears the threshold by BLOCK_POWER_MARGIN (0 on frames too small or weak for a map).
   */
  judged: number;
}

export interface DetectResult {
  present: boolean;
  /** Pilot correlation z; ~N(0,1) on unmarked images, grows with mark strength. */
  score: number;
  /** Analytic bound on the chance that an unmarked image scores this high (union over all candidates tried). */
  falsePositiveProbability: number;
  /** 8 payload bytes as hex when the CRC checks, else null. */
  payloadHex: string | null;
  /** Coded bits whose hard decision disagrees with the decoded codeword (of 354), null if no codeword. */
  bitErrors: number | null;
  blocks: BlockMap;
  /** Image is negated relative to the marked frame (MONOCHROME1 export). */
  inverted: boolean;
  /**
   * Where the mark was found. `flip` != 'none': the image is the marked frame mirrored / turned 180°;
   * payload, content tag and block map then refer to the frame flipped back to its marked orientation.
   */
  geometry: { chip: number; offsetY: number; offsetX: number; tileShiftY: number; tileShiftX: number; synced: boolean; flip: Flip; rotationDeg: number; signal: 'means' | 'means+edges' };
  /**
   * The embedded content tag against the one computed from these pixels, over the reliable bits only
   * (host/watermark/contentTag.ts judgeTag): `distance` of `reliableBits`, a match up to `maxDistance`.
   * match null: undecided (too few reliable bits to prove a match, and those do not contradict it).
   */
  contentTag: { embeddedHex: string; computedHex: string; distance: number; reliableBits: number; maxDistance: number; match: boolean | null } | null;
  threshold: number;
  /**
   * Which signal the tamper map used: 'fragile' (per-block MAC; exact on the
   * lossless path; z is 1 for a verified block, 0 for a failed one), or the
   * robust layer's chip signals ('edges' | 'means' | 'both'), or 'none'.
   */
  mapSource: 'fragile' | 'edges' | 'means' | 'both' | 'none';
  /**
   * Fragile layer check (null when it could not be checked: no decoded payload,
   * or the frame is not at the marked geometry/polarity): blocks whose tag
   * verified, of how many, and whether its map was used.
   */
  fragile: { verified: number; blocks: number; used: boolean } | null;
  /** Where payloadHex came from: the robust layer's decoder, or the fragile tags verifying an expected payload. */
  payloadSource: 'robust' | 'fragile' | null;
  /**
   * Which search found the mark (null: not found), the searches that ran with their time, and whether the
   * time budget stopped a search from starting. The false-positive bound covers every search that may run.
   */
  search: { foundBy: SearchStage | null; stages: StageReport[]; budgetExhausted: boolean };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new RangeError('watermark key must be 32 bytes');
}

function maxval(bits: number): number {
  return 2 ** bits - 1;
}

/** Largest allowed change: 8 LSB at 10 bits, scaled by 2^(bits-10) (at least 1). */
export function changeCap(bits: number): number {
  return Math.max(1, Math.floor(8 * 2 ** (bits - 10)));
}

/** Information bits: payload (64) | tag (32) | CRC-16 over both. */
function infoBits(payload: Uint8Array, tag: Uint8Array): Uint8Array {
  const bits = new Uint8Array(INFO_BITS);
  const data = new Uint8Array(PAYLOAD_BYTES + TAG_BITS / 8);
  data.set(payload, 0);
  data.set(tag, PAYLOAD_BYTES);
  for (let i = 0; i < data.length * 8; i++) bits[i] = (data[i >> 3]! >> (7 - (i & 7))) & 1;
  const crc = crc16(bits.subarray(0, INFO_BITS - CRC_BITS));
  for (let i = 0; i < CRC_BITS; i++) bits[INFO_BITS - CRC_BITS + i] = (crc >> (CRC_BITS - 1 - i)) & 1;
  return bits;
}

function bitsToBytes(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(bits.length >> 3);
  for (let i = 0; i < out.length * 8; i++) out[i >> 3]! |= bits[i]! << (7 - (i & 7));
  return out;
}

/** Expected sign (+1/-1) of every tile position for a given codeword. */
function expectedSigns(key: Uint8Array, coded: Uint8Array): Int8Array {
  const { sign, role } = layoutFor(key);
  const e = new Int8Array(TILE2);
  for (let j = 0; j < TILE2; j++) {
    const r = role[j]!;
    e[j] = r < 0 ? sign[j]! : coded[r] ? -sign[j]! : sign[j]!;
  }
  return e;
}

/** The fragile layer's image id: the 8-byte payload || "FRG1" (see docs/WATERMARK.md: payloads must be unique per frame). */
function fragileIdOf(payload: Uint8Array): Uint8Array {
  const id = new Uint8Array(12);
  id.set(payload.subarray(0, PAYLOAD_BYTES), 0);
  id.set([0x46, 0x52, 0x47, 0x31], 8);
  return id;
}

function validateFrame(img: GrayImage): void {
  if (!Number.isInteger(img.rows) || !Number.isInteger(img.cols) || img.rows <= 0 || img.cols <= 0) throw new RangeError('bad frame size');
  if (img.pixels.length !== img.rows * img.cols) throw new RangeError('pixel count does not match rows x cols');
  if (!Number.isInteger(img.bitsStored) || img.bitsStored < 8 || img.bitsStored > 16) throw new RangeError('bitsStored must be 8..16');
}

/**
 * Embeds the mark. `frame.pixels` is not modified; the marked copy is returned.
 * payload: up to 8 bytes (zero-padded to 8).
 */
export function embedWatermark(frame: GrayImage, key: Uint8Array, payload: Uint8Array, opts: EmbedOptions = {}): EmbedResult {
  checkKey(key);
  validateFrame(frame);
  if (payload.length > PAYLOAD_BYTES) throw new RangeError(`payload is at most ${PAYLOAD_BYTES} bytes`);
  if (opts.out && (!(opts.out instanceof Uint16Array) || opts.out.length !== frame.rows * frame.cols)) throw new RangeError('opts.out must be a Uint16Array of rows x cols');
  const psnrTarget = opts.psnrDb ?? DEFAULT_PSNR_DB;
  if (!(psnrTarget >= MIN_PSNR_DB)) throw new RangeError(`psnrDb must be >= ${MIN_PSNR_DB}`);
  const pay = new Uint8Array(PAYLOAD_BYTES);
  pay.set(payload);
  const { rows, cols, bitsStored } = frame;
  const maxv = maxval(bitsStored);
  const gr = Math.floor(rows / CHIP), gc = Math.floor(cols / CHIP), n = gr * gc;
  const held = markInPlace(frame.pixels, opts.out);
  const core = held?.core ?? wmCore();
  const w = ex(core);
  const m0 = core.mark();
  let releaseRead = (): void => {};
  try {
    const img = held ? held.ptr : put(core, frame.pixels);
    const sum = core.alloc(4 * n), mn = core.alloc(2 * n), mx = core.alloc(2 * n), act = core.alloc(4 * n);
    const mask = core.alloc(4 * n), amp = core.alloc(4 * n);
    const tsign = core.alloc(TILE2);
    if (n > 0) w.wmChipStats(img, cols, gr, gc, sum, mn, mx, act);
    // Content tag from the unmarked chip sums (64 x the chip means: same signs).
    const tag = opts.contentTag ?? contentTagFromMeans(new Uint32Array(core.memory.buffer, sum, n), gr, gc);
    if (tag.length !== TAG_BITS / 8) throw new RangeError('contentTag must be 4 bytes');
    const coded = convEncode(infoBits(pay, tag));
    // Signs first: a key's first use builds its layout in the core, which may grow memory and detach views.
    const signs = expectedSigns(key, coded);
    core.bytes(tsign, TILE2).set(new Uint8Array(signs.buffer));
    // Gain: the largest that keeps the exact MSE at or below the target. The
    // fragile layer changes at most `carriers` pixels by 1 (half of them on
    // average): its share is reserved (twice the mean) and the robust cap is
    // one less, so the combined change stays within the cap.
    const fragile = opts.fragile !== false && rows < 65536 && cols < 65536;
    const carriers = fragile ? fragileCarriers(rows, cols) : 0;
    if (n > 0) w.wmMask(act, mn, mx, n, maxv, MASK_LO, MASK_HI, mask);
    const mseTarget = (maxv * maxv) / 10 ** (psnrTarget / 10);
    const budget = (mseTarget * rows * cols - carriers) / 64; // allowed sum over chips of per-chip mean squared change
    const cap = changeCap(bitsStored) - (fragile ? 1 : 0);
    const info = infoBits(pay, tag);
    // The reading space lives in the watermark's own core: a caller's core that holds the frame (marked in
    // place) has room for the embed's chip arrays only.
    const rc = wmCore();
    const rm0 = rc === core ? null : rc.mark();
    releaseRead = () => { if (rm0 !== null) rc.release(rm0); };
    const sp = readSpace(rc, n, layoutFor(key));
    const input = { core, rc, sp, sum, mn, mx, mask, amp, gr, gc, maxv, cap, budget, info, coded, signs, ...(opts.reallocate === false ? { rounds: 0 } : {}) };
    const mask0 = f32(core, mask, n).slice();
    /** One embedding of the robust and fragile layers into `img` with the plan for this budget, checked. */
    // Not zero-filled: every element is overwritten by embedOnce.
    const pixels = opts.out ?? ((b) => new Uint16Array(b.buffer, b.byteOffset, rows * cols))(Buffer.allocUnsafeSlow(2 * rows * cols));
    const image = { rows, cols, bitsStored, pixels };
    const planFor = (budgetNow: number): AmplitudePlan => {
      f32(core, mask, n).set(mask0);
      return planAmplitudes({ ...input, budget: budgetNow });
    };
    /** Embeds the robust layer as planned (the amplitudes of the last plan made) and the fragile layer into `img`, and checks it. */
    const embedOnce = (plan: AmplitudePlan) => {
      const sumE = plan.sumE;
      if (sumE > 0) w.wmEmbed(img, cols, gr, gc, amp, tsign, TILE);
      const amps = new Int32Array(core.memory.buffer, amp, n);
      let maxA = 0, marked = 0;
      for (let i = 0; i < n; i++) {
        const a = amps[i]!;
        if (a > 0) { marked++; const c = Math.ceil(a / 64); if (c > maxA) maxA = c; }
      }
      let sse = sumE * 64;
      let fragileInfo: EmbedResult['fragile'] = null;
      if (fragile) {
        const id = fragileIdOf(pay);
        const [ctx, scratch] = fragileContext(core, key, id, rows, cols, bitsStored);
        const out = core.alloc(8);
        const d = w.wmFragile(img, rows, cols, bitsStored, ctx, 0, n > 0 ? amp : 0, tsign, gr, gc, TILE, out, scratch);
        sse += d;
        const [mc, changed] = new Int32Array(core.memory.buffer, out, 2);
        if (mc! > maxA) maxA = mc!;
        fragileInfo = { carriers, changed: changed! };
      }
      // The final pixels read the way the detector's aligned test reads them (its early path: the same
      // core calls on the same pixels), so a frame that passes here is decoded exactly by the detector.
      let reading: Reading | null = null;
      let tagFits = false;
      if (marked > 0) {
        w.wmChipMeans(img, cols, CHIP, 0, 0, gr, gc, act); // the activity is not needed after the mask
        f32(rc, sp.means, n).set(f32(core, act, n));
        reading = readMeans(rc, sp, gr, gc, info, coded, signs);
        tagFits = judgeTag(tag, f32(rc, sp.means, n), gr, gc, bitsStored, false).match !== false;
      }
      if (!held) pixels.set(new Uint16Array(core.memory.buffer, img, rows * cols));
      // The detector (when it must run) works in the watermark's core: it gets a copy of pixels held elsewhere
      // (made only then: a 3072² frame is 19 MB to copy and collect).
      const robust = robustOutcome(image, () => (held ? image.pixels.slice() : image.pixels), key, pay, marked, reading, tagFits, plan, psnrTarget);
      return { plan, robust, sse, maxA, marked, fragileInfo };
    };
    // With the default target, a frame whose payload would not read back may use the floor's budget
    // (1 dB more energy; the PSNR reported stays exact); if it does not read back either way, the
    // target's fidelity is kept. An explicit psnrDb is kept as asked. The unmarked pixels are kept
    // for this only when the chip-mean prediction is not already sure.
    const floorBudget = ((maxv * maxv) / 10 ** (MIN_PSNR_DB / 10) * rows * cols - carriers) / 64;
    const first = planFor(budget);
    const sure = !!first.predicted && first.predicted.decoded && first.predicted.z >= EARLY_Z;
    const snapshot = opts.psnrDb === undefined && opts.reallocate !== false && first.room && !sure ? new Uint16Array(core.memory.buffer, img, rows * cols).slice() : null;
    let r = embedOnce(first);
    if (!r.robust.readable && snapshot) {
      for (const b of [floorBudget, budget]) {
        new Uint16Array(core.memory.buffer, img, rows * cols).set(snapshot);
        r = embedOnce(planFor(b));
        if (r.robust.readable) break;
      }
    }
    const mse = r.sse / (rows * cols);
    return {
      robust: r.robust,
      image,
      psnrDb: mse > 0 ? 10 * Math.log10((maxv * maxv) / mse) : Infinity,
      mse,
      maxAbsChange: r.maxA,
      markedFraction: n > 0 ? r.marked / n : 0,
      contentTagHex: hex(tag),
      payloadHex: hex(pay),
      fragile: r.fragileInfo,
    };
  } finally {
    releaseRead();
    core.release(m0);
  }
}

/**
 * Whether the robust layer reads back from the marked frame as embedded. Fast path: the chip-mean
 * reading of the final pixels (the detector's early path) decodes the payload at z >= EARLY_Z and the
 * content tag fits. Otherwise the detector's aligned test itself runs on the marked frame (weak frames
 * only: those where the border steps must help), and the frame is readable only if it returns exactly
 * this payload, a fitting tag and no tampered block. `pixels()` gives the marked pixels for the
 * detector, asked for only when it must run (a copy when they lie in another core).
 */
function robustOutcome(image: Omit<GrayImage, 'pixels'>, pixels: () => Uint16Array, key: Uint8Array, pay: Uint8Array, marked: number, reading: Reading | null, tagFits: boolean, plan: AmplitudePlan, psnrDb: number): RobustOutcome {
  const boosted = plan.boosted;
  if (marked === 0) {
    const problem = image.rows < CHIP || image.cols < CHIP
      ? `the frame (${image.rows} x ${image.cols}) is smaller than one ${CHIP} x ${CHIP} chip: no robust mark`
      : !plan.room ? 'every 8 x 8 chip touches 0 or the maximum value (flat, empty or saturated frame): no room for the robust mark'
        : image.bitsStored < 10 ? `at ${image.bitsStored} bits stored the ${psnrDb} dB PSNR target leaves no room for the robust mark (one dithered level per chip costs more than the budget; radseal marks 10-16-bit frames)`
          : 'no chip can change without a pixel reaching 0 or the maximum (values within 1 LSB of either end): no room for the robust mark';
    return { readable: false, score: 0, bitErrors: null, checkedBy: 'none', boostedPositions: 0, problem };
  }
  if (reading && reading.decoded && reading.z >= EARLY_Z && tagFits) {
    return { readable: true, score: reading.z, bitErrors: reading.bitErrors, checkedBy: 'chip means', boostedPositions: boosted, problem: null };
  }
  const d = detectWatermark({ rows: image.rows, cols: image.cols, bitsStored: image.bitsStored, pixels: pixels() }, key, { sync: false });
  const seen = { score: d.score, bitErrors: d.bitErrors, checkedBy: 'detector' as const, boostedPositions: boosted };
  const readable = d.payloadSource === 'robust' && d.payloadHex === hex(pay) && !d.inverted && d.contentTag?.match !== false && d.blocks.tampered.length === 0;
  if (readable) return { ...seen, readable, problem: null };
  const problem = !d.present ? `the robust mark is too weak to be found in this frame (score ${d.score.toFixed(1)}, needs ${d.threshold.toFixed(1)}): too little room (small, flat or saturated frame)`
    : d.payloadHex !== hex(pay) ? `the robust mark is found (score ${d.score.toFixed(1)}) but its payload does not read back from this frame: too little room (small, flat or saturated frame)`
      : 'the robust mark reads back, but its content tag or block map does not fit this frame';
  return { ...seen, readable, problem };
}

/** Per-candidate threshold: a union bound over `m` candidates with exp(-z^2/2) tails. */
function bound(z: number, m: number): number {
  return Math.min(1, m * Math.exp(-(z * z) / 2));
}
function thresholdFor(m: number): number {
  return Math.sqrt(2 * Math.log(m / FPR_TARGET));
}

interface Candidate { chip: number; oy: number; ox: number; dy: number; dx: number; z: number; signal: number; num?: number }

/**
 * Among search candidates, the geometry to decode at. The pilot z saturates on strong marks (it cannot
 * exceed sqrt(PILOTS)), so neighbouring pixel phases tie on it; the unnormalised pilot correlation does
 * not, and the right phase has the largest. So: of the candidates at the chip size and signal of the
 * best z, with z within 1 of it and of its sign, the one with the largest correlation. Presence is still
 * decided on the largest z (the bound is over all candidates).
 */
function pickGeometry(all: Candidate[]): Candidate {
  let top = all[0]!;
  for (const c of all) if (Math.abs(c.z) > Math.abs(top.z)) top = c;
  let pick = top;
  for (const c of all) {
    if (c.chip !== top.chip || c.signal !== top.signal || Math.sign(c.z) !== Math.sign(top.z) || Math.abs(c.z) < Math.abs(top.z) - 1) continue;
    if (Math.abs(c.num ?? 0) > Math.abs(pick.num ?? 0)) pick = c;
  }
  return pick;
}

/**
 * Chip signals tried at every candidate geometry: 0 = the chip-mean residual alone (survives
 * resampling and rotation, which smear pixel steps), 1 = its sum with the border-step map
 * (wmEdgeStats: on real small frames ~2x the pilot z of the means alone, JPEG keeps it because its
 * blocks are the chips). Both are fixed functions of the image, so each one's pilot z obeys the
 * Hoeffding bound; the union bound counts both.
 */
const SIGNALS = 2;

/**
 * The scales and phases searched when the aligned test fails: chip sizes, pixel phase steps (chip 8:
 * even phases, then the 8 around the best) and signals. Scaled copies use the chip-mean residual only:
 * resampling smears the pixel steps at chip borders, and the border map costs most at small chips.
 */
const SYNC_PLAN: Array<{ chip: number; step: number; signals: number }> = [
  { chip: 8, step: 2, signals: SIGNALS },
  { chip: 4, step: 1, signals: 1 },
  { chip: 2, step: 1, signals: 1 },
];
function syncCandidates(plan: typeof SYNC_PLAN): number {
  let m = 0;
  for (const { chip, signals } of plan) m += signals * chip * chip * TILE2; // every phase may be reached (chip 8: by the refinement)
  return 2 * m; // both polarities
}
/**
 * The 1e-6 false-positive budget of one call, split over every search that may run: aligned test
 * 5e-7, the three flips of the whole frame 1e-7, the crop/scale search 2e-7, the rotation search 2e-7.
 * Each stage's bound is (candidates / share) * exp(-z^2/2), so the stages together stay within 1e-6.
 */
export const FPR_SHARES = { aligned: 0.5, flip: 0.1, cropScale: 0.2, rotation: 0.2 } as const;
const M_ALIGNED = (2 * SIGNALS) / FPR_SHARES.aligned;
const M_FLIP = (6 * SIGNALS) / FPR_SHARES.flip;
const M_SYNC = syncCandidates(SYNC_PLAN) / FPR_SHARES.cropScale;
/** A frame turned back by the rotation search is searched for crop offsets at full scale only. */
const SYNC_PLAN_ROTATED = SYNC_PLAN.filter((p) => p.chip === CHIP);
const M_SYNC_ROTATED = syncCandidates(SYNC_PLAN_ROTATED) / FPR_SHARES.cropScale;
const FLIPS = ['none', 'lr', 'tb', 'rot180'] as const;
const SIGNAL_NAMES = ['means', 'means+edges'] as const;
export type Flip = (typeof FLIPS)[number];
export type SearchStage = 'aligned' | 'flip' | 'crop-scale' | 'rotation';
export interface StageReport { stage: SearchStage; ms: number }

/**
 * Default time budget (ms) for the searches of one object in verify, the ingest gateway and
 * `radseal watermark detect`: the aligned test always runs; the flip, crop/scale and rotation
 * searches start only while the budget lasts (a search that has started finishes).
 */
export const DEFAULT_SEARCH_BUDGET_MS = 10000;

/** The frame turned by -degrees (bilinear, about the centre, same size; in the core: host/image/transform.ts rotate() in JS takes ~3x longer). */
function turnedBack(image: GrayImage, degrees: number): GrayImage {
  const core = wmCore();
  const m0 = core.mark();
  try {
    const n = image.rows * image.cols;
    const src = put(core, image.pixels), dst = core.alloc(2 * n);
    const t = (-degrees * Math.PI) / 180;
    ex(core).wmRotate(src, dst, image.rows, image.cols, Math.cos(t), Math.sin(t));
    return { ...image, pixels: new Uint16Array(core.memory.buffer, dst, n).slice() };
  } finally {
    core.release(m0);
  }
}


/** Robust tamper map: how far above the block threshold an intact block's expected z must be for the block to be judged. */
const BLOCK_POWER_MARGIN = 1;

/** Rotation angles tried by DetectOptions.rotation. */
const ROTATION_CANDIDATES = 3;

export function detectWatermark(image: GrayImage, key: Uint8Array, opts: DetectOptions = {}): DetectResult {
  const t0 = performance.now();
  const deadline = opts.timeBudgetMs !== undefined ? t0 + opts.timeBudgetMs : Infinity;
  const plain = detectAsGiven(image, key, opts, deadline);
  if (plain.present || !opts.rotation || opts.sync === false) return plain;
  const stages = [...plain.search.stages];
  if (performance.now() >= deadline) return { ...plain, search: { ...plain.search, budgetExhausted: true } };
  // Stage 3: rotation. Each turned frame is searched as given (aligned and crop/scale, no flips); the inner
  // call's false-positive probability is a valid p-value, so the union over the candidates, scaled to this
  // stage's share, bounds the stage.
  const tr = performance.now();
  let found: DetectResult | null = null;
  let exhausted = false;
  try {
    const angles = rotationCandidates(image, ROTATION_CANDIDATES);
    for (const a of angles) {
      if (Math.abs(a) < 0.1) continue; // that is the frame as given, already tried
      if (performance.now() >= deadline) { exhausted = true; break; }
      const r = detectAsGiven(turnedBack(image, a), key, { ...opts, flips: false }, deadline, true);
      const fpp = Math.min(1, (r.falsePositiveProbability * ROTATION_CANDIDATES) / FPR_SHARES.rotation);
      if (r.present && fpp <= FPR_TARGET && (!found || r.score > found.score)) {
        // The threshold for this stage: m -> m * count / share in the bound.
        const threshold = Math.sqrt(r.threshold * r.threshold + 2 * Math.log(ROTATION_CANDIDATES / FPR_SHARES.rotation));
        found = { ...r, falsePositiveProbability: fpp, threshold, geometry: { ...r.geometry, rotationDeg: a } };
      }
    }
  } finally {
    stages.push({ stage: 'rotation', ms: Math.round((performance.now() - tr) * 10) / 10 });
  }
  const search = { foundBy: found ? 'rotation' as const : null, stages, budgetExhausted: exhausted || (!found && performance.now() >= deadline) };
  return found ? { ...found, search } : { ...plain, search };
}

function detectAsGiven(image: GrayImage, key: Uint8Array, opts: DetectOptions, deadline: number, turned = false): DetectResult {
  checkKey(key);
  validateFrame(image);
  const layout = layoutFor(key);
  const { rows, cols } = image;
  const core = wmCore();
  const w = ex(core);
  const m0 = core.mark();
  try {
    let img = put(core, image.pixels);
    const maxChips = Math.floor(rows / 2) * Math.floor(cols / 2);
    const means = core.alloc(4 * maxChips), res = core.alloc(4 * maxChips), rscratch = core.alloc(8 * maxChips);
    const edgeMap = core.alloc(4 * maxChips), foldedEdges = core.alloc(4 * TILE2);
    // folds[0]: chip-mean residual alone; folds[1]: chip-mean residual + border steps (see SIGNALS).
    const folds = [core.alloc(4 * TILE2), core.alloc(4 * TILE2)];
    const zbuf = core.alloc(4 * TILE2), soft = core.alloc(4 * CODED_BITS);
    const pIdx = put(core, layout.pilotIdx), pSign = put(core, layout.pilotSign);
    const sgn = put(core, layout.sign), role = put(core, layout.role);

    let edgesReady = false; // edgeMap and folds[1] hold the border steps of the last prepared geometry
    const prepare = (chip: number, oy: number, ox: number, signals = SIGNALS): { gr: number; gc: number } => {
      const gr = Math.floor((rows - oy) / chip), gc = Math.floor((cols - ox) / chip);
      edgesReady = false;
      if (gr > 0 && gc > 0) {
        w.wmChipMeans(img, cols, chip, oy, ox, gr, gc, means);
        w.wmResidual(means, gr, gc, CLIP_K, res, rscratch);
        w.wmFold(res, gr, gc, TILE, 0, 0, folds[0]!);
        if (signals >= 2) addEdges(chip, oy, ox, gr, gc);
      } else for (const f of folds) core.bytes(f, 4 * TILE2).fill(0);
      return { gr, gc };
    };
    /** The border-step map of the prepared geometry, and folds[1] = means + border steps. */
    const addEdges = (chip: number, oy: number, ox: number, gr: number, gc: number): void => {
      if (edgesReady) return;
      edgesReady = true;
      if (gr <= 0 || gc <= 0) return;
      w.wmEdgeStats(img, rows, cols, chip, oy, ox, gr, gc, edgeMap);
      w.wmLocalNormalize(edgeMap, gr, gc, CLIP_K, rscratch, -1);
      w.wmFold(edgeMap, gr, gc, TILE, 0, 0, foldedEdges);
      const M = f32(core, folds[0]!, TILE2), E = f32(core, foldedEdges, TILE2), S = f32(core, folds[1]!, TILE2);
      for (let j = 0; j < TILE2; j++) S[j] = M[j]! + E[j]!;
    };
    /** Whether the soft bits in `soft` (of a candidate with pilot z) decode to a codeword whose CRC checks. */
    const softDecodes = (z: number): boolean => {
      const sb = f32(core, soft, CODED_BITS).slice();
      if (z < 0) for (let i = 0; i < sb.length; i++) sb[i] = -sb[i]!;
      const info = viterbi(sb, INFO_BITS);
      let got = 0;
      for (let i = 0; i < CRC_BITS; i++) got = (got << 1) | info[INFO_BITS - CRC_BITS + i]!;
      return got === crc16(info.subarray(0, INFO_BITS - CRC_BITS));
    };
    /** Pilot z at tile shift (dy, dx) for both signals; soft bits of the stronger one are left in `soft`. */
    const atShift = (dy: number, dx: number): { z: number; signal: number } => {
      const z0 = w.wmSoftBits(folds[0]!, TILE, dy, dx, sgn, role, CODED_BITS, soft);
      const z1 = w.wmSoftBits(folds[1]!, TILE, dy, dx, sgn, role, CODED_BITS, soft);
      if (Math.abs(z1) >= Math.abs(z0)) return { z: z1, signal: 1 };
      w.wmSoftBits(folds[0]!, TILE, dy, dx, sgn, role, CODED_BITS, soft);
      return { z: z0, signal: 0 };
    };
    /** Best tile shift over both signals at the prepared geometry. */
    const searchShifts = (chip: number, oy: number, ox: number, signals = SIGNALS): Candidate => {
      let top: Candidate = { chip, oy, ox, dy: 0, dx: 0, z: 0, signal: 0 };
      for (let signal = 0; signal < signals; signal++) {
        const i = w.wmSyncSearch(folds[signal]!, TILE, pIdx, pSign, PILOTS, zbuf);
        const z = f32(core, zbuf, TILE2)[i]!;
        if (Math.abs(z) > Math.abs(top.z)) {
          const dy = Math.floor(i / TILE), dx = i % TILE, F = f32(core, folds[signal]!, TILE2);
          let num = 0;
          for (let k = 0; k < PILOTS; k++) {
            const j = layout.pilotIdx[k]!, y = (Math.floor(j / TILE) + dy) % TILE, x = ((j % TILE) + dx) % TILE;
            num += layout.pilotSign[k]! * F[y * TILE + x]!;
          }
          top = { chip, oy, ox, dy, dx, z, signal, num };
        }
      }
      return top;
    };
    const found = (z: number, mm: number) => bound(Math.abs(z), mm) <= FPR_TARGET;
    const stages: StageReport[] = [];
    const timed = <T>(stage: SearchStage, f: () => T): T => {
      const t0 = performance.now();
      try { return f(); } finally { stages.push({ stage, ms: Math.round((performance.now() - t0) * 10) / 10 }); }
    };

    // Stage 1: the frame as marked (no crop, no scaling).
    let geo = { gr: 0, gc: 0 };
    let best = timed('aligned', (): Candidate => {
      // A strong mark whose payload decodes from the chip means alone needs no border-step pass (the
      // bound still counts both signals: the larger z is at least this one).
      geo = prepare(CHIP, 0, 0, 1);
      const z0 = w.wmSoftBits(folds[0]!, TILE, 0, 0, sgn, role, CODED_BITS, soft);
      if (Math.abs(z0) >= EARLY_Z && softDecodes(z0)) return { chip: CHIP, oy: 0, ox: 0, dy: 0, dx: 0, z: z0, signal: 0 };
      addEdges(CHIP, 0, 0, geo.gr, geo.gc);
      return { chip: CHIP, oy: 0, ox: 0, dy: 0, dx: 0, ...atShift(0, 0) };
    });
    let m = M_ALIGNED;
    let synced = false;
    let flipMode = 0;
    let foundBy: SearchStage | null = found(best.z, m) ? 'aligned' : null;
    let searchZ = 0; // the crop/scale search's largest |z| (presence), when it ran
    if (!foundBy && opts.sync !== false && opts.flips !== false && performance.now() < deadline) {
      // Stage 1b: the whole frame mirrored or turned by 180 degrees: flipping it back restores the marked grid.
      const orig = img;
      const flipped = core.alloc(2 * rows * cols);
      timed('flip', () => {
        let top = { mode: 0, z: 0 };
        for (const mode of [1, 2, 3]) {
          w.wmFlip(orig, flipped, rows, cols, mode);
          img = flipped;
          prepare(CHIP, 0, 0);
          const z = atShift(0, 0).z;
          if (Math.abs(z) > Math.abs(top.z)) top = { mode, z };
        }
        if (found(top.z, M_FLIP)) {
          flipMode = top.mode;
          w.wmFlip(orig, flipped, rows, cols, flipMode);
          img = flipped;
          geo = prepare(CHIP, 0, 0);
          best = { ...best, ...atShift(0, 0) };
          m = M_FLIP;
          foundBy = 'flip';
        } else {
          img = orig;
          geo = prepare(CHIP, 0, 0);
        }
      });
    }
    if (!foundBy && opts.sync !== false && performance.now() < deadline) {
      // Stage 2: crop offsets (tile shift x pixel phase) and scales. Full-size chips are scanned at
      // even pixel phases, then the 8 phases around the best are tried: the bound counts all 64.
      m = turned ? M_SYNC_ROTATED : M_SYNC;
      searchZ = 0;
      synced = true;
      best = timed('crop-scale', (): Candidate => {
        const all: Candidate[] = [];
        for (const { chip, step, signals } of turned ? SYNC_PLAN_ROTATED : SYNC_PLAN) {
          for (let oy = 0; oy < chip; oy += step) {
            for (let ox = 0; ox < chip; ox += step) {
              prepare(chip, oy, ox, signals);
              all.push(searchShifts(chip, oy, ox, signals));
            }
          }
        }
        const c0 = pickGeometry(all);
        if (c0.chip === CHIP) {
          for (let ddy = -1; ddy <= 1; ddy++) for (let ddx = -1; ddx <= 1; ddx++) {
            const oy = (c0.oy + ddy + CHIP) % CHIP, ox = (c0.ox + ddx + CHIP) % CHIP;
            if (oy % 2 === 0 && ox % 2 === 0) continue; // scanned already
            prepare(CHIP, oy, ox);
            all.push(searchShifts(CHIP, oy, ox));
          }
        }
        for (const c of all) if (Math.abs(c.z) > Math.abs(searchZ)) searchZ = c.z;
        return pickGeometry(all);
      });
      geo = prepare(best.chip, best.oy, best.ox); // both signals: the tamper map uses the border steps
      w.wmSoftBits(folds[best.signal]!, TILE, best.dy, best.dx, sgn, role, CODED_BITS, soft);
      if (found(searchZ, m)) foundBy = 'crop-scale';
    }
    const inverted = best.z < 0;
    const score = Math.max(Math.abs(best.z), Math.abs(searchZ));
    const fpp = bound(score, m);
    const present = fpp <= FPR_TARGET;
    const threshold = thresholdFor(m);

    let payloadHex: string | null = null;
    let bitErrors: number | null = null;
    let contentTag: DetectResult['contentTag'] = null;
    let expSign: Int8Array | null = null;
    let fragileId: Uint8Array | null = null;
    if (present && !softDecodes(best.z)) {
      // The other signal at the same geometry: JPEG 2000 and resampling smear the border steps, so the
      // chip means alone can decode where their sum with the border steps does not (and the reverse).
      if (best.signal === 0) addEdges(best.chip, best.oy, best.ox, geo.gr, geo.gc);
      const zAlt = w.wmSoftBits(folds[1 - best.signal]!, TILE, best.dy, best.dx, sgn, role, CODED_BITS, soft);
      if (!(Math.sign(zAlt) === Math.sign(best.z) && softDecodes(zAlt))) w.wmSoftBits(folds[best.signal]!, TILE, best.dy, best.dx, sgn, role, CODED_BITS, soft);
    }
    if (present) {
      const s = f32(core, soft, CODED_BITS).slice();
      if (inverted) for (let i = 0; i < s.length; i++) s[i] = -s[i]!;
      const info = viterbi(s, INFO_BITS);
      const crc = crc16(info.subarray(0, INFO_BITS - CRC_BITS));
      let got = 0;
      for (let i = 0; i < CRC_BITS; i++) got = (got << 1) | info[INFO_BITS - CRC_BITS + i]!;
      if (got === crc) {
        const bytes = bitsToBytes(info.subarray(0, INFO_BITS - CRC_BITS));
        const coded = convEncode(info);
        bitErrors = 0;
        for (let i = 0; i < CODED_BITS; i++) if ((s[i]! < 0 ? 1 : 0) !== coded[i]) bitErrors++;
        payloadHex = hex(bytes.subarray(0, PAYLOAD_BYTES));
        const embedded = bytes.subarray(PAYLOAD_BYTES);
        // Recompute the tag from this image at the detected geometry.
        w.wmChipMeans(img, cols, best.chip, best.oy, best.ox, geo.gr, geo.gc, means);
        const tag = judgeTag(embedded, f32(core, means, geo.gr * geo.gc), geo.gr, geo.gc, image.bitsStored, inverted);
        contentTag = { embeddedHex: hex(embedded), computedHex: hex(tag.computed), distance: tag.distance, reliableBits: tag.reliableBits, maxDistance: tag.maxDistance, match: tag.match };
        expSign = expectedSigns(key, coded);
        fragileId = fragileIdOf(bytes.subarray(0, PAYLOAD_BYTES));
      } else {
        // Pilots only: the tamper map can still use them.
        expSign = new Int8Array(TILE2);
        for (let j = 0; j < TILE2; j++) if (layout.role[j]! < 0) expSign[j] = layout.sign[j]!;
      }
    }

    // Fragile layer: exact per-block check on the lossless path. It needs the
    // image id (decoded payload || embedded tag) and the frame as marked.
    const mode = opts.tamperMap ?? 'auto';
    let fragile: DetectResult['fragile'] = null;
    let fragileBlocks: BlockMap | null = null;
    let payloadSource: DetectResult['payloadSource'] = payloadHex ? 'robust' : null;
    let presentOut = present, fppOut = fpp;
    if (!fragileId && opts.expectedPayload) {
      if (opts.expectedPayload.length > PAYLOAD_BYTES) throw new RangeError(`expectedPayload is at most ${PAYLOAD_BYTES} bytes`);
      const pay = new Uint8Array(PAYLOAD_BYTES);
      pay.set(opts.expectedPayload);
      fragileId = fragileIdOf(pay);
    }
    const aligned = best.chip === CHIP && best.oy === 0 && best.ox === 0 && !inverted;
    if (fragileId && mode !== 'robust' && (aligned || !present) && rows < 65536 && cols < 65536) {
      const [ctx, scratch] = fragileContext(core, key, fragileId, rows, cols, image.bitsStored);
      const fbr = Math.ceil(rows / FRAG_BLOCK), fbc = Math.ceil(cols / FRAG_BLOCK);
      const ok = core.alloc(fbr * fbc);
      const verified = w.wmFragile(img, rows, cols, image.bitsStored, ctx, 1, 0, 0, 0, 0, TILE, ok, scratch);
      const nb = fbr * fbc;
      const intact = verified >= 0.5 * nb;
      const used = intact || (mode === 'fragile' && verified > 0);
      fragile = { verified, blocks: nb, used };
      if (intact && !payloadHex) {
        // Confirmed by the tags: each of >= nb/2 blocks passes a 32-bit tag by chance with
        // probability 2^-32, so over all subsets P <= 2^(nb - 32 * verified).
        payloadHex = hex(fragileId.subarray(0, PAYLOAD_BYTES));
        payloadSource = 'fragile';
        presentOut = true;
        fppOut = Math.min(fpp, 2 ** (nb - 32 * verified));
      }
      if (used) {
        const okb = core.bytes(ok, nb);
        const tampered: Array<[number, number]> = [];
        const z = new Array<number>(nb);
        for (let i = 0; i < nb; i++) { z[i] = okb[i]!; if (!okb[i]) tampered.push([Math.floor(i / fbc), i % fbc]); }
        fragileBlocks = { size: FRAG_BLOCK, rows: fbr, cols: fbc, tampered, z, judged: nb };
      }
    }
    if (fragileBlocks) {
      return {
        present: presentOut, score, falsePositiveProbability: fppOut, payloadHex, bitErrors, blocks: fragileBlocks, inverted,
        geometry: { chip: best.chip, offsetY: best.oy, offsetX: best.ox, tileShiftY: best.dy, tileShiftX: best.dx, synced, flip: FLIPS[flipMode]!, rotationDeg: 0, signal: SIGNAL_NAMES[best.signal]! },
        contentTag, threshold, mapSource: 'fragile', fragile, payloadSource,
        search: { foundBy: foundBy ?? (presentOut ? 'aligned' : null), stages, budgetExhausted: !presentOut && performance.now() >= deadline },
      };
    }

    // Tamper map on blocks of BLOCK_CHIPS x BLOCK_CHIPS chips. Two chip-level
    // signals are available: the whitened chip-mean residual (survives
    // compression) and the pixel steps at chip borders (lossless path, far less
    // host interference). The one with the larger global correlation is used.
    const br = Math.ceil(geo.gr / BLOCK_CHIPS), bc = Math.ceil(geo.gc / BLOCK_CHIPS);
    const blocks: BlockMap = { size: BLOCK_CHIPS * best.chip, rows: br, cols: bc, tampered: [], z: [], judged: 0 };
    let mapSource: DetectResult['mapSource'] = 'none';
    if (present && expSign && br > 0 && bc > 0) {
      const n = geo.gr * geo.gc;
      const e = new Float32Array(TILE2);
      for (let j = 0; j < TILE2; j++) e[j] = inverted ? -expSign[j]! : expSign[j]!;
      const ep = put(core, e);
      const elig = core.alloc(n);
      w.wmEligible(img, cols, best.chip, best.oy, best.ox, geo.gr, geo.gc, maxval(image.bitsStored), elig);
      addEdges(best.chip, best.oy, best.ox, geo.gr, geo.gc); // the last prepare() was at this geometry
      const edges = edgeMap;
      const offR = (TILE - best.dy) % TILE, offC = (TILE - best.dx) % TILE;
      const globalZ = (src: number): number => {
        const zb = core.alloc(4), nb = core.alloc(4);
        w.wmBlockScores(src, geo.gr, geo.gc, ep, TILE, offR, offC, Math.max(geo.gr, geo.gc), 1, 1, elig, zb, nb);
        return f32(core, zb, 1)[0]!;
      };
      const zEdges = globalZ(edges), zMeans = globalZ(res);
      // Combine the two block statistics with weights proportional to their
      // global strength (matched weighting); both are ~N(0,1) where the mark is absent.
      const a = Math.max(0, zEdges), b = Math.max(0, zMeans);
      const norm = Math.hypot(a, b) || 1;
      mapSource = a > 0 && b > 0 ? 'both' : a > 0 ? 'edges' : 'means';
      const zbE = core.alloc(4 * br * bc), zbM = core.alloc(4 * br * bc), nb = core.alloc(4 * br * bc);
      w.wmBlockScores(edges, geo.gr, geo.gc, ep, TILE, offR, offC, BLOCK_CHIPS, br, bc, elig, zbE, nb);
      w.wmBlockScores(res, geo.gr, geo.gc, ep, TILE, offR, offC, BLOCK_CHIPS, br, bc, elig, zbM, nb);
      const zE = f32(core, zbE, br * bc), zM = f32(core, zbM, br * bc), ns = f32(core, nb, br * bc);
      const zs = new Float32Array(br * bc);
      for (let i = 0; i < br * bc; i++) zs[i] = (a * zE[i]! + b * zM[i]!) / norm;
      const tau = opts.blockThreshold ?? 2.0;
      const flag = new Uint8Array(br * bc);
      // Power: an intact block's z is the frame's z scaled by the root of its share of the chips, and a
      // block is judged only where that is at least tau + BLOCK_POWER_MARGIN. On a frame too small or
      // too weak for that (payload unread, pilots only) no intact block could be told from an edited one,
      // and judging anyway reported nearly every block of a genuine frame as tampered.
      let total = 0;
      for (let i = 0; i < br * bc; i++) total += ns[i]!;
      const zFrame = Math.hypot(a, b);
      let judged = 0;
      for (let i = 0; i < br * bc; i++) {
        blocks.z.push(Math.round(zs[i]! * 100) / 100);
        // Judged only with at least a quarter of the block's chips eligible, and with the power to tell.
        if (ns[i]! < (BLOCK_CHIPS * BLOCK_CHIPS) / 4 || zFrame * Math.sqrt(ns[i]! / total) < tau + BLOCK_POWER_MARGIN) continue;
        judged++;
        if (zs[i]! < tau) flag[i] = 1;
      }
      blocks.judged = judged;
      // An edit that can be localised at all covers at least two adjacent
      // blocks; a lone low block is far more often a quiet intact block.
      const minN = opts.isolatedBlocks ? 0 : 1;
      for (let by = 0; by < br; by++) {
        for (let bx = 0; bx < bc; bx++) {
          if (!flag[by * bc + bx]) continue;
          let nb = 0;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
            const y = by + dy, x = bx + dx;
            if ((dy || dx) && y >= 0 && x >= 0 && y < br && x < bc && flag[y * bc + x]) nb++;
          }
          if (nb >= minN) blocks.tampered.push([by, bx]);
        }
      }
    }
    return {
      present, score, falsePositiveProbability: fpp, payloadHex, bitErrors, blocks, inverted,
      geometry: { chip: best.chip, offsetY: best.oy, offsetX: best.ox, tileShiftY: best.dy, tileShiftX: best.dx, synced, flip: FLIPS[flipMode]!, rotationDeg: 0, signal: SIGNAL_NAMES[best.signal]! },
      contentTag, threshold, mapSource, fragile, payloadSource,
      search: { foundBy, stages, budgetExhausted: !present && performance.now() >= deadline },
    };
  } finally {
    core.release(m0);
  }
}
