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

// Round constants K (FIPS 180-4 §4.2.2) in a static data segment (shared with sha256x4.ts).
// Loading them keeps the round loop below small; on V8 that measured ~10%
// faster than all 64 rounds fully unrolled with the constants as immediates.
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

// The round functions of FIPS 180-4 §4.1.2. Inlined, so every round compiles
// to plain i32 ops on locals.
// @ts-ignore: decorator
@inline function Sig0(x: u32): u32 { return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22); }
// @ts-ignore: decorator
@inline function Sig1(x: u32): u32 { return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25); }
// @ts-ignore: decorator
@inline function sig0(x: u32): u32 { return rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3); }
// @ts-ignore: decorator
@inline function sig1(x: u32): u32 { return rotr(x, 17) ^ rotr(x, 19) ^ (x >>> 10); }
// Ch and Maj in their 3-op forms (same truth tables as the spec's).
// @ts-ignore: decorator
@inline function Chi(e: u32, f: u32, g: u32): u32 { return g ^ (e & (f ^ g)); }
// @ts-ignore: decorator
@inline function Maj(a: u32, b: u32, c: u32): u32 { return (a & b) | (c & (a | b)); }

// SHA-256 words are big-endian; wasm loads are little-endian.
// @ts-ignore: decorator
@inline function be32(p: usize, offset: usize): u32 { return bswap<u32>(load<u32>(p + offset)); }

/**
 * Compresses `blocks` consecutive 64-byte blocks at `p` into the state at `ctx`.
 * Working variables and the 16-word message schedule stay in locals; rounds
 * are written out 16 at a time (the names rotate every round, so a shorter
 * body would need moves), and rounds 16..63 reuse one 16-round loop body.
 */
