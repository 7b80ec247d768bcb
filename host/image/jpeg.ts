// JPEG in and out for grayscale images through jpeg-js (8-bit baseline).
import jpeg from 'jpeg-js';
import type { GrayImage } from './png.js';
import { ImageFormatError } from './png.js';

export function hasJpegSignature(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Decodes a JPEG to 8-bit gray (the luma of colour JPEGs; R=G=B for gray ones). */
export function decodeGrayJpeg(bytes: Uint8Array): GrayImage {
  let raw;
  try {
    raw = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 2048, maxResolutionInMP: 400 });
  } catch (err) {
    throw new ImageFormatError(`cannot decode JPEG: ${(err as Error).message}`);
  }
  const n = raw.width * raw.height;
  const pixels = new Uint16Array(n);
  const d = raw.data;
  for (let i = 0; i < n; i++) {
    const r = d[4 * i]!, g = d[4 * i + 1]!, b = d[4 * i + 2]!;
    pixels[i] = r === g && g === b ? r : Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  return { rows: raw.height, cols: raw.width, bitsStored: 8, pixels };
}

/** Encodes an 8-bit gray image (values must be <= 255) as a baseline JPEG of the given quality (1-100). */
export function encodeGrayJpeg(img: GrayImage, quality: number): Uint8Array {
  const n = img.rows * img.cols;
  const data = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    const v = img.pixels[i]!;
    if (v > 255) throw new RangeError('encodeGrayJpeg needs 8-bit values; window the image first');
    data[4 * i] = v; data[4 * i + 1] = v; data[4 * i + 2] = v; data[4 * i + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ width: img.cols, height: img.rows, data }, quality).data);
}
