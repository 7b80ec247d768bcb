// Typed wrapper over the core's per-tile SHA-256 (assembly/tiles.ts). The
// frame is copied into core memory one band of tile rows at a time, so core
// memory holds one band, never the whole frame.
import { Core, type CoreExports } from './wasm.js';

type TileExports = CoreExports & {
  tileContextSize(): number;
  tileSha256(pixels: number, rows: number, cols: number, tile: number, ctx: number, out: number): number;
};

export interface TileGrid {
  /** Tile edge in pixels. */
  size: number;
  /** Number of tile rows and tile columns. */
  rows: number;
  cols: number;
}

export function tileGrid(imageRows: number, imageCols: number, size: number): TileGrid {
  return { size, rows: Math.ceil(imageRows / size), cols: Math.ceil(imageCols / size) };
}

let shared: Core | undefined;

/**
 * SHA-256 of every `size` x `size` tile of a native uint16 frame given as its
 * little-endian bytes (`rows * cols * 2`), row-major tile order, 32 bytes each.
 */
export function tileHashes(pixelBytes: Uint8Array, rows: number, cols: number, size: number, core?: Core): Uint8Array {
  if (!Number.isInteger(size) || size < 1 || size > 65535) throw new RangeError(`tile size ${size} outside 1..65535`);
  if (pixelBytes.length !== rows * cols * 2) throw new RangeError(`pixel data has ${pixelBytes.length} bytes, ${rows}x${cols} uint16 needs ${rows * cols * 2}`);
  const c = core ?? (shared ??= new Core());
  const x = c.exports as TileExports;
  const grid = tileGrid(rows, cols, size);
  const result = new Uint8Array(grid.rows * grid.cols * 32);
  const mark = c.mark();
  try {
    const ctx = c.alloc(x.tileContextSize());
    const bandBytes = size * cols * 2;
    const band = c.alloc(bandBytes);
    const out = c.alloc(grid.cols * 32);
    for (let ty = 0; ty < grid.rows; ty++) {
      const bandRows = Math.min(size, rows - ty * size);
      const start = ty * bandBytes;
      c.bytes(band, bandRows * cols * 2).set(pixelBytes.subarray(start, start + bandRows * cols * 2));
      const n = x.tileSha256(band, bandRows, cols, size, ctx, out);
      if (n !== grid.cols) throw new Error(`internal: core hashed ${n} tiles in a band, expected ${grid.cols}`);
      result.set(c.bytes(out, grid.cols * 32), ty * grid.cols * 32);
    }
  } finally {
    c.release(mark);
  }
  return result;
}

/** Tiles whose hashes differ, as [tileRow, tileCol], row-major. */
export function changedTiles(expected: Uint8Array, actual: Uint8Array, grid: TileGrid): [number, number][] {
  const out: [number, number][] = [];
  const n = grid.rows * grid.cols;
  for (let i = 0; i < n; i++) {
    const a = expected.subarray(i * 32, i * 32 + 32);
    const b = actual.subarray(i * 32, i * 32 + 32);
    let same = a.length === 32 && b.length === 32;
    for (let k = 0; same && k < 32; k++) same = a[k] === b[k];
    if (!same) out.push([Math.floor(i / grid.cols), i % grid.cols]);
  }
  return out;
}
