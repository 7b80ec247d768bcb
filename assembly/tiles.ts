// Per-tile SHA-256 over a native 16-bit frame (or a band of whole tile rows of
// one): the localisation table of the capture attestation. A tile's hash is
// SHA-256 of its pixels' little-endian bytes, row by row, left to right; edge
// tiles are smaller when the frame is not a multiple of the tile size.
import { sha256Init, sha256Update, sha256Final } from './sha256';

/**
 * Hashes every tile of the `rows` x `cols` uint16 frame at `pixels` with tiles
 * of `tile` x `tile` pixels, in row-major tile order, writing 32 bytes per tile
 * to `out`. `ctx` is a SHA-256 context (sha256ContextSize bytes). Returns the
 * number of tiles written (0 when `tile` is 0).
 */
export function tileSha256(pixels: usize, rows: u32, cols: u32, tile: u32, ctx: usize, out: usize): u32 {
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
      const width = <usize>min(tile, cols - x0) << 1;
      const start = pixels + (<usize>x0 << 1);
      sha256Init(ctx);
      for (let y = y0; y < y1; y++) sha256Update(ctx, start + <usize>y * stride, width);
      sha256Final(ctx, o);
      o += 32;
    }
  }
  return tileRows * tileCols;
}
