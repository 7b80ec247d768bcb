// Binary PGM (P5) read/write, 8- or 16-bit: the format opj_compress and
// opj_decompress take for grayscale. Only for codec round trips.
import type { GrayImage } from './png.js';
import { ImageFormatError } from './png.js';

export function encodePgm(img: GrayImage): Uint8Array {
  const maxv = 2 ** img.bitsStored - 1;
  const header = Buffer.from(`P5\n${img.cols} ${img.rows}\n${maxv}\n`, 'ascii');
  const wide = maxv > 255;
  const body = Buffer.alloc(img.rows * img.cols * (wide ? 2 : 1));
  for (let i = 0; i < img.pixels.length; i++) {
    if (wide) body.writeUInt16BE(img.pixels[i]!, 2 * i);
    else body[i] = img.pixels[i]!;
  }
  return Buffer.concat([header, body]);
}

export function decodePgm(bytes: Uint8Array): GrayImage {
  const text = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 200))).toString('latin1');
  const m = /^P5\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(text);
  if (!m) throw new ImageFormatError('not a binary PGM (P5)');
  const cols = Number(m[1]), rows = Number(m[2]), maxv = Number(m[3]);
  const off = m[0].length;
  const wide = maxv > 255;
  const pixels = new Uint16Array(rows * cols);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < pixels.length; i++) pixels[i] = wide ? buf.readUInt16BE(off + 2 * i) : buf[off + i]!;
  return { rows, cols, bitsStored: Math.max(8, Math.ceil(Math.log2(maxv + 1))), pixels };
}
