// Fragile authentication layer (Wong/Fridrich style), applied after the
// robust spread-spectrum mark. Per 64 x 64 block at (by, bx) of the frame:
//
//   h   = NH_K(block pixels, carrier pixels replaced by their class cls(v))   64-bit, UMAC NH, w = 32
//   tag = first word of ChaCha20(K_img, counter = by * bc + bx, nonce = h || "FAG1")   32 bits
//
// and the C = min(32, block area) tag bits are written into the parities of C
// keyed carrier pixels of the block (one per stratum of the block's pixels in
// row-major order). K_img is derived from the site key, the frame geometry and
// the image id (payload || content tag), so a block moved to another position
// or brought in from another image does not verify.
//
// Carrier classes (the MAC input of a carrier): {0,1,2}, {3,4}, {5,6}, ...,
// {M-4, M-3}, {M-2, M-1, M} with M = 2^bits - 1; the carried bit is v & 1.
// Writing a bit moves a pixel by at most 1 inside its class:
//   odd v -> v + 1, even v -> v - 1, except 0 -> 1 and M -> M - 1,
// so no pixel is ever made 0 or M (0 may become 1, M may become M - 1), no
// value wraps, and the class (hence the MAC input) is invariant.

import { chacha20Block, chacha20Stream } from './chacha20';
import { wmDeriveKey } from './pn';
import { BAYER } from './embed';

const LABEL_FRAG: u32 = 0x47415246; // "FRAG"
const LABEL_FNHK: u32 = 0x4b484e46; // "FNHK"
const LABEL_FPOS: u32 = 0x534f5046; // "FPOS"
const TAG_NONCE: u32 = 0x31474146; // "FAG1"

export const FRAG_BLOCK: i32 = 64;
export const FRAG_BITS: i32 = 32;
/** Context layout: NH key (4096 u32), 32 u16 carrier offsets, K_img (32 bytes). */
const CTX_NH: usize = 0;
const CTX_OFFS: usize = 16384;
const CTX_KIMG: usize = 16448;
export const FRAG_CTX_BYTES: i32 = 16480;
/** Scratch: 4096-byte carrier bitmap (kept zero between blocks), 64-byte block, 12-byte nonce, carrier list. */
export const FRAG_SCRATCH_BYTES: i32 = 4096 + 64 + 16 + 32 * 4 + 128;

/**
 * Fills the fragile-layer context at `ctx` (FRAG_CTX_BYTES): the NH key and
 * carrier offsets (from the site key only) and K_img from the site key, the
 * 12-byte image id at `id` (payload || content tag), rows, cols and bits.
 * `scratch` needs 192 bytes.
 */
export function wmFragileSetup(key: usize, id: usize, rows: i32, cols: i32, bits: i32, ctx: usize, scratch: usize): void {
  const sub = scratch, blk = scratch + 32, tmp = scratch + 96; // tmp: 76 bytes for wmDeriveKey
  const nonce = scratch + 176;
  memory.fill(nonce, 0, 12);
  wmDeriveKey(key, LABEL_FNHK, sub, tmp);
  chacha20Stream(sub, nonce, 0, ctx + CTX_NH, 16384, blk);
  wmDeriveKey(key, LABEL_FPOS, sub, tmp);
  chacha20Stream(sub, nonce, 0, ctx + CTX_OFFS, 64, blk);
  // K1 = ChaCha20(K_FRAG, rows << 16 | cols, id); K_img = ChaCha20(K1, bits, "RSWMFRAGIMG1")
  wmDeriveKey(key, LABEL_FRAG, sub, tmp);
  chacha20Block(sub, (<u32>rows << 16) | (<u32>cols & 0xffff), id, blk);
  memory.copy(sub, blk, 32);
  store<u32>(nonce, 0x4d575352, 0); // "RSWM"
  store<u32>(nonce, 0x47415246, 4); // "FRAG"
  store<u32>(nonce, 0x31474d49, 8); // "IMG1"
  chacha20Block(sub, <u32>bits, nonce, blk);
  memory.copy(ctx + CTX_KIMG, blk, 32);
}

// @ts-ignore: decorator
@inline function cls(v: i32, half: i32): i32 {
  let c = (v + 1) >> 1;
  if (c < 1) c = 1;
  if (c > half) c = half;
  return c;
}

