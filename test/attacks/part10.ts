// A small, independent Part 10 reader/writer for building hostile objects.
// It imports nothing from host/: it is a second opinion on the bytes, and it
// writes exactly what it is told (duplicates, any order, any length field),
// which a well-behaved writer never would. Explicit VR Little Endian only.

export interface Item {
  elements: Node[];
  /** Written with 0xFFFFFFFF and an Item Delimitation Item. */
  undefinedLength?: boolean;
}

export interface Node {
  tag: number;
  vr: string;
  value?: Uint8Array;
  items?: Item[];
  /** Sequence written with 0xFFFFFFFF and a Sequence Delimitation Item. */
  undefinedLength?: boolean;
  /** Length field to write instead of the real one (a lie about the value's size). */
  lengthOverride?: number;
  /** Bytes written verbatim instead of this element's encoding (tag and vr are for placement only). */
  raw?: Uint8Array;
}

export interface Part10 {
  preamble: Uint8Array;
  meta: Node[];
  dataSet: Node[];
}

const LONG = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;
export const ITEM = 0xfffee000;
export const ITEM_END = 0xfffee00d;
export const SEQ_END = 0xfffee0dd;

export const t = (group: number, element: number): number => ((group << 16) | element) >>> 0;
export const tagText = (tag: number): string => `(${(tag >>> 16).toString(16).toUpperCase().padStart(4, '0')},${(tag & 0xffff).toString(16).toUpperCase().padStart(4, '0')})`;
/** "gggg,eeee" as DCMTK's command line options take it. */
export const dcmtkTag = (tag: number): string => tagText(tag).slice(1, -1);

// ---- reading ----

class Cursor {
  private readonly dv: DataView;
  constructor(readonly b: Uint8Array, public o: number, readonly end: number) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  u16(): number { const v = this.dv.getUint16(this.o, true); this.o += 2; return v; }
  u32(): number { const v = this.dv.getUint32(this.o, true); this.o += 4; return v; }
  tag(): number { const g = this.u16(); return t(g, this.u16()); }
  peekTag(): number { const g = this.dv.getUint16(this.o, true); return t(g, this.dv.getUint16(this.o + 2, true)); }
}

function readElements(c: Cursor, until: number | null, stopAt?: (tag: number) => boolean): Node[] {
  const out: Node[] = [];
  while (c.o < c.end) {
    if (stopAt && stopAt(c.peekTag())) break;
    const tag = c.tag();
    if (until !== null && tag === until) { c.u32(); break; }
    const vr = String.fromCharCode(c.b[c.o]!, c.b[c.o + 1]!);
    c.o += 2;
    let len: number;
    if (LONG.has(vr)) { c.o += 2; len = c.u32(); } else len = c.u16();
    if (vr === 'SQ') {
      const items: Item[] = [];
      const end = len === UNDEFINED ? c.end : c.o + len;
      while (c.o < end) {
        const it = c.tag();
        if (it === SEQ_END) { c.u32(); break; }
        if (it !== ITEM) throw new Error(`expected an item in ${tagText(tag)}, found ${tagText(it)}`);
        const ilen = c.u32();
        if (ilen === UNDEFINED) items.push({ elements: readElements(c, ITEM_END), undefinedLength: true });
        else {
          const sub = new Cursor(c.b, c.o, c.o + ilen);
          items.push({ elements: readElements(sub, null) });
          c.o += ilen;
        }
      }
      out.push({ tag, vr, items, undefinedLength: len === UNDEFINED });
      continue;
    }
    if (len === UNDEFINED) throw new Error(`undefined length ${vr} at ${tagText(tag)} (encapsulated data is out of scope)`);
    out.push({ tag, vr, value: c.b.slice(c.o, c.o + len) });
    c.o += len;
  }
  return out;
}

/** Parses an Explicit VR Little Endian Part 10 file: preamble, meta group, data set. */
export function parsePart10(bytes: Uint8Array): Part10 {
  if (String.fromCharCode(...bytes.subarray(128, 132)) !== 'DICM') throw new Error('no DICM');
  const c = new Cursor(bytes, 132, bytes.length);
  const meta = readElements(c, null, (tag) => tag >>> 16 !== 0x0002);
  const dataSet = readElements(c, null);
  return { preamble: bytes.slice(0, 128), meta, dataSet };
}

