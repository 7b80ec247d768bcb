// The four-lane SHA-256 (sha256x4) against the scalar one, inside the core: four different
// messages of 1..9 blocks, and the tile table's four-lane path against the one-at-a-time
// reference on frames whose tiles take both paths (whole tiles, right and bottom edge tiles).
// The host checks the same tables against node:crypto (test/host/dicom/valid-objects.test.ts).
import { sha256Init, sha256Update, sha256Final } from '../../assembly/sha256';
import { sha256x4ContextSize, sha256x4Init, sha256x4Block, sha256x4Final } from '../../assembly/sha256x4';
import { tileContextSize, tileSha256, tileSha256Scalar } from '../../assembly/tiles';

const CTX: usize = memory.data(2048, 16);
const OUT: usize = memory.data(128, 16);
const REF: usize = memory.data(32, 16);

/** Deterministic bytes (xorshift32) so the four messages differ. */
function fill(p: usize, n: usize, seed: u32): void {
  let x = seed | 1;
  for (let i: usize = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    store<u8>(p + i, <u8>x);
  }
}

function same(a: usize, b: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

describe('sha256x4', () => {
  it('gives the scalar digest of each of four different messages', () => {
    expect(sha256x4ContextSize()).toBeLessThanOrEqual(2048);
    for (let blocks: usize = 1; blocks <= 9; blocks++) {
      const len = blocks << 6;
      const msgs = heap.alloc(4 * len);
      for (let k: usize = 0; k < 4; k++) fill(msgs + k * len, len, <u32>(blocks * 7 + k));
      sha256x4Init(CTX);
      for (let b: usize = 0; b < len; b += 64) sha256x4Block(CTX, msgs + b, msgs + len + b, msgs + 2 * len + b, msgs + 3 * len + b);
      sha256x4Final(CTX, <u64>len, OUT);
      for (let k: usize = 0; k < 4; k++) {
        sha256Init(CTX + 1536);
        sha256Update(CTX + 1536, msgs + k * len, len);
        sha256Final(CTX + 1536, REF);
        expect(same(OUT + (k << 5), REF, 32)).toBe(true, `message ${k} of ${blocks} blocks`);
      }
      heap.free(msgs);
    }
  });
});

describe('tileSha256', () => {
  it('equals the one-at-a-time table, four-lane and edge tiles alike', () => {
    // [rows, cols, tile]: 32- and 64-px tiles (four-lane) with partial groups and edges; 48 px (rows of
    // 96 bytes, scalar only); a frame narrower than four tiles.
    const cases: u32[] = [200, 333, 32, 256, 576, 64, 130, 70, 64, 100, 500, 48, 64, 200, 64];
    for (let c = 0; c < cases.length; c += 3) {
      const rows = cases[c], cols = cases[c + 1], tile = cases[c + 2];
      const px = heap.alloc(<usize>rows * cols * 2);
      fill(px, <usize>rows * cols * 2, rows ^ (cols << 8));
      const n = ((rows + tile - 1) / tile) * ((cols + tile - 1) / tile);
      const a = heap.alloc(<usize>n * 32), b = heap.alloc(<usize>n * 32);
      const ctx = heap.alloc(tileContextSize() + 16);
      const aligned = (ctx + 15) & ~15;
      expect(tileSha256(px, rows, cols, tile, aligned, a)).toBe(n);
      expect(tileSha256Scalar(px, rows, cols, tile, aligned, b)).toBe(n);
      expect(same(a, b, <usize>n * 32)).toBe(true, `${rows}x${cols}/${tile}`);
      heap.free(ctx); heap.free(b); heap.free(a); heap.free(px);
    }
  });
});
