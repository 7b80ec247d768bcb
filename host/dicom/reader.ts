// The one Part 10 reader: bytes → radseal's data set model, exactly as the
// file lays it out. Values are views into the file's bytes (no copies), so the
// MAC stream of a read file is computed over exactly the bytes on disk.
//
// Written by hand rather than with dicom-parser because verification needs what
// a general-purpose parser hides: dicom-parser keys elements by tag, so a second
// copy of an element silently replaces the first one (DCMTK, and so most viewers,
// keep and display the first), and it neither reports tag order nor bytes after
// the last element. Here every such ambiguity is kept as an `anomaly`, and the
// model holds what DCMTK would display: the first copy.
import { inflateRawSync } from 'node:zlib';
import type { DataSet, Element, Tag } from './model.js';
import { formatTag, hasLongLength } from './model.js';
import { decodeString } from './values.js';
import { UID } from './uids.js';
import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BIG_ENDIAN, isNativePixelSyntax } from './transfer-syntax.js';

export class DicomFormatError extends Error {
  override name = 'DicomFormatError';
}

export { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BIG_ENDIAN };

/** What a hostile file may cost the reader; beyond these it is refused with the limit named. */
export interface ReadLimits {
  /** Largest data set a deflated file may inflate to. */
  maxInflatedBytes: number;
  /** Largest inflated / deflated size ratio (real DICOM deflates a few times, bombs a thousand). */
  maxInflateRatio: number;
  /** Deepest nesting of sequences. */
  maxDepth: number;
  /** Most elements (all levels together). */
  maxElements: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxInflatedBytes: 512 * 1024 * 1024,
  maxInflateRatio: 64,
  maxDepth: 16,
  maxElements: 1_000_000,
};

export interface ParsedFile {
  transferSyntaxUid: string;
  /** File Meta Information elements (group 0002). */
  meta: DataSet;
  /** The data set proper (groups after 0002). */
  dataSet: DataSet;
  /** Whether values carry their VR (Explicit VR); when false, VRs are 'UN' (or 'SQ' where the bytes hold items). */
  explicitVr: boolean;
  /** The 128-byte preamble. */
  preamble: Uint8Array;
  /** Byte offset of the data set in the file (after the meta header; in the inflated bytes when deflated). */
  dataSetOffset: number;
  /**
   * What makes the file ambiguous or carry more than its data set: duplicate or
   * out-of-order elements, bytes after the last element, a preamble with content,
   * a meta header that disagrees with the data set. A file with any is never authentic.
   */
  anomalies: string[];
  /** Harmless irregularities worth a line in a report (odd value lengths). */
  warnings: string[];
}

export interface Part10Meta {
  meta: DataSet;
  transferSyntaxUid: string;
  mediaStorageSopClassUid: string;
  mediaStorageSopInstanceUid: string;
  /** Where the data set starts. */
  dataSetOffset: number;
  preamble: Uint8Array;
  anomalies: string[];
}

const ITEM = 0xfffee000;
const ITEM_DELIMITATION = 0xfffee00d;
const SEQUENCE_DELIMITATION = 0xfffee0dd;
const UNDEFINED = 0xffffffff;
const PIXEL_DATA = 0x7fe00010;
const SOP_CLASS_UID = 0x00080016;
const SOP_INSTANCE_UID = 0x00080018;
const DIGITAL_SIGNATURES = 0xfffafffa;
const MAC_PARAMETERS = 0x4ffe0001;
const LENGTH_TO_END = 0x00080001;
const TRAILING_PADDING = 0xfffcfffc;

/** Every VR of PS3.5 Table 6.2-1: anything else in an Explicit VR file is not DICOM. */
const KNOWN_VRS = new Set(['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW',
  'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV']);

/**
 * Most anomalies (and warnings) a read lists one by one. A hostile file of a million empty
 * duplicates is a million anomalies: listing each would cost more memory than the file and
 * print a report nobody reads; past this, they are counted, and one line says how many more.
 */
