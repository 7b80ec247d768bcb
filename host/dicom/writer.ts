// Explicit VR Little Endian encoder and Part 10 file writer (PS3.5 7.1.2,
// PS3.10 7.1). Sequences and items are written with defined lengths so a
// reader never has to search for delimiters.
import { type DataSet, type Element, hasLongLength, tag, PIXEL_DATA } from './model.js';
import { encodeString, encodeUL, ob, str } from './values.js';
import { UID } from './uids.js';

const ITEM = tag(0xfffe, 0xe000);
const SEQUENCE_DELIMITATION = tag(0xfffe, 0xe0dd);

function itemLength(item: DataSet): number {
  let n = 0;
  for (const el of item) n += elementLength(el);
  return n;
}

function valueLength(el: Element): number {
  if (el.vr === 'SQ') return (el.items ?? []).reduce((n, item) => n + 8 + itemLength(item), 0);
  if (el.fragments) return encapsulatedLength(el.fragments);
  return el.value?.length ?? 0;
}

/** Encapsulated Pixel Data as encoded: each fragment an item (tag, length, bytes), then the sequence delimitation. */
export function encapsulatedLength(fragments: Uint8Array[]): number {
  return fragments.reduce((n, f) => n + 8 + f.length, 8);
}

export function elementLength(el: Element): number {
  return (hasLongLength(el.vr) ? 12 : 8) + valueLength(el);
}

export function dataSetLength(ds: DataSet): number {
  return itemLength(ds);
}

function writeTag(dv: DataView, off: number, t: number): number {
  dv.setUint16(off, t >>> 16, true);
  dv.setUint16(off + 2, t & 0xffff, true);
  return off + 4;
}

function writeElement(out: Uint8Array, dv: DataView, off: number, el: Element): number {
  off = writeTag(dv, off, el.tag);
  out[off] = el.vr.charCodeAt(0);
  out[off + 1] = el.vr.charCodeAt(1);
  const len = valueLength(el);
  if (hasLongLength(el.vr)) {
    dv.setUint16(off + 2, 0, true);
    // Encapsulated Pixel Data always has an undefined length (PS3.5 A.4).
    dv.setUint32(off + 4, el.fragments ? 0xffffffff : len, true);
    off += 8;
  } else {
    if (len > 0xffff) throw new RangeError(`value of ${el.vr} element too long for a 16-bit length`);
    dv.setUint16(off + 2, len, true);
    off += 4;
  }
  if (el.vr === 'SQ') {
    for (const item of el.items ?? []) {
      off = writeTag(dv, off, ITEM);
      dv.setUint32(off, itemLength(item), true);
      off = writeDataSet(out, dv, off + 4, item);
    }
  } else if (el.fragments) {
    off = writeFragments(out, dv, off, el.fragments);
  } else if (el.value) {
    if (el.value.length % 2) throw new RangeError(`odd-length value for ${el.vr} element`);
    out.set(el.value, off);
    off += el.value.length;
  }
  return off;
}

function writeFragments(out: Uint8Array, dv: DataView, off: number, fragments: Uint8Array[]): number {
  for (const f of fragments) {
    off = writeTag(dv, off, ITEM);
    dv.setUint32(off, f.length, true);
    out.set(f, off + 4);
    off += 4 + f.length;
  }
  off = writeTag(dv, off, SEQUENCE_DELIMITATION);
  dv.setUint32(off, 0, true);
  return off + 4;
}

/** The encoded value of encapsulated Pixel Data (items and delimitation): what the proxy hashes as received. */
export function encodeFragments(fragments: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(encapsulatedLength(fragments));
  writeFragments(out, new DataView(out.buffer), 0, fragments);
  return out;
}

function writeDataSet(out: Uint8Array, dv: DataView, off: number, ds: DataSet): number {
  let prev = -1;
  for (const el of ds) {
    if (el.tag <= prev) throw new Error('data set elements out of tag order');
    prev = el.tag;
    off = writeElement(out, dv, off, el);
  }
  return off;
}

export function encodeDataSet(ds: DataSet): Uint8Array {
  const out = new Uint8Array(dataSetLength(ds));
  writeDataSet(out, new DataView(out.buffer), 0, ds);
  return out;
}

export interface FileMeta {
  sopClassUid: string;
  sopInstanceUid: string;
  /** Transfer syntax of the data set; radseal writes Explicit VR Little Endian. */
  transferSyntaxUid?: string;
  /** Source Application Entity Title (0002,0016): who sent a received object. */
  sourceAeTitle?: string;
}

/** File Meta Information (group 0002); it is always Explicit VR Little Endian itself. */
export function fileMetaGroup(meta: FileMeta): DataSet {
  const body: DataSet = [
    ob(tag(0x0002, 0x0001), new Uint8Array([0, 1])),
    str(tag(0x0002, 0x0002), 'UI', meta.sopClassUid),
    str(tag(0x0002, 0x0003), 'UI', meta.sopInstanceUid),
    str(tag(0x0002, 0x0010), 'UI', meta.transferSyntaxUid ?? UID.explicitVrLittleEndian),
    str(tag(0x0002, 0x0012), 'UI', UID.implementationClass),
    str(tag(0x0002, 0x0013), 'SH', UID.implementationVersionName),
    ...(meta.sourceAeTitle ? [str(tag(0x0002, 0x0016), 'AE', meta.sourceAeTitle)] : []),
  ];
  return [{ tag: tag(0x0002, 0x0000), vr: 'UL', value: encodeUL([dataSetLength(body)]) }, ...body];
}

