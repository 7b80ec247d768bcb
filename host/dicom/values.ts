// Encoding and decoding of element values (PS3.5 6.2), Little Endian.
import type { Element, Tag } from './model.js';

const ascii = new TextEncoder();
const text = new TextDecoder('latin1');

/** Strings are padded to even length: UI with NUL, everything else with a space. */
export function encodeString(vr: string, s: string | string[]): Uint8Array {
  const joined = Array.isArray(s) ? s.join('\\') : s;
  const raw = ascii.encode(joined);
  if (raw.length % 2 === 0) return raw;
  const out = new Uint8Array(raw.length + 1);
  out.set(raw);
  out[raw.length] = vr === 'UI' ? 0 : 0x20;
  return out;
}

export function decodeString(value: Uint8Array | undefined): string {
  if (!value) return '';
  return text.decode(value).replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

export function encodeUS(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setUint16(i * 2, v, true));
  return out;
}

export function encodeUL(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setUint32(i * 4, v, true));
  return out;
}

/** AT: each tag as group then element, both uint16 LE. */
export function encodeAT(tags: Tag[]): Uint8Array {
  const out = new Uint8Array(tags.length * 4);
  const dv = new DataView(out.buffer);
  tags.forEach((t, i) => {
    dv.setUint16(i * 4, t >>> 16, true);
    dv.setUint16(i * 4 + 2, t & 0xffff, true);
  });
  return out;
}

export function decodeAT(value: Uint8Array): Tag[] {
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const tags: Tag[] = [];
  for (let i = 0; i + 4 <= value.length; i += 4) tags.push(((dv.getUint16(i, true) << 16) | dv.getUint16(i + 2, true)) >>> 0);
  return tags;
}

export function decodeUS(value: Uint8Array | undefined, index = 0): number | undefined {
  if (!value || value.length < (index + 1) * 2) return undefined;
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getUint16(index * 2, true);
}

export function decodeUL(value: Uint8Array | undefined, index = 0): number | undefined {
  if (!value || value.length < (index + 1) * 4) return undefined;
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(index * 4, true);
}

/** OB values are padded with a trailing NUL to even length. */
export function encodeOB(bytes: Uint8Array): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

// Small constructors keep data-set literals readable.
export const str = (tag: Tag, vr: string, s: string | string[]): Element => ({ tag, vr, value: encodeString(vr, s) });
export const us = (tag: Tag, ...v: number[]): Element => ({ tag, vr: 'US', value: encodeUS(v) });
export const ul = (tag: Tag, ...v: number[]): Element => ({ tag, vr: 'UL', value: encodeUL(v) });
export const ob = (tag: Tag, bytes: Uint8Array): Element => ({ tag, vr: 'OB', value: encodeOB(bytes) });
export const at = (tag: Tag, tags: Tag[]): Element => ({ tag, vr: 'AT', value: encodeAT(tags) });
export const sq = (tag: Tag, items: Element[][]): Element => ({ tag, vr: 'SQ', items });
