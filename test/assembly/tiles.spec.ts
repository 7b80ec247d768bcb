// The four-lane SHA-256 (sha256x4) against the scalar one, inside the core: four different
// messages of 1..9 blocks, and the tile table's four-lane path against the one-at-a-time
// reference on frames whose tiles take both paths (whole tiles, right and bottom edge tiles).
// The host checks the same tables against node:crypto (test/host/dicom/valid-objects.test.ts).
// The gather the host hashes tiles from: every pixel where the tile layout puts it, nothing past
// the end written, and each gathered tile hashing to its entry in the table.
import { sha256Init, sha256Update, sha256Final } from '../../assembly/sha256';
import { sha256x4ContextSize, sha256x4Init, sha256x4Block, sha256x4Final } from '../../assembly/sha256x4';
import { tileContextSize, tileGather, tileSha256, tileSha256Scalar } from '../../assembly/tiles';

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

/**
 * Where the tile layout puts pixel (y, x) of a `rows` x `cols` region, in pixels from the start:
 * the whole bands above, the band's tiles to the left, then the pixel's place inside its tile.
 */
function gatheredIndex(y: u32, x: u32, rows: u32, cols: u32, tile: u32): usize {
  const y0 = y - y % tile, x0 = x - x % tile;
  const bandRows = min(tile, rows - y0), width = min(tile, cols - x0);
  return <usize>y0 * cols + <usize>bandRows * x0 + <usize>(y - y0) * width + (x - x0);
}

describe('tileGather', () => {
  it('puts every pixel where the tile layout says, edge tiles at their real size, nothing past the end', () => {
    // [rows, cols, stride, tile]: edge tiles right and bottom, a region of a wider frame (stride >
    // cols), one-row frames, 1-px tiles, a tile larger than the frame, a frame of one pixel.
    const cases: u32[] = [200, 333, 333, 64, 70, 130, 151, 32, 1, 500, 500, 64, 1, 97, 120, 7, 13, 9, 9, 1, 70, 130, 130, 256, 1, 1, 1, 128, 64, 64, 64, 64];
    for (let c = 0; c < cases.length; c += 4) {
      const rows = cases[c], cols = cases[c + 1], stride = cases[c + 2], tile = cases[c + 3];
      const px = heap.alloc(<usize>rows * stride * 2);
      fill(px, <usize>rows * stride * 2, rows * 131 + cols);
      const bytes = <usize>rows * cols * 2;
      const dst = heap.alloc(bytes + 64);
      memory.fill(dst, 0xa5, bytes + 64);
      const n = ((rows + tile - 1) / tile) * ((cols + tile - 1) / tile);
      expect(tileGather(px, rows, cols, stride, tile, dst)).toBe(n);
      let misplaced = 0;
      for (let y: u32 = 0; y < rows; y++) {
        for (let x: u32 = 0; x < cols; x++) {
          if (load<u16>(dst + (gatheredIndex(y, x, rows, cols, tile) << 1)) != load<u16>(px + ((<usize>y * stride + x) << 1))) misplaced++;
        }
      }
      expect(misplaced).toBe(0, `${rows}x${cols}/${stride}/${tile}`);
      let past = 0;
      for (let i: usize = 0; i < 64; i++) if (load<u8>(dst + bytes + i) != 0xa5) past++;
      expect(past).toBe(0, `bytes written past the region, ${rows}x${cols}/${tile}`);
      heap.free(dst); heap.free(px);
    }
  });

  it('gathers tiles whose SHA-256 are the tile table\'s entries', () => {
    const rows: u32 = 150, cols: u32 = 200, tile: u32 = 64;
    const px = heap.alloc(<usize>rows * cols * 2);
    fill(px, <usize>rows * cols * 2, 77);
    const n = ((rows + tile - 1) / tile) * ((cols + tile - 1) / tile);
    const table = heap.alloc(<usize>n * 32), dst = heap.alloc(<usize>rows * cols * 2);
    const ctx = heap.alloc(tileContextSize() + 16);
    const aligned = (ctx + 15) & ~15;
    expect(tileSha256(px, rows, cols, tile, aligned, table)).toBe(n);
    expect(tileGather(px, rows, cols, cols, tile, dst)).toBe(n);
    let at = dst;
    for (let t: u32 = 0; t < n; t++) {
      const y0 = (t / 4) * tile, x0 = (t % 4) * tile;
      const len = <usize>min(tile, rows - y0) * min(tile, cols - x0) * 2;
      sha256Init(aligned);
      sha256Update(aligned, at, len);
      sha256Final(aligned, REF);
      expect(same(REF, table + (<usize>t << 5), 32)).toBe(true, `tile ${t}`);
      at += len;
    }
    expect(at).toBe(dst + <usize>rows * cols * 2);
    heap.free(ctx); heap.free(dst); heap.free(table); heap.free(px);
  });

  it('writes nothing and returns 0 for a zero tile, an empty frame or a stride shorter than a row', () => {
    const px = heap.alloc(64), dst = heap.alloc(64);
    fill(px, 64, 3);
    memory.fill(dst, 0xa5, 64);
    expect(tileGather(px, 4, 4, 4, 0, dst)).toBe(0);
    expect(tileGather(px, 0, 4, 4, 2, dst)).toBe(0);
    expect(tileGather(px, 4, 0, 4, 2, dst)).toBe(0);
    expect(tileGather(px, 4, 4, 3, 2, dst)).toBe(0);
    let touched = 0;
    for (let i: usize = 0; i < 64; i++) if (load<u8>(dst + i) != 0xa5) touched++;
    expect(touched).toBe(0);
    heap.free(dst); heap.free(px);
  });
});
