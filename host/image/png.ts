// Grayscale PNG in and out (8- and 16-bit) through fast-png.
import { decode, encode } from 'fast-png';
import { readFileSync } from 'node:fs';

export interface GrayImage {
  rows: number;
  cols: number;
  /** Significant bits per pixel (8 for 8-bit PNG; for 16-bit, as given or inferred). */
  bitsStored: number;
  pixels: Uint16Array;
}

export class ImageFormatError extends Error {
  override name = 'ImageFormatError';
}

/** Smallest depth in {8, 10, 12, 14, 15, 16} that holds every value: a default when the file does not say. */
export function inferBitsStored(pixels: Uint16Array): number {
  let max = 0;
  for (let i = 0; i < pixels.length; i++) if (pixels[i]! > max) max = pixels[i]!;
  for (const bits of [8, 10, 12, 14, 15, 16]) if (max < 2 ** bits) return bits;
  return 16;
}

export function decodeGrayPng(bytes: Uint8Array, bitsStored?: number): GrayImage {
  let png;
  try {
    png = decode(bytes);
  } catch (err) {
    // The decoder's own words for a short file are about its buffer ("Offset is outside the bounds of the DataView").
    const short = err instanceof RangeError;
    throw new ImageFormatError(`cannot decode PNG: ${short ? `the file ends early (${bytes.length} bytes: truncated or not a PNG)` : (err as Error).message}`);
  }
  if (png.palette) throw new ImageFormatError('PNG is palette-indexed; a grayscale image is needed');
  if (png.channels !== 1 && png.channels !== 2) {
    throw new ImageFormatError(`PNG has ${png.channels} channels; a grayscale image (1 channel, optionally with alpha) is needed`);
  }
  if (png.depth !== 8 && png.depth !== 16) throw new ImageFormatError(`PNG bit depth ${png.depth} not supported (8 or 16)`);
  const n = png.width * png.height;
  const pixels = new Uint16Array(n);
  const src = png.data;
  for (let i = 0; i < n; i++) pixels[i] = src[i * png.channels]!;
  const bits = bitsStored ?? (png.depth === 8 ? 8 : inferBitsStored(pixels));
  if (png.depth === 8 && bits > 8) throw new ImageFormatError(`--bits-stored ${bits} exceeds the 8-bit PNG's depth`);
  const limit = 2 ** bits;
  for (let i = 0; i < n; i++) {
    if (pixels[i]! >= limit) throw new ImageFormatError(`pixel value ${pixels[i]} at index ${i} does not fit in ${bits} bits stored`);
  }
  return { rows: png.height, cols: png.width, bitsStored: bits, pixels };
}

export function readGrayImage(path: string, bitsStored?: number): GrayImage {
  return decodeGrayPng(readFileSync(path), bitsStored);
}

/** 16-bit grayscale PNG of the stored values, or 8-bit when bitsStored ≤ 8. */
export function encodeGrayPng(img: GrayImage): Uint8Array {
  const depth = img.bitsStored <= 8 ? 8 : 16;
  const data = depth === 8 ? Uint8Array.from(img.pixels) : img.pixels;
  return encode({ width: img.cols, height: img.rows, data, depth, channels: 1 });
}
