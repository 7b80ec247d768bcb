// Frames from files: raw little-endian uint16 (hashed in the core as the
// bytes stream off disk) or grayscale PNG.
import { createReadStream, statSync } from 'node:fs';
import { extname } from 'node:path';
import { Core } from '../core/wasm.js';
import { CoreSha256 } from '../core/hash.js';
import { decodeGrayPng, type GrayImage } from '../image/png.js';
import { readFileSync } from 'node:fs';
import { pixelBytes } from '../dicom/dx.js';

export interface Geometry {
  rows?: number;
  cols?: number;
  bitsStored?: number;
}

export interface LoadedFrame {
  frame: GrayImage;
  rawFrameSha256: Uint8Array;
}

export class FrameInputError extends Error {
  override name = 'FrameInputError';
}

export async function loadFrameFile(path: string, geometry: Geometry): Promise<LoadedFrame> {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') {
    const frame = decodeGrayPng(readFileSync(path), geometry.bitsStored);
    const hasher = new CoreSha256(new Core());
    return { frame, rawFrameSha256: hasher.update(pixelBytes(frame.pixels)).digest() };
  }
  if (ext === '.raw' || ext === '.bin') return loadRaw(path, geometry);
  throw new FrameInputError(`unsupported frame file "${path}": use .raw (uint16 little endian, with --rows/--cols/--bits-stored) or .png`);
}

async function loadRaw(path: string, g: Geometry): Promise<LoadedFrame> {
  const { rows, cols, bitsStored } = g;
  if (!rows || !cols || !bitsStored) throw new FrameInputError('a .raw frame needs --rows, --cols and --bits-stored');
  if (bitsStored < 6 || bitsStored > 16) throw new FrameInputError(`--bits-stored ${bitsStored} outside 6..16`);
  const expected = rows * cols * 2;
  const size = statSync(path).size;
  if (size !== expected) throw new FrameInputError(`${path} has ${size} bytes; ${rows}x${cols} uint16 needs ${expected}`);
  const core = new Core();
  const hasher = new CoreSha256(core);
  const pixels = new Uint16Array(rows * cols);
  const dst = new Uint8Array(pixels.buffer);
  let off = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer;
    hasher.update(bytes);
    dst.set(bytes, off);
    off += bytes.length;
  }
  const limit = 2 ** bitsStored;
  for (let i = 0; i < pixels.length; i++) {
    if (pixels[i]! >= limit) throw new FrameInputError(`pixel ${i} has value ${pixels[i]}, more than ${bitsStored} bits stored allow`);
  }
  return { frame: { rows, cols, bitsStored, pixels }, rawFrameSha256: hasher.digest() };
}