export const MAX_LISTED_ANOMALIES = 100;

/** A list of findings that names the first MAX_LISTED_ANOMALIES and counts the rest. */
class Findings {
  readonly listed: string[] = [];
  unlisted = 0;
  constructor(first: readonly string[] = []) {
    for (const text of first) this.push(text);
  }
  push(text: string): void {
    if (this.listed.length < MAX_LISTED_ANOMALIES) this.listed.push(text);
    else this.unlisted++;
  }
  all(what: string): string[] {
    return this.unlisted ? [...this.listed, `and ${this.unlisted} more ${what} of the same kinds, not listed`] : this.listed;
  }
}

/** Reads one encoding (VR explicit or not, byte order) over a byte range. */
class Cursor {
  readonly dv: DataView;
  pos: number;
  elements = 0;
  constructor(readonly bytes: Uint8Array, start: number, readonly explicit: boolean, readonly little: boolean,
    readonly limits: ReadLimits, readonly anomalies: Findings, readonly warnings: Findings) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  u16(at: number): number { return this.dv.getUint16(at, this.little); }
  u32(at: number): number { return this.dv.getUint32(at, this.little); }
  tagAt(at: number): Tag { return ((this.u16(at) << 16) | this.u16(at + 2)) >>> 0; }

  fail(what: string): never {
    throw new DicomFormatError(`${what} (at byte ${this.pos})`);
  }
}

interface Header {
  tag: Tag;
  vr: string;
  length: number;
  /** Offset of the value. */
  valueAt: number;
}

function readHeader(c: Cursor, end: number): Header {
  const at = c.pos;
  if (at + 8 > end) c.fail(`element header runs past the end of its ${end === c.bytes.length ? 'file' : 'item'} (truncated?)`);
  const t = c.tagAt(at);
  if (t >>> 16 === 0xfffe) return { tag: t, vr: '', length: c.u32(at + 4), valueAt: at + 8 };
  if (!c.explicit) return { tag: t, vr: 'UN', length: c.u32(at + 4), valueAt: at + 8 };
  const vr = String.fromCharCode(c.bytes[at + 4]!, c.bytes[at + 5]!);
  if (!KNOWN_VRS.has(vr)) c.fail(`element ${formatTag(t)} has no valid VR ("${vr.replace(/[^ -~]/g, '?')}")`);
  if (!hasLongLength(vr)) return { tag: t, vr, length: c.u16(at + 6), valueAt: at + 8 };
  if (at + 12 > end) c.fail(`element ${formatTag(t)} header runs past the end (truncated?)`);
  // No parser reads them and no MAC covers them: anything but zero there is content riding along.
  if (c.bytes[at + 6] || c.bytes[at + 7]) c.anomalies.push(`element ${formatTag(t)}: the reserved bytes of its header are not zero`);
  return { tag: t, vr, length: c.u32(at + 8), valueAt: at + 12 };
}

/** Whether a defined-length implicit VR value holds items (so it is a sequence). */
function looksLikeItems(c: Cursor, h: Header): boolean {
  return h.length >= 8 && h.valueAt + 8 <= c.bytes.length && c.tagAt(h.valueAt) === ITEM;
}

