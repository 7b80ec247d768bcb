// An independent tokenizer for Part 10 files in Explicit VR Little Endian:
// the preamble, the meta group and the data set as a tree of elements and
// items, each with its byte ranges. It shares no code with host/dicom, so
// the fuzzer's idea of the structure is its own, not the verifier's.

export const UNDEFINED_LENGTH = 0xffffffff;
export const ITEM = 0xfffee000;
export const ITEM_DELIMITER = 0xfffee00d;
export const SEQUENCE_DELIMITER = 0xfffee0dd;

/** VRs with 2 reserved bytes and a 32-bit length in Explicit VR (PS3.5 7.1.2). */
export const LONG_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

export interface ElementToken {
  kind: 'element';
  tag: number;
  vr: string;
  /** Offset of the tag. */
  start: number;
  /** Offset of the length field and its size in bytes (2 or 4). */
  lengthAt: number;
  lengthBytes: 2 | 4;
  /** Declared length (UNDEFINED_LENGTH for an undefined-length sequence). */
  length: number;
  valueStart: number;
  /** End of the value (for undefined length: start of the sequence delimiter). */
  valueEnd: number;
  /** End of the whole element, delimiter included. */
  end: number;
  items?: ItemToken[];
}

export interface ItemToken {
  kind: 'item';
  start: number;
  lengthAt: number;
  length: number;
  valueStart: number;
  valueEnd: number;
  end: number;
  elements: ElementToken[];
}

export interface Part10Tokens {
  bytes: Uint8Array;
  /** Meta elements (group 0002), from offset 132. */
  meta: ElementToken[];
  /** Top-level data set elements. */
  dataSet: ElementToken[];
  dataSetStart: number;
}

export class TokenizeError extends Error {
  override name = 'TokenizeError';
}

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const tagAt = (b: Uint8Array, o: number): number => ((u16(b, o) << 16) | u16(b, o + 2)) >>> 0;

function need(b: Uint8Array, at: number, n: number): void {
  if (at + n > b.length) throw new TokenizeError(`runs past the end at ${at}`);
}

function readElement(b: Uint8Array, at: number, depth: number): ElementToken {
  need(b, at, 8);
  const tag = tagAt(b, at);
  const vr = String.fromCharCode(b[at + 4]!, b[at + 5]!);
  if (!/^[A-Z]{2}$/.test(vr)) throw new TokenizeError(`bad VR at ${at}`);
  const long = LONG_VRS.has(vr);
  if (long) need(b, at, 12);
  const lengthAt = long ? at + 8 : at + 6;
  const length = long ? u32(b, lengthAt) : u16(b, lengthAt);
  const valueStart = long ? at + 12 : at + 8;
  const el: ElementToken = { kind: 'element', tag, vr, start: at, lengthAt, lengthBytes: long ? 4 : 2, length, valueStart, valueEnd: valueStart, end: valueStart };
  if (vr === 'SQ' || length === UNDEFINED_LENGTH) {
    if (depth > 16) throw new TokenizeError('nesting too deep');
    const { items, valueEnd, end } = readItems(b, valueStart, length, depth + 1);
    Object.assign(el, { items, valueEnd, end });
    return el;
  }
  need(b, valueStart, length);
  el.valueEnd = el.end = valueStart + length;
  return el;
}

function readItems(b: Uint8Array, from: number, length: number, depth: number): { items: ItemToken[]; valueEnd: number; end: number } {
  const items: ItemToken[] = [];
  const limit = length === UNDEFINED_LENGTH ? b.length : from + length;
  if (limit > b.length) throw new TokenizeError('sequence runs past the end');
  let at = from;
  while (at < limit) {
    need(b, at, 8);
    const t = tagAt(b, at);
    if (t === SEQUENCE_DELIMITER && length === UNDEFINED_LENGTH) return { items, valueEnd: at, end: at + 8 };
    if (t !== ITEM) throw new TokenizeError(`expected an item at ${at}`);
    const item = readItem(b, at, depth);
    items.push(item);
    at = item.end;
  }
  if (length === UNDEFINED_LENGTH) throw new TokenizeError('no sequence delimiter');
  if (at !== limit) throw new TokenizeError('items overrun the sequence');
  return { items, valueEnd: at, end: at };
}

function readItem(b: Uint8Array, at: number, depth: number): ItemToken {
  const length = u32(b, at + 4);
  const valueStart = at + 8;
  const item: ItemToken = { kind: 'item', start: at, lengthAt: at + 4, length, valueStart, valueEnd: valueStart, end: valueStart, elements: [] };
  const limit = length === UNDEFINED_LENGTH ? b.length : valueStart + length;
  if (limit > b.length) throw new TokenizeError('item runs past the end');
  let p = valueStart;
  while (p < limit) {
    need(b, p, 8);
    if (length === UNDEFINED_LENGTH && tagAt(b, p) === ITEM_DELIMITER) {
      item.valueEnd = p;
      item.end = p + 8;
      return item;
    }
    const el = readElement(b, p, depth);
    item.elements.push(el);
    p = el.end;
  }
  if (length === UNDEFINED_LENGTH) throw new TokenizeError('no item delimiter');
  if (p !== limit) throw new TokenizeError('elements overrun the item');
  item.valueEnd = item.end = p;
  return item;
}

/** Splits a Part 10 file into its structure; throws TokenizeError when it is not well formed. */
export function tokenizePart10(bytes: Uint8Array): Part10Tokens {
  if (bytes.length < 132 || String.fromCharCode(...bytes.subarray(128, 132)) !== 'DICM') throw new TokenizeError('no DICM prefix');
  const meta: ElementToken[] = [];
  let at = 132;
  while (at + 8 <= bytes.length && u16(bytes, at) === 0x0002) {
    const el = readElement(bytes, at, 0);
    meta.push(el);
    at = el.end;
  }
  const dataSetStart = at;
  const dataSet: ElementToken[] = [];
  while (at < bytes.length) {
    const el = readElement(bytes, at, 0);
    dataSet.push(el);
    at = el.end;
  }
  return { bytes, meta, dataSet, dataSetStart };
}

/** Every element of the tree with the chain of containers (sequence, item, ...) above it. */
export interface Located {
  element: ElementToken;
  /** Outermost first: sequence element, item, sequence element, item, ... */
  ancestors: Array<ElementToken | ItemToken>;
  /** The element list it belongs to. */
  siblings: ElementToken[];
}

export function allElements(t: Part10Tokens): Located[] {
  const out: Located[] = [];
  const walk = (list: ElementToken[], ancestors: Array<ElementToken | ItemToken>) => {
    for (const element of list) {
      out.push({ element, ancestors, siblings: list });
      for (const item of element.items ?? []) walk(item.elements, [...ancestors, element, item]);
    }
  };
  walk(t.dataSet, []);
  return out;
}

export const tagText = (tag: number): string =>
  `(${(tag >>> 16).toString(16).toUpperCase().padStart(4, '0')},${(tag & 0xffff).toString(16).toUpperCase().padStart(4, '0')})`;
