// What the proxy signs, as far as it follows from the elements a modality sent:
// one transformation, applied to the whole object when it is sealed
// (seal-received.ts) and to the elements before Pixel Data when the pixels start
// to arrive (stream-digest.ts), so that the MAC stream's part before the pixels
// can be hashed ahead and the pixels fed to it as they come. The seal checks
// that prediction byte for byte before using it.
import { createHash, type Hash } from 'node:crypto';
import { readPart10, DicomFormatError, type ParsedFile } from '../dicom/reader.js';
import { type DataSet, type Element, type Tag, elementOf, findElement, formatTag, putElement, tag, PIXEL_DATA } from '../dicom/model.js';
import { withDictionaryVrs } from '../dicom/dictionary.js';
import { holdsUN, macValueHeader, signableTags, TAGS, writeMacElements } from '../dicom/mac.js';
import { nodeHash, SEAL_MAC_ALGORITHM } from '../dicom/signatures.js';
import { decodeString, sq, str } from '../dicom/values.js';
import { OPERATOR_ID_SCHEME } from '../dicom/dx.js';
import { UID } from '../dicom/uids.js';
import { ENCAPSULATED_SYNTAXES } from '../dicom/transfer-syntax.js';
import type { TechnologistIdentity } from '../seal/seal.js';
import { operatorIdOf } from '../ingest/verify.js';
import { DEFAULT_POLICY } from '../ingest/policy.js';
import { CANNOT_UNDERSTAND, DATA_SET_MISMATCH, Refusal } from './refusal.js';

const OPERATORS_NAME = tag(0x0008, 0x1070);
const OPERATOR_IDENTIFICATION = tag(0x0008, 0x1072);
const INSTITUTION_NAME = tag(0x0008, 0x0080);

const text = (ds: DataSet, t: Tag) => decodeString(findElement(ds, t)?.value);
export const cannot = (comment: string, reason: string) => new Refusal(CANNOT_UNDERSTAND, comment, reason);

/** Parses what arrived and checks it is something the seal can cover completely. */
export function parseReceived(part10: Uint8Array): ParsedFile {
  let parsed: ParsedFile;
  try {
    parsed = readPart10(part10);
  } catch (err) {
    if (err instanceof DicomFormatError) throw cannot('radseal: cannot parse the data set', err.message);
    throw err;
  }
  const ts = parsed.transferSyntaxUid;
  if (ts !== UID.explicitVrLittleEndian && ts !== UID.implicitVrLittleEndian && !ENCAPSULATED_SYNTAXES.has(ts)) {
    throw cannot(`radseal: transfer syntax ${ts} not sealed`.slice(0, 64), `transfer syntax ${ts} cannot be sealed: the proxy takes Explicit/Implicit VR Little Endian and JPEG, JPEG-LS, JPEG 2000 and RLE encapsulated pixel data (Big Endian and Deflated are refused)`);
  }
  if (parsed.anomalies.length) throw cannot('radseal: ambiguous data set (see proxy log)', `the data set is ambiguous: ${parsed.anomalies.join('; ')}`);
  if (parsed.warnings.length) throw cannot('radseal: odd-length value (see proxy log)', `values the seal cannot re-encode unchanged: ${parsed.warnings.join('; ')}`);
  return parsed;
}

export interface Sealable {
  /** The elements the seal signs (before the attestation and the pixels as stored are put in). */
  ds: DataSet;
  /** The technologist who co-signs: undefined when none is logged in or the modality names someone else. */
  technologist?: TechnologistIdentity;
  notes: string[];
}

/**
 * The received elements as the seal signs them: Implicit VR given its VRs by the dictionary, what is
 * only encoding dropped (group lengths, Length to End, trailing padding), what no MAC can cover
 * refused (UN), and the operator attributes of the co-signing technologist added.
 */
