// The tile table: per-tile SHA-256 of a native uint16 frame (assembly/tiles.ts defines it). A
// frame that already lives in core memory (a capture frame slot) is read where it is; one held by
// JavaScript is copied in one band of tile rows at a time, so core memory holds one band, never
// the whole frame.
//
// On the host the tiles are hashed by node:crypto (OpenSSL, which uses the CPU's SHA instructions
// where there are any: about three times the core's four-lane SHA-256 on x86 with SHA-NI), after
// the core gathers each run of tiles into one contiguous piece of its memory (tileGather), so
// OpenSSL gets one call per tile, not one per tile row. The core's own table (tileSha256) stays:
// it is what an embedded runtime without OpenSSL uses, and the independent path the tests compare
// against (coreTileHashes / coreTileHashesAt).
import crypto, { createHash } from 'node:crypto';
import { Core, coreHolding, type CoreExports } from './wasm.js';

type TileExports = CoreExports & {
  tileContextSize(): number;
  tileSha256(pixels: number, rows: number, cols: number, tile: number, ctx: number, out: number): number;
  tileGather(pixels: number, rows: number, cols: number, stride: number, tile: number, dst: number): number;
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

/** Hashes the tiles of one band of whole tile rows (`bandRows` rows at `ptr` in core memory) into `into` at `at`. */
type BandHasher = (ptr: number, bandRows: number, into: Uint8Array, at: number) => void;
/**
 * Sets up a band hasher for `cols`-wide bands of `size`-px tiles in `core`. Its working space is
 * allocated here, before the hasher takes any view of core memory (growth detaches views).
 */
type TileEngine = (core: Core, cols: number, size: number) => BandHasher;

/** Core memory the tiles are gathered into, a run at a time: small enough to stay in cache between the copy and the hash. */
const GATHER_BYTES = 256 << 10;

/** SHA-256 of `bytes` written into `into` at `at`; crypto.hash (Node >= 20.12) skips the Hash object, createHash elsewhere. */
const sha256Into: (bytes: Uint8Array, into: Uint8Array, at: number) => void = typeof crypto.hash === 'function'
  ? (bytes, into, at) => into.set(crypto.hash('sha256', bytes, 'buffer'), at)
  : (bytes, into, at) => into.set(createHash('sha256').update(bytes).digest(), at);

const opensslEngine: TileEngine = (core, cols, size) => {
  const x = core.exports as TileExports;
  // A budgeted core never grows: gather into what its budget has left (tiles that do not fit are
  // hashed row by row where they lie).
  const room = core.budgetBytes === undefined ? GATHER_BYTES : Math.min(GATHER_BYTES, core.budgetBytes - core.mark() - 16);
  const gatherBytes = Math.max(0, Math.min(room, size * cols * 2));
  const gather = gatherBytes > 0 ? core.alloc(gatherBytes) : 0;
  return (ptr, bandRows, into, at) => {
    const memory = core.memory.buffer;
    const tileBytes = bandRows * size * 2;
    let o = at;
    for (let x0 = 0; x0 < cols;) {
      const edge = Math.min(size, cols - x0);
      if (bandRows * edge * 2 > gatherBytes) {
        const h = createHash('sha256');
        for (let y = 0; y < bandRows; y++) h.update(new Uint8Array(memory, ptr + (y * cols + x0) * 2, edge * 2));
        into.set(h.digest(), o);
        o += 32;
        x0 += edge;
        continue;
      }
      const width = Math.min(Math.max(1, Math.floor(gatherBytes / tileBytes)) * size, cols - x0);
      const n = x.tileGather(ptr + x0 * 2, bandRows, width, cols, size, gather);
      if (n !== Math.ceil(width / size)) throw new Error(`internal: core gathered ${n} tiles, expected ${Math.ceil(width / size)}`);
      for (let k = 0, s = gather; k < n; k++, o += 32) {
        const bytes = bandRows * Math.min(size, width - k * size) * 2;
        sha256Into(new Uint8Array(memory, s, bytes), into, o);
        s += bytes;
      }
      x0 += width;
    }
  };
};

const coreEngine: TileEngine = (core, cols, size) => {
  const x = core.exports as TileExports;
  const tileCols = Math.ceil(cols / size);
  const ctx = core.alloc(x.tileContextSize());
  const out = core.alloc(tileCols * 32);
  return (ptr, bandRows, into, at) => {
    const n = x.tileSha256(ptr, bandRows, cols, size, ctx, out);
    if (n !== tileCols) throw new Error(`internal: core hashed ${n} tiles in a band, expected ${tileCols}`);
    into.set(core.bytes(out, n * 32), at);
  };
};

function tableOf(engine: TileEngine, pixelBytes: Uint8Array, rows: number, cols: number, size: number, core?: Core): Uint8Array {
  checkGeometry(pixelBytes.length, rows, cols, size);
  const held = coreHolding(pixelBytes);
  if (held) return tableAt(engine, held.core, held.ptr, rows, cols, size);
  const c = core ?? (shared ??= new Core());
  const grid = tileGrid(rows, cols, size);
  const result = new Uint8Array(grid.rows * grid.cols * 32);
  const mark = c.mark();
  try {
    const rowBytes = cols * 2;
    const band = c.alloc(Math.min(size, rows) * rowBytes);
    const hashBand = engine(c, cols, size);
    for (let ty = 0; ty < grid.rows; ty++) {
      const y0 = ty * size;
      const bandRows = Math.min(size, rows - y0);
      c.bytes(band, bandRows * rowBytes).set(pixelBytes.subarray(y0 * rowBytes, (y0 + bandRows) * rowBytes));
      hashBand(band, bandRows, result, ty * grid.cols * 32);
    }
  } finally {
    c.release(mark);
  }
  return result;
}

function tableAt(engine: TileEngine, core: Core, ptr: number, rows: number, cols: number, size: number): Uint8Array {
  checkGeometry(rows * cols * 2, rows, cols, size);
  if (!Number.isInteger(ptr) || ptr < 0 || ptr + rows * cols * 2 > core.memory.buffer.byteLength) {
    throw new RangeError(`radseal tiles: frame at ${ptr} (+${rows * cols * 2} bytes) is outside core memory`);
  }
  const grid = tileGrid(rows, cols, size);
  const result = new Uint8Array(grid.rows * grid.cols * 32);
  const mark = core.mark();
  try {
    const hashBand = engine(core, cols, size);
    for (let ty = 0; ty < grid.rows; ty++) {
      const y0 = ty * size;
      hashBand(ptr + y0 * cols * 2, Math.min(size, rows - y0), result, ty * grid.cols * 32);
    }
  } finally {
    core.release(mark);
  }
  return result;
}

/**
 * SHA-256 of every `size` x `size` tile of a native uint16 frame given as its
 * little-endian bytes (`rows * cols * 2`), row-major tile order, 32 bytes each.
 * Bytes that live in core memory are read in place (in their own core), others
 * are copied into `core` (default: one shared core) a band of tile rows at a time.
 */
export function tileHashes(pixelBytes: Uint8Array, rows: number, cols: number, size: number, core?: Core): Uint8Array {
  return tableOf(opensslEngine, pixelBytes, rows, cols, size, core);
}

/** The tile table of a frame already in `core`'s memory at `ptr`, read in place (no copy of the pixels). */
export function tileHashesAt(core: Core, ptr: number, rows: number, cols: number, size: number): Uint8Array {
  return tableAt(opensslEngine, core, ptr, rows, cols, size);
}

/** tileHashes computed entirely by the core's SHA-256 (four tiles at a time), as a runtime without OpenSSL does. */
export function coreTileHashes(pixelBytes: Uint8Array, rows: number, cols: number, size: number, core?: Core): Uint8Array {
  return tableOf(coreEngine, pixelBytes, rows, cols, size, core);
}

/** tileHashesAt computed entirely by the core's SHA-256. */
export function coreTileHashesAt(core: Core, ptr: number, rows: number, cols: number, size: number): Uint8Array {
  return tableAt(coreEngine, core, ptr, rows, cols, size);
}

/** Domain separation of the tile digest: what the hashed bytes are, so they can mean nothing else. */
const TILE_DIGEST_LABEL = 'radseal tile digest 1\0';

/**
 * The tile digest: SHA-256 over a label, the frame geometry (rows, columns, tile edge, each
 * uint32 big endian) and the tile table. With the table complete and the geometry bound, it
 * commits to every pixel exactly as SHA-256 of the whole frame does, but is computed from the
 * table, one small hash per tile (attestation format 3, docs/CONFORMANCE.md).
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
