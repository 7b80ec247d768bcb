// A DICOM Part 10 file's first frame as a GrayImage, for the watermark CLI:
// Rows, Columns, Bits Allocated/Stored, Samples per Pixel, Pixel Representation
// and native (uncompressed) Pixel Data. Compressed transfer syntaxes are refused
// with a plain reason (decompress first, e.g. dcmdjpeg / dcmj2pnm / opj).
import { readPart10, type ParsedFile } from '../dicom/reader.js';
import { isNativePixelSyntax } from '../dicom/transfer-syntax.js';
import { findElement, tag, type DataSet } from '../dicom/model.js';
import type { GrayImage } from './png.js';

const BIG_ENDIAN = '1.2.840.10008.1.2.2';

export function hasDicomSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

function us(ds: DataSet, g: number, e: number, big: boolean, name: string): number {
  const el = findElement(ds, tag(g, e));
  if (!el?.value || el.value.length < 2) throw new RangeError(`DICOM: ${name} missing`);
  return new DataView(el.value.buffer, el.value.byteOffset, 2).getUint16(0, !big);
}

export function readDicomGray(bytes: Uint8Array): GrayImage {
  return grayFromParsed(readPart10(bytes));
}

/** The first frame of a file already parsed (verify has parsed it; no second parse). */
export function grayFromParsed(f: ParsedFile): GrayImage {
  const ts = f.transferSyntaxUid.replace(/\0/g, '').trim();
  if (!isNativePixelSyntax(ts)) throw new RangeError(`DICOM: compressed transfer syntax ${ts}; decompress the file first (the watermark CLI reads native pixel data)`);
  const big = ts === BIG_ENDIAN;
  const ds = f.dataSet;
  const rows = us(ds, 0x0028, 0x0010, big, 'Rows'), cols = us(ds, 0x0028, 0x0011, big, 'Columns');
  const alloc = us(ds, 0x0028, 0x0100, big, 'Bits Allocated'), stored = us(ds, 0x0028, 0x0101, big, 'Bits Stored');
  const spp = findElement(ds, tag(0x0028, 0x0002)) ? us(ds, 0x0028, 0x0002, big, 'Samples per Pixel') : 1;
  const signed = findElement(ds, tag(0x0028, 0x0103)) ? us(ds, 0x0028, 0x0103, big, 'Pixel Representation') : 0;
  if (rows < 1 || cols < 1) throw new RangeError(`DICOM: the image is ${rows} x ${cols} pixels: no frame to read`);
  if (spp !== 1) throw new RangeError(`DICOM: ${spp} samples per pixel; only monochrome frames are supported`);
  if (signed !== 0) throw new RangeError('DICOM: signed pixel data (Pixel Representation 1) is not supported');
  if (alloc !== 8 && alloc !== 16) throw new RangeError(`DICOM: Bits Allocated ${alloc} not supported (8 or 16)`);
  if (stored < 8 || stored > alloc) throw new RangeError(`DICOM: Bits Stored ${stored} not supported`);
  const px = findElement(ds, tag(0x7fe0, 0x0010));
  if (!px?.value) throw new RangeError('DICOM: no native Pixel Data');
  const n = rows * cols, bpp = alloc / 8;
  if (px.value.length < n * bpp) throw new RangeError(`DICOM: Pixel Data holds ${px.value.length} bytes, one ${rows} x ${cols} frame needs ${n * bpp}`);
  const pixels = new Uint16Array(n);
  const mask = (1 << stored) - 1; // bits above Bits Stored (overlays, High Bit padding) are not image data
  if (bpp === 1) for (let i = 0; i < n; i++) pixels[i] = px.value[i]! & mask;
  else {
    const dv = new DataView(px.value.buffer, px.value.byteOffset, n * 2);
    for (let i = 0; i < n; i++) pixels[i] = dv.getUint16(2 * i, !big) & mask;
  }
  return { rows, cols, bitsStored: stored, pixels };
}