export function sealableDataSet(parsed: Pick<ParsedFile, 'dataSet' | 'explicitVr'>, technologist?: TechnologistIdentity): Sealable {
  let ds = parsed.dataSet;
  if (!parsed.explicitVr) {
    const converted = withDictionaryVrs(ds);
    if (converted.unknown.length) {
      // The element itself, not the sequence it lies in (the log has the path of items to it).
      const first = converted.unknown[0]!.split(' > ').pop()!;
      throw cannot(`radseal: VR unknown for ${first.slice(0, 11)}; send Explicit VR`, `Implicit VR element(s) whose VR no dictionary knows: ${converted.unknown.slice(0, 10).join(', ')}${converted.unknown.length > 10 ? ' …' : ''}. As UN they would be outside every signature (the MAC rules exclude UN), so the object could never verify as authentic; configure the modality to send Explicit VR Little Endian`);
    }
    ds = converted.dataSet;
  }
  ds = ds.filter((e) => elementOf(e.tag) !== 0x0000 && e.tag !== TAGS.lengthToEnd && e.tag !== TAGS.dataSetTrailingPadding);
  const un = ds.filter(holdsUN);
  if (un.length) {
    throw cannot(`radseal: UN element ${formatTag(un[0]!.tag)} cannot be signed`, `element(s) ${un.map((e) => formatTag(e.tag)).join(', ')} are UN or hold UN, which the DICOM MAC rules exclude: the object could never verify as authentic`);
  }
  // What verify requires every signature to cover must be there to be covered: sealed without it, the
  // object would be stored, forwarded and never authentic. (An object without Pixel Data has its own refusal.)
  const absent = findElement(ds, PIXEL_DATA) && DEFAULT_POLICY.requiredSignedTags.find((r) => !r.attestation && r.tag !== PIXEL_DATA && !findElement(ds, r.tag));
  if (absent) {
    throw new Refusal(DATA_SET_MISMATCH, `radseal: no ${absent.name} ${formatTag(absent.tag)}`.slice(0, 64), `${absent.name} ${formatTag(absent.tag)} is missing (a Type 1 or 2 attribute of every image); verify requires every signature to cover it, so the sealed object could never be authentic`);
  }
  // MAC Parameters without signatures (an envelope whose signatures were removed): ours would join
  // those items, and verify refuses a MAC item no signature uses, so the object could never verify.
  if (findElement(ds, TAGS.macParametersSequence)) {
    throw cannot('radseal: MAC Parameters Sequence but no signatures', 'the object carries a MAC Parameters Sequence (4FFE,0001) without Digital Signatures: its signatures were removed and their MAC items left; sealed, it would hold MAC items no signature uses and never verify as authentic');
  }
  const notes: string[] = [];
  if (!technologist) return { ds, notes };
  const op = operatorAttributes(ds, technologist);
  if (op.conflict) {
    notes.push(`no technologist co-signature: ${op.conflict}`);
    return { ds, notes };
  }
  for (const el of op.elements) putElement(ds, el);
  return { ds, technologist, notes };
}

/** Operator attributes for the co-signing technologist, or the conflict when the modality named someone else. */
function operatorAttributes(ds: DataSet, tech: TechnologistIdentity): { elements: Element[]; conflict?: string } {
  const named = operatorIdOf(ds);
  if (named !== undefined) {
    return named === tech.operatorId ? { elements: [] } : { elements: [], conflict: `the modality names operator "${named}", not the logged-in technologist "${tech.operatorId}"` };
  }
  const name = tech.operatorsName || tech.operatorId;
  const written = text(ds, OPERATORS_NAME);
  // Operators' Name the modality wrote stays; when it names someone else, the object is not this technologist's to sign.
  if (written && written !== name) return { elements: [], conflict: `the modality names operator "${written}" in Operators' Name, not the logged-in technologist "${name}" (${tech.operatorId})` };
  const elements: Element[] = [sq(OPERATOR_IDENTIFICATION, [[
    str(INSTITUTION_NAME, 'LO', text(ds, INSTITUTION_NAME) || 'radseal site'),
    sq(tag(0x0040, 0x1101), [[
      str(tag(0x0008, 0x0100), 'SH', tech.operatorId),
      str(tag(0x0008, 0x0102), 'SH', OPERATOR_ID_SCHEME),
      str(tag(0x0008, 0x0104), 'LO', name),
    ]]),
  ]])];
  if (!written) elements.push(str(OPERATORS_NAME, 'PN', name));
  return { elements };
}

