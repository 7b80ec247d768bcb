// Frames from files: raw little-endian uint16, read straight into the core's memory (no
// JavaScript copy of the frame) and hashed piece by piece as it comes off disk, or grayscale PNG.
// The next pieces are read on the thread pool while the one in hand is hashed (raw SHA-256, tile
// table, min/max), so a seal from a file waits for the disk or the hashing, not for both in turn.
//
// The raw frame's SHA-256 (attestation (0009,1004)) of a file is taken with node:crypto, not the
// core. In capture the core hashes the frame as it streams in from the detector link, before the
// host holds it whole (DESIGN.md §2); a file never passed through a link: the host's own file
// system already holds every byte, so which code computes the same SHA-256 of them attests
// nothing different, and OpenSSL's (SHA-NI) takes ~12 ms per 3072² frame where the core's serial
// SHA-256 takes ~60. Either way it is the file's SHA-256 (test/host/seal/frame-file.test.ts).
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, read as readCallback } from 'node:fs';
import { promisify } from 'node:util';
import { extname } from 'node:path';
import { Core } from '../core/wasm.js';
import { pixelRange, type PixelRange } from '../core/range.js';
import { tileGrid, tileHashes } from '../core/tiles.js';
import type { GrayImage } from '../image/png.js';

export interface Geometry {
  rows?: number;
  cols?: number;
  bitsStored?: number;
  /**
   * Core memory a raw frame's core keeps beside the frame (default FRAME_CORE_RESERVE_BYTES, room
   * for the watermark): a seal that embeds no watermark needs only sealCoreReserveBytes().
   */
  coreReserveBytes?: number;
  /** With a raw frame: its tile table at this tile size is taken as it is read (0 or absent: none). */
  tileSize?: number;
}

export interface LoadedFrame {
  frame: GrayImage;
  rawFrameSha256: Uint8Array;
  /** A raw frame's smallest and largest value, found as it was read. */
  range?: PixelRange;
  /** A raw frame's tile table, hashed as it was read, when the geometry asked for one. */
  tiles?: { size: number; hashes: Uint8Array };
}

export class FrameInputError extends Error {
  override name = 'FrameInputError';
}

/**
 * Core memory beside a raw frame: the hashing context, the tile table and the watermark's working
 * space. The frame's core is fixed at frame + this (grown once, never again), so the frame's view
 * is never detached while the seal reads it; untouched pages cost no memory.
 */
export const FRAME_CORE_RESERVE_BYTES = 48 << 20;

/** Beside the tile table, what a seal's core work needs: hashing contexts, the min/max, alignment. */
const SEAL_WORK_BYTES = 1 << 20;

/**
 * Core memory beside a `rows` x `cols` frame for a seal that embeds no watermark: its tile table
 * at `tileSize` (0: none) and the hashing contexts. Keeping the frame's core this small matters
 * beyond memory: growing WebAssembly memory past V8's external-memory limit (64 MiB) starts a full
 * garbage collection (about 10 ms) in the middle of the seal.
 */
export function sealCoreReserveBytes(rows: number, cols: number, tileSize: number): number {
  const table = tileSize > 0 ? Math.ceil(rows / tileSize) * Math.ceil(cols / tileSize) * 32 : 0;
  return table + SEAL_WORK_BYTES;
}

/** Bytes read (and hashed) per step: large enough that calls cost nothing, small enough to stay in cache. */
const READ_PIECE_BYTES = 1 << 20;
/** Pieces being read on the thread pool while one is hashed: enough to keep the disk (or page cache) busy. */
const READS_AHEAD = 2;
const read = promisify(readCallback);

/**
 * The frame in `path`. A raw frame's pixels are a view of core memory (the core that hashes, tiles
 * and watermarks them works on them where they are); a PNG's are decoded in JavaScript.
 */
export async function loadFrameFile(path: string, geometry: Geometry): Promise<LoadedFrame> {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') {
    const [{ decodeGrayPng }, { readFileSync }, { pixelBytes }] = await Promise.all([import('../image/png.js'), import('node:fs'), import('../dicom/dx.js')]);
    const frame = decodeGrayPng(readFileSync(path), geometry.bitsStored);
    return { frame, rawFrameSha256: new Uint8Array(createHash('sha256').update(pixelBytes(frame.pixels)).digest()) };
  }
  if (ext === '.raw' || ext === '.bin') return loadRaw(path, geometry);
  throw new FrameInputError(`unsupported frame file "${path}": use .raw (uint16 little endian, with --rows/--cols/--bits-stored) or .png`);
}

function openFrame(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FrameInputError(`cannot read frame ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? 'I/O error'}`);
  }
}

