// SHA-256 (FIPS 180-4) of four messages at once, one per 32-bit lane of a v128.
//
// For the per-tile hash table: the tiles of a frame are many equal, independent messages, and
// four rounds run for the price of about one and a half (wasm SIMD has no rotate, so each rotate
// is two shifts and an or). Restricted to what that use needs: the four messages have the same
// length, a whole number of 64-byte blocks, fed one block of each at a time.
//
// The context is a plain struct in linear memory (16-byte aligned):
//   [0, 128)      H0..H7, one v128 each (lane k = message k)
//   [128, 384)    W0..W15, the block being compressed, transposed (vector j = word j of each message)

const H: usize = 0;
const W: usize = 128;
const SIZE: u32 = 384;

// @ts-ignore: decorator
@inline function rotr4(x: v128, n: i32): v128 { return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n)); }
// @ts-ignore: decorator
@inline function Sig0(x: v128): v128 { return v128.xor(v128.xor(rotr4(x, 2), rotr4(x, 13)), rotr4(x, 22)); }
// @ts-ignore: decorator
@inline function Sig1(x: v128): v128 { return v128.xor(v128.xor(rotr4(x, 6), rotr4(x, 11)), rotr4(x, 25)); }
// @ts-ignore: decorator
@inline function sig0(x: v128): v128 { return v128.xor(v128.xor(rotr4(x, 7), rotr4(x, 18)), i32x4.shr_u(x, 3)); }
// @ts-ignore: decorator
@inline function sig1(x: v128): v128 { return v128.xor(v128.xor(rotr4(x, 17), rotr4(x, 19)), i32x4.shr_u(x, 10)); }
// Ch and Maj in their 3-op forms, as in sha256.ts.
// @ts-ignore: decorator
@inline function Chi(e: v128, f: v128, g: v128): v128 { return v128.xor(g, v128.and(e, v128.xor(f, g))); }
// @ts-ignore: decorator
@inline function Maj(a: v128, b: v128, c: v128): v128 { return v128.or(v128.and(a, b), v128.and(c, v128.or(a, b))); }
/** The four big-endian words of 16 bytes at p, as numbers (SHA-256 words are big-endian). */
// @ts-ignore: decorator
@inline function be4(p: usize): v128 {
  const v = v128.load(p);
  return i8x16.shuffle(v, v, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

export function sha256x4ContextSize(): u32 {
  return SIZE;
}

/** Starts four messages (FIPS 180-4 §5.3.3 initial hash value in every lane). */
export function sha256x4Init(ctx: usize): void {
  v128.store(ctx, i32x4(0x6a09e667, 0x6a09e667, 0x6a09e667, 0x6a09e667), H + 0);
  v128.store(ctx, i32x4(0xbb67ae85, 0xbb67ae85, 0xbb67ae85, 0xbb67ae85), H + 16);
  v128.store(ctx, i32x4(0x3c6ef372, 0x3c6ef372, 0x3c6ef372, 0x3c6ef372), H + 32);
  v128.store(ctx, i32x4(0xa54ff53a, 0xa54ff53a, 0xa54ff53a, 0xa54ff53a), H + 48);
  v128.store(ctx, i32x4(0x510e527f, 0x510e527f, 0x510e527f, 0x510e527f), H + 64);
  v128.store(ctx, i32x4(0x9b05688c, 0x9b05688c, 0x9b05688c, 0x9b05688c), H + 80);
  v128.store(ctx, i32x4(0x1f83d9ab, 0x1f83d9ab, 0x1f83d9ab, 0x1f83d9ab), H + 96);
  v128.store(ctx, i32x4(0x5be0cd19, 0x5be0cd19, 0x5be0cd19, 0x5be0cd19), H + 112);
}

// K (FIPS 180-4 §4.2.2) with each constant in all four lanes, so a round loads its constant as
// one vector instead of loading a word and splatting it.
const K4: usize = memory.data<u32>([
  0x428a2f98, 0x428a2f98, 0x428a2f98, 0x428a2f98,
  0x71374491, 0x71374491, 0x71374491, 0x71374491,
  0xb5c0fbcf, 0xb5c0fbcf, 0xb5c0fbcf, 0xb5c0fbcf,
  0xe9b5dba5, 0xe9b5dba5, 0xe9b5dba5, 0xe9b5dba5,
  0x3956c25b, 0x3956c25b, 0x3956c25b, 0x3956c25b,
  0x59f111f1, 0x59f111f1, 0x59f111f1, 0x59f111f1,
  0x923f82a4, 0x923f82a4, 0x923f82a4, 0x923f82a4,
  0xab1c5ed5, 0xab1c5ed5, 0xab1c5ed5, 0xab1c5ed5,
  0xd807aa98, 0xd807aa98, 0xd807aa98, 0xd807aa98,
  0x12835b01, 0x12835b01, 0x12835b01, 0x12835b01,
  0x243185be, 0x243185be, 0x243185be, 0x243185be,
  0x550c7dc3, 0x550c7dc3, 0x550c7dc3, 0x550c7dc3,
  0x72be5d74, 0x72be5d74, 0x72be5d74, 0x72be5d74,
  0x80deb1fe, 0x80deb1fe, 0x80deb1fe, 0x80deb1fe,
  0x9bdc06a7, 0x9bdc06a7, 0x9bdc06a7, 0x9bdc06a7,
  0xc19bf174, 0xc19bf174, 0xc19bf174, 0xc19bf174,
  0xe49b69c1, 0xe49b69c1, 0xe49b69c1, 0xe49b69c1,
  0xefbe4786, 0xefbe4786, 0xefbe4786, 0xefbe4786,
  0x0fc19dc6, 0x0fc19dc6, 0x0fc19dc6, 0x0fc19dc6,
  0x240ca1cc, 0x240ca1cc, 0x240ca1cc, 0x240ca1cc,
  0x2de92c6f, 0x2de92c6f, 0x2de92c6f, 0x2de92c6f,
  0x4a7484aa, 0x4a7484aa, 0x4a7484aa, 0x4a7484aa,
  0x5cb0a9dc, 0x5cb0a9dc, 0x5cb0a9dc, 0x5cb0a9dc,
  0x76f988da, 0x76f988da, 0x76f988da, 0x76f988da,
  0x983e5152, 0x983e5152, 0x983e5152, 0x983e5152,
  0xa831c66d, 0xa831c66d, 0xa831c66d, 0xa831c66d,
  0xb00327c8, 0xb00327c8, 0xb00327c8, 0xb00327c8,
  0xbf597fc7, 0xbf597fc7, 0xbf597fc7, 0xbf597fc7,
  0xc6e00bf3, 0xc6e00bf3, 0xc6e00bf3, 0xc6e00bf3,
  0xd5a79147, 0xd5a79147, 0xd5a79147, 0xd5a79147,
  0x06ca6351, 0x06ca6351, 0x06ca6351, 0x06ca6351,
  0x14292967, 0x14292967, 0x14292967, 0x14292967,
  0x27b70a85, 0x27b70a85, 0x27b70a85, 0x27b70a85,
  0x2e1b2138, 0x2e1b2138, 0x2e1b2138, 0x2e1b2138,
  0x4d2c6dfc, 0x4d2c6dfc, 0x4d2c6dfc, 0x4d2c6dfc,
  0x53380d13, 0x53380d13, 0x53380d13, 0x53380d13,
  0x650a7354, 0x650a7354, 0x650a7354, 0x650a7354,
  0x766a0abb, 0x766a0abb, 0x766a0abb, 0x766a0abb,
  0x81c2c92e, 0x81c2c92e, 0x81c2c92e, 0x81c2c92e,
  0x92722c85, 0x92722c85, 0x92722c85, 0x92722c85,
  0xa2bfe8a1, 0xa2bfe8a1, 0xa2bfe8a1, 0xa2bfe8a1,
  0xa81a664b, 0xa81a664b, 0xa81a664b, 0xa81a664b,
  0xc24b8b70, 0xc24b8b70, 0xc24b8b70, 0xc24b8b70,
  0xc76c51a3, 0xc76c51a3, 0xc76c51a3, 0xc76c51a3,
  0xd192e819, 0xd192e819, 0xd192e819, 0xd192e819,
  0xd6990624, 0xd6990624, 0xd6990624, 0xd6990624,
  0xf40e3585, 0xf40e3585, 0xf40e3585, 0xf40e3585,
  0x106aa070, 0x106aa070, 0x106aa070, 0x106aa070,
  0x19a4c116, 0x19a4c116, 0x19a4c116, 0x19a4c116,
  0x1e376c08, 0x1e376c08, 0x1e376c08, 0x1e376c08,
  0x2748774c, 0x2748774c, 0x2748774c, 0x2748774c,
  0x34b0bcb5, 0x34b0bcb5, 0x34b0bcb5, 0x34b0bcb5,
  0x391c0cb3, 0x391c0cb3, 0x391c0cb3, 0x391c0cb3,
  0x4ed8aa4a, 0x4ed8aa4a, 0x4ed8aa4a, 0x4ed8aa4a,
  0x5b9cca4f, 0x5b9cca4f, 0x5b9cca4f, 0x5b9cca4f,
  0x682e6ff3, 0x682e6ff3, 0x682e6ff3, 0x682e6ff3,
  0x748f82ee, 0x748f82ee, 0x748f82ee, 0x748f82ee,
  0x78a5636f, 0x78a5636f, 0x78a5636f, 0x78a5636f,
  0x84c87814, 0x84c87814, 0x84c87814, 0x84c87814,
  0x8cc70208, 0x8cc70208, 0x8cc70208, 0x8cc70208,
  0x90befffa, 0x90befffa, 0x90befffa, 0x90befffa,
  0xa4506ceb, 0xa4506ceb, 0xa4506ceb, 0xa4506ceb,
  0xbef9a3f7, 0xbef9a3f7, 0xbef9a3f7, 0xbef9a3f7,
  0xc67178f2, 0xc67178f2, 0xc67178f2, 0xc67178f2,
]);

/**
 * Runs the 64 rounds over the message words W0..W15 already in the context. As in sha256.ts, the
 * schedule stays in sixteen locals extended in place just before the round that uses it (rounds
 * 16..63 are one 16-round body run three times), so its work overlaps the rounds instead of
 * running as a separate pass through memory (measured a few per cent faster, paired, than a
 * precomputed W0..W63).
 */
function compress(ctx: usize): void {
  let a = v128.load(ctx, H + 0), b = v128.load(ctx, H + 16), c = v128.load(ctx, H + 32), d = v128.load(ctx, H + 48);
  let e = v128.load(ctx, H + 64), f = v128.load(ctx, H + 80), g = v128.load(ctx, H + 96), h = v128.load(ctx, H + 112);
  let w0 = v128.load(ctx, W + 0), w1 = v128.load(ctx, W + 16), w2 = v128.load(ctx, W + 32), w3 = v128.load(ctx, W + 48);
  let w4 = v128.load(ctx, W + 64), w5 = v128.load(ctx, W + 80), w6 = v128.load(ctx, W + 96), w7 = v128.load(ctx, W + 112);
  let w8 = v128.load(ctx, W + 128), w9 = v128.load(ctx, W + 144), w10 = v128.load(ctx, W + 160), w11 = v128.load(ctx, W + 176);
  let w12 = v128.load(ctx, W + 192), w13 = v128.load(ctx, W + 208), w14 = v128.load(ctx, W + 224), w15 = v128.load(ctx, W + 240);
  let t: v128;
  // Rounds 0..15: round i works on (a..h) rotated by i mod 8 and on w[i].
  t = i32x4.add(i32x4.add(i32x4.add(h, Sig1(e)), i32x4.add(Chi(e, f, g), v128.load(K4, 0))), w0);
  d = i32x4.add(d, t); h = i32x4.add(t, i32x4.add(Sig0(a), Maj(a, b, c)));
  t = i32x4.add(i32x4.add(i32x4.add(g, Sig1(d)), i32x4.add(Chi(d, e, f), v128.load(K4, 16))), w1);
  c = i32x4.add(c, t); g = i32x4.add(t, i32x4.add(Sig0(h), Maj(h, a, b)));
  t = i32x4.add(i32x4.add(i32x4.add(f, Sig1(c)), i32x4.add(Chi(c, d, e), v128.load(K4, 32))), w2);
  b = i32x4.add(b, t); f = i32x4.add(t, i32x4.add(Sig0(g), Maj(g, h, a)));
  t = i32x4.add(i32x4.add(i32x4.add(e, Sig1(b)), i32x4.add(Chi(b, c, d), v128.load(K4, 48))), w3);
  a = i32x4.add(a, t); e = i32x4.add(t, i32x4.add(Sig0(f), Maj(f, g, h)));
  t = i32x4.add(i32x4.add(i32x4.add(d, Sig1(a)), i32x4.add(Chi(a, b, c), v128.load(K4, 64))), w4);
  h = i32x4.add(h, t); d = i32x4.add(t, i32x4.add(Sig0(e), Maj(e, f, g)));
  t = i32x4.add(i32x4.add(i32x4.add(c, Sig1(h)), i32x4.add(Chi(h, a, b), v128.load(K4, 80))), w5);
  g = i32x4.add(g, t); c = i32x4.add(t, i32x4.add(Sig0(d), Maj(d, e, f)));
  t = i32x4.add(i32x4.add(i32x4.add(b, Sig1(g)), i32x4.add(Chi(g, h, a), v128.load(K4, 96))), w6);
  f = i32x4.add(f, t); b = i32x4.add(t, i32x4.add(Sig0(c), Maj(c, d, e)));
  t = i32x4.add(i32x4.add(i32x4.add(a, Sig1(f)), i32x4.add(Chi(f, g, h), v128.load(K4, 112))), w7);
  e = i32x4.add(e, t); a = i32x4.add(t, i32x4.add(Sig0(b), Maj(b, c, d)));
  t = i32x4.add(i32x4.add(i32x4.add(h, Sig1(e)), i32x4.add(Chi(e, f, g), v128.load(K4, 128))), w8);
  d = i32x4.add(d, t); h = i32x4.add(t, i32x4.add(Sig0(a), Maj(a, b, c)));
  t = i32x4.add(i32x4.add(i32x4.add(g, Sig1(d)), i32x4.add(Chi(d, e, f), v128.load(K4, 144))), w9);
  c = i32x4.add(c, t); g = i32x4.add(t, i32x4.add(Sig0(h), Maj(h, a, b)));
  t = i32x4.add(i32x4.add(i32x4.add(f, Sig1(c)), i32x4.add(Chi(c, d, e), v128.load(K4, 160))), w10);
  b = i32x4.add(b, t); f = i32x4.add(t, i32x4.add(Sig0(g), Maj(g, h, a)));
  t = i32x4.add(i32x4.add(i32x4.add(e, Sig1(b)), i32x4.add(Chi(b, c, d), v128.load(K4, 176))), w11);
  a = i32x4.add(a, t); e = i32x4.add(t, i32x4.add(Sig0(f), Maj(f, g, h)));
  t = i32x4.add(i32x4.add(i32x4.add(d, Sig1(a)), i32x4.add(Chi(a, b, c), v128.load(K4, 192))), w12);
  h = i32x4.add(h, t); d = i32x4.add(t, i32x4.add(Sig0(e), Maj(e, f, g)));
  t = i32x4.add(i32x4.add(i32x4.add(c, Sig1(h)), i32x4.add(Chi(h, a, b), v128.load(K4, 208))), w13);
  g = i32x4.add(g, t); c = i32x4.add(t, i32x4.add(Sig0(d), Maj(d, e, f)));
  t = i32x4.add(i32x4.add(i32x4.add(b, Sig1(g)), i32x4.add(Chi(g, h, a), v128.load(K4, 224))), w14);
  f = i32x4.add(f, t); b = i32x4.add(t, i32x4.add(Sig0(c), Maj(c, d, e)));
  t = i32x4.add(i32x4.add(i32x4.add(a, Sig1(f)), i32x4.add(Chi(f, g, h), v128.load(K4, 240))), w15);
  e = i32x4.add(e, t); a = i32x4.add(t, i32x4.add(Sig0(b), Maj(b, c, d)));
  // Rounds 16..63: extend w[i mod 16] in place just before round i uses it.
  for (let k = K4 + 256; k < K4 + 1024; k += 256) {
    w0 = i32x4.add(i32x4.add(w0, sig1(w14)), i32x4.add(w9, sig0(w1)));
    t = i32x4.add(i32x4.add(i32x4.add(h, Sig1(e)), i32x4.add(Chi(e, f, g), v128.load(k, 0))), w0);
    d = i32x4.add(d, t); h = i32x4.add(t, i32x4.add(Sig0(a), Maj(a, b, c)));
    w1 = i32x4.add(i32x4.add(w1, sig1(w15)), i32x4.add(w10, sig0(w2)));
    t = i32x4.add(i32x4.add(i32x4.add(g, Sig1(d)), i32x4.add(Chi(d, e, f), v128.load(k, 16))), w1);
    c = i32x4.add(c, t); g = i32x4.add(t, i32x4.add(Sig0(h), Maj(h, a, b)));
    w2 = i32x4.add(i32x4.add(w2, sig1(w0)), i32x4.add(w11, sig0(w3)));
    t = i32x4.add(i32x4.add(i32x4.add(f, Sig1(c)), i32x4.add(Chi(c, d, e), v128.load(k, 32))), w2);
    b = i32x4.add(b, t); f = i32x4.add(t, i32x4.add(Sig0(g), Maj(g, h, a)));
    w3 = i32x4.add(i32x4.add(w3, sig1(w1)), i32x4.add(w12, sig0(w4)));
    t = i32x4.add(i32x4.add(i32x4.add(e, Sig1(b)), i32x4.add(Chi(b, c, d), v128.load(k, 48))), w3);
    a = i32x4.add(a, t); e = i32x4.add(t, i32x4.add(Sig0(f), Maj(f, g, h)));
    w4 = i32x4.add(i32x4.add(w4, sig1(w2)), i32x4.add(w13, sig0(w5)));
    t = i32x4.add(i32x4.add(i32x4.add(d, Sig1(a)), i32x4.add(Chi(a, b, c), v128.load(k, 64))), w4);
    h = i32x4.add(h, t); d = i32x4.add(t, i32x4.add(Sig0(e), Maj(e, f, g)));
    w5 = i32x4.add(i32x4.add(w5, sig1(w3)), i32x4.add(w14, sig0(w6)));
    t = i32x4.add(i32x4.add(i32x4.add(c, Sig1(h)), i32x4.add(Chi(h, a, b), v128.load(k, 80))), w5);
    g = i32x4.add(g, t); c = i32x4.add(t, i32x4.add(Sig0(d), Maj(d, e, f)));
    w6 = i32x4.add(i32x4.add(w6, sig1(w4)), i32x4.add(w15, sig0(w7)));
    t = i32x4.add(i32x4.add(i32x4.add(b, Sig1(g)), i32x4.add(Chi(g, h, a), v128.load(k, 96))), w6);
    f = i32x4.add(f, t); b = i32x4.add(t, i32x4.add(Sig0(c), Maj(c, d, e)));
    w7 = i32x4.add(i32x4.add(w7, sig1(w5)), i32x4.add(w0, sig0(w8)));
    t = i32x4.add(i32x4.add(i32x4.add(a, Sig1(f)), i32x4.add(Chi(f, g, h), v128.load(k, 112))), w7);
    e = i32x4.add(e, t); a = i32x4.add(t, i32x4.add(Sig0(b), Maj(b, c, d)));
    w8 = i32x4.add(i32x4.add(w8, sig1(w6)), i32x4.add(w1, sig0(w9)));
    t = i32x4.add(i32x4.add(i32x4.add(h, Sig1(e)), i32x4.add(Chi(e, f, g), v128.load(k, 128))), w8);
    d = i32x4.add(d, t); h = i32x4.add(t, i32x4.add(Sig0(a), Maj(a, b, c)));
    w9 = i32x4.add(i32x4.add(w9, sig1(w7)), i32x4.add(w2, sig0(w10)));
    t = i32x4.add(i32x4.add(i32x4.add(g, Sig1(d)), i32x4.add(Chi(d, e, f), v128.load(k, 144))), w9);
    c = i32x4.add(c, t); g = i32x4.add(t, i32x4.add(Sig0(h), Maj(h, a, b)));
    w10 = i32x4.add(i32x4.add(w10, sig1(w8)), i32x4.add(w3, sig0(w11)));
    t = i32x4.add(i32x4.add(i32x4.add(f, Sig1(c)), i32x4.add(Chi(c, d, e), v128.load(k, 160))), w10);
    b = i32x4.add(b, t); f = i32x4.add(t, i32x4.add(Sig0(g), Maj(g, h, a)));
    w11 = i32x4.add(i32x4.add(w11, sig1(w9)), i32x4.add(w4, sig0(w12)));
    t = i32x4.add(i32x4.add(i32x4.add(e, Sig1(b)), i32x4.add(Chi(b, c, d), v128.load(k, 176))), w11);
    a = i32x4.add(a, t); e = i32x4.add(t, i32x4.add(Sig0(f), Maj(f, g, h)));
    w12 = i32x4.add(i32x4.add(w12, sig1(w10)), i32x4.add(w5, sig0(w13)));
    t = i32x4.add(i32x4.add(i32x4.add(d, Sig1(a)), i32x4.add(Chi(a, b, c), v128.load(k, 192))), w12);
    h = i32x4.add(h, t); d = i32x4.add(t, i32x4.add(Sig0(e), Maj(e, f, g)));
    w13 = i32x4.add(i32x4.add(w13, sig1(w11)), i32x4.add(w6, sig0(w14)));
    t = i32x4.add(i32x4.add(i32x4.add(c, Sig1(h)), i32x4.add(Chi(h, a, b), v128.load(k, 208))), w13);
    g = i32x4.add(g, t); c = i32x4.add(t, i32x4.add(Sig0(d), Maj(d, e, f)));
    w14 = i32x4.add(i32x4.add(w14, sig1(w12)), i32x4.add(w7, sig0(w15)));
    t = i32x4.add(i32x4.add(i32x4.add(b, Sig1(g)), i32x4.add(Chi(g, h, a), v128.load(k, 224))), w14);
    f = i32x4.add(f, t); b = i32x4.add(t, i32x4.add(Sig0(c), Maj(c, d, e)));
    w15 = i32x4.add(i32x4.add(w15, sig1(w13)), i32x4.add(w8, sig0(w0)));
    t = i32x4.add(i32x4.add(i32x4.add(a, Sig1(f)), i32x4.add(Chi(f, g, h), v128.load(k, 240))), w15);
    e = i32x4.add(e, t); a = i32x4.add(t, i32x4.add(Sig0(b), Maj(b, c, d)));
  }
  v128.store(ctx, i32x4.add(v128.load(ctx, H + 0), a), H + 0);
  v128.store(ctx, i32x4.add(v128.load(ctx, H + 16), b), H + 16);
  v128.store(ctx, i32x4.add(v128.load(ctx, H + 32), c), H + 32);
  v128.store(ctx, i32x4.add(v128.load(ctx, H + 48), d), H + 48);
  v128.store(ctx, i32x4.add(v128.load(ctx, H + 64), e), H + 64);
  v128.store(ctx, i32x4.add(v128.load(ctx, H + 80), f), H + 80);
  v128.store(ctx, i32x4.add(v128.load(ctx, H + 96), g), H + 96);
  v128.store(ctx, i32x4.add(v128.load(ctx, H + 112), h), H + 112);
}

/** Compresses one 64-byte block of each message: message k's block is at pk. */
export function sha256x4Block(ctx: usize, p0: usize, p1: usize, p2: usize, p3: usize): void {
  // Four words from each message, transposed so that vector j holds word j of every message.
  for (let q: usize = 0; q < 64; q += 16) {
    const r0 = be4(p0 + q), r1 = be4(p1 + q), r2 = be4(p2 + q), r3 = be4(p3 + q);
    const t0 = v128.shuffle<u32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<u32>(r0, r1, 2, 6, 3, 7);
    const t2 = v128.shuffle<u32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<u32>(r2, r3, 2, 6, 3, 7);
    const w = ctx + W + (q << 2);
    v128.store(w, v128.shuffle<u32>(t0, t2, 0, 1, 4, 5), 0);
    v128.store(w, v128.shuffle<u32>(t0, t2, 2, 3, 6, 7), 16);
    v128.store(w, v128.shuffle<u32>(t1, t3, 0, 1, 4, 5), 32);
    v128.store(w, v128.shuffle<u32>(t1, t3, 2, 3, 6, 7), 48);
  }
  compress(ctx);
}

/**
 * Ends the four messages, each `totalBytes` long (a multiple of 64, all blocks already given),
 * and writes their digests to out, out + 32, out + 64 and out + 96.
 */
export function sha256x4Final(ctx: usize, totalBytes: u64, out: usize): void {
  assert((totalBytes & 63) == 0, 'sha256x4: message length is not a whole number of blocks');
  // The padding block is the same for all four: 0x80, zeros, the bit length (big-endian).
  const bits = totalBytes << 3;
  const hi = <u32>(bits >>> 32), lo = <u32>bits;
  v128.store(ctx + W, i32x4(0x80000000, 0x80000000, 0x80000000, 0x80000000));
  for (let i: usize = 1; i < 14; i++) v128.store(ctx + W + (i << 4), i32x4(0, 0, 0, 0));
  v128.store(ctx + W + (14 << 4), i32x4(hi, hi, hi, hi));
  v128.store(ctx + W + (15 << 4), i32x4(lo, lo, lo, lo));
  compress(ctx);
  for (let j: usize = 0; j < 8; j++) {
    const v = v128.load(ctx + H + (j << 4));
    store<u32>(out + (j << 2), bswap<u32>(i32x4.extract_lane(v, 0)));
    store<u32>(out + 32 + (j << 2), bswap<u32>(i32x4.extract_lane(v, 1)));
    store<u32>(out + 64 + (j << 2), bswap<u32>(i32x4.extract_lane(v, 2)));
    store<u32>(out + 96 + (j << 2), bswap<u32>(i32x4.extract_lane(v, 3)));
  }
}
