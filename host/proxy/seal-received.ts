// An object a modality sent → the same object sealed: every element the
// modality wrote kept as it wrote it, plus the capture attestation (format 2),
// the site watermark where the pixels are native, and the device's Source
// signatures (plus the logged-in technologist's co-signature). What cannot be
// sealed whole is refused (Refusal), never half-sealed.
import { createHash } from 'node:crypto';
import { readPart10, DicomFormatError, type ParsedFile } from '../dicom/reader.js';
import { type DataSet, type Element, type Tag, elementOf, findElement, formatTag, groupOf, putElement, tag } from '../dicom/model.js';
import { attestationElements, ATTESTATION_TAGS, SOURCE_RECEIVED_BY_DICOM, type PixelEncoding, type TileHashTable, type WatermarkAttestation } from '../dicom/attestation.js';
import { withDictionaryVrs } from '../dicom/dictionary.js';
import { addCertifiedTimestamp, addSignature, dicomDateTime, PURPOSE, signatureValue } from '../dicom/signatures.js';
import { signableTags, TAGS } from '../dicom/mac.js';
import { encodeFragments, encodePart10, encodePart10AroundPixels } from '../dicom/writer.js';
import { decodeString, decodeUS, sq, str } from '../dicom/values.js';
import { OPERATOR_ID_SCHEME } from '../dicom/dx.js';
import { UID } from '../dicom/uids.js';
import { ENCAPSULATED_SYNTAXES } from '../dicom/transfer-syntax.js';
import { tileHashes } from '../core/tiles.js';
import { markFrame } from '../seal/watermark.js';
import { DEFAULT_TILE_SIZE, type DeviceIdentity, type TechnologistIdentity } from '../seal/seal.js';
import { operatorIdOf } from '../ingest/verify.js';
import { CANNOT_UNDERSTAND, DATA_SET_MISMATCH, Refusal } from './refusal.js';
import type { ReceivedPixelDigest } from './stream-digest.js';

const PIXEL_DATA = tag(0x7fe0, 0x0010);
const OPERATORS_NAME = tag(0x0008, 0x1070);
const OPERATOR_IDENTIFICATION = tag(0x0008, 0x1072);
const INSTITUTION_NAME = tag(0x0008, 0x0080);

export interface ReceivedForSealing {
  /** The object as a Part 10 file (meta header from the association, data set as received). */
  part10: Uint8Array;
  callingAe: string;
  remoteAddress: string;
  /** Serial the proxy gives this object (attestation, watermark payload, outbox name). */
  serial: number;
  /**
   * The Pixel Data digest made while the fragments arrived (host/proxy/stream-digest.ts), and where
   * the data set starts in `part10`: used only when it covers exactly the bytes read as Pixel Data.
   */
  streamed?: { pixels: ReceivedPixelDigest; dataSetOffset: number };
  /**
   * The caller needs none of `part10`'s buffer but the Pixel Data value after this: the sealed file
   * may be encoded around that value where it lies (no copy of it), overwriting the rest. Only
   * taken when the streamed digest located the value (so the caller knows which bytes stay).
   */
  mayOverwrite?: boolean;
}

export interface ProxySealOptions {
  device: DeviceIdentity;
  watermarkKey?: Uint8Array;
  technologist?: TechnologistIdentity;
  /** Tile edge of the per-frame tile table (native 16-bit pixels); 0 leaves it out. */
  tileSize?: number;
  timestamp?: (signature: Uint8Array) => Promise<Uint8Array | null>;
  captureTime?: Date;
}

export type SealOutcome =
  | { kind: 'sealed'; bytes: Uint8Array; sopInstanceUid: string; encoding: PixelEncoding; frames: number; watermarked: boolean; coSignedBy?: string; notes: string[];
    /** The pixel hash (and tile table, when it is over the received pixels) came from the digest made on arrival. */
    hashedOnArrival: boolean }
  /** Already carries a Digital Signatures Sequence: forwarded exactly as received. */
  | { kind: 'already-signed'; bytes: Uint8Array; sopInstanceUid: string };

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const num = (ds: DataSet, t: Tag) => decodeUS(findElement(ds, t)?.value);
const text = (ds: DataSet, t: Tag) => decodeString(findElement(ds, t)?.value);
const cannot = (comment: string, reason: string) => new Refusal(CANNOT_UNDERSTAND, comment, reason);