/** Elements until `end` (a defined length) or until an Item Delimitation (undefined-length item). */
function readDataSet(c: Cursor, end: number, depth: number, undefinedItem: boolean, where: string): DataSet {
  const out: DataSet = [];
  const seen = new Set<Tag>();
  let previous = -1;
  while (c.pos < end) {
    if (!undefinedItem && end - c.pos < 8) {
      c.anomalies.push(`${end - c.pos} byte(s) after the last element${where}`);
      c.pos = end;
      break;
    }
    const h = readHeader(c, end);
    if (h.tag === ITEM_DELIMITATION) {
      if (!undefinedItem) c.fail(`item delimitation where none belongs${where}`);
      checkDelimiterLength(c, h, where);
      c.pos = h.valueAt;
      return out;
    }
    if (h.tag === ITEM || h.tag === SEQUENCE_DELIMITATION) c.fail(`${formatTag(h.tag)} outside a sequence${where}`);
    if (++c.elements > c.limits.maxElements) c.fail(`more than ${c.limits.maxElements} elements (limit)`);
    const el = readValue(c, h, end, depth, where);
    if (seen.has(h.tag)) {
      // DCMTK keeps the first copy and drops the second; so does the model.
      c.anomalies.push(`element ${formatTag(h.tag)} occurs twice${where} (a duplicate: viewers show the first copy)`);
      continue;
    }
    if (h.tag >>> 16 < 0x0008) {
      c.anomalies.push(`element ${formatTag(h.tag)} of group ${(h.tag >>> 16).toString(16).padStart(4, '0')}${where || ' in the data set'}, where no such group belongs (groups below 0008 are the meta header, commands and directories)`);
    }
    if (depth > 0 && (h.tag >>> 16 === 0xfffa || h.tag === MAC_PARAMETERS || h.tag === LENGTH_TO_END)) {
      // Every MAC leaves these out at any depth, so inside an item they would be unsigned content.
      c.anomalies.push(`element ${formatTag(h.tag)}${where}: the MAC rules leave it out of every signature, so nothing there is signed`);
    }
    if (depth === 0 && h.tag > DIGITAL_SIGNATURES && h.tag !== TRAILING_PADDING && (h.tag & 0xffff) !== 0) {
      c.anomalies.push(`element ${formatTag(h.tag)} follows the Digital Signatures Sequence (FFFA,FFFA), where only Data Set Trailing Padding (FFFC,FFFC) and group lengths belong: trailing content`);
    }
    if (h.tag < previous) c.anomalies.push(`element ${formatTag(h.tag)} is out of ascending tag order${where} (after ${formatTag(previous)})`);
    if ((h.tag & 0xffff) === 0) checkGroupLength(c, el, where);
    if (h.tag === TRAILING_PADDING && el.value?.some((b) => b !== 0)) {
      // Padding has no meaning and no MAC covers it: bytes in it are a payload riding along (a ZIP or script polyglot).
      c.anomalies.push(`Data Set Trailing Padding (FFFC,FFFC)${where} holds non-zero bytes: content outside every signature`);
    }
    seen.add(h.tag);
    previous = Math.max(previous, h.tag);
    out.push(el);
  }
  if (undefinedItem) c.fail(`undefined-length item without an item delimitation${where}`);
  out.sort((a, b) => a.tag - b.tag);
  return out;
}

/**
 * Group length elements (gggg,0000) lie outside every MAC, so they may hold nothing but the one
 * thing they are: a UL count. Anything else is unsigned content riding along (a payload in an OB
 * "group length"). Their count itself is not checked: DCMTK and pydicom ignore it when reading,
 * and stale ones are common in genuine files.
 */
function checkGroupLength(c: Cursor, el: Element, where: string): void {
  if (el.value?.length === 4 && (!c.explicit || el.vr === 'UL')) return;
  c.anomalies.push(`group length ${formatTag(el.tag)}${where} is ${el.vr} of ${el.value?.length ?? 0} bytes, not one UL: content outside every signature`);
}

/**
 * A delimitation item's length is 00000000H (PS3.5 7.5). No MAC covers it, so any other value is
 * four bytes of content riding along at every item and sequence end, and readers disagree on it:
 * DCMTK warns and reads on, pydicom cannot read the file at all.
 */
function checkDelimiterLength(c: Cursor, h: Header, where: string): void {
  if (h.length !== 0) c.anomalies.push(`${h.tag === ITEM_DELIMITATION ? 'item' : 'sequence'} delimitation ${formatTag(h.tag)}${where} has length ${h.length}, not 0: content outside every signature`);
}

