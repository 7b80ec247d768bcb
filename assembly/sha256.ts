// SHA-256 (FIPS 180-4), streaming, over memory the caller owns.
//
// The context is a plain struct in linear memory, so the core never allocates:
//   [0, 32)    H0..H7, the chaining state (native little-endian u32s)
//   [32, 96)   partial block buffer
//   [96, 104)  total message length in bytes (u64)
//   [104, 108) bytes currently in the buffer (u32)
// Whole blocks are compressed straight from the caller's pointer; only a
// partial block at either end of an update is copied into the buffer.

const H: usize = 0;
const BUF: usize = 32;
const TOTAL: usize = 96;
const FILL: usize = 104;
const SIZE: u32 = 112; // 108 rounded up to 16

const BLOCK: usize = 64;

// Round constants K (FIPS 180-4 §4.2.2) in a static data segment, added to the schedule as
// vectors (constants as immediates in the rounds measured ~10% slower).
export const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// Σ0, Σ1 and Ch of FIPS 180-4 §4.1.2 on one word, inlined: plain i32 ops on locals. Σ0 and Σ1 in
// their nested form (rotations compose): x86 rotates in place, so three rotations of one value
// need two copies, the nested form none (~190 fewer moves per block in V8's code, a few per cent).
// @ts-ignore: decorator
@inline function Sig0(x: u32): u32 { return rotr(x ^ rotr(x ^ rotr(x, 9), 11), 2); } // rotr 2, 13, 22
// @ts-ignore: decorator
@inline function Sig1(x: u32): u32 { return rotr(x ^ rotr(x ^ rotr(x, 14), 5), 6); } // rotr 6, 11, 25
// @ts-ignore: decorator
@inline function Chi(e: u32, f: u32, g: u32): u32 { return g ^ (e & (f ^ g)); }

// The message schedule runs on four words per v128 (i32x4), on the vector units, while the rounds
// keep the scalar ALUs busy; the next block's schedule is computed between this block's rounds
// (software pipelining), so the two overlap instead of taking turns. Measured against the
// schedule extended in locals between the rounds: ~1.2x for the vector schedule, ~1.15x more for
// the pipelining (docs/BENCHMARKS.md). WK holds W[i] + K[i] for two blocks, the one being
// compressed and the next; static scratch: the core runs one call at a time per instance, and
// every compress call writes a block's words before its rounds read them.
const WK: usize = memory.data(512, 16);

