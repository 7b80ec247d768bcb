// SHA-512 (FIPS 180-4), streaming, over memory the caller owns.
//
// Same shape as sha256.ts with 64-bit words and 128-byte blocks. Context:
//   [0, 64)    H0..H7, the chaining state (native little-endian u64s)
//   [64, 192)  partial block buffer
//   [192, 200) total message length in bytes (u64; the 128-bit bit length is
//              derived from it in final, so messages up to 2^64 - 1 bytes)
//   [200, 204) bytes currently in the buffer (u32)

const H: usize = 0;
const BUF: usize = 64;
const TOTAL: usize = 192;
const FILL: usize = 200;
const SIZE: u32 = 208; // 204 rounded up to 16

const BLOCK: usize = 128;

// Round constants K (FIPS 180-4 §4.2.3) in a static data segment, added to the schedule as
// vectors (constants as immediates in the rounds measured ~10% slower).
const K: usize = memory.data<u64>([
  0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
  0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
  0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
  0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694,
  0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
  0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
  0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4,
  0xc6e00bf33da88fc2, 0xd5a79147930aa725, 0x06ca6351e003826f, 0x142929670a0e6e70,
  0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
  0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
  0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30,
  0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
  0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8,
  0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3,
  0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
  0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b,
  0xca273eceea26619c, 0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178,
  0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
  0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c,
  0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
]);

// Σ0, Σ1 and Ch of FIPS 180-4 §4.1.3 on one word, inlined: a handful of i64 ops on locals. Σ0 and
// Σ1 in their nested form (rotations compose): x86 rotates in place, so three rotations of one
// value need two copies, the nested form none.
// @ts-ignore: decorator
@inline function Sig0(x: u64): u64 { return rotr(x ^ rotr(x ^ rotr(x, 5), 6), 28); } // rotr 28, 34, 39
// @ts-ignore: decorator
@inline function Sig1(x: u64): u64 { return rotr(x ^ rotr(x ^ rotr(x, 23), 4), 14); } // rotr 14, 18, 41
// @ts-ignore: decorator
@inline function Chi(e: u64, f: u64, g: u64): u64 { return g ^ (e & (f ^ g)); }

// The message schedule runs on two words per v128 (i64x2): W[t] and W[t+1] depend on W[t-2] and
// W[t-1], exactly the previous vector, so it vectorises without a dependency inside a vector.
// That moves it off the scalar ALUs, which the rounds keep busy, onto the vector units, and the
// next block's schedule is computed between this block's rounds (software pipelining), so the
// two overlap instead of taking turns (docs/BENCHMARKS.md). WK holds W[i] + K[i] for two blocks,
// the one being compressed and the next; static scratch: the core runs one call at a time per
// instance, and every compress call writes a block's words before its rounds read them.
const WK: usize = memory.data(1280, 16);

// 64-bit lane shifts and rotations from i32x4 shifts and shuffles (4 ops each where i64x2 would
// take 3): the SIMD-lowering pass of the native build (native/lower-simd.mjs) has no i64x2
// shifts. Lanes are [lo0, hi0, lo1, hi1]; swap(x) = [hi0, lo0, hi1, lo1].
// @ts-ignore: decorator
@inline function swap(x: v128): v128 { return v128.shuffle<u32>(x, x, 1, 0, 3, 2); }
/** Rotate each 64-bit lane right by n, 0 < n < 32. */
// @ts-ignore: decorator
@inline function rotr2(x: v128, n: i32): v128 { return v128.or(i32x4.shr_u(x, n), i32x4.shl(swap(x), 32 - n)); }
/** Rotate each 64-bit lane right by n, 32 < n < 64 (by n - 32 after swapping the halves). */
// @ts-ignore: decorator
@inline function rotr2hi(x: v128, n: i32): v128 { return v128.or(i32x4.shr_u(swap(x), n - 32), i32x4.shl(x, 64 - n)); }
/** Shift each 64-bit lane right by n, 0 < n < 32: the high half's low bits move into the low half. */
// @ts-ignore: decorator
@inline function shr2(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(v128.shuffle<u32>(x, i32x4.splat(0), 1, 4, 3, 4), 32 - n));
}
// σ0 and σ1 of FIPS 180-4 §4.1.3 on two words; a rotation by 8 bits is a byte shuffle (one op).
// @ts-ignore: decorator
@inline function sig0(x: v128): v128 {
  return v128.xor(v128.xor(rotr2(x, 1), i8x16.shuffle(x, x, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8)), shr2(x, 7));
}
// @ts-ignore: decorator
@inline function sig1(x: v128): v128 { return v128.xor(v128.xor(rotr2(x, 19), rotr2hi(x, 61)), shr2(x, 6)); }
/** The upper word of lo and the lower word of hi: words 2i+1, 2i+2 from the vectors of words 2i.. and 2i+2... */
// @ts-ignore: decorator
@inline function mid(lo: v128, hi: v128): v128 { return i8x16.shuffle(lo, hi, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23); }
/** Two big-endian words at p + o (SHA-512 words are big-endian; wasm loads are little-endian). */
// @ts-ignore: decorator
@inline function be2(p: usize, o: usize): v128 {
  const v = v128.load(p + o);
  return i8x16.shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
}