function readValue(c: Cursor, h: Header, end: number, depth: number, where: string): Element {
  const isSequence = h.vr === 'SQ' || (h.vr === 'UN' && h.length === UNDEFINED && h.tag !== PIXEL_DATA)
    || (!c.explicit && h.length !== UNDEFINED && looksLikeItems(c, h));
  if (isSequence) {
    if (depth >= c.limits.maxDepth) c.fail(`sequences nested deeper than ${c.limits.maxDepth} (limit)`);
    // A UN sequence of undefined length is Implicit VR Little Endian inside (PS3.5 6.2.2).
    const inner = h.vr === 'UN' && c.explicit
      ? new Cursor(c.bytes, h.valueAt, false, true, c.limits, c.anomalies, c.warnings)
      : c;
    inner.pos = h.valueAt;
    const items = readItems(inner, h, end, depth, where);
    c.pos = inner.pos;
    return { tag: h.tag, vr: h.vr === 'UN' && !c.explicit ? 'SQ' : h.vr, items };
  }
  if (h.length === UNDEFINED) {
    if (h.tag !== PIXEL_DATA) c.fail(`element ${formatTag(h.tag)} has an undefined length but is no sequence${where}`);
    c.pos = h.valueAt;
    // Implicit VR has no VR to keep; an explicit UN stays UN, which no MAC covers (DCMTK even reads it as a sequence, CP-246).
    return { tag: h.tag, vr: h.vr === 'UN' && !c.explicit ? 'OB' : h.vr, encapsulated: true, fragments: readFragments(c, end) };
  }
  if (h.valueAt + h.length > end) {
    c.fail(`element ${formatTag(h.tag)} declares ${h.length} bytes but only ${Math.max(0, end - h.valueAt)} remain${where} (truncated or a forged length)`);
  }
  if (h.length % 2) c.warnings.push(`element ${formatTag(h.tag)} has an odd length (${h.length})${where}`);
  c.pos = h.valueAt + h.length;
  return { tag: h.tag, vr: h.vr, value: c.bytes.subarray(h.valueAt, h.valueAt + h.length) };
}

function readItems(c: Cursor, h: Header, end: number, depth: number, where: string): DataSet[] {
  const seqEnd = h.length === UNDEFINED ? end : h.valueAt + h.length;
  if (seqEnd > end) c.fail(`sequence ${formatTag(h.tag)} declares ${h.length} bytes but only ${end - h.valueAt} remain${where}`);
  const items: DataSet[] = [];
  while (c.pos < seqEnd) {
    const ih = readHeader(c, seqEnd);
    if (ih.tag === SEQUENCE_DELIMITATION) {
      if (h.length !== UNDEFINED) c.fail(`sequence delimitation inside defined-length sequence ${formatTag(h.tag)}${where}`);
      checkDelimiterLength(c, ih, `${where} ending ${formatTag(h.tag)}`);
      c.pos = ih.valueAt;
      return items;
    }
    if (ih.tag !== ITEM) c.fail(`sequence ${formatTag(h.tag)} holds ${formatTag(ih.tag)} where an item belongs${where}`);
    const label = `${where} in ${formatTag(h.tag)} item ${items.length + 1}`;
    c.pos = ih.valueAt;
    if (ih.length === UNDEFINED) items.push(readDataSet(c, seqEnd, depth + 1, true, label));
    else {
      if (ih.valueAt + ih.length > seqEnd) c.fail(`item ${items.length + 1} of ${formatTag(h.tag)} declares ${ih.length} bytes but only ${seqEnd - ih.valueAt} remain${where}`);
      items.push(readDataSet(c, ih.valueAt + ih.length, depth + 1, false, label));
      c.pos = ih.valueAt + ih.length;
    }
  }
  if (h.length === UNDEFINED) c.fail(`sequence ${formatTag(h.tag)} has no sequence delimitation${where} (truncated?)`);
  return items;
}

