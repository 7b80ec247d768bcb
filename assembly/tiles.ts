// Per-tile SHA-256 over a native 16-bit frame (or a band of whole tile rows of
// one): the localisation table of the capture attestation. A tile's hash is
// SHA-256 of its pixels' little-endian bytes, row by row, left to right; edge
// tiles are smaller when the frame is not a multiple of the tile size.
import { sha256ContextSize, sha256Init, sha256Update, sha256Final } from './sha256';
import { sha256x4ContextSize, sha256x4Init, sha256x4Block, sha256x4Final } from './sha256x4';

/** Bytes of the context tileSha256 needs (16-byte aligned): the four-lane context, then a scalar one. */
export function tileContextSize(): u32 {
  return sha256x4ContextSize() + sha256ContextSize();
}

/** One tile, scalar SHA-256: rows y0..y1 of `width` bytes from `start`. */
function hashTile(start: usize, y0: u32, y1: u32, stride: usize, width: usize, ctx: usize, out: usize): void {
  sha256Init(ctx);
  for (let y = y0; y < y1; y++) sha256Update(ctx, start + <usize>y * stride, width);
  sha256Final(ctx, out);
}

/**
 * Hashes every tile of the `rows` x `cols` uint16 frame at `pixels` with tiles
 * of `tile` x `tile` pixels, in row-major tile order, writing 32 bytes per tile
 * to `out`. `ctx` is tileContextSize() bytes, 16-byte aligned. Returns the
 * number of tiles written (0 when `tile` is 0).
 *
 * Whole tiles whose rows are whole SHA-256 blocks (tile a multiple of 32 px) are
 * hashed four at a time (sha256x4); the rest, edge tiles included, one at a time.
 * Both give the same digests (test/assembly/tiles.spec.ts, and node:crypto on the host).
 */
export function tileSha256(pixels: usize, rows: u32, cols: u32, tile: u32, ctx: usize, out: usize): u32 {
  if (tile == 0 || rows == 0 || cols == 0) return 0;
  const tileRows = (rows + tile - 1) / tile;
  const tileCols = (cols + tile - 1) / tile;
  const stride = <usize>cols << 1;
  const rowBytes = <usize>tile << 1;
  const scalarCtx = ctx + sha256x4ContextSize();
  // Tiles that are whole (not cut by the right edge) and whose rows are whole blocks.
  const wholeCols = (rowBytes & 63) == 0 ? cols / tile : 0;
  let o = out;
  for (let ty: u32 = 0; ty < tileRows; ty++) {
    const y0 = ty * tile;
    const y1 = min(y0 + tile, rows);
    let tx: u32 = 0;
    if (y1 - y0 == tile) {
      for (; tx + 4 <= wholeCols; tx += 4) {
        const p0 = pixels + (<usize>(tx * tile) << 1);
        sha256x4Init(ctx);
        for (let y = y0; y < y1; y++) {
          const r = p0 + <usize>y * stride;
          for (let b: usize = 0; b < rowBytes; b += 64) sha256x4Block(ctx, r + b, r + rowBytes + b, r + 2 * rowBytes + b, r + 3 * rowBytes + b);
        }
        sha256x4Final(ctx, <u64>(y1 - y0) * <u64>rowBytes, o);
        o += 128;
      }
    }
    for (; tx < tileCols; tx++) {
      const x0 = tx * tile;
      const width = <usize>min(tile, cols - x0) << 1;
      hashTile(pixels + (<usize>x0 << 1), y0, y1, stride, width, scalarCtx, o);
      o += 32;
    }
  }
  return tileRows * tileCols;
}

/** The same table, every tile one at a time (the reference the four-lane path is checked against). */
export function tileSha256Scalar(pixels: usize, rows: u32, cols: u32, tile: u32, ctx: usize, out: usize): u32 {
  if (tile == 0 || rows == 0 || cols == 0) return 0;
  const tileRows = (rows + tile - 1) / tile;
  const tileCols = (cols + tile - 1) / tile;
  const stride = <usize>cols << 1;
  let o = out;
  for (let ty: u32 = 0; ty < tileRows; ty++) {
    const y0 = ty * tile;
    const y1 = min(y0 + tile, rows);
    for (let tx: u32 = 0; tx < tileCols; tx++) {
      const x0 = tx * tile;
      hashTile(pixels + (<usize>x0 << 1), y0, y1, stride, <usize>min(tile, cols - x0) << 1, ctx, o);
      o += 32;
    }
  }
  return tileRows * tileCols;
}

/**
 * Copies every tile of the `rows` x `cols` uint16 region at `pixels` (rows `stride` pixels apart)
 * to `dst`, one tile after another in row-major tile order, each tile's rows in order and edge
 * tiles at their real size: `rows * cols * 2` bytes in all. Each tile is then one run of bytes, so
 * the host's SHA-256 (OpenSSL, with the CPU's SHA instructions) hashes it in one call instead of
 * one call per tile row; copying here is one memory.copy per tile row, which JavaScript cannot
 * match with per-row typed-array copies. Returns the number of tiles (0 when `tile` is 0 or
 * `stride` < `cols`).
 */
export function tileGather(pixels: usize, rows: u32, cols: u32, stride: u32, tile: u32, dst: usize): u32 {
  if (tile == 0 || rows == 0 || cols == 0 || stride < cols) return 0;
  const tileRows = (rows + tile - 1) / tile;
  const tileCols = (cols + tile - 1) / tile;
  const strideBytes = <usize>stride << 1;
  let d = dst;
  for (let ty: u32 = 0; ty < tileRows; ty++) {
    const y0 = ty * tile;
    const y1 = min(y0 + tile, rows);
    for (let tx: u32 = 0; tx < tileCols; tx++) {
      const x0 = tx * tile;
      const width = <usize>min(tile, cols - x0) << 1;
      let s = pixels + <usize>y0 * strideBytes + (<usize>x0 << 1);
      for (let y = y0; y < y1; y++) {
        memory.copy(d, s, width);
        d += width;
        s += strideBytes;
      }
    }
  }
  return tileRows * tileCols;
}