/**
 * W[0..79] + K of the 128-byte block at p into dst. v0..v7 hold W[t-16..t-1] two words each and
 * are replaced in turn: W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], two t at a time.
 * compress() runs the same steps for the next block, one after every second round.
 */
function schedule(p: usize, dst: usize): void {
  let v0 = be2(p, 0), v1 = be2(p, 16), v2 = be2(p, 32), v3 = be2(p, 48);
  let v4 = be2(p, 64), v5 = be2(p, 80), v6 = be2(p, 96), v7 = be2(p, 112);
  v128.store(dst, i64x2.add(v0, v128.load(K, 0)), 0);
  v128.store(dst, i64x2.add(v1, v128.load(K, 16)), 16);
  v128.store(dst, i64x2.add(v2, v128.load(K, 32)), 32);
  v128.store(dst, i64x2.add(v3, v128.load(K, 48)), 48);
  v128.store(dst, i64x2.add(v4, v128.load(K, 64)), 64);
  v128.store(dst, i64x2.add(v5, v128.load(K, 80)), 80);
  v128.store(dst, i64x2.add(v6, v128.load(K, 96)), 96);
  v128.store(dst, i64x2.add(v7, v128.load(K, 112)), 112);
  for (let o: usize = 128; o < 640; o += 128) {
    v0 = i64x2.add(i64x2.add(v0, sig1(v7)), i64x2.add(mid(v4, v5), sig0(mid(v0, v1))));
    v128.store(dst + o, i64x2.add(v0, v128.load(K + o, 0)), 0);
    v1 = i64x2.add(i64x2.add(v1, sig1(v0)), i64x2.add(mid(v5, v6), sig0(mid(v1, v2))));
    v128.store(dst + o, i64x2.add(v1, v128.load(K + o, 16)), 16);
    v2 = i64x2.add(i64x2.add(v2, sig1(v1)), i64x2.add(mid(v6, v7), sig0(mid(v2, v3))));
    v128.store(dst + o, i64x2.add(v2, v128.load(K + o, 32)), 32);
    v3 = i64x2.add(i64x2.add(v3, sig1(v2)), i64x2.add(mid(v7, v0), sig0(mid(v3, v4))));
    v128.store(dst + o, i64x2.add(v3, v128.load(K + o, 48)), 48);
    v4 = i64x2.add(i64x2.add(v4, sig1(v3)), i64x2.add(mid(v0, v1), sig0(mid(v4, v5))));
    v128.store(dst + o, i64x2.add(v4, v128.load(K + o, 64)), 64);
    v5 = i64x2.add(i64x2.add(v5, sig1(v4)), i64x2.add(mid(v1, v2), sig0(mid(v5, v6))));
    v128.store(dst + o, i64x2.add(v5, v128.load(K + o, 80)), 80);
    v6 = i64x2.add(i64x2.add(v6, sig1(v5)), i64x2.add(mid(v2, v3), sig0(mid(v6, v7))));
    v128.store(dst + o, i64x2.add(v6, v128.load(K + o, 96)), 96);
    v7 = i64x2.add(i64x2.add(v7, sig1(v6)), i64x2.add(mid(v3, v4), sig0(mid(v7, v0))));
    v128.store(dst + o, i64x2.add(v7, v128.load(K + o, 112)), 112);
  }
}