async function loadRaw(path: string, g: Geometry): Promise<LoadedFrame> {
  const { rows, cols, bitsStored, coreReserveBytes = FRAME_CORE_RESERVE_BYTES, tileSize = 0 } = g;
  if (!rows || !cols || !bitsStored) throw new FrameInputError('a .raw frame needs --rows, --cols and --bits-stored');
  if (bitsStored < 6 || bitsStored > 16) throw new FrameInputError(`--bits-stored ${bitsStored} outside 6..16`);
  const expected = rows * cols * 2;
  const fd = openFrame(path);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FrameInputError(`${path} is not a regular file`);
    if (st.size !== expected) throw new FrameInputError(`${path} has ${st.size} bytes; ${rows}x${cols} uint16 needs ${expected}`);
    const core = new Core({ budgetBytes: expected + coreReserveBytes });
    const ptr = core.alloc(expected);
    const dst = core.bytes(ptr, expected);
    const hasher = createHash('sha256');
    // Pieces of whole tile rows, so each piece's tiles are hashed as soon as it is in.
    const bandBytes = tileSize > 0 ? Math.min(tileSize, rows) * cols * 2 : 2;
    const pieceBytes = Math.max(1, Math.round(READ_PIECE_BYTES / bandBytes)) * bandBytes;
    const grid = tileSize > 0 ? tileGrid(rows, cols, tileSize) : undefined;
    const table = grid && new Uint8Array(grid.rows * grid.cols * 32);
    let min = 0xffff;
    let max = 0;
    // The next pieces are read on the thread pool while the one in hand is hashed here.
    const ahead: Promise<void>[] = [];
    const readAt = (off: number) => readFully(fd, dst, off, Math.min(pieceBytes, expected - off), path);
    for (let off = 0, k = 0; k < READS_AHEAD && off < expected; k++, off += pieceBytes) ahead.push(readAt(off));
    try {
      for (let off = 0; off < expected; off += pieceBytes) {
        await ahead.shift();
        const next = off + READS_AHEAD * pieceBytes;
        if (next < expected) ahead.push(readAt(next));
        const n = Math.min(pieceBytes, expected - off);
        const piece = dst.subarray(off, off + n);
        hasher.update(piece); // while the piece is in cache
        const r = pixelRange(new Uint16Array(core.memory.buffer, ptr + off, n / 2));
        if (r.min < min) min = r.min;
        if (r.max > max) max = r.max;
        if (table) table.set(tileHashes(piece, n / (cols * 2), cols, tileSize), (off / bandBytes) * grid!.cols * 32);
      }
    } catch (err) {
      // The reads still in flight end before the file is closed (its descriptor could be reused under them).
      await Promise.allSettled(ahead);
      throw err;
    }
    const pixels = new Uint16Array(core.memory.buffer, ptr, rows * cols);
    // The core's min/max shows whether any pixel is too high; only then is the culprit looked for.
    if (max >>> bitsStored !== 0) {
      const over = firstPixelAbove(pixels, bitsStored);
      throw new FrameInputError(`pixel ${over} has value ${pixels[over]}, more than ${bitsStored} bits stored allow`);
    }
    return {
      frame: { rows, cols, bitsStored, pixels },
      rawFrameSha256: new Uint8Array(hasher.digest()),
      range: { min, max },
      tiles: table && { size: tileSize, hashes: table },
    };
  } finally {
    closeSync(fd);
  }
}

/** `length` bytes of the file at `off` into `dst` at `off`, on the thread pool. */
async function readFully(fd: number, dst: Uint8Array, off: number, length: number, path: string): Promise<void> {
  for (let done = 0; done < length;) {
    const { bytesRead } = await read(fd, dst, off + done, length - done, off + done);
    if (bytesRead === 0) throw new FrameInputError(`${path} ended after ${off + done} of ${dst.length} bytes (it changed while being read)`);
    done += bytesRead;
  }
}

/**
 * The index of the first pixel that needs more than `bitsStored` bits, or -1. Two pixels at a time:
 * the OR of every 32-bit word shows whether any bit above bitsStored is set in either half, and
 * only then is the culprit looked for.
 */
export function firstPixelAbove(pixels: Uint16Array, bitsStored: number): number {
  if (bitsStored >= 16) return -1;
  const high = (0xffff << bitsStored) & 0xffff;
  const pairs = pixels.length >>> 1;
  const aligned = (pixels.byteOffset & 3) === 0;
  let any = pixels.length & 1 ? pixels[pixels.length - 1]! : 0;
  if (aligned) {
    const words = new Uint32Array(pixels.buffer, pixels.byteOffset, pairs);
    any |= orOf(words);
    any = (any | (any >>> 16)) & 0xffff;
  } else {
    any |= orOf(pixels);
  }
  if ((any & high) === 0) return -1;
  for (let i = 0; i < pixels.length; i++) if (pixels[i]! & high) return i;
  return -1;
}

function orOf(values: Uint32Array | Uint16Array): number {
  let acc = 0;
  for (let i = 0; i < values.length; i++) acc |= values[i]!;
  return acc >>> 0;
}
