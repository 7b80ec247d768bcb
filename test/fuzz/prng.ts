// A small seeded PRNG (sfc32) so every fuzz input is reproducible from
// (seed, index) alone, on any machine and in any worker.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Uint8Array;
}

function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b | 0) + d | 0;
    d = d + 1 | 0;
    a = b ^ (b >>> 9);
    b = c + (c << 3) | 0;
    c = (c << 21) | (c >>> 11);
    c = c + t | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** splitmix32: spreads (seed, index) over sfc32's 128-bit state. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export function rngFor(seed: number, index: number): Rng {
  const s0 = splitmix32(seed ^ 0x5bd1e995);
  const s1 = splitmix32(index ^ s0);
  const s2 = splitmix32(s1 + 0x27d4eb2f);
  const s3 = splitmix32(s2 ^ seed);
  const raw = sfc32(s0, s1, s2, s3);
  for (let i = 0; i < 12; i++) raw(); // discard the warm-up outputs
  const rng: Rng = {
    next: raw,
    int: (n) => Math.floor(raw() * n),
    range: (lo, hi) => lo + Math.floor(raw() * (hi - lo + 1)),
    chance: (p) => raw() < p,
    pick: (items) => items[Math.floor(raw() * items.length)]!,
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(raw() * 256);
      return out;
    },
  };
  return rng;
}
