import { createHash } from 'node:crypto';
/** Deterministic 4-12 MB content for serial n (big enough that kill -9 lands mid-write). */
export function expectedObject(n: number): Uint8Array {
  const len = (4 + (n % 9)) * 1024 * 1024;
  const out = new Uint8Array(len);
  const seed = createHash('sha256').update(String(n)).digest();
  for (let i = 0; i < len; i += 32) out.set(seed.subarray(0, Math.min(32, len - i)), i);
  return out;
}