/**
 * Compresses `blocks` consecutive 128-byte blocks at `p` into the state at `ctx`. The 80 rounds
 * are written out (the names a..h rotate every round, so a loop would need eight moves per
 * round; as a 16-round loop body it measured ~2% slower), reading W + K from `cur`, with the
 * schedule of the next block (of this one again for the last block: a discarded schedule,
 * cheaper than a second copy of the rounds) going into `nxt` between them. Each round adds
 * h + W[i] + K[i] + Ch before Σ1, so Σ1(e) is the last term in; Maj(a, b, c) is
 * b ^ ((a ^ b) & (b ^ c)), and the next round's b ^ c is this round's a ^ b, carried in y.
 */
function compress(ctx: usize, p: usize, blocks: usize): void {
  let a = load<u64>(ctx, H + 0), b = load<u64>(ctx, H + 8), c = load<u64>(ctx, H + 16), d = load<u64>(ctx, H + 24);
  let e = load<u64>(ctx, H + 32), f = load<u64>(ctx, H + 40), g = load<u64>(ctx, H + 48), h = load<u64>(ctx, H + 56);
  const end = p + (blocks << 7);
  let cur = WK, nxt = WK + 640;
  schedule(p, cur);
  while (p < end) {
    const q = p + 128 < end ? p + 128 : p; // the block whose schedule goes into nxt
    let v0 = be2(q, 0), v1 = be2(q, 16), v2 = be2(q, 32), v3 = be2(q, 48);
    let v4 = be2(q, 64), v5 = be2(q, 80), v6 = be2(q, 96), v7 = be2(q, 112);
    const a0 = a, b0 = b, c0 = c, d0 = d, e0 = e, f0 = f, g0 = g, h0 = h;
    let t: u64, s: u64, x: u64, y: u64 = b ^ c;
    t = h + load<u64>(cur, 0) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u64>(cur, 8) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    v128.store(nxt, i64x2.add(v0, v128.load(K, 0)), 0);
    t = f + load<u64>(cur, 16) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u64>(cur, 24) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v128.store(nxt, i64x2.add(v1, v128.load(K, 16)), 16);
    t = d + load<u64>(cur, 32) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u64>(cur, 40) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    v128.store(nxt, i64x2.add(v2, v128.load(K, 32)), 32);
    t = b + load<u64>(cur, 48) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u64>(cur, 56) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v128.store(nxt, i64x2.add(v3, v128.load(K, 48)), 48);
    t = h + load<u64>(cur, 64) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u64>(cur, 72) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    v128.store(nxt, i64x2.add(v4, v128.load(K, 64)), 64);
    t = f + load<u64>(cur, 80) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u64>(cur, 88) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v128.store(nxt, i64x2.add(v5, v128.load(K, 80)), 80);
    t = d + load<u64>(cur, 96) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u64>(cur, 104) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    v128.store(nxt, i64x2.add(v6, v128.load(K, 96)), 96);
    t = b + load<u64>(cur, 112) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u64>(cur, 120) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v128.store(nxt, i64x2.add(v7, v128.load(K, 112)), 112);
    t = h + load<u64>(cur, 128) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u64>(cur, 136) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    v0 = i64x2.add(i64x2.add(v0, sig1(v7)), i64x2.add(mid(v4, v5), sig0(mid(v0, v1))));
    v128.store(nxt, i64x2.add(v0, v128.load(K, 128)), 128);
    t = f + load<u64>(cur, 144) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u64>(cur, 152) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v1 = i64x2.add(i64x2.add(v1, sig1(v0)), i64x2.add(mid(v5, v6), sig0(mid(v1, v2))));
    v128.store(nxt, i64x2.add(v1, v128.load(K, 144)), 144);
    t = d + load<u64>(cur, 160) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u64>(cur, 168) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    v2 = i64x2.add(i64x2.add(v2, sig1(v1)), i64x2.add(mid(v6, v7), sig0(mid(v2, v3))));
    v128.store(nxt, i64x2.add(v2, v128.load(K, 160)), 160);
    t = b + load<u64>(cur, 176) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u64>(cur, 184) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v3 = i64x2.add(i64x2.add(v3, sig1(v2)), i64x2.add(mid(v7, v0), sig0(mid(v3, v4))));
    v128.store(nxt, i64x2.add(v3, v128.load(K, 176)), 176);
    t = h + load<u64>(cur, 192) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u64>(cur, 200) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    v4 = i64x2.add(i64x2.add(v4, sig1(v3)), i64x2.add(mid(v0, v1), sig0(mid(v4, v5))));
    v128.store(nxt, i64x2.add(v4, v128.load(K, 192)), 192);
    t = f + load<u64>(cur, 208) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u64>(cur, 216) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v5 = i64x2.add(i64x2.add(v5, sig1(v4)), i64x2.add(mid(v1, v2), sig0(mid(v5, v6))));
    v128.store(nxt, i64x2.add(v5, v128.load(K, 208)), 208);
    t = d + load<u64>(cur, 224) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u64>(cur, 232) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    v6 = i64x2.add(i64x2.add(v6, sig1(v5)), i64x2.add(mid(v2, v3), sig0(mid(v6, v7))));
    v128.store(nxt, i64x2.add(v6, v128.load(K, 224)), 224);
    t = b + load<u64>(cur, 240) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u64>(cur, 248) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v7 = i64x2.add(i64x2.add(v7, sig1(v6)), i64x2.add(mid(v3, v4), sig0(mid(v7, v0))));
    v128.store(nxt, i64x2.add(v7, v128.load(K, 240)), 240);
    t = h + load<u64>(cur, 256) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u64>(cur, 264) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    v0 = i64x2.add(i64x2.add(v0, sig1(v7)), i64x2.add(mid(v4, v5), sig0(mid(v0, v1))));
    v128.store(nxt, i64x2.add(v0, v128.load(K, 256)), 256);
    t = f + load<u64>(cur, 272) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u64>(cur, 280) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v1 = i64x2.add(i64x2.add(v1, sig1(v0)), i64x2.add(mid(v5, v6), sig0(mid(v1, v2))));
    v128.store(nxt, i64x2.add(v1, v128.load(K, 272)), 272);
    t = d + load<u64>(cur, 288) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u64>(cur, 296) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    v2 = i64x2.add(i64x2.add(v2, sig1(v1)), i64x2.add(mid(v6, v7), sig0(mid(v2, v3))));
    v128.store(nxt, i64x2.add(v2, v128.load(K, 288)), 288);
    t = b + load<u64>(cur, 304) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u64>(cur, 312) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v3 = i64x2.add(i64x2.add(v3, sig1(v2)), i64x2.add(mid(v7, v0), sig0(mid(v3, v4))));
    v128.store(nxt, i64x2.add(v3, v128.load(K, 304)), 304);
    t = h + load<u64>(cur, 320) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u64>(cur, 328) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    v4 = i64x2.add(i64x2.add(v4, sig1(v3)), i64x2.add(mid(v0, v1), sig0(mid(v4, v5))));
    v128.store(nxt, i64x2.add(v4, v128.load(K, 320)), 320);
    t = f + load<u64>(cur, 336) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u64>(cur, 344) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v5 = i64x2.add(i64x2.add(v5, sig1(v4)), i64x2.add(mid(v1, v2), sig0(mid(v5, v6))));
    v128.store(nxt, i64x2.add(v5, v128.load(K, 336)), 336);
    t = d + load<u64>(cur, 352) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u64>(cur, 360) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    v6 = i64x2.add(i64x2.add(v6, sig1(v5)), i64x2.add(mid(v2, v3), sig0(mid(v6, v7))));
    v128.store(nxt, i64x2.add(v6, v128.load(K, 352)), 352);
    t = b + load<u64>(cur, 368) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u64>(cur, 376) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v7 = i64x2.add(i64x2.add(v7, sig1(v6)), i64x2.add(mid(v3, v4), sig0(mid(v7, v0))));
    v128.store(nxt, i64x2.add(v7, v128.load(K, 368)), 368);
    t = h + load<u64>(cur, 384) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u64>(cur, 392) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    v0 = i64x2.add(i64x2.add(v0, sig1(v7)), i64x2.add(mid(v4, v5), sig0(mid(v0, v1))));
    v128.store(nxt, i64x2.add(v0, v128.load(K, 384)), 384);
    t = f + load<u64>(cur, 400) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u64>(cur, 408) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v1 = i64x2.add(i64x2.add(v1, sig1(v0)), i64x2.add(mid(v5, v6), sig0(mid(v1, v2))));
    v128.store(nxt, i64x2.add(v1, v128.load(K, 400)), 400);
    t = d + load<u64>(cur, 416) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u64>(cur, 424) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    v2 = i64x2.add(i64x2.add(v2, sig1(v1)), i64x2.add(mid(v6, v7), sig0(mid(v2, v3))));
    v128.store(nxt, i64x2.add(v2, v128.load(K, 416)), 416);
    t = b + load<u64>(cur, 432) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u64>(cur, 440) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v3 = i64x2.add(i64x2.add(v3, sig1(v2)), i64x2.add(mid(v7, v0), sig0(mid(v3, v4))));
    v128.store(nxt, i64x2.add(v3, v128.load(K, 432)), 432);
    t = h + load<u64>(cur, 448) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u64>(cur, 456) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    v4 = i64x2.add(i64x2.add(v4, sig1(v3)), i64x2.add(mid(v0, v1), sig0(mid(v4, v5))));
    v128.store(nxt, i64x2.add(v4, v128.load(K, 448)), 448);
    t = f + load<u64>(cur, 464) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u64>(cur, 472) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v5 = i64x2.add(i64x2.add(v5, sig1(v4)), i64x2.add(mid(v1, v2), sig0(mid(v5, v6))));
    v128.store(nxt, i64x2.add(v5, v128.load(K, 464)), 464);
    t = d + load<u64>(cur, 480) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u64>(cur, 488) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    v6 = i64x2.add(i64x2.add(v6, sig1(v5)), i64x2.add(mid(v2, v3), sig0(mid(v6, v7))));
    v128.store(nxt, i64x2.add(v6, v128.load(K, 480)), 480);
    t = b + load<u64>(cur, 496) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u64>(cur, 504) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v7 = i64x2.add(i64x2.add(v7, sig1(v6)), i64x2.add(mid(v3, v4), sig0(mid(v7, v0))));
    v128.store(nxt, i64x2.add(v7, v128.load(K, 496)), 496);
    t = h + load<u64>(cur, 512) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u64>(cur, 520) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    v0 = i64x2.add(i64x2.add(v0, sig1(v7)), i64x2.add(mid(v4, v5), sig0(mid(v0, v1))));
    v128.store(nxt, i64x2.add(v0, v128.load(K, 512)), 512);
    t = f + load<u64>(cur, 528) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u64>(cur, 536) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v1 = i64x2.add(i64x2.add(v1, sig1(v0)), i64x2.add(mid(v5, v6), sig0(mid(v1, v2))));
    v128.store(nxt, i64x2.add(v1, v128.load(K, 528)), 528);
    t = d + load<u64>(cur, 544) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u64>(cur, 552) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    v2 = i64x2.add(i64x2.add(v2, sig1(v1)), i64x2.add(mid(v6, v7), sig0(mid(v2, v3))));
    v128.store(nxt, i64x2.add(v2, v128.load(K, 544)), 544);
    t = b + load<u64>(cur, 560) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u64>(cur, 568) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v3 = i64x2.add(i64x2.add(v3, sig1(v2)), i64x2.add(mid(v7, v0), sig0(mid(v3, v4))));
    v128.store(nxt, i64x2.add(v3, v128.load(K, 560)), 560);
    t = h + load<u64>(cur, 576) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u64>(cur, 584) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    v4 = i64x2.add(i64x2.add(v4, sig1(v3)), i64x2.add(mid(v0, v1), sig0(mid(v4, v5))));
    v128.store(nxt, i64x2.add(v4, v128.load(K, 576)), 576);
    t = f + load<u64>(cur, 592) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u64>(cur, 600) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v5 = i64x2.add(i64x2.add(v5, sig1(v4)), i64x2.add(mid(v1, v2), sig0(mid(v5, v6))));
    v128.store(nxt, i64x2.add(v5, v128.load(K, 592)), 592);
    t = d + load<u64>(cur, 608) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u64>(cur, 616) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    v6 = i64x2.add(i64x2.add(v6, sig1(v5)), i64x2.add(mid(v2, v3), sig0(mid(v6, v7))));
    v128.store(nxt, i64x2.add(v6, v128.load(K, 608)), 608);
    t = b + load<u64>(cur, 624) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u64>(cur, 632) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v7 = i64x2.add(i64x2.add(v7, sig1(v6)), i64x2.add(mid(v3, v4), sig0(mid(v7, v0))));
    v128.store(nxt, i64x2.add(v7, v128.load(K, 624)), 624);
    a += a0; b += b0; c += c0; d += d0; e += e0; f += f0; g += g0; h += h0;
    p += BLOCK;
    const w = cur; cur = nxt; nxt = w;
  }
  store<u64>(ctx, a, H + 0);   store<u64>(ctx, b, H + 8);   store<u64>(ctx, c, H + 16);   store<u64>(ctx, d, H + 24);
  store<u64>(ctx, e, H + 32);   store<u64>(ctx, f, H + 40);   store<u64>(ctx, g, H + 48);   store<u64>(ctx, h, H + 56);
}

