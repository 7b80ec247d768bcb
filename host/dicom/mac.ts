// The byte stream a DICOM Digital Signature is computed over
// (PS3.15 C.12.1.1.3 / PS3.3 C.12.1.1.3.1.1-2), written to a sink piece by
// piece so that a multi-megabyte Pixel Data value is hashed in place, never copied.
//
// Rules (matched byte for byte against DCMTK dcmsign --dump, see test/):
// - each signed element, in data set order, in Explicit VR Little Endian:
//   tag, VR, (reserved,) length, value;
// - a sequence: tag, VR, 0000 and no length; each item as the bare item tag
//   (FFFE,E000) followed by its elements; no item delimiters; then the bare
//   sequence delimitation tag (FFFE,E0DD); so defined and undefined lengths
//   give the same stream;
// - never, at any level (DCMTK's DcmTagKey::isSignableTag, applied inside items
//   too): group lengths, (0008,0001), groups below 0008, UN elements and
//   sequences holding UN, group FFFA, (4FFE,0001), (FFFC,FFFC) padding;
// - then the signature item's own elements in tag order, except Certificate of
//   Signer, Signature and the certified timestamp elements.
import { type DataSet, type Element, type Tag, groupOf, elementOf, hasLongLength, tag } from './model.js';

export type Sink = (chunk: Uint8Array) => void;

export const TAGS = {
  macParametersSequence: tag(0x4ffe, 0x0001),
  digitalSignaturesSequence: tag(0xfffa, 0xfffa),
  dataSetTrailingPadding: tag(0xfffc, 0xfffc),
  lengthToEnd: tag(0x0008, 0x0001),
  certificateOfSigner: tag(0x0400, 0x0115),
  signature: tag(0x0400, 0x0120),
  certifiedTimestampType: tag(0x0400, 0x0305),
  certifiedTimestamp: tag(0x0400, 0x0310),
} as const;

const ITEM_TAG = new Uint8Array([0xfe, 0xff, 0x00, 0xe0]);
const SEQUENCE_DELIMITER_TAG = new Uint8Array([0xfe, 0xff, 0xdd, 0xe0]);

/** Whether an element is UN or a sequence holding UN at any depth (the MAC rules leave such out). */
export function holdsUN(el: Element): boolean {
  if (el.vr === 'UN') return true;
  return (el.items ?? []).some((item) => item.some(holdsUN));
}

/** Whether an element may take part in a MAC at all. */
export function isMacEligible(el: Element): boolean {
  const g = groupOf(el.tag);
  if (g < 0x0008 || elementOf(el.tag) === 0x0000) return false;
  if (el.tag === TAGS.lengthToEnd || g === 0xfffa) return false;
  if (el.tag === TAGS.macParametersSequence || el.tag === TAGS.dataSetTrailingPadding) return false;
  return !holdsUN(el);
}

/** Tags of the elements a new signature covers: every eligible top-level element. */
export function signableTags(ds: DataSet): Tag[] {
  return ds.filter(isMacEligible).map((e) => e.tag);
}

function header(el: Element, length: number | undefined): Uint8Array {
  const long = hasLongLength(el.vr);
  const h = new Uint8Array(long ? (length === undefined ? 8 : 12) : 8);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, el.tag >>> 16, true);
  dv.setUint16(2, el.tag & 0xffff, true);
  h[4] = el.vr.charCodeAt(0);
  h[5] = el.vr.charCodeAt(1);
  if (long) {
    if (length !== undefined) dv.setUint32(8, length, true);
  } else {
    dv.setUint16(6, length ?? 0, true);
  }
  return h;
}

function writeElement(el: Element, sink: Sink): void {
  if (el.vr === 'SQ') {
    sink(header(el, undefined));
    for (const item of el.items ?? []) {
      sink(ITEM_TAG);
      for (const child of item) if (isMacEligible(child)) writeElement(child, sink);
    }
    sink(SEQUENCE_DELIMITER_TAG);
    return;
  }
  if (el.fragments) {
    // Encapsulated Pixel Data: like a sequence, each fragment (the basic offset table first) as a
    // bare item tag followed by its bytes, no item length; then the bare sequence delimitation tag.
    // Matched byte for byte against dcmsign --dump (JPEG, JPEG-LS, JPEG 2000, RLE; test/host/proxy).
    sink(header(el, undefined));
    for (const f of el.fragments) {
      sink(ITEM_TAG);
      if (f.length) sink(f);
    }
    sink(SEQUENCE_DELIMITER_TAG);
    return;
  }
  const value = el.value ?? new Uint8Array(0);
  sink(header(el, value.length));
  if (value.length) sink(value);
}

const EXCLUDED_FROM_OWN_ITEM = new Set<Tag>([
  TAGS.certificateOfSigner,
  TAGS.signature,
  TAGS.certifiedTimestampType,
  TAGS.certifiedTimestamp,
]);

/**
 * Writes the data elements' part of the MAC stream: the elements of `ds` that `signedTags` lists,
 * in data set order. Returns the signed tags that the data set does not hold (a sign of removal).
 */
export function writeMacElements(ds: DataSet, signedTags: readonly Tag[], sink: Sink): Tag[] {
  const wanted = new Set(signedTags);
  const seen = new Set<Tag>();
  for (const el of ds) {
    if (!wanted.has(el.tag) || !isMacEligible(el)) continue;
    seen.add(el.tag);
    writeElement(el, sink);
  }
  return signedTags.filter((t) => !seen.has(t));
}

/**
 * The start of one element's MAC stream before its value: all of it for a sequence or encapsulated
 * value is written by writeMacElements; this is for a native value hashed while it arrives.
 */
export function macValueHeader(el: Pick<Element, 'tag' | 'vr'>, valueLength: number): Uint8Array {
  return header(el as Element, valueLength);
}

/** Writes the signature item's own part of the MAC stream (it follows the data elements'). */
export function writeSignatureItemStream(signatureItem: DataSet, sink: Sink): void {
  const own = signatureItem.filter((e) => !EXCLUDED_FROM_OWN_ITEM.has(e.tag) && isMacEligible(e)).sort((a, b) => a.tag - b.tag);
  for (const el of own) writeElement(el, sink);
}

/**
 * Writes the MAC stream of `ds` for a signature whose MAC Parameters list
 * `signedTags`, followed by the signature item's own elements.
 * Returns the signed tags that the data set does not hold (a sign of removal).
 */
export function writeMacStream(ds: DataSet, signedTags: readonly Tag[], signatureItem: DataSet, sink: Sink): Tag[] {
  const missing = writeMacElements(ds, signedTags, sink);
  writeSignatureItemStream(signatureItem, sink);
  return missing;
}
