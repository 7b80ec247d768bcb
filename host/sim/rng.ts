// Small seeded PRNG (mulberry32) so simulator runs and fault patterns are reproducible.
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box-Muller). */
  gauss(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** Trials until the first success of probability p (>= 1); Infinity if p is 0. */
  geometric(p: number): number {
    if (p <= 0) return Infinity;
    if (p >= 1) return 1;
    return 1 + Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
  }
}