/** Bytes the host must reserve for one SHA-512 context. */
export function sha512ContextSize(): u32 {
  return SIZE;
}

/** Starts a new hash in the context at `ctx` (FIPS 180-4 §5.3.5 initial value). */
export function sha512Init(ctx: usize): void {
  store<u64>(ctx, 0x6a09e667f3bcc908, H + 0); store<u64>(ctx, 0xbb67ae8584caa73b, H + 8);
  store<u64>(ctx, 0x3c6ef372fe94f82b, H + 16); store<u64>(ctx, 0xa54ff53a5f1d36f1, H + 24);
  store<u64>(ctx, 0x510e527fade682d1, H + 32); store<u64>(ctx, 0x9b05688c2b3e6c1f, H + 40);
  store<u64>(ctx, 0x1f83d9abfb41bd6b, H + 48); store<u64>(ctx, 0x5be0cd19137e2179, H + 56);
  store<u64>(ctx, 0, TOTAL);
  store<u32>(ctx, 0, FILL);
}

/** Absorbs `len` bytes at `ptr`. Any chunking gives the same digest. */
export function sha512Update(ctx: usize, ptr: usize, len: usize): void {
  if (len == 0) return;
  store<u64>(ctx, load<u64>(ctx, TOTAL) + <u64>len, TOTAL);
  let fill = <usize>load<u32>(ctx, FILL);
  if (fill != 0) {
    // Top up the partial block first.
    const take = min(BLOCK - fill, len);
    memory.copy(ctx + BUF + fill, ptr, take);
    fill += take; ptr += take; len -= take;
    if (fill < BLOCK) {
      store<u32>(ctx, <u32>fill, FILL);
      return;
    }
    compress(ctx, ctx + BUF, 1);
  }
  const blocks = len >> 7;
  if (blocks != 0) {
    compress(ctx, ptr, blocks);
    ptr += blocks << 7;
    len &= BLOCK - 1;
  }
  if (len != 0) memory.copy(ctx + BUF, ptr, len);
  store<u32>(ctx, <u32>len, FILL);
}

/** Pads, writes the 64-byte digest to `out` and leaves the context spent (re-init to reuse). */
export function sha512Final(ctx: usize, out: usize): void {
  let fill = <usize>load<u32>(ctx, FILL);
  const buf = ctx + BUF;
  store<u8>(buf + fill, 0x80);
  fill++;
  if (fill > BLOCK - 16) {
    // No room for the 128-bit length: pad this block out and use one more.
    memory.fill(buf + fill, 0, BLOCK - fill);
    compress(ctx, buf, 1);
    fill = 0;
  }
  memory.fill(buf + fill, 0, BLOCK - 16 - fill);
  // Length in bits as a big-endian 128-bit number: bytes * 8 spans 67 bits.
  const bytes = load<u64>(ctx, TOTAL);
  store<u64>(buf, bswap<u64>(bytes >>> 61), BLOCK - 16);
  store<u64>(buf, bswap<u64>(bytes << 3), BLOCK - 8);
  compress(ctx, buf, 1);
  for (let i: usize = 0; i < 64; i += 8) store<u64>(out + i, bswap<u64>(load<u64>(ctx + H + i)));
  store<u32>(ctx, 0, FILL);
}