// ---- writing ----

export interface WriteOptions {
  /** Every sequence and item with undefined length. */
  undefinedLengths?: boolean;
  /** Group length elements (gggg,0000) for every group, at the top level and in items. */
  groupLengths?: boolean;
}

class Out {
  parts: Uint8Array[] = [];
  size = 0;
  push(b: Uint8Array): void { this.parts.push(b); this.size += b.length; }
  u16(v: number): void { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v, true); this.push(b); }
  u32(v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0, true); this.push(b); }
  tag(tag: number): void { this.u16(tag >>> 16); this.u16(tag & 0xffff); }
  bytes(): Uint8Array { const r = new Uint8Array(this.size); let o = 0; for (const p of this.parts) { r.set(p, o); o += p.length; } return r; }
}

function withGroupLengths(elements: Node[], o: WriteOptions): Node[] {
  if (!o.groupLengths) return elements;
  const out: Node[] = [];
  const body = elements.filter((e) => (e.tag & 0xffff) !== 0);
  for (let i = 0; i < body.length;) {
    const g = body[i]!.tag >>> 16;
    let j = i;
    while (j < body.length && body[j]!.tag >>> 16 === g) j++;
    const group = body.slice(i, j);
    out.push(ul(t(g, 0), encodeElements(group, { ...o, groupLengths: o.groupLengths }, true).length), ...group);
    i = j;
  }
  return out;
}

function encodeElements(elements: Node[], o: WriteOptions, noGroupLengths = false): Uint8Array {
  const w = new Out();
  for (const e of noGroupLengths ? elements : withGroupLengths(elements, o)) encodeElement(w, e, o);
  return w.bytes();
}

function encodeElement(w: Out, e: Node, o: WriteOptions): void {
  if (e.raw) return void w.push(e.raw);
  w.tag(e.tag);
  w.push(new Uint8Array([e.vr.charCodeAt(0), e.vr.charCodeAt(1)]));
  if (e.vr === 'SQ') {
    const undef = o.undefinedLengths || e.undefinedLength;
    const inner = new Out();
    for (const item of e.items ?? []) {
      const content = encodeElements(item.elements, o);
      const itemUndef = o.undefinedLengths || item.undefinedLength;
      inner.tag(ITEM);
      inner.u32(itemUndef ? UNDEFINED : content.length);
      inner.push(content);
      if (itemUndef) { inner.tag(ITEM_END); inner.u32(0); }
    }
    if (undef) { inner.tag(SEQ_END); inner.u32(0); }
    const body = inner.bytes();
    w.u16(0);
    w.u32(e.lengthOverride ?? (undef ? UNDEFINED : body.length));
    w.push(body);
    return;
  }
  const v = e.value ?? new Uint8Array(0);
  const len = e.lengthOverride ?? v.length;
  if (LONG.has(e.vr)) { w.u16(0); w.u32(len); } else w.u16(len);
  w.push(v);
}

/** Writes a Part 10 file; the meta group length is recomputed, everything else is written as given. */
export function writePart10(f: Part10, o: WriteOptions = {}): Uint8Array {
  const metaBody = f.meta.filter((e) => e.tag !== t(0x0002, 0x0000));
  const metaBytes = encodeElements(metaBody, {}, true);
  const w = new Out();
  w.push(f.preamble.length === 128 ? f.preamble : (() => { const p = new Uint8Array(128); p.set(f.preamble.subarray(0, 128)); return p; })());
  w.push(new TextEncoder().encode('DICM'));
  encodeElement(w, ul(t(0x0002, 0x0000), metaBytes.length), {});
  w.push(metaBytes);
  w.push(encodeElements(f.dataSet, o));
  return w.bytes();
}

