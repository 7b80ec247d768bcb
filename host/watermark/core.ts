// Typed access to the watermark primitives of the WebAssembly core. All
// buffers live in the Core arena; every call releases what it allocated.
import { Core, coreHolding } from '../core/wasm.js';
import { CODED_BITS, PILOTS, REPS, TILE2 } from './params.js';

export interface WmExports {
  chacha20Block(key: number, counter: number, nonce: number, out: number): void;
  chacha20Xor(key: number, nonce: number, counter: number, src: number, dst: number, len: number, block: number): void;
  wmLayout(key: number, t2: number, nCoded: number, reps: number, signOut: number, roleOut: number, scratch: number): void;
  wmChipStats(img: number, cols: number, gr: number, gc: number, sum: number, min: number, max: number, act: number): void;
  wmMask(act: number, mins: number, maxs: number, n: number, maxval: number, lo: number, hi: number, mOut: number): number;
  wmAmplitudes(m: number, mins: number, maxs: number, n: number, gain: number, cap: number, maxval: number, ampOut: number): number;
  wmEmbed(img: number, cols: number, gr: number, gc: number, amp: number, tileSign: number, t: number): void;
  wmChipMeans(img: number, cols: number, chip: number, oy: number, ox: number, gr: number, gc: number, out: number): void;
  wmResidual(means: number, gr: number, gc: number, clipK: number, out: number, scratch: number): number;
  wmFold(res: number, gr: number, gc: number, t: number, offR: number, offC: number, out: number): void;
  wmBlockScores(res: number, gr: number, gc: number, expSign: number, t: number, offR: number, offC: number, bs: number, br: number, bc: number, elig: number, zOut: number, nOut: number): void;
  wmEdgeStats(img: number, rows: number, cols: number, chip: number, oy: number, ox: number, gr: number, gc: number, out: number): void;
  wmLocalNormalize(x: number, gr: number, gc: number, clipK: number, scratch: number, totSq: number): void;
  wmFlip(src: number, dst: number, rows: number, cols: number, mode: number): void;
  wmLagCorr(r: number, gr: number, gc: number, dy: number, dx: number, rowStep: number): number;
  wmRotate(src: number, dst: number, rows: number, cols: number, c: number, s: number): void;
  wmEligible(img: number, cols: number, chip: number, oy: number, ox: number, gr: number, gc: number, maxval: number, out: number): void;
  wmSyncSearch(folded: number, t: number, pilotIdx: number, pilotSign: number, nP: number, zOut: number): number;
  wmSoftBits(folded: number, t: number, dy: number, dx: number, sign: number, role: number, nCoded: number, softOut: number): number;
  wmCrc16(bits: number, n: number): number;
  wmConvEncode(bits: number, n: number, out: number): void;
  wmViterbi(soft: number, n: number, out: number, scratch: number): number;
  wmFragileSetup(key: number, id: number, rows: number, cols: number, bits: number, ctx: number, scratch: number): void;
  wmFragile(img: number, rows: number, cols: number, bits: number, ctx: number, mode: number, amp: number, tileSign: number, gr: number, gc: number, t: number, out: number, scratch: number): number;
}

/** Fragile layer: context and scratch sizes (assembly/watermark/fragile.ts). */
export const FRAG_CTX_BYTES = 16480;
export const FRAG_SCRATCH_BYTES = 4096 + 64 + 16 + 32 * 4 + 128;
export const FRAG_BLOCK = 64;
export const FRAG_BITS = 32;

/** Number of fragile carrier pixels in a rows x cols frame (min(32, area) per 64 x 64 block). */
export function fragileCarriers(rows: number, cols: number): number {
  let n = 0;
  for (let y = 0; y < rows; y += FRAG_BLOCK) for (let x = 0; x < cols; x += FRAG_BLOCK) {
    n += Math.min(FRAG_BITS, Math.min(FRAG_BLOCK, rows - y) * Math.min(FRAG_BLOCK, cols - x));
  }
  return n;
}

/**
 * Sets up the fragile-layer context for one frame in the arena (key, 12-byte
 * image id = payload || content tag, geometry) and returns [ctx, scratch].
 */