function compress(ctx: usize, p: usize, blocks: usize): void {
  let a = load<u32>(ctx, H + 0), b = load<u32>(ctx, H + 4), c = load<u32>(ctx, H + 8), d = load<u32>(ctx, H + 12);
  let e = load<u32>(ctx, H + 16), f = load<u32>(ctx, H + 20), g = load<u32>(ctx, H + 24), h = load<u32>(ctx, H + 28);
  const end = p + (blocks << 6);
  while (p < end) {
    const a0 = a, b0 = b, c0 = c, d0 = d, e0 = e, f0 = f, g0 = g, h0 = h;
    let w0 = be32(p, 0), w1 = be32(p, 4), w2 = be32(p, 8), w3 = be32(p, 12);
    let w4 = be32(p, 16), w5 = be32(p, 20), w6 = be32(p, 24), w7 = be32(p, 28);
    let w8 = be32(p, 32), w9 = be32(p, 36), w10 = be32(p, 40), w11 = be32(p, 44);
    let w12 = be32(p, 48), w13 = be32(p, 52), w14 = be32(p, 56), w15 = be32(p, 60);
    let t: u32;
    // Round i works on (a..h) rotated by i mod 8 and on w[i mod 16].
    t = h + Sig1(e) + Chi(e, f, g) + load<u32>(K, 0) + w0; d += t; h = t + Sig0(a) + Maj(a, b, c);
    t = g + Sig1(d) + Chi(d, e, f) + load<u32>(K, 4) + w1; c += t; g = t + Sig0(h) + Maj(h, a, b);
    t = f + Sig1(c) + Chi(c, d, e) + load<u32>(K, 8) + w2; b += t; f = t + Sig0(g) + Maj(g, h, a);
    t = e + Sig1(b) + Chi(b, c, d) + load<u32>(K, 12) + w3; a += t; e = t + Sig0(f) + Maj(f, g, h);
    t = d + Sig1(a) + Chi(a, b, c) + load<u32>(K, 16) + w4; h += t; d = t + Sig0(e) + Maj(e, f, g);
    t = c + Sig1(h) + Chi(h, a, b) + load<u32>(K, 20) + w5; g += t; c = t + Sig0(d) + Maj(d, e, f);
    t = b + Sig1(g) + Chi(g, h, a) + load<u32>(K, 24) + w6; f += t; b = t + Sig0(c) + Maj(c, d, e);
    t = a + Sig1(f) + Chi(f, g, h) + load<u32>(K, 28) + w7; e += t; a = t + Sig0(b) + Maj(b, c, d);
    t = h + Sig1(e) + Chi(e, f, g) + load<u32>(K, 32) + w8; d += t; h = t + Sig0(a) + Maj(a, b, c);
    t = g + Sig1(d) + Chi(d, e, f) + load<u32>(K, 36) + w9; c += t; g = t + Sig0(h) + Maj(h, a, b);
    t = f + Sig1(c) + Chi(c, d, e) + load<u32>(K, 40) + w10; b += t; f = t + Sig0(g) + Maj(g, h, a);
    t = e + Sig1(b) + Chi(b, c, d) + load<u32>(K, 44) + w11; a += t; e = t + Sig0(f) + Maj(f, g, h);
    t = d + Sig1(a) + Chi(a, b, c) + load<u32>(K, 48) + w12; h += t; d = t + Sig0(e) + Maj(e, f, g);
    t = c + Sig1(h) + Chi(h, a, b) + load<u32>(K, 52) + w13; g += t; c = t + Sig0(d) + Maj(d, e, f);
    t = b + Sig1(g) + Chi(g, h, a) + load<u32>(K, 56) + w14; f += t; b = t + Sig0(c) + Maj(c, d, e);
    t = a + Sig1(f) + Chi(f, g, h) + load<u32>(K, 60) + w15; e += t; a = t + Sig0(b) + Maj(b, c, d);
    // Rounds 16..63: extend w[i mod 16] in place (W[i] = sig1(W[i-2]) + W[i-7] +
    // sig0(W[i-15]) + W[i-16]) just before round i uses it.
    for (let k = K + 64; k < K + 256; k += 64) {
      w0 += sig1(w14) + w9 + sig0(w1);
      t = h + Sig1(e) + Chi(e, f, g) + load<u32>(k, 0) + w0; d += t; h = t + Sig0(a) + Maj(a, b, c);
      w1 += sig1(w15) + w10 + sig0(w2);
      t = g + Sig1(d) + Chi(d, e, f) + load<u32>(k, 4) + w1; c += t; g = t + Sig0(h) + Maj(h, a, b);
      w2 += sig1(w0) + w11 + sig0(w3);
      t = f + Sig1(c) + Chi(c, d, e) + load<u32>(k, 8) + w2; b += t; f = t + Sig0(g) + Maj(g, h, a);
      w3 += sig1(w1) + w12 + sig0(w4);
      t = e + Sig1(b) + Chi(b, c, d) + load<u32>(k, 12) + w3; a += t; e = t + Sig0(f) + Maj(f, g, h);
      w4 += sig1(w2) + w13 + sig0(w5);
      t = d + Sig1(a) + Chi(a, b, c) + load<u32>(k, 16) + w4; h += t; d = t + Sig0(e) + Maj(e, f, g);
      w5 += sig1(w3) + w14 + sig0(w6);
      t = c + Sig1(h) + Chi(h, a, b) + load<u32>(k, 20) + w5; g += t; c = t + Sig0(d) + Maj(d, e, f);
      w6 += sig1(w4) + w15 + sig0(w7);
      t = b + Sig1(g) + Chi(g, h, a) + load<u32>(k, 24) + w6; f += t; b = t + Sig0(c) + Maj(c, d, e);
      w7 += sig1(w5) + w0 + sig0(w8);
      t = a + Sig1(f) + Chi(f, g, h) + load<u32>(k, 28) + w7; e += t; a = t + Sig0(b) + Maj(b, c, d);
      w8 += sig1(w6) + w1 + sig0(w9);
      t = h + Sig1(e) + Chi(e, f, g) + load<u32>(k, 32) + w8; d += t; h = t + Sig0(a) + Maj(a, b, c);
      w9 += sig1(w7) + w2 + sig0(w10);
      t = g + Sig1(d) + Chi(d, e, f) + load<u32>(k, 36) + w9; c += t; g = t + Sig0(h) + Maj(h, a, b);
      w10 += sig1(w8) + w3 + sig0(w11);
      t = f + Sig1(c) + Chi(c, d, e) + load<u32>(k, 40) + w10; b += t; f = t + Sig0(g) + Maj(g, h, a);
      w11 += sig1(w9) + w4 + sig0(w12);
      t = e + Sig1(b) + Chi(b, c, d) + load<u32>(k, 44) + w11; a += t; e = t + Sig0(f) + Maj(f, g, h);
      w12 += sig1(w10) + w5 + sig0(w13);
      t = d + Sig1(a) + Chi(a, b, c) + load<u32>(k, 48) + w12; h += t; d = t + Sig0(e) + Maj(e, f, g);
      w13 += sig1(w11) + w6 + sig0(w14);
      t = c + Sig1(h) + Chi(h, a, b) + load<u32>(k, 52) + w13; g += t; c = t + Sig0(d) + Maj(d, e, f);
      w14 += sig1(w12) + w7 + sig0(w15);
      t = b + Sig1(g) + Chi(g, h, a) + load<u32>(k, 56) + w14; f += t; b = t + Sig0(c) + Maj(c, d, e);
      w15 += sig1(w13) + w8 + sig0(w0);
      t = a + Sig1(f) + Chi(f, g, h) + load<u32>(k, 60) + w15; e += t; a = t + Sig0(b) + Maj(b, c, d);
    }

    a += a0; b += b0; c += c0; d += d0; e += e0; f += f0; g += g0; h += h0;
    p += BLOCK;
  }
  store<u32>(ctx, a, H + 0); store<u32>(ctx, b, H + 4); store<u32>(ctx, c, H + 8); store<u32>(ctx, d, H + 12);
  store<u32>(ctx, e, H + 16); store<u32>(ctx, f, H + 20); store<u32>(ctx, g, H + 24); store<u32>(ctx, h, H + 28);
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
