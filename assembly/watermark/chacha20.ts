// ChaCha20 (RFC 8439) block function and keystream: the keyed PRF behind the
// watermark's pseudo-noise. Pure compute on host-provided memory: key is 32
// bytes, nonce 12 bytes, output 64 bytes per block (little-endian words).

// @ts-ignore: decorator
@inline function rotl(x: u32, n: u32): u32 {
  return (x << n) | (x >>> (32 - n));
}

/**
 * Writes the 64-byte ChaCha20 block for (key, counter, nonce) at `out`.
 * Registers stay in locals; no memory besides key, nonce and out is touched.
 */
export function chacha20Block(key: usize, counter: u32, nonce: usize, out: usize): void {
  const k0 = load<u32>(key, 0), k1 = load<u32>(key, 4), k2 = load<u32>(key, 8), k3 = load<u32>(key, 12);
  const k4 = load<u32>(key, 16), k5 = load<u32>(key, 20), k6 = load<u32>(key, 24), k7 = load<u32>(key, 28);
  const n0 = load<u32>(nonce, 0), n1 = load<u32>(nonce, 4), n2 = load<u32>(nonce, 8);
  let x0: u32 = 0x61707865, x1: u32 = 0x3320646e, x2: u32 = 0x79622d32, x3: u32 = 0x6b206574;
  let x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7;
  let x12 = counter, x13 = n0, x14 = n1, x15 = n2;
  for (let i = 0; i < 10; i++) {
    // column rounds
    x0 += x4; x12 = rotl(x12 ^ x0, 16); x8 += x12; x4 = rotl(x4 ^ x8, 12);
    x0 += x4; x12 = rotl(x12 ^ x0, 8); x8 += x12; x4 = rotl(x4 ^ x8, 7);
    x1 += x5; x13 = rotl(x13 ^ x1, 16); x9 += x13; x5 = rotl(x5 ^ x9, 12);
    x1 += x5; x13 = rotl(x13 ^ x1, 8); x9 += x13; x5 = rotl(x5 ^ x9, 7);
    x2 += x6; x14 = rotl(x14 ^ x2, 16); x10 += x14; x6 = rotl(x6 ^ x10, 12);
    x2 += x6; x14 = rotl(x14 ^ x2, 8); x10 += x14; x6 = rotl(x6 ^ x10, 7);
    x3 += x7; x15 = rotl(x15 ^ x3, 16); x11 += x15; x7 = rotl(x7 ^ x11, 12);
    x3 += x7; x15 = rotl(x15 ^ x3, 8); x11 += x15; x7 = rotl(x7 ^ x11, 7);
    // diagonal rounds
    x0 += x5; x15 = rotl(x15 ^ x0, 16); x10 += x15; x5 = rotl(x5 ^ x10, 12);
    x0 += x5; x15 = rotl(x15 ^ x0, 8); x10 += x15; x5 = rotl(x5 ^ x10, 7);
    x1 += x6; x12 = rotl(x12 ^ x1, 16); x11 += x12; x6 = rotl(x6 ^ x11, 12);
    x1 += x6; x12 = rotl(x12 ^ x1, 8); x11 += x12; x6 = rotl(x6 ^ x11, 7);
    x2 += x7; x13 = rotl(x13 ^ x2, 16); x8 += x13; x7 = rotl(x7 ^ x8, 12);
    x2 += x7; x13 = rotl(x13 ^ x2, 8); x8 += x13; x7 = rotl(x7 ^ x8, 7);
    x3 += x4; x14 = rotl(x14 ^ x3, 16); x9 += x14; x4 = rotl(x4 ^ x9, 12);
    x3 += x4; x14 = rotl(x14 ^ x3, 8); x9 += x14; x4 = rotl(x4 ^ x9, 7);
  }
  store<u32>(out, x0 + 0x61707865, 0); store<u32>(out, x1 + 0x3320646e, 4);
  store<u32>(out, x2 + 0x79622d32, 8); store<u32>(out, x3 + 0x6b206574, 12);
  store<u32>(out, x4 + k0, 16); store<u32>(out, x5 + k1, 20);
  store<u32>(out, x6 + k2, 24); store<u32>(out, x7 + k3, 28);
  store<u32>(out, x8 + k4, 32); store<u32>(out, x9 + k5, 36);
  store<u32>(out, x10 + k6, 40); store<u32>(out, x11 + k7, 44);
  store<u32>(out, x12 + counter, 48); store<u32>(out, x13 + n0, 52);
  store<u32>(out, x14 + n1, 56); store<u32>(out, x15 + n2, 60);
}

/**
 * XORs `len` bytes at `src` with the keystream starting at block `counter`
 * and writes them to `dst` (src may equal dst; pass a zeroed src to get raw
 * keystream). `block` is 64 bytes of scratch.
 */
export function chacha20Xor(key: usize, nonce: usize, counter: u32, src: usize, dst: usize, len: usize, block: usize): void {
  let off: usize = 0;
  while (off < len) {
    chacha20Block(key, counter, nonce, block);
    counter++;
    const n = len - off < 64 ? len - off : 64;
    for (let i: usize = 0; i < n; i++) {
      store<u8>(dst + off + i, load<u8>(src + off + i) ^ load<u8>(block + i));
    }
    off += n;
  }
}

/** Writes `len` bytes of raw keystream starting at block `counter` to `dst`. */
export function chacha20Stream(key: usize, nonce: usize, counter: u32, dst: usize, len: usize, block: usize): void {
  let off: usize = 0;
  while (off < len) {
    chacha20Block(key, counter, nonce, block);
    counter++;
    const n = len - off < 64 ? len - off : 64;
    memory.copy(dst + off, block, n);
    off += n;
  }
}