/** NH over one block: pairs (x, x + 4) in every aligned 8-pixel chunk of every row, key word y * 64 + x. */
function nhBlock(img: usize, stride: usize, y0: i32, x0: i32, h: i32, w: i32, key: usize): u64 {
  let s: u64 = 0;
  if (w == 64) {
    let acc = i64x2.splat(0);
    for (let y = 0; y < h; y++) {
      const p = img + <usize>(y0 + y) * stride + (<usize>x0 << 1);
      const k = key + (<usize>y << 8);
      for (let c: usize = 0; c < 8; c++) {
        const v = v128.load(p + (c << 4));
        const lo = i32x4.add(i32x4.extend_low_i16x8_u(v), v128.load(k + (c << 5)));
        const hi = i32x4.add(i32x4.extend_high_i16x8_u(v), v128.load(k + (c << 5) + 16));
        acc = i64x2.add(acc, i64x2.extmul_low_i32x4_u(lo, hi));
        acc = i64x2.add(acc, i64x2.extmul_high_i32x4_u(lo, hi));
      }
    }
    return <u64>i64x2.extract_lane(acc, 0) + <u64>i64x2.extract_lane(acc, 1);
  }
  for (let y = 0; y < h; y++) {
    const p = img + <usize>(y0 + y) * stride + (<usize>x0 << 1);
    const k = key + (<usize>y << 8);
    for (let c0 = 0; c0 < w; c0 += 8) {
      for (let i = 0; i < 4; i++) {
        const xa = c0 + i, xb = xa + 4;
        const a: u32 = xa < w ? <u32>load<u16>(p + (<usize>xa << 1)) : 0;
        const b: u32 = xb < w ? <u32>load<u16>(p + (<usize>xb << 1)) : 0;
        s += <u64>(a + load<u32>(k + (<usize>xa << 2))) * <u64>(b + load<u32>(k + (<usize>xb << 2)));
      }
    }
  }
  return s;
}

/**
 * Embeds (mode 0) or verifies (mode 1) the fragile layer over the whole frame
 * (u16, rows x cols, blocks of 64 from (0,0); the last row/column of blocks may
 * be partial). ctx: from wmFragileSetup for this frame's id.
 *
 * mode 0: amp/tileSign/gr/gc/t describe the robust layer just embedded (amp = 0
 * for none) so the exact change is known: returns the added sum of squared
 * change over the frame (sum of (c + d)^2 - c^2 over changed carriers, c the
 * robust change, d = +-1) and writes the largest |c + d| (i32) at out and
 * the number of changed carriers (i32) at out + 4.
 * mode 1: writes 1 (tag verifies) or 0 per block (u8, row-major) at out and
 * returns the number of verified blocks.
 * `scratch`: FRAG_SCRATCH_BYTES, zero-filled by the host before the first call.
 */