/** The MAC stream of every MAC-eligible element of `ds`, in order (a few KB: the elements before Pixel Data). */
export function macElementsBytes(ds: DataSet): Uint8Array {
  const chunks: Uint8Array[] = [];
  writeMacElements(ds, signableTags(ds), (c) => chunks.push(c));
  return Buffer.concat(chunks);
}

/**
 * The whole-object signatures' MAC (device, its ECDSA key, technologist: all with radseal's one
 * algorithm, signatures.ts SEAL_MAC_ALGORITHM, so one pass over the pixels serves them all) over the elements before Pixel Data and then the pixels, fed as they arrive. */
export interface PredictedMac {
  /** The MAC stream of the elements before Pixel Data that was hashed: the seal compares it with its own. */
  elementsBefore: Uint8Array;
  /** The VR the Pixel Data header was hashed with. */
  pixelVr: string;
  /** Fed with elementsBefore, the Pixel Data header, then the pixel bytes as they arrive. */
  hash: Hash;
}

/**
 * The prediction, from a Part 10 file of the elements received before Pixel Data and the Pixel
 * Data element's header with length 0: the same transformation the seal applies, with the
 * technologist logged in now. Throws (a Refusal or a format error) when the seal would not sign it.
 */
export function predictMac(prefix: Uint8Array, pixelLength: number, technologist?: TechnologistIdentity): PredictedMac {
  const { ds } = sealableDataSet(parseReceived(prefix), technologist);
  const pixel = ds[ds.length - 1];
  if (!pixel || pixel.tag !== PIXEL_DATA || pixel.value?.length !== 0) throw new Error('internal: the prefix does not end with an empty Pixel Data');
  const elementsBefore = macElementsBytes(ds.slice(0, -1));
  return { elementsBefore, pixelVr: pixel.vr, hash: startMac(elementsBefore, macValueHeader(pixel, pixelLength)) };
}

/** Pixel bytes hashed between two turns of the event loop in macThroughPixels (a few ms of SHA-512). */
const MAC_SLICE_BYTES = 2 << 20;

/**
 * The same MAC hashed through the Pixel Data value of `ds` as it stands (pixels the seal changed: the
 * site mark), so that the seal hashes them while the tile thread makes their table. The event loop
 * turns between slices: the draft's writes of the same pixels complete and start its fdatasyncs
 * meanwhile, rather than all after the hash.
 */
export async function macThroughPixels(ds: DataSet): Promise<PredictedMac | undefined> {
  const at = ds.findIndex((e) => e.tag === PIXEL_DATA);
  const pixel = ds[at];
  if (!pixel?.value) return undefined;
  const elementsBefore = macElementsBytes(ds.slice(0, at));
  const hash = startMac(elementsBefore, macValueHeader(pixel, pixel.value.length));
  const value = pixel.value;
  for (let off = 0; off < value.length; off += MAC_SLICE_BYTES) {
    if (off > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    hash.update(value.subarray(off, Math.min(off + MAC_SLICE_BYTES, value.length)));
  }
  return { elementsBefore, pixelVr: pixel.vr, hash };
}

/** The MAC hash fed with the elements before Pixel Data and its header: ready for the pixels. */
function startMac(elementsBefore: Uint8Array, pixelHeader: Uint8Array): Hash {
  return createHash(nodeHash(SEAL_MAC_ALGORITHM)).update(elementsBefore).update(pixelHeader);
}