export function fragileContext(core: Core, key: Uint8Array, id: Uint8Array, rows: number, cols: number, bits: number): [number, number] {
  const k = put(core, key), idp = core.alloc(12);
  core.bytes(idp, 12).set(id.subarray(0, 12));
  const ctx = core.alloc(FRAG_CTX_BYTES), scratch = core.alloc(FRAG_SCRATCH_BYTES);
  core.bytes(scratch, FRAG_SCRATCH_BYTES).fill(0);
  ex(core).wmFragileSetup(k, idp, rows, cols, bits, ctx, scratch);
  core.bytes(scratch, FRAG_SCRATCH_BYTES).fill(0);
  return [ctx, scratch];
}

/**
 * A frame to be marked in place (`out` is its own pixel array) whose pixels already live in core
 * memory (the capture service's frame slot): the core and offset to embed into where they are,
 * with no copy in or out. Undefined otherwise (the pixels are copied into the watermark's core).
 */
export function markInPlace(pixels: Uint16Array, out: Uint16Array | undefined): { core: Core; ptr: number } | undefined {
  return out === pixels ? coreHolding(pixels) : undefined;
}

let shared: Core | undefined;
/** One Core per process (instantiation is cheap, but the arena is reused). */
export function wmCore(): Core {
  if (!shared) shared = new Core();
  return shared;
}

export function ex(core: Core): WmExports {
  return core.exports as unknown as WmExports;
}

/** Copies bytes into a fresh arena block and returns its offset. */
export function put(core: Core, data: ArrayBufferView, alignment = 16): number {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const p = core.alloc(bytes.length, alignment);
  core.bytes(p, bytes.length).set(bytes);
  return p;
}

export function f32(core: Core, p: number, n: number): Float32Array {
  return new Float32Array(core.memory.buffer, p, n);
}

export interface Layout {
  sign: Int8Array; // +1/-1 per tile position
  role: Int16Array; // -1 pilot, else coded bit index
  pilotIdx: Int32Array;
  pilotSign: Float32Array;
}

const layoutCache = new Map<string, Layout>();

/** The keyed tile layout (cached per key). */
export function layoutFor(key: Uint8Array): Layout {
  const id = Buffer.from(key).toString('hex');
  const hit = layoutCache.get(id);
  if (hit) return hit;
  const core = wmCore();
  const m = core.mark();
  try {
    const k = put(core, key);
    const sp = core.alloc(TILE2);
    const rp = core.alloc(TILE2 * 2);
    const scratch = core.alloc(TILE2 * 4 + 256);
    ex(core).wmLayout(k, TILE2, CODED_BITS, REPS, sp, rp, scratch);
    const sign = new Int8Array(core.memory.buffer.slice(sp, sp + TILE2));
    const role = new Int16Array(core.memory.buffer.slice(rp, rp + TILE2 * 2));
    const pilotIdx = new Int32Array(PILOTS);
    const pilotSign = new Float32Array(PILOTS);
    let n = 0;
    for (let j = 0; j < TILE2; j++) if (role[j] === -1) { pilotIdx[n] = j; pilotSign[n] = sign[j]!; n++; }
    if (n !== PILOTS) throw new Error(`watermark layout: ${n} pilots, expected ${PILOTS}`);
    const layout = { sign, role, pilotIdx, pilotSign };
    if (layoutCache.size > 64) layoutCache.clear();
    layoutCache.set(id, layout);
    return layout;
  } finally {
    core.release(m);
  }
}

/** CRC-16/CCITT over bits (0/1 bytes). */
export function crc16(bits: Uint8Array): number {
  const core = wmCore();
  const m = core.mark();
  try {
    return ex(core).wmCrc16(put(core, bits), bits.length) >>> 0;
  } finally {
    core.release(m);
  }
}

export function convEncode(bits: Uint8Array): Uint8Array {
  const core = wmCore();
  const m = core.mark();
  try {
    const n = bits.length;
    const p = put(core, bits);
    const o = core.alloc(3 * (n + 6));
    ex(core).wmConvEncode(p, n, o);
    return core.bytes(o, 3 * (n + 6)).slice();
  } finally {
    core.release(m);
  }
}

export function viterbi(soft: Float32Array, n: number): Uint8Array {
  const core = wmCore();
  const m = core.mark();
  try {
    const p = put(core, soft);
    const o = core.alloc(n);
    const scratch = core.alloc(2 * 64 * 8 + 64 * (n + 6), 8);
    ex(core).wmViterbi(p, n, o, scratch);
    return core.bytes(o, n).slice();
  } finally {
    core.release(m);
  }
}