/** Encodes bare elements (no preamble, no meta): for data set bytes to deflate or append. */
export function encodeDataSet(elements: Node[], o: WriteOptions = {}): Uint8Array {
  return encodeElements(elements, o);
}

// ---- values ----

const enc = new TextEncoder();

export function str(tag: number, vr: string, s: string): Node {
  const b = enc.encode(s);
  const pad = vr === 'UI' ? 0 : 0x20;
  const v = new Uint8Array(b.length + (b.length % 2));
  v.set(b);
  if (b.length % 2) v[b.length] = pad;
  return { tag, vr, value: v };
}

export function us(tag: number, n: number): Node {
  const v = new Uint8Array(2);
  new DataView(v.buffer).setUint16(0, n, true);
  return { tag, vr: 'US', value: v };
}

export function ul(tag: number, n: number): Node {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, n >>> 0, true);
  return { tag, vr: 'UL', value: v };
}

export function bin(tag: number, vr: 'OB' | 'OW' | 'UN' | 'OF', data: Uint8Array): Node {
  const v = new Uint8Array(data.length + (data.length % 2));
  v.set(data);
  return { tag, vr, value: v };
}

export function seq(tag: number, items: Node[][]): Node {
  return { tag, vr: 'SQ', items: items.map((elements) => ({ elements })) };
}

export const text = (n: Node | undefined): string => (n?.value ? new TextDecoder().decode(n.value).replace(/[\0 ]+$/, '') : '');

// ---- editing ----

export function find(elements: Node[], tag: number): Node | undefined {
  return elements.find((e) => e.tag === tag);
}

export function must(elements: Node[], tag: number): Node {
  const e = find(elements, tag);
  if (!e) throw new Error(`no ${tagText(tag)} in the object`);
  return e;
}

/** Puts `node` right before the first element with tag `before` (so a parser meets it first). */
export function insertBefore(elements: Node[], before: number, node: Node): void {
  const i = elements.findIndex((e) => e.tag === before);
  if (i < 0) throw new Error(`no ${tagText(before)} to insert before`);
  elements.splice(i, 0, node);
}

/** Adds `node` where ascending tag order puts it (after any equal tag). */
export function insertSorted(elements: Node[], node: Node): void {
  const i = elements.findIndex((e) => e.tag > node.tag);
  if (i < 0) elements.push(node);
  else elements.splice(i, 0, node);
}

export function remove(elements: Node[], tag: number): Node {
  const i = elements.findIndex((e) => e.tag === tag);
  if (i < 0) throw new Error(`no ${tagText(tag)} to remove`);
  return elements.splice(i, 1)[0]!;
}

export function clone(f: Part10): Part10 {
  const cn = (n: Node): Node => ({ ...n, value: n.value?.slice(), items: n.items?.map((i) => ({ ...i, elements: i.elements.map(cn) })) });
  return { preamble: f.preamble.slice(), meta: f.meta.map(cn), dataSet: f.dataSet.map(cn) };
}

/** Applies `edit` to a parsed copy of `bytes` and writes it back. */
export function edit(bytes: Uint8Array, fn: (f: Part10) => void, o: WriteOptions = {}): Uint8Array {
  const f = parsePart10(bytes);
  fn(f);
  return writePart10(f, o);
}

/**
 * A sequence nested `depth` levels deep (undefined lengths throughout), as raw bytes: built
 * iteratively, because a recursive writer (or reader) runs out of stack long before.
 */
export function deepSequence(tag: number, depth: number): Node {
  const open = new Out();
  open.tag(tag); open.push(new Uint8Array([0x53, 0x51, 0, 0])); open.u32(UNDEFINED); open.tag(ITEM); open.u32(UNDEFINED);
  const close = new Out();
  close.tag(ITEM_END); close.u32(0); close.tag(SEQ_END); close.u32(0);
  const o = open.bytes(), c = close.bytes();
  const out = new Uint8Array(depth * (o.length + c.length));
  for (let i = 0; i < depth; i++) {
    out.set(o, i * o.length);
    out.set(c, depth * o.length + i * c.length);
  }
  return { tag, vr: 'SQ', raw: out };
}