/** Encapsulated Pixel Data: items (the basic offset table first) up to the sequence delimitation. */
function readFragments(c: Cursor, end: number): Uint8Array[] {
  const fragments: Uint8Array[] = [];
  for (;;) {
    const ih = readHeader(c, end);
    if (ih.tag === SEQUENCE_DELIMITATION) {
      checkDelimiterLength(c, ih, ' ending encapsulated Pixel Data');
      c.pos = ih.valueAt;
      return fragments;
    }
    if (ih.tag !== ITEM || ih.length === UNDEFINED) c.fail(`encapsulated Pixel Data holds ${formatTag(ih.tag)} where a fragment belongs`);
    if (ih.valueAt + ih.length > end) c.fail(`a Pixel Data fragment declares ${ih.length} bytes but only ${end - ih.valueAt} remain`);
    fragments.push(c.bytes.subarray(ih.valueAt, ih.valueAt + ih.length));
    c.pos = ih.valueAt + ih.length;
  }
}

/** What a non-zero preamble looks like, for the reason (PE/DICOM and other polyglots). */
function describePreamble(p: Uint8Array): string {
  const head = Buffer.from(p.subarray(0, 8)).toString('latin1');
  const text = Buffer.from(p).toString('latin1').trimStart().toLowerCase();
  if (head.startsWith('MZ')) return 'a Windows executable (PE "MZ") header: a PE/DICOM polyglot';
  if (head.startsWith('\x7fELF')) return 'a Linux executable (ELF) header';
  if (head.startsWith('#!')) return 'a script ("#!")';
  if (head.startsWith('%PDF')) return 'a PDF header';
  if (head.startsWith('PK\x03\x04')) return 'a ZIP archive header';
  if (/^\xcf\xfa\xed\xfe|^\xfe\xed\xfa/.test(head)) return 'a Mach-O executable header';
  if (text.startsWith('<')) return 'markup (HTML/XML/SVG)';
  if (head.startsWith('II*\0') || head.startsWith('MM\0*')) return 'a TIFF header';
  return 'content';
}

/** Parses the 128-byte preamble, "DICM" and the File Meta Information (always Explicit VR Little Endian). */
export function readPart10Meta(bytes: Uint8Array): Part10Meta {
  if (bytes.length < 132 || bytes[128] !== 0x44 || bytes[129] !== 0x49 || bytes[130] !== 0x43 || bytes[131] !== 0x4d) {
    throw new DicomFormatError('not a DICOM Part 10 file (no "DICM" after the 128-byte preamble)');
  }
  const anomalies = new Findings();
  const preamble = bytes.subarray(0, 128);
  const nonZero = preamble.reduce((n, b) => n + (b !== 0 ? 1 : 0), 0);
  if (nonZero) anomalies.push(`the 128-byte preamble is not empty: it holds ${describePreamble(preamble)} (${nonZero} non-zero bytes); radseal objects have an all-zero preamble`);
  const c = new Cursor(bytes, 132, true, true, DEFAULT_READ_LIMITS, anomalies, new Findings());
  const meta: DataSet = [];
  let declaredEnd: number | undefined;
  while (c.pos + 8 <= bytes.length && c.u16(c.pos) === 0x0002) {
    const h = readHeader(c, bytes.length);
    if (h.vr === 'SQ' || h.length === UNDEFINED) c.fail(`meta element ${formatTag(h.tag)} is a sequence or has an undefined length`);
    const el = readValue(c, h, bytes.length, 0, ' in the meta header');
    if (meta.some((e) => e.tag === h.tag)) anomalies.push(`element ${formatTag(h.tag)} occurs twice in the meta header`);
    else meta.push(el);
    if (h.tag === 0x00020000 && el.value?.length === 4) declaredEnd = c.pos + c.dv.getUint32(h.valueAt, true);
  }
  if (declaredEnd !== undefined && c.pos !== declaredEnd) anomalies.push(`the meta header's group length (0002,0000) says it ends at byte ${declaredEnd}, its elements end at ${c.pos}`);
  const value = (t: Tag) => decodeString(meta.find((e) => e.tag === t)?.value);
  const transferSyntaxUid = value(0x00020010);
  if (!transferSyntaxUid) throw new DicomFormatError('the meta header has no Transfer Syntax UID (0002,0010)');
  return {
    meta, transferSyntaxUid, preamble, anomalies: anomalies.all('anomalies'), dataSetOffset: c.pos,
    mediaStorageSopClassUid: value(0x00020002), mediaStorageSopInstanceUid: value(0x00020003),
  };
}