export function wmFragile(img: usize, rows: i32, cols: i32, bits: i32, ctx: usize, mode: i32,
  amp: usize, tileSign: usize, gr: i32, gc: i32, t: i32, out: usize, scratch: usize): f64 {
  const stride = <usize>cols << 1;
  const maxv: i32 = (1 << bits) - 1;
  const half: i32 = maxv >> 1;
  const br = (rows + 63) >> 6, bc = (cols + 63) >> 6;
  const bitmap = scratch, blk = scratch + 4096, nonce = scratch + 4160, list = scratch + 4176;
  const key = ctx + CTX_NH, offs = ctx + CTX_OFFS, kimg = ctx + CTX_KIMG;
  store<u32>(nonce, TAG_NONCE, 8);
  let dsse: f64 = 0;
  let maxc: i32 = 0;
  let verified: i32 = 0;
  let changed: i32 = 0;
  for (let by = 0; by < br; by++) {
    const y0 = by << 6;
    const h = rows - y0 < 64 ? rows - y0 : 64;
    for (let bx = 0; bx < bc; bx++) {
      const x0 = bx << 6;
      const w = cols - x0 < 64 ? cols - x0 : 64;
      const area = h * w;
      const nc = area < FRAG_BITS ? area : FRAG_BITS;
      if (area == 4096) {
        // full block: strata of 128 pixels = two rows each
        for (let j = 0; j < nc; j++) {
          const q = (j << 7) + (<i32>load<u16>(offs + (<usize>j << 1)) & 127);
          store<u8>(bitmap + <usize>q, 1);
          store<i32>(list + (<usize>j << 2), q);
        }
      } else {
        const strat = area / nc;
        for (let j = 0; j < nc; j++) {
          const l = j * strat + <i32>load<u16>(offs + (<usize>j << 1)) % strat;
          const cy = l / w, cx = l - cy * w;
          const q = cy * 64 + cx;
          store<u8>(bitmap + <usize>q, 1);
          store<i32>(list + (<usize>j << 2), q);
        }
      }
      let hsh = nhBlock(img, stride, y0, x0, h, w, key);
      // Replace carriers by their class in the NH sum (pair terms recomputed).
      for (let j = 0; j < nc; j++) {
        const q = load<i32>(list + (<usize>j << 2));
        const cy = q >> 6, cx = q & 63, px = cx ^ 4;
        if (px < w && px < cx && load<u8>(bitmap + <usize>(cy * 64 + px))) continue; // done with the partner
        const ia = cx < px ? cx : px, ib = ia + 4;
        const row = img + <usize>(y0 + cy) * stride + (<usize>x0 << 1);
        const ra: i32 = ia < w ? <i32>load<u16>(row + (<usize>ia << 1)) : 0;
        const rb: i32 = ib < w ? <i32>load<u16>(row + (<usize>ib << 1)) : 0;
        const na: i32 = ia < w && load<u8>(bitmap + <usize>(cy * 64 + ia)) ? cls(ra, half) : ra;
        const nb: i32 = ib < w && load<u8>(bitmap + <usize>(cy * 64 + ib)) ? cls(rb, half) : rb;
        const ka = load<u32>(key + (<usize>(cy * 64 + ia) << 2)), kb = load<u32>(key + (<usize>(cy * 64 + ib) << 2));
        hsh += <u64>(<u32>na + ka) * <u64>(<u32>nb + kb) - <u64>(<u32>ra + ka) * <u64>(<u32>rb + kb);
      }
      store<u32>(nonce, <u32>hsh, 0);
      store<u32>(nonce, <u32>(hsh >> 32), 4);
      chacha20Block(kimg, <u32>(by * bc + bx), nonce, blk);
      const tag = load<u32>(blk);
      let ok = true;
      for (let j = 0; j < nc; j++) {
        const q = load<i32>(list + (<usize>j << 2));
        const cy = q >> 6, cx = q & 63;
        store<u8>(bitmap + <usize>q, 0);
        const p = img + <usize>(y0 + cy) * stride + (<usize>(x0 + cx) << 1);
        const v = <i32>load<u16>(p);
        const b = <i32>((tag >> <u32>j) & 1);
        if ((v & 1) == b) continue;
        if (mode == 1) { ok = false; continue; }
        const d: i32 = v == 0 ? 1 : v == maxv ? -1 : (v & 1) ? 1 : -1;
        store<u16>(p, <u16>(v + d));
        changed++;
        // robust change at this pixel: floor((s * a + bayer) / 64)
        const y = y0 + cy, x = x0 + cx;
        let c: i32 = 0;
        if (amp != 0 && (y >> 3) < gr && (x >> 3) < gc) {
          const a = load<i32>(amp + (<usize>((y >> 3) * gc + (x >> 3)) << 2));
          if (a != 0) {
            const s = <i32>load<i8>(tileSign + <usize>(((y >> 3) & (t - 1)) * t + ((x >> 3) & (t - 1)))); // t: power of two
            c = (s * a + <i32>load<u16>(BAYER + (<usize>(((y & 7) << 3) + (x & 7)) << 1))) >> 6;
          }
        }
        dsse += <f64>(2 * c * d + 1);
        const m = c + d < 0 ? -(c + d) : c + d;
        if (m > maxc) maxc = m;
      }
      if (mode == 1) {
        store<u8>(out + <usize>(by * bc + bx), ok ? 1 : 0);
        if (ok) verified++;
      }
    }
  }
  if (mode == 1) return <f64>verified;
  store<i32>(out, maxc);
  store<i32>(out + 4, changed);
  return dsse;
}