/** A complete Part 10 file: 128-byte preamble, "DICM", meta group, data set. */
export function encodePart10(meta: FileMeta, ds: DataSet): Uint8Array {
  const metaGroup = fileMetaGroup(meta);
  const metaLen = dataSetLength(metaGroup);
  const out = new Uint8Array(132 + metaLen + dataSetLength(ds));
  const dv = new DataView(out.buffer);
  out.set([0x44, 0x49, 0x43, 0x4d], 128); // "DICM"
  let off = writeDataSet(out, dv, 132, metaGroup);
  off = writeDataSet(out, dv, off, ds);
  if (off !== out.length) throw new Error('internal: Part 10 length mismatch');
  return out;
}


/** A Part 10 file as three pieces: everything up to Pixel Data's value, that value where it lies, the rest. */
interface PixelSplit {
  head: Uint8Array;
  value: Uint8Array;
  tail: Uint8Array;
}

/**
 * Encodes the file around a native Pixel Data value without touching the value: the head
 * (preamble, meta group, the elements before Pixel Data and its own tag and length) and the tail
 * (the elements after it), each in a fresh buffer. Null when Pixel Data is absent, encapsulated
 * or of odd length.
 */
function splitAtPixels(meta: FileMeta, ds: DataSet): PixelSplit | null {
  const at = ds.findIndex((e) => e.tag === PIXEL_DATA);
  const pixel = ds[at];
  const value = pixel?.value;
  if (!pixel || !value || pixel.fragments || !hasLongLength(pixel.vr) || value.length % 2) return null;
  const before = ds.slice(0, at);
  const after = ds.slice(at + 1);
  if (before.some((e) => e.tag >= PIXEL_DATA) || after.some((e) => e.tag <= PIXEL_DATA)) throw new Error('data set elements out of tag order');
  const metaGroup = fileMetaGroup(meta);
  const headLength = 132 + dataSetLength(metaGroup) + dataSetLength(before) + 12;
  const head = new Uint8Array(headLength);
  const dv = new DataView(head.buffer);
  head.set([0x44, 0x49, 0x43, 0x4d], 128); // "DICM"
  let off = writeDataSet(head, dv, 132, metaGroup);
  off = writeDataSet(head, dv, off, before);
  off = writeTag(dv, off, PIXEL_DATA);
  head[off] = pixel.vr.charCodeAt(0);
  head[off + 1] = pixel.vr.charCodeAt(1);
  dv.setUint16(off + 2, 0, true);
  dv.setUint32(off + 4, value.length, true);
  if (off + 8 !== headLength) throw new Error('internal: Part 10 head length mismatch');
  return { head, value, tail: encodeDataSet(after) };
}

/**
 * encodePart10 as pieces to be written one after the other (writeFileAtomic takes them): the
 * head, the native Pixel Data value itself (a view of the caller's pixels, not a copy) and the
 * tail. Their concatenation is exactly encodePart10's bytes. Saves the 19 MB copy of a large
 * radiograph into the object and that buffer's fresh pages; the caller must leave the pixels
 * untouched until the pieces are written. One piece (encodePart10's) when Pixel Data is absent
 * or encapsulated.
 */
export function encodePart10Parts(meta: FileMeta, ds: DataSet): Uint8Array[] {
  const split = splitAtPixels(meta, ds);
  return split ? [split.head, split.value, split.tail] : [encodePart10(meta, ds)];
}

/**
 * encodePart10 without copying the native Pixel Data value (19 MB for a large
 * radiograph) when that value lies in a buffer with room before and after it, as a
 * received object does (host/net/scp.ts `room`): the file is encoded around the
 * value where it lies, overwriting the rest of that buffer, and is a view of it.
 * Only for a caller that owns the buffer and needs none of its other bytes any
 * more. Null when there is not room enough (then encodePart10 copies). `room`:
 * the byte range of the value's buffer the caller owns (default: all of it).
 */
export function encodePart10AroundPixels(meta: FileMeta, ds: DataSet, room?: { start: number; end: number }): Uint8Array | null {
  const split = splitAtPixels(meta, ds);
  if (!split) return null;
  // Head and tail are encoded apart first: their elements' values may lie in the bytes about to be overwritten.
  const { head, value, tail } = split;
  const start = value.byteOffset - head.length;
  const end = value.byteOffset + value.length + tail.length;
  if (start < (room?.start ?? 0) || end > (room?.end ?? value.buffer.byteLength)) return null;
  const out = new Uint8Array(value.buffer, start, end - start);
  out.set(head, 0);
  out.set(tail, head.length + value.length);
  return out;
}

/**
 * A Part 10 file around data set bytes already encoded (as received over the
 * network): the bytes are kept exactly, since signatures cover them; only the
 * meta group, which no signature covers, is new.
 */
export function wrapPart10(meta: FileMeta, dataSet: Uint8Array): Uint8Array {
  const metaGroup = fileMetaGroup(meta);
  const metaLen = dataSetLength(metaGroup);
  const out = new Uint8Array(132 + metaLen + dataSet.length);
  out.set([0x44, 0x49, 0x43, 0x4d], 128); // "DICM"
  writeDataSet(out, new DataView(out.buffer), 132, metaGroup);
  out.set(dataSet, 132 + metaLen);
  return out;
}

export { encodeString };