function holdsUN(el: Element): boolean {
  return el.vr === 'UN' || (el.items ?? []).some((item) => item.some(holdsUN));
}

/** Parses what arrived and checks it is something the seal can cover completely. */
function parseReceived(part10: Uint8Array): ParsedFile {
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

/** Drops what is only encoding (group lengths, Length to End, trailing padding); refuses what no MAC can cover. */
function sealableDataSet(parsed: ParsedFile): DataSet {
  let ds = parsed.dataSet;
  if (!parsed.explicitVr) {
    const converted = withDictionaryVrs(ds);
    if (converted.unknown.length) {
      const first = converted.unknown[0]!;
      throw cannot(`radseal: VR unknown for ${first.slice(0, 11)}; send Explicit VR`, `Implicit VR element(s) whose VR no dictionary knows: ${converted.unknown.slice(0, 10).join(', ')}${converted.unknown.length > 10 ? ' …' : ''}. As UN they would be outside every signature (the MAC rules exclude UN), so the object could never verify as authentic; configure the modality to send Explicit VR Little Endian`);
    }
    ds = converted.dataSet;
  }
  ds = ds.filter((e) => elementOf(e.tag) !== 0x0000 && e.tag !== TAGS.lengthToEnd && e.tag !== TAGS.dataSetTrailingPadding);
  const un = ds.filter(holdsUN);
  if (un.length) {
    throw cannot(`radseal: UN element ${formatTag(un[0]!.tag)} cannot be signed`, `element(s) ${un.map((e) => formatTag(e.tag)).join(', ')} are UN or hold UN, which the DICOM MAC rules exclude: the object could never verify as authentic`);
  }
  const ours = ds.filter((e) => groupOf(e.tag) === 0x0009 && (elementOf(e.tag) === 0x0010 || elementOf(e.tag) >> 8 === 0x10));
  if (ours.length) {
    throw cannot('radseal: private block (0009,0010) already in use', `the private block radseal's attestation uses, (0009,0010) and (0009,10xx), already holds ${ours.map((e) => formatTag(e.tag)).join(', ')} (creator "${text(ds, ATTESTATION_TAGS.creator)}")`);
  }
  return ds;
}

interface PixelGeometry {
  rows: number;
  cols: number;
  frames: number;
  samples: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  monochrome: boolean;
}

function geometry(ds: DataSet): PixelGeometry {
  const rows = num(ds, tag(0x0028, 0x0010)) ?? 0;
  const cols = num(ds, tag(0x0028, 0x0011)) ?? 0;
  const framesText = text(ds, tag(0x0028, 0x0008));
  const frames = framesText ? Number(framesText) : 1;
  if (!rows || !cols || !Number.isInteger(frames) || frames < 1) {
    throw new Refusal(DATA_SET_MISMATCH, 'radseal: no valid Rows/Columns/Number of Frames', `image geometry missing or invalid: Rows ${rows}, Columns ${cols}, Number of Frames "${framesText}"`);
  }
  const photometric = text(ds, tag(0x0028, 0x0004));
  return {
    rows, cols, frames,
    samples: num(ds, tag(0x0028, 0x0002)) ?? 1,
    bitsAllocated: num(ds, tag(0x0028, 0x0100)) ?? 0,
    bitsStored: num(ds, tag(0x0028, 0x0101)) ?? 0,
    signed: num(ds, tag(0x0028, 0x0103)) === 1,
    monochrome: photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2',
  };
}

interface NativeResult {
  stored: Uint8Array;
  tiles?: TileHashTable;
  watermark?: WatermarkAttestation;
  notes: string[];
}

/** Native pixels: the mark per frame (where the site mark applies), then the tile table per frame over the stored pixels. */
function sealNativePixels(received: Uint8Array, g: PixelGeometry, o: ProxySealOptions, serial: number, streamed?: ReceivedPixelDigest): NativeResult {
  if (g.bitsAllocated % 8 !== 0 || g.bitsAllocated === 0) {
    throw new Refusal(DATA_SET_MISMATCH, `radseal: Bits Allocated ${g.bitsAllocated} not sealed`, `Bits Allocated ${g.bitsAllocated}: the proxy seals whole-byte native pixels`);
  }
  const frameBytes = g.rows * g.cols * g.samples * (g.bitsAllocated / 8);
  // One pad byte may follow an odd total (PS3.5 8.1.1); anything else is a geometry mismatch.
  const needed = frameBytes * g.frames;
  if (received.length !== needed && received.length !== needed + (needed % 2)) {
    throw new Refusal(DATA_SET_MISMATCH, 'radseal: Pixel Data length does not fit the geometry', `Pixel Data has ${received.length} bytes; ${g.frames} frame(s) of ${g.rows}x${g.cols}x${g.samples} at ${g.bitsAllocated} bits need ${needed}`);
  }
  const notes: string[] = [];
  const grey16 = g.samples === 1 && g.bitsAllocated === 16;
  const markable = grey16 && g.monochrome && !g.signed && g.bitsStored >= 8 && g.bitsStored <= 16;
  let stored = received;
  let watermark: WatermarkAttestation | undefined;
  if (o.watermarkKey && markable) {
    stored = new Uint8Array(received);
    for (let f = 0; f < g.frames; f++) {
      // A copy per frame: the received bytes need not be 2-byte aligned.
      const pixels = new Uint16Array(stored.slice(f * frameBytes, (f + 1) * frameBytes).buffer);
      const marked = markFrame({ rows: g.rows, cols: g.cols, bitsStored: g.bitsStored, pixels }, o.watermarkKey, o.device.deviceId, serial);
      const m = marked.frame.pixels;
      stored.set(new Uint8Array(m.buffer, m.byteOffset, m.byteLength), f * frameBytes);
      // The weakest frame's PSNR is the one worth recording.
      if (!watermark || marked.attestation.psnrDb < watermark.psnrDb) watermark = marked.attestation;
    }
  } else if (o.watermarkKey) {
    notes.push(`no site watermark: the mark is for unsigned 16-bit monochrome pixels (this object: ${g.samples} sample(s), ${g.bitsAllocated} bits allocated, ${g.signed ? 'signed' : 'unsigned'}, ${g.monochrome ? 'monochrome' : 'colour'})`);
  }
  const tileSize = o.tileSize ?? DEFAULT_TILE_SIZE;
  let tiles: TileHashTable | undefined;
  const streamedTiles = streamed?.tiles;
  if (tileSize > 0 && grey16 && stored === received && streamedTiles && streamedTiles.size === tileSize
    && streamedTiles.rows === g.rows && streamedTiles.cols === g.cols && streamedTiles.frames === g.frames) {
    tiles = { size: tileSize, hashes: streamedTiles.hashes }; // hashed band by band as the pixels arrived
  } else if (tileSize > 0 && grey16) {
    const perFrame: Uint8Array[] = [];
    for (let f = 0; f < g.frames; f++) perFrame.push(tileHashes(stored.subarray(f * frameBytes, (f + 1) * frameBytes), g.rows, g.cols, tileSize));
    tiles = { size: tileSize, hashes: Buffer.concat(perFrame) };
  } else if (tileSize > 0) {
    notes.push('no tile table: tiles are hashed for 16-bit single-sample pixels');
  }
  return { stored, tiles, watermark, notes };
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

/** Seals one received object, or passes a signed one through; throws Refusal for what it will not seal. */
export async function sealReceived(input: ReceivedForSealing, o: ProxySealOptions): Promise<SealOutcome> {
  const parsed = parseReceived(input.part10);
  const sopInstanceUid = text(parsed.dataSet, tag(0x0008, 0x0018));
  const sopClassUid = text(parsed.dataSet, tag(0x0008, 0x0016));
  if ((findElement(parsed.dataSet, TAGS.digitalSignaturesSequence)?.items?.length ?? 0) > 0) {
    // Another signer's (or radseal's) signatures cover these exact bytes: never re-seal.
    return { kind: 'already-signed', bytes: input.part10, sopInstanceUid };
  }
  const ds = sealableDataSet(parsed);
  const pixelElement = findElement(ds, PIXEL_DATA);
  if (!pixelElement || (!pixelElement.value && !pixelElement.fragments)) {
    throw new Refusal(DATA_SET_MISMATCH, 'radseal: no Pixel Data; the proxy seals images', `SOP class ${sopClassUid} object without Pixel Data: the proxy seals images only`);
  }
  const g = geometry(ds);
  const encoding: PixelEncoding = pixelElement.fragments ? 'ENCAPSULATED' : 'NATIVE';
  let receivedPixelHash: Uint8Array;
  let storedPixelHash: Uint8Array;
  let native: NativeResult | undefined;
  let hashedOnArrival = false;
  let inPlace = false;
  if (pixelElement.fragments) {
    // Sealed as the stream received: no mark (it would need decoding and re-encoding), no tiles.
    receivedPixelHash = storedPixelHash = sha256(encodeFragments(pixelElement.fragments));
  } else {
    const value = pixelElement.value!;
    const s = input.streamed;
    // The streamed digest counts only if it saw these very bytes: same buffer, offset and length.
    const streamed = s && value.buffer === input.part10.buffer && value.byteOffset - input.part10.byteOffset === s.dataSetOffset + s.pixels.offset
      && value.length === s.pixels.length ? s.pixels : undefined;
    receivedPixelHash = streamed?.sha256 ?? sha256(value);
    hashedOnArrival = streamed !== undefined;
    native = sealNativePixels(value, g, o, input.serial, streamed);
    storedPixelHash = native.stored === pixelElement.value ? receivedPixelHash : sha256(native.stored);
    inPlace = !!input.mayOverwrite && streamed !== undefined && native.stored === value;
    putElement(ds, { tag: PIXEL_DATA, vr: pixelElement.vr, value: native.stored });
  }
  const captureTime = o.captureTime ?? new Date();
  for (const el of attestationElements({
    deviceId: o.device.deviceId,
    frameSerial: input.serial,
    boardId: o.device.boardId,
    rawFrameSha256: receivedPixelHash,
    pixelDataSha256: storedPixelHash,
    captureDateTime: dicomDateTime(captureTime),
    tiles: native?.tiles,
    watermark: native?.watermark,
    received: {
      source: SOURCE_RECEIVED_BY_DICOM,
      callingAeTitle: input.callingAe,
      peerAddress: input.remoteAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, ''),
      transferSyntaxUid: parsed.transferSyntaxUid,
      pixelEncoding: encoding,
      numberOfFrames: g.frames,
    },
  })) putElement(ds, el);

  const notes = [...(native?.notes ?? [])];
  let tech = o.technologist;
  if (tech) {
    const op = operatorAttributes(ds, tech);
    if (op.conflict) {
      notes.push(`no technologist co-signature: ${op.conflict}`);
      tech = undefined;
    } else for (const el of op.elements) putElement(ds, el);
  }

  const time = new Date();
  const device = o.device;
  const full = await addSignature(ds, { signer: device.signer, certificateDer: device.certificateDer, purpose: PURPOSE.source, time });
  const token = o.timestamp ? await o.timestamp(signatureValue(ds, full.signatureUid)) : null;
  if (token) addCertifiedTimestamp(ds, full.signatureUid, token);
  if (native?.tiles) {
    // Everything but Pixel Data: stays valid under a pixel-only edit, so the tile table that names it can be trusted.
    const attributes = signableTags(ds).filter((t) => t !== PIXEL_DATA);
    await addSignature(ds, { signer: device.signer, certificateDer: device.certificateDer, purpose: PURPOSE.source, signedTags: attributes, time });
  }
  if (device.ecdsa) await addSignature(ds, { signer: device.ecdsa.signer, certificateDer: device.ecdsa.certificateDer, purpose: PURPOSE.source, macAlgorithm: 'SHA256', time });
  if (tech) await addSignature(ds, { signer: tech.signer, certificateDer: tech.certificateDer, purpose: PURPOSE.author, macAlgorithm: 'SHA512', time });

  // Native pixels are written Explicit VR Little Endian (the MAC encoding); encapsulated ones keep their syntax.
  const transferSyntaxUid = encoding === 'NATIVE' ? UID.explicitVrLittleEndian : parsed.transferSyntaxUid;
  const meta = { sopClassUid, sopInstanceUid, transferSyntaxUid, sourceAeTitle: input.callingAe };
  const bytes = (inPlace ? encodePart10AroundPixels(meta, ds) : null) ?? encodePart10(meta, ds);
  return { kind: 'sealed', bytes, sopInstanceUid, encoding, frames: g.frames, watermarked: !!native?.watermark, coSignedBy: tech?.operatorId, notes, hashedOnArrival };
}
