// Typed wrapper over the core's per-tile SHA-256 (assembly/tiles.ts). A frame
// that already lives in core memory (a capture frame slot) is hashed where it
// is; one held by JavaScript is copied in one band of tile rows at a time, so
// core memory holds one band, never the whole frame.
import { createHash } from 'node:crypto';
import { Core, coreHolding, type CoreExports } from './wasm.js';

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

function checkGeometry(byteLength: number, rows: number, cols: number, size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > 65535) throw new RangeError(`tile size ${size} outside 1..65535`);
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) throw new RangeError(`frame geometry ${rows}x${cols} is not a positive whole number of rows and columns`);
  if (byteLength !== rows * cols * 2) throw new RangeError(`pixel data has ${byteLength} bytes, ${rows}x${cols} uint16 needs ${rows * cols * 2}`);
}

/**
 * SHA-256 of every `size` x `size` tile of a native uint16 frame given as its
 * little-endian bytes (`rows * cols * 2`), row-major tile order, 32 bytes each.
 * Bytes that live in core memory are hashed in place (in their own core), others
 * are copied into `core` (default: one shared core) a band of tile rows at a time.
 */
export function tileHashes(pixelBytes: Uint8Array, rows: number, cols: number, size: number, core?: Core): Uint8Array {
  checkGeometry(pixelBytes.length, rows, cols, size);
  const held = coreHolding(pixelBytes);
  if (held) return tileHashesAt(held.core, held.ptr, rows, cols, size);
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

/** The tile table of a frame already in `core`'s memory at `ptr`, hashed in place (no copy of the pixels). */
export function tileHashesAt(core: Core, ptr: number, rows: number, cols: number, size: number): Uint8Array {
  checkGeometry(rows * cols * 2, rows, cols, size);
  if (!Number.isInteger(ptr) || ptr < 0 || ptr + rows * cols * 2 > core.memory.buffer.byteLength) {
    throw new RangeError(`radseal tiles: frame at ${ptr} (+${rows * cols * 2} bytes) is outside core memory`);
  }
  const x = core.exports as TileExports;
  const grid = tileGrid(rows, cols, size);
  const mark = core.mark();
  try {
    const ctx = core.alloc(x.tileContextSize());
    const out = core.alloc(grid.rows * grid.cols * 32);
    const n = x.tileSha256(ptr, rows, cols, size, ctx, out);
    if (n !== grid.rows * grid.cols) throw new Error(`internal: core hashed ${n} tiles, expected ${grid.rows * grid.cols}`);
    return core.bytes(out, n * 32).slice();
  } finally {
    core.release(mark);
  }
}

/** Domain separation of the tile digest: what the hashed bytes are, so they can mean nothing else. */
const TILE_DIGEST_LABEL = 'radseal tile digest 1\0';

/**
 * The tile digest: SHA-256 over a label, the frame geometry (rows, columns, tile edge, each
 * uint32 big endian) and the tile table. With the table complete and the geometry bound, it
 * commits to every pixel exactly as SHA-256 of the whole frame does, but is computed from the
 * table, which the core hashes four tiles at a time (attestation format 3, docs/CONFORMANCE.md).
 */
export function tileDigest(hashes: Uint8Array, rows: number, cols: number, size: number): Uint8Array {
  const grid = tileGrid(rows, cols, size);
  if (hashes.length !== grid.rows * grid.cols * 32) throw new RangeError(`tile table has ${hashes.length} bytes, a ${rows}x${cols} frame in ${size}-px tiles needs ${grid.rows * grid.cols * 32}`);
  const geometry = new Uint8Array(12);
  const v = new DataView(geometry.buffer);
  v.setUint32(0, rows);
  v.setUint32(4, cols);
  v.setUint32(8, size);
  return new Uint8Array(createHash('sha256').update(TILE_DIGEST_LABEL).update(geometry).update(hashes).digest());
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