function inflate(bytes: Uint8Array, offset: number, limits: ReadLimits): Uint8Array {
  const deflated = bytes.length - offset;
  const cap = Math.min(limits.maxInflatedBytes, Math.max(1 << 20, deflated * limits.maxInflateRatio));
  try {
    return inflateRawSync(bytes.subarray(offset), { maxOutputLength: cap });
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DicomFormatError(`the deflated data set inflates beyond ${cap} bytes (limit: ${limits.maxInflateRatio}× its ${deflated} compressed bytes, at most ${limits.maxInflatedBytes}): refused as a decompression bomb`);
    }
    throw new DicomFormatError(`the deflated data set does not inflate: ${(err as Error).message}`);
  }
}

/** Parses a Part 10 file. Throws DicomFormatError with a plain reason when it cannot. */
export function readPart10(bytes: Uint8Array, limits: ReadLimits = DEFAULT_READ_LIMITS): ParsedFile {
  const head = readPart10Meta(bytes);
  const ts = head.transferSyntaxUid;
  const explicitVr = ts !== UID.implicitVrLittleEndian;
  let body = bytes;
  let start = head.dataSetOffset;
  if (ts === DEFLATED_EXPLICIT_VR_LE) {
    body = inflate(bytes, start, limits);
    start = 0;
  }
  const anomalies = new Findings(head.anomalies);
  const warnings = new Findings();
  const c = new Cursor(body, start, explicitVr, ts !== EXPLICIT_VR_BIG_ENDIAN, limits, anomalies, warnings);
  let dataSet: DataSet;
  try {
    dataSet = readDataSet(c, body.length, 0, false, '');
  } catch (err) {
    if (err instanceof DicomFormatError) throw new DicomFormatError(`cannot parse DICOM: ${err.message}`);
    throw err;
  }
  checkAgainstMeta(head, dataSet, anomalies);
  return {
    transferSyntaxUid: ts, meta: head.meta, dataSet, explicitVr, preamble: head.preamble, dataSetOffset: start,
    anomalies: anomalies.all('anomalies'), warnings: warnings.all('warnings'),
  };
}

/** The meta header names the object; the data set is what is signed. They must agree. */
function checkAgainstMeta(head: Part10Meta, ds: DataSet, anomalies: Findings): void {
  const pixels = ds.find((e) => e.tag === PIXEL_DATA);
  const native = isNativePixelSyntax(head.transferSyntaxUid);
  if (pixels && native === !!pixels.encapsulated) {
    // DCMTK refuses such a file outright; a viewer would decode the pixels as something else.
    anomalies.push(`the meta header's Transfer Syntax UID ${head.transferSyntaxUid} says Pixel Data is ${native ? 'native' : 'encapsulated (compressed)'}, but the data set holds it ${pixels.encapsulated ? 'encapsulated' : 'native'}`);
  }
  const value = (t: Tag) => decodeString(ds.find((e) => e.tag === t)?.value);
  const pairs: Array<[string, string, string]> = [
    ['Media Storage SOP Class UID (0002,0002)', head.mediaStorageSopClassUid, value(SOP_CLASS_UID)],
    ['Media Storage SOP Instance UID (0002,0003)', head.mediaStorageSopInstanceUid, value(SOP_INSTANCE_UID)],
  ];
  for (const [name, inMeta, inDataSet] of pairs) {
    if (inMeta !== inDataSet) anomalies.push(`the meta header's ${name} "${inMeta}" disagrees with the data set's "${inDataSet}"`);
  }
}
