// What a vouching signature must cover. An object is authentic only if every
// top-level element present is covered by a valid, trusted device signature (or,
// after a recorded correction, the PACS signature), because almost anything in
// an image object can change what is shown, measured or whom it belongs to:
// overlays and graphic annotations draw on the image, shutters and LUTs change
// what is visible, spacing and calibration change measurements, laterality and
// orientation change which side is which. Listing those would always miss one;
// so the rule is the other way round: everything must be signed, except a short
// list of elements the standard keeps out of every MAC or that only transport
// and PACS bookkeeping write.
import { type DataSet, type Element, type Tag, elementOf, formatTag, tag } from '../dicom/model.js';
import { TAGS } from '../dicom/mac.js';

/** Elements that may be present unsigned, each with why. */
export const UNSIGNED_ALLOWED: ReadonlyMap<Tag, string> = new Map<Tag, string>([
  [TAGS.lengthToEnd, 'Length to End (retired, never in a MAC)'],
  [TAGS.digitalSignaturesSequence, 'the signatures themselves'],
  [TAGS.macParametersSequence, 'the MAC parameters of the signatures'],
  [TAGS.dataSetTrailingPadding, 'Data Set Trailing Padding (no content, never in a MAC)'],
  [tag(0x0008, 0x0054), 'Retrieve AE Title (where a PACS can be asked for the object)'],
  [tag(0x0008, 0x0056), 'Instance Availability (ONLINE/NEARLINE, PACS bookkeeping)'],
]);

/**
 * The one shape each may have unsigned: an allowance by tag alone would let any VR and length
 * through (a Retrieve AE Title "OB" of megabytes is a payload nobody signed). Group lengths
 * (gggg,0000) and padding are held to theirs by the reader.
 */
const ALLOWED_SHAPE: ReadonlyMap<Tag, (e: Element) => boolean> = new Map<Tag, (e: Element) => boolean>([
  [TAGS.lengthToEnd, (e) => e.vr === 'UL' && e.value?.length === 4],
  [TAGS.digitalSignaturesSequence, (e) => e.vr === 'SQ'],
  [TAGS.macParametersSequence, (e) => e.vr === 'SQ'],
  [TAGS.dataSetTrailingPadding, (e) => e.vr === 'OB' && !!e.value],
  [tag(0x0008, 0x0054), (e) => e.vr === 'AE' && shortCodes(e.value, 16)],
  [tag(0x0008, 0x0056), (e) => e.vr === 'CS' && shortCodes(e.value, 16)],
]);

/** A few backslash-separated printable values of at most `max` characters each (AE, CS). */
function shortCodes(value: Uint8Array | undefined, max: number): boolean {
  if (!value || value.length > 8 * (max + 1)) return false;
  const text = Buffer.from(value).toString('latin1').replace(/[\0 ]+$/, '');
  return /^[\x20-\x7e]*$/.test(text) && text.split('\\').every((v) => v.length <= max);
}

/** Group lengths (gggg,0000) carry no content and are never in a MAC. */
function allowedUnsigned(e: Element): boolean {
  if (elementOf(e.tag) === 0x0000) return true;
  return UNSIGNED_ALLOWED.has(e.tag) && ALLOWED_SHAPE.get(e.tag)!(e);
}

/** Top-level elements present in `ds` that no vouching signature covers and that are not allowed unsigned. */
export function uncoveredElements(ds: DataSet, covered: ReadonlySet<Tag>): Element[] {
  return ds.filter((e) => !covered.has(e.tag) && !allowedUnsigned(e));
}

/** A reason naming the uncovered elements (the first few), for the report. */
export function uncoveredReason(elements: Element[]): string {
  const names = elements.slice(0, 10).map((e) => `${formatTag(e.tag)}${e.vr === 'UN' ? ' (UN)' : ''}`);
  const more = elements.length > 10 ? ` and ${elements.length - 10} more` : '';
  return `element${elements.length === 1 ? '' : 's'} ${names.join(', ')}${more} present but covered by no trusted device signature: added or changed after signing (an unsigned element can change what is shown or measured)`;
}

/**
 * The File Meta Information elements of PS3.10 7.1 a stored object carries, with their VR and
 * largest value: the meta header lies outside every signature, so anything else there (Private
 * Information (0002,0102), the real-time video elements, an OB "Source AE Title") would be
 * content riding along unsigned. Texts may run to 64 bytes, past their VR's 16: writers that
 * overrun them are common, and 64 bytes carry nothing worth hiding.
 */
const META_ELEMENTS: ReadonlyMap<Tag, { vr: string; max: number }> = new Map<Tag, { vr: string; max: number }>([
  [0x00020000, { vr: 'UL', max: 4 }], [0x00020001, { vr: 'OB', max: 2 }], [0x00020002, { vr: 'UI', max: 64 }],
  [0x00020003, { vr: 'UI', max: 64 }], [0x00020010, { vr: 'UI', max: 64 }], [0x00020012, { vr: 'UI', max: 64 }],
  [0x00020013, { vr: 'SH', max: 64 }], [0x00020016, { vr: 'AE', max: 64 }], [0x00020017, { vr: 'AE', max: 64 }],
  [0x00020018, { vr: 'AE', max: 64 }], [0x00020026, { vr: 'UR', max: 1024 }], [0x00020027, { vr: 'UR', max: 1024 }],
  [0x00020028, { vr: 'UR', max: 1024 }],
]);

function metaElementProblem(el: Element): string | undefined {
  const known = META_ELEMENTS.get(el.tag);
  if (!known) return `the meta header holds ${formatTag(el.tag)}, which a stored object's File Meta Information does not carry: content outside every signature`;
  const length = el.value?.length ?? 0;
  if (el.vr !== known.vr || length > known.max) return `the meta header's ${formatTag(el.tag)} is ${el.vr} of ${length} bytes, not ${known.vr} of at most ${known.max}: content outside every signature`;
  const text = Buffer.from(el.value ?? []).toString('latin1');
  const shaped = META_SHAPE[el.vr]?.test(text) ?? (el.tag !== 0x00020001 || text === '\x00\x01');
  return shaped ? undefined : `the meta header's ${formatTag(el.tag)} holds ${JSON.stringify(text)}, not a ${el.tag === 0x00020001 ? 'version 00 01' : el.vr + ' value'}: content outside every signature`;
}

/** What each text VR of the meta header may hold: UID digits and dots, printable text. */
const META_SHAPE: Partial<Record<string, RegExp>> = {
  UI: /^[0-9.]*[\x00 ]?$/,
  SH: /^[\x20-\x7e]*$/,
  AE: /^[\x20-\x7e]*$/,
  UR: /^[\x21-\x7e]* ?$/,
};

/** What the File Meta Information of a signed object holds beyond what PS3.10 puts there, each named. */
export function metaProblems(meta: DataSet): string[] {
  return meta.flatMap((e) => metaElementProblem(e) ?? []);
}