// @ts-ignore: decorator
@inline function rotr4(x: v128, n: i32): v128 { return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n)); }
// σ0 and σ1 of FIPS 180-4 §4.1.2 on four words.
// @ts-ignore: decorator
@inline function sig0(x: v128): v128 { return v128.xor(v128.xor(rotr4(x, 7), rotr4(x, 18)), i32x4.shr_u(x, 3)); }
// @ts-ignore: decorator
@inline function sig1(x: v128): v128 { return v128.xor(v128.xor(rotr4(x, 17), rotr4(x, 19)), i32x4.shr_u(x, 10)); }
/** Four big-endian words at p + o (SHA-256 words are big-endian; wasm loads are little-endian). */
// @ts-ignore: decorator
@inline function be4(p: usize, o: usize): v128 {
  const v = v128.load(p + o);
  return i8x16.shuffle(v, v, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

/**
 * W[0..63] + K of the 64-byte block at p into dst. v0..v3 hold W[t-16..t-1] four words each and
 * are replaced in turn: W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]. Of four new words the
 * last two need σ1 of the first two, so σ1 is added in two halves (σ1(0) = 0 fills the others).
 * compress() runs the same steps for the next block, one after every fourth round.
 */
function schedule(p: usize, dst: usize): void {
  const zero = i32x4.splat(0);
  let v0 = be4(p, 0), v1 = be4(p, 16), v2 = be4(p, 32), v3 = be4(p, 48);
  v128.store(dst, i32x4.add(v0, v128.load(K, 0)), 0);
  v128.store(dst, i32x4.add(v1, v128.load(K, 16)), 16);
  v128.store(dst, i32x4.add(v2, v128.load(K, 32)), 32);
  v128.store(dst, i32x4.add(v3, v128.load(K, 48)), 48);
  for (let o: usize = 64; o < 256; o += 64) {
    v0 = i32x4.add(i32x4.add(v0, sig0(v128.shuffle<u32>(v0, v1, 1, 2, 3, 4))), v128.shuffle<u32>(v2, v3, 1, 2, 3, 4));
    v0 = i32x4.add(v0, sig1(v128.shuffle<u32>(v3, zero, 2, 3, 4, 4)));
    v0 = i32x4.add(v0, sig1(v128.shuffle<u32>(v0, zero, 4, 4, 0, 1)));
    v128.store(dst + o, i32x4.add(v0, v128.load(K + o, 0)), 0);
    v1 = i32x4.add(i32x4.add(v1, sig0(v128.shuffle<u32>(v1, v2, 1, 2, 3, 4))), v128.shuffle<u32>(v3, v0, 1, 2, 3, 4));
    v1 = i32x4.add(v1, sig1(v128.shuffle<u32>(v0, zero, 2, 3, 4, 4)));
    v1 = i32x4.add(v1, sig1(v128.shuffle<u32>(v1, zero, 4, 4, 0, 1)));
    v128.store(dst + o, i32x4.add(v1, v128.load(K + o, 16)), 16);
    v2 = i32x4.add(i32x4.add(v2, sig0(v128.shuffle<u32>(v2, v3, 1, 2, 3, 4))), v128.shuffle<u32>(v0, v1, 1, 2, 3, 4));
    v2 = i32x4.add(v2, sig1(v128.shuffle<u32>(v1, zero, 2, 3, 4, 4)));
    v2 = i32x4.add(v2, sig1(v128.shuffle<u32>(v2, zero, 4, 4, 0, 1)));
    v128.store(dst + o, i32x4.add(v2, v128.load(K + o, 32)), 32);
    v3 = i32x4.add(i32x4.add(v3, sig0(v128.shuffle<u32>(v3, v0, 1, 2, 3, 4))), v128.shuffle<u32>(v1, v2, 1, 2, 3, 4));
    v3 = i32x4.add(v3, sig1(v128.shuffle<u32>(v2, zero, 2, 3, 4, 4)));
    v3 = i32x4.add(v3, sig1(v128.shuffle<u32>(v3, zero, 4, 4, 0, 1)));
    v128.store(dst + o, i32x4.add(v3, v128.load(K + o, 48)), 48);
  }
}

/**
 * Compresses `blocks` consecutive 64-byte blocks at `p` into the state at `ctx`. The 64 rounds
 * are written out (the names a..h rotate every round, so a loop would need eight moves per
 * round; as a 16-round loop body it measured a few per cent slower), reading W + K from `cur`,
 * with the schedule of the next block (of this one again for the last block: a discarded
 * schedule, cheaper than a second copy of the rounds) going into `nxt` between them. Each round
 * adds h + W[i] + K[i] + Ch before Σ1, so Σ1(e) is the last term in; Maj(a, b, c) is
 * b ^ ((a ^ b) & (b ^ c)), and the next round's b ^ c is this round's a ^ b, carried in y.
 */
function compress(ctx: usize, p: usize, blocks: usize): void {
  let a = load<u32>(ctx, H + 0), b = load<u32>(ctx, H + 4), c = load<u32>(ctx, H + 8), d = load<u32>(ctx, H + 12);
  let e = load<u32>(ctx, H + 16), f = load<u32>(ctx, H + 20), g = load<u32>(ctx, H + 24), h = load<u32>(ctx, H + 28);
  const end = p + (blocks << 6);
  let cur = WK, nxt = WK + 256;
  schedule(p, cur);
  const zero = i32x4.splat(0);
  while (p < end) {
    const q = p + 64 < end ? p + 64 : p; // the block whose schedule goes into nxt
    let v0 = be4(q, 0), v1 = be4(q, 16), v2 = be4(q, 32), v3 = be4(q, 48);
    const a0 = a, b0 = b, c0 = c, d0 = d, e0 = e, f0 = f, g0 = g, h0 = h;
    let t: u32, s: u32, x: u32, y: u32 = b ^ c;
    t = h + load<u32>(cur, 0) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u32>(cur, 4) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    t = f + load<u32>(cur, 8) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u32>(cur, 12) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v128.store(nxt, i32x4.add(v0, v128.load(K, 0)), 0);
    t = d + load<u32>(cur, 16) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u32>(cur, 20) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    t = b + load<u32>(cur, 24) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u32>(cur, 28) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v128.store(nxt, i32x4.add(v1, v128.load(K, 16)), 16);
    t = h + load<u32>(cur, 32) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u32>(cur, 36) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    t = f + load<u32>(cur, 40) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u32>(cur, 44) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v128.store(nxt, i32x4.add(v2, v128.load(K, 32)), 32);
    t = d + load<u32>(cur, 48) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u32>(cur, 52) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    t = b + load<u32>(cur, 56) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u32>(cur, 60) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v128.store(nxt, i32x4.add(v3, v128.load(K, 48)), 48);
    t = h + load<u32>(cur, 64) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u32>(cur, 68) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    t = f + load<u32>(cur, 72) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u32>(cur, 76) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v0 = i32x4.add(i32x4.add(v0, sig0(v128.shuffle<u32>(v0, v1, 1, 2, 3, 4))), v128.shuffle<u32>(v2, v3, 1, 2, 3, 4));
    v0 = i32x4.add(v0, sig1(v128.shuffle<u32>(v3, zero, 2, 3, 4, 4)));
    v0 = i32x4.add(v0, sig1(v128.shuffle<u32>(v0, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v0, v128.load(K, 64)), 64);
    t = d + load<u32>(cur, 80) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u32>(cur, 84) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    t = b + load<u32>(cur, 88) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u32>(cur, 92) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v1 = i32x4.add(i32x4.add(v1, sig0(v128.shuffle<u32>(v1, v2, 1, 2, 3, 4))), v128.shuffle<u32>(v3, v0, 1, 2, 3, 4));
    v1 = i32x4.add(v1, sig1(v128.shuffle<u32>(v0, zero, 2, 3, 4, 4)));
    v1 = i32x4.add(v1, sig1(v128.shuffle<u32>(v1, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v1, v128.load(K, 80)), 80);
    t = h + load<u32>(cur, 96) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u32>(cur, 100) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    t = f + load<u32>(cur, 104) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u32>(cur, 108) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v2 = i32x4.add(i32x4.add(v2, sig0(v128.shuffle<u32>(v2, v3, 1, 2, 3, 4))), v128.shuffle<u32>(v0, v1, 1, 2, 3, 4));
    v2 = i32x4.add(v2, sig1(v128.shuffle<u32>(v1, zero, 2, 3, 4, 4)));
    v2 = i32x4.add(v2, sig1(v128.shuffle<u32>(v2, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v2, v128.load(K, 96)), 96);
    t = d + load<u32>(cur, 112) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u32>(cur, 116) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    t = b + load<u32>(cur, 120) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u32>(cur, 124) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v3 = i32x4.add(i32x4.add(v3, sig0(v128.shuffle<u32>(v3, v0, 1, 2, 3, 4))), v128.shuffle<u32>(v1, v2, 1, 2, 3, 4));
    v3 = i32x4.add(v3, sig1(v128.shuffle<u32>(v2, zero, 2, 3, 4, 4)));
    v3 = i32x4.add(v3, sig1(v128.shuffle<u32>(v3, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v3, v128.load(K, 112)), 112);
    t = h + load<u32>(cur, 128) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u32>(cur, 132) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    t = f + load<u32>(cur, 136) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u32>(cur, 140) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v0 = i32x4.add(i32x4.add(v0, sig0(v128.shuffle<u32>(v0, v1, 1, 2, 3, 4))), v128.shuffle<u32>(v2, v3, 1, 2, 3, 4));
    v0 = i32x4.add(v0, sig1(v128.shuffle<u32>(v3, zero, 2, 3, 4, 4)));
    v0 = i32x4.add(v0, sig1(v128.shuffle<u32>(v0, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v0, v128.load(K, 128)), 128);
    t = d + load<u32>(cur, 144) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u32>(cur, 148) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    t = b + load<u32>(cur, 152) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u32>(cur, 156) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v1 = i32x4.add(i32x4.add(v1, sig0(v128.shuffle<u32>(v1, v2, 1, 2, 3, 4))), v128.shuffle<u32>(v3, v0, 1, 2, 3, 4));
    v1 = i32x4.add(v1, sig1(v128.shuffle<u32>(v0, zero, 2, 3, 4, 4)));
    v1 = i32x4.add(v1, sig1(v128.shuffle<u32>(v1, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v1, v128.load(K, 144)), 144);
    t = h + load<u32>(cur, 160) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u32>(cur, 164) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    t = f + load<u32>(cur, 168) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u32>(cur, 172) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v2 = i32x4.add(i32x4.add(v2, sig0(v128.shuffle<u32>(v2, v3, 1, 2, 3, 4))), v128.shuffle<u32>(v0, v1, 1, 2, 3, 4));
    v2 = i32x4.add(v2, sig1(v128.shuffle<u32>(v1, zero, 2, 3, 4, 4)));
    v2 = i32x4.add(v2, sig1(v128.shuffle<u32>(v2, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v2, v128.load(K, 160)), 160);
    t = d + load<u32>(cur, 176) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u32>(cur, 180) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    t = b + load<u32>(cur, 184) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u32>(cur, 188) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v3 = i32x4.add(i32x4.add(v3, sig0(v128.shuffle<u32>(v3, v0, 1, 2, 3, 4))), v128.shuffle<u32>(v1, v2, 1, 2, 3, 4));
    v3 = i32x4.add(v3, sig1(v128.shuffle<u32>(v2, zero, 2, 3, 4, 4)));
    v3 = i32x4.add(v3, sig1(v128.shuffle<u32>(v3, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v3, v128.load(K, 176)), 176);
    t = h + load<u32>(cur, 192) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u32>(cur, 196) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    t = f + load<u32>(cur, 200) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u32>(cur, 204) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v0 = i32x4.add(i32x4.add(v0, sig0(v128.shuffle<u32>(v0, v1, 1, 2, 3, 4))), v128.shuffle<u32>(v2, v3, 1, 2, 3, 4));
    v0 = i32x4.add(v0, sig1(v128.shuffle<u32>(v3, zero, 2, 3, 4, 4)));
    v0 = i32x4.add(v0, sig1(v128.shuffle<u32>(v0, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v0, v128.load(K, 192)), 192);
    t = d + load<u32>(cur, 208) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u32>(cur, 212) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    t = b + load<u32>(cur, 216) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u32>(cur, 220) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v1 = i32x4.add(i32x4.add(v1, sig0(v128.shuffle<u32>(v1, v2, 1, 2, 3, 4))), v128.shuffle<u32>(v3, v0, 1, 2, 3, 4));
    v1 = i32x4.add(v1, sig1(v128.shuffle<u32>(v0, zero, 2, 3, 4, 4)));
    v1 = i32x4.add(v1, sig1(v128.shuffle<u32>(v1, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v1, v128.load(K, 208)), 208);
    t = h + load<u32>(cur, 224) + Chi(e, f, g); s = Sig1(e); d = d + t + s; t += s; x = a ^ b; h = t + (b ^ (x & y)) + Sig0(a); y = x;
    t = g + load<u32>(cur, 228) + Chi(d, e, f); s = Sig1(d); c = c + t + s; t += s; x = h ^ a; g = t + (a ^ (x & y)) + Sig0(h); y = x;
    t = f + load<u32>(cur, 232) + Chi(c, d, e); s = Sig1(c); b = b + t + s; t += s; x = g ^ h; f = t + (h ^ (x & y)) + Sig0(g); y = x;
    t = e + load<u32>(cur, 236) + Chi(b, c, d); s = Sig1(b); a = a + t + s; t += s; x = f ^ g; e = t + (g ^ (x & y)) + Sig0(f); y = x;
    v2 = i32x4.add(i32x4.add(v2, sig0(v128.shuffle<u32>(v2, v3, 1, 2, 3, 4))), v128.shuffle<u32>(v0, v1, 1, 2, 3, 4));
    v2 = i32x4.add(v2, sig1(v128.shuffle<u32>(v1, zero, 2, 3, 4, 4)));
    v2 = i32x4.add(v2, sig1(v128.shuffle<u32>(v2, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v2, v128.load(K, 224)), 224);
    t = d + load<u32>(cur, 240) + Chi(a, b, c); s = Sig1(a); h = h + t + s; t += s; x = e ^ f; d = t + (f ^ (x & y)) + Sig0(e); y = x;
    t = c + load<u32>(cur, 244) + Chi(h, a, b); s = Sig1(h); g = g + t + s; t += s; x = d ^ e; c = t + (e ^ (x & y)) + Sig0(d); y = x;
    t = b + load<u32>(cur, 248) + Chi(g, h, a); s = Sig1(g); f = f + t + s; t += s; x = c ^ d; b = t + (d ^ (x & y)) + Sig0(c); y = x;
    t = a + load<u32>(cur, 252) + Chi(f, g, h); s = Sig1(f); e = e + t + s; t += s; x = b ^ c; a = t + (c ^ (x & y)) + Sig0(b); y = x;
    v3 = i32x4.add(i32x4.add(v3, sig0(v128.shuffle<u32>(v3, v0, 1, 2, 3, 4))), v128.shuffle<u32>(v1, v2, 1, 2, 3, 4));
    v3 = i32x4.add(v3, sig1(v128.shuffle<u32>(v2, zero, 2, 3, 4, 4)));
    v3 = i32x4.add(v3, sig1(v128.shuffle<u32>(v3, zero, 4, 4, 0, 1)));
    v128.store(nxt, i32x4.add(v3, v128.load(K, 240)), 240);
    a += a0; b += b0; c += c0; d += d0; e += e0; f += f0; g += g0; h += h0;
    p += BLOCK;
    const w = cur; cur = nxt; nxt = w;
  }
  store<u32>(ctx, a, H + 0);   store<u32>(ctx, b, H + 4);   store<u32>(ctx, c, H + 8);   store<u32>(ctx, d, H + 12);
  store<u32>(ctx, e, H + 16);   store<u32>(ctx, f, H + 20);   store<u32>(ctx, g, H + 24);   store<u32>(ctx, h, H + 28);
}

/** Bytes the host must reserve for one SHA-256 context. */
export function sha256ContextSize(): u32 {
  return SIZE;
}

/** Starts a new hash in the context at `ctx` (FIPS 180-4 §5.3.3 initial value). */
export function sha256Init(ctx: usize): void {
  store<u32>(ctx, 0x6a09e667, H + 0); store<u32>(ctx, 0xbb67ae85, H + 4);
  store<u32>(ctx, 0x3c6ef372, H + 8); store<u32>(ctx, 0xa54ff53a, H + 12);
  store<u32>(ctx, 0x510e527f, H + 16); store<u32>(ctx, 0x9b05688c, H + 20);
  store<u32>(ctx, 0x1f83d9ab, H + 24); store<u32>(ctx, 0x5be0cd19, H + 28);
  store<u64>(ctx, 0, TOTAL);
  store<u32>(ctx, 0, FILL);
}

/** Absorbs `len` bytes at `ptr`. Any chunking gives the same digest. */
export function sha256Update(ctx: usize, ptr: usize, len: usize): void {
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
  const blocks = len >> 6;
  if (blocks != 0) {
    compress(ctx, ptr, blocks);
    ptr += blocks << 6;
    len &= BLOCK - 1;
  }
  if (len != 0) memory.copy(ctx + BUF, ptr, len);
  store<u32>(ctx, <u32>len, FILL);
}

/** Pads, writes the 32-byte digest to `out` and leaves the context spent (re-init to reuse). */
export function sha256Final(ctx: usize, out: usize): void {
  let fill = <usize>load<u32>(ctx, FILL);
  const buf = ctx + BUF;
  store<u8>(buf + fill, 0x80);
  fill++;
  if (fill > BLOCK - 8) {
    // No room for the 64-bit length: pad this block out and use one more.
    memory.fill(buf + fill, 0, BLOCK - fill);
    compress(ctx, buf, 1);
    fill = 0;
  }
  memory.fill(buf + fill, 0, BLOCK - 8 - fill);
  store<u64>(buf, bswap<u64>(load<u64>(ctx, TOTAL) << 3), BLOCK - 8); // length in bits, big-endian
  compress(ctx, buf, 1);
  for (let i: usize = 0; i < 32; i += 4) store<u32>(out + i, bswap<u32>(load<u32>(ctx + H + i)));
  store<u32>(ctx, 0, FILL);
}
