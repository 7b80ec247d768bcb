// Byte-level edits on a tokenized Part 10 file that keep (or deliberately
// break) the declared lengths of the containers around the edited bytes.
import { type ElementToken, type ItemToken, type Part10Tokens, LONG_VRS, UNDEFINED_LENGTH } from './part10-tokens.js';

export type Container = ElementToken | ItemToken;

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function setU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}

export function setU32(b: Uint8Array, at: number, v: number): void {
  setU16(b, at, v & 0xffff);
  setU16(b, at + 2, (v >>> 16) & 0xffff);
}

export const getU32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/** Adds `delta` to the declared length of every defined-length container (undefined lengths need nothing). */
function patchContainers(b: Uint8Array, containers: readonly Container[], delta: number): void {
  for (const c of containers) {
    if (c.length === UNDEFINED_LENGTH) continue;
    if (c.kind === 'element' && c.lengthBytes === 2) setU16(b, c.lengthAt, c.length + delta);
    else setU32(b, c.lengthAt, c.length + delta);
  }
}

/**
 * Replaces bytes [start, end) with `insert` and keeps the file consistent:
 * containers' defined lengths grow or shrink with the edit; `'meta'` says the
 * edit is in the meta group, so File Meta Information Group Length (0002,0000) follows it.
 */
export function replaceBytes(t: Part10Tokens, containers: readonly Container[] | 'meta', start: number, end: number, insert: Uint8Array): Uint8Array {
  const copy = t.bytes.slice();
  const delta = insert.length - (end - start);
  if (containers !== 'meta') patchContainers(copy, containers, delta);
  else {
    const groupLength = t.meta.find((e) => e.tag === 0x00020000);
    if (groupLength && groupLength.end <= start) setU32(copy, groupLength.valueStart, getU32(copy, groupLength.valueStart) + delta);
  }
  return concat(copy.subarray(0, start), insert, copy.subarray(end));
}

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** A string value padded to even length the way DICOM does (UI with NUL, the rest with a space). */
export function stringValue(s: string, vr: string): Uint8Array {
  const bytes = latin1(s);
  if (bytes.length % 2 === 0) return bytes;
  return concat(bytes, Uint8Array.of(vr === 'UI' ? 0 : 0x20));
}

/** One element in Explicit VR Little Endian; the value is written as given (no padding). */
export function encodeElement(tag: number, vr: string, value: Uint8Array): Uint8Array {
  const long = LONG_VRS.has(vr);
  const head = new Uint8Array(long ? 12 : 8);
  setU16(head, 0, tag >>> 16);
  setU16(head, 2, tag & 0xffff);
  head[4] = vr.charCodeAt(0);
  head[5] = vr.charCodeAt(1);
  if (long) setU32(head, 8, value.length);
  else setU16(head, 6, value.length);
  return concat(head, value);
}

/** A defined-length sequence of items, each item given as its encoded elements. */
export function encodeSequence(tag: number, items: Uint8Array[]): Uint8Array {
  const encodedItems = items.map((body) => {
    const head = new Uint8Array(8);
    setU16(head, 0, 0xfffe);
    setU16(head, 2, 0xe000);
    setU32(head, 4, body.length);
    return concat(head, body);
  });
  return encodeElement(tag, 'SQ', concat(...encodedItems));
}

export const u16Value = (...v: number[]): Uint8Array => {
  const out = new Uint8Array(v.length * 2);
  v.forEach((x, i) => setU16(out, i * 2, x));
  return out;
};
