// An object a modality sent → the same object sealed: every element the
// modality wrote kept as it wrote it, plus the capture attestation (format 2),
// the site watermark where the pixels are native, and the device's Source
// signatures (plus the logged-in technologist's co-signature). What cannot be
// sealed whole is refused (Refusal), never half-sealed.
import { createHash } from 'node:crypto';
import { type DataSet, type Tag, findElement, formatTag, putElement, tag, PIXEL_DATA } from '../dicom/model.js';
import { attestationElements, firstFreeBlock, locateAttestation, RECEIVED_GROUP, SOURCE_RECEIVED_BY_DICOM, type PixelEncoding, type TileHashTable, type WatermarkAttestation } from '../dicom/attestation.js';
import { addCertifiedTimestamp, addSignature, dicomDateTime, PURPOSE, SEAL_MAC_ALGORITHM, signatureValue, type SignOptions } from '../dicom/signatures.js';
import { signableTags, TAGS } from '../dicom/mac.js';
import { encodeFragments, encodePart10, encodePart10AroundPixels, encodePart10Parts } from '../dicom/writer.js';
import { decodeString, decodeUS } from '../dicom/values.js';
import { UID } from '../dicom/uids.js';
import { isEcdsaSigner, type EcdsaSigner } from '../keys/ecdsa.js';
import type { Signer } from '../keys/ed25519.js';
import { tileHashes } from '../core/tiles.js';
import { markFrame, WATERMARK_SCHEME } from '../seal/watermark.js';
import { DEFAULT_TILE_SIZE, type DeviceIdentity, type TechnologistIdentity } from '../seal/seal.js';
import { DATA_SET_MISMATCH, Refusal } from './refusal.js';
import { cannot, macElementsBytes, macThroughPixels, parseReceived, sealableDataSet, type PredictedMac } from './sealable.js';
import { TileBands } from './tile-thread.js';
import { markBuffer, sealRoom, type MarkBuffer } from './mark-buffer.js';
import type { ReceivedPixelDigest } from './stream-digest.js';

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
  /**
   * Called once the object will be stored (every refusal is decided: it is passed on already signed,
   * or sealed), before it is signed: the proxy journals it then, so a refused object leaves no line.
   */
  onAccepted?: () => void;
  /**
   * The stored pixels are not the received ones (the site mark) and are now final: called once with
   * the value before it is hashed and signed, so the caller can start writing it (a PixelDraft).
   * The value stays unchanged until the outcome is released.
   */
  onMarkedPixels?: (value: Uint8Array) => void;
}

export type SealOutcome =
  | { kind: 'sealed'; bytes: Uint8Array; sopInstanceUid: string; encoding: PixelEncoding; frames: number; watermarked: boolean; coSignedBy?: string; notes: string[];
    /** The pixel hash (and tile table, when it is over the received pixels) came from the digest made on arrival. */
    hashedOnArrival: boolean;
    /**
     * The SHA-512 MAC of the signatures over the whole object: 'streamed' when hashed while the pixels
     * arrived, 'missed' when that prediction did not hold (hashed again, `notes` says why), 'none' when there was none.
     */
    macOnArrival: 'streamed' | 'missed' | 'none';
    /**
     * Present when `bytes` lie in a buffer the proxy reuses for the next object (the watermark path's
     * core memory): call it once they are written or no longer needed.
     */
    release?: () => void }
  /** Already carries a Digital Signatures Sequence: forwarded exactly as received. */
  | { kind: 'already-signed'; bytes: Uint8Array; sopInstanceUid: string };

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const num = (ds: DataSet, t: Tag) => decodeUS(findElement(ds, t)?.value);
const text = (ds: DataSet, t: Tag) => decodeString(findElement(ds, t)?.value);

interface PixelGeometry {
  rows: number;
  cols: number;
  frames: number;
  samples: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  monochrome: boolean;
  photometric: string;
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
    photometric: photometric ?? '',
  };
}

/**
 * The native Pixel Data value's length for the geometry, or a Refusal naming what does not fit
 * (PS3.5 8.1.1, PS3.3 C.7.6.3.1.2): 4:2:2 YBR keeps two samples a pixel (Y Y Cb Cr for two pixels),
 * Bits Allocated 1 packs the frames bit after bit; one pad byte may follow an odd total.
 */
function nativeLength(g: PixelGeometry, length: number): number {
  if (g.bitsAllocated !== 1 && (g.bitsAllocated % 8 !== 0 || g.bitsAllocated === 0)) {
    throw new Refusal(DATA_SET_MISMATCH, `radseal: Bits Allocated ${g.bitsAllocated} not sealed`, `Bits Allocated ${g.bitsAllocated}: native pixels are whole bytes a sample, or bit-packed (1)`);
  }
  const subsampled = g.photometric === 'YBR_FULL_422' || g.photometric === 'YBR_PARTIAL_422';
  const samples = subsampled && g.samples === 3 ? 2 : g.samples;
  const needed = Math.ceil((g.rows * g.cols * samples * g.bitsAllocated * g.frames) / 8);
  if (length !== needed && length !== needed + (needed % 2)) {
    throw new Refusal(DATA_SET_MISMATCH, 'radseal: Pixel Data length does not fit the geometry', `Pixel Data has ${length} bytes; ${g.frames} frame(s) of ${g.rows}x${g.cols}x${g.samples} (${g.photometric}) at ${g.bitsAllocated} bits need ${needed}`);
  }
  return needed;
}

interface NativeResult {
  stored: Uint8Array;
  /** `stored` lies in a buffer of the seal's own, with room around it: the file may be encoded there (in this range of it). */
  storedRoom?: { start: number; end: number };
  /** Marked pixels: their tile table and SHA-256 being made on the tile thread (each null when it could not). */
  offThread?: Promise<{ hashes: Uint8Array | null; sha256: Uint8Array | null }>;
  tiles?: TileHashTable;
  watermark?: WatermarkAttestation;
  notes: string[];
}

/** The site mark is for unsigned 16-bit monochrome pixels with 8 to 16 bits stored. */
const markable = (g: PixelGeometry) => g.samples === 1 && g.bitsAllocated === 16 && g.monochrome && !g.signed && g.bitsStored >= 8 && g.bitsStored <= 16;

/** Native pixels: the mark per frame (where the site mark applies), then the tile table per frame over the stored pixels. */
function sealNativePixels(received: Uint8Array, g: PixelGeometry, o: ProxySealOptions, serial: number, streamed: ReceivedPixelDigest | undefined, held: MarkBuffer[]): NativeResult {
  const needed = nativeLength(g, received.length);
  const frameBytes = needed / g.frames; // used for 16-bit grey frames only (mark, tiles)
  const notes: string[] = [];
  const grey16 = g.samples === 1 && g.bitsAllocated === 16;
  let stored = received;
  let storedRoom: NativeResult['storedRoom'];
  let watermark: WatermarkAttestation | undefined;
  const tileSize = o.tileSize ?? DEFAULT_TILE_SIZE;
  if (o.watermarkKey && markable(g)) {
    // One copy of the received pixels (they stay as received), 2-byte aligned, each frame marked where
    // it lies, with room around for the sealed file to be encoded there too (encodePart10AroundPixels).
    const buffer = markBuffer(received, sealRoom(received.length, tileSize).after);
    held.push(buffer);
    stored = buffer.pixels;
    storedRoom = buffer.room;
    for (let f = 0; f < g.frames; f++) {
      const pixels = new Uint16Array(stored.buffer, stored.byteOffset + f * frameBytes, g.rows * g.cols);
      const marked = markFrame({ rows: g.rows, cols: g.cols, bitsStored: g.bitsStored, pixels }, o.watermarkKey, o.device.deviceId, serial, undefined, true);
      if (marked.frame.pixels !== pixels) throw new Error('internal: the mark was not made in place');
      // The weakest frame's PSNR is the one worth recording.
      if (!watermark || marked.attestation.psnrDb < watermark.psnrDb) watermark = marked.attestation;
      if (!marked.robust.readable) notes.push(`watermark: no room for the robust mark in frame ${f + 1} (${marked.robust.problem}); the fragile layer carries it`);
    }
  } else if (o.watermarkKey) {
    notes.push(`no site watermark: the mark is for unsigned 16-bit monochrome pixels (this object: ${g.samples} sample(s), ${g.bitsAllocated} bits allocated, ${g.signed ? 'signed' : 'unsigned'}, ${g.monochrome ? 'monochrome' : 'colour'})`);
  }
  let tiles: TileHashTable | undefined;
  let offThread: NativeResult['offThread'];
  const streamedTiles = streamed?.tiles;
  if (tileSize > 0 && grey16 && storedRoom) {
    // The marked pixels: table and SHA-256 on the tile thread, while the seal hashes them for its MAC.
    const bands = new TileBands(g.rows, g.cols, tileSize);
    bands.update(stored.subarray(0, needed));
    const table = bands.finish().catch(() => ({ hashes: null, sha256: null }));
    // A pad byte after the frames is in the value's hash, not in the bands'.
    offThread = stored.length === needed ? table : table.then((r) => ({ ...r, sha256: null }));
  } else if (tileSize > 0 && grey16 && stored === received && streamedTiles && streamedTiles.size === tileSize
    && streamedTiles.rows === g.rows && streamedTiles.cols === g.cols && streamedTiles.frames === g.frames) {
    tiles = { size: tileSize, hashes: streamedTiles.hashes }; // hashed band by band as the pixels arrived
  } else if (tileSize > 0 && grey16) {
    const perFrame: Uint8Array[] = [];
    for (let f = 0; f < g.frames; f++) perFrame.push(tileHashes(stored.subarray(f * frameBytes, (f + 1) * frameBytes), g.rows, g.cols, tileSize));
    tiles = { size: tileSize, hashes: Buffer.concat(perFrame) };
  } else if (tileSize > 0) {
    notes.push('no tile table: tiles are hashed for 16-bit single-sample pixels');
  }
  return { stored, storedRoom, offThread, tiles, watermark, notes };
}

/**
 * What sealNativePixels would give for pixels of `length` bytes, for the dry run: the same refusals
 * and the same elements (a tile table where there would be one), without the pixels.
 */
function placeholderPixels(g: PixelGeometry, o: ProxySealOptions, length: number): NativeResult {
  nativeLength(g, length); // the same refusals
  const tileSize = o.tileSize ?? DEFAULT_TILE_SIZE;
  const grey16 = g.samples === 1 && g.bitsAllocated === 16;
  const tiles = tileSize > 0 && grey16 ? { size: tileSize, hashes: new Uint8Array(32) } : undefined;
  // Only the watermark attestation's tags matter (the second signature lists them before the pixels).
  const watermark = o.watermarkKey && markable(g) ? { scheme: WATERMARK_SCHEME, keyId: '', payload: new Uint8Array(8), psnrDb: 0 } : undefined;
  return { stored: new Uint8Array(0), tiles, watermark, notes: [] };
}

/** Seals one received object, or passes a signed one through; throws Refusal for what it will not seal. */
export async function sealReceived(input: ReceivedForSealing, o: ProxySealOptions): Promise<SealOutcome> {
  const held: MarkBuffer[] = [];
  const releaseAll = () => { for (const b of held) b.release(); };
  try {
    const outcome = await seal(input, o, undefined, held) as SealOutcome;
    if (outcome.kind === 'sealed' && held.length) outcome.release = releaseAll;
    return outcome;
  } catch (err) {
    releaseAll();
    throw err;
  }
}

/**
 * The length of the sealed file's head (preamble, meta, every element before Pixel Data and its
 * header: where the pixel value will lie), from the object received up to its native Pixel Data
 * (`prefix`: a Part 10 file ending with an empty Pixel Data; the value will be `pixelLength` bytes):
 * a dry run of the seal itself, with placeholder hashes and signatures (they lie after the pixels;
 * only the element list shapes the head). Undefined when the object would not be sealed with
 * native pixels (refused, already signed). With the site watermark key, the head of the marked
 * object (the mark's attestation lies after the pixels, but the signature listing its tags before). A prediction:
 * the seal's real head is compared with it before it is used.
 */
export async function sealedHeadLength(prefix: Uint8Array, pixelLength: number, callingAe: string, o: ProxySealOptions): Promise<number | undefined> {
  try {
    const head = await seal({ part10: prefix, callingAe, remoteAddress: '', serial: 0 }, o, pixelLength);
    return typeof head === 'number' ? head : undefined;
  } catch {
    return undefined;
  }
}

/** A signer of the signer's kind whose signatures are zeros of the usual length (the dry run's). */
function placeholderSigner<S extends Signer>(s: S): Signer {
  const zeros = async () => new Uint8Array(64);
  return isEcdsaSigner(s) ? { algorithm: s.algorithm, publicKey: s.publicKey, sign: zeros, signDigest: zeros } as EcdsaSigner : { algorithm: s.algorithm, publicKey: s.publicKey, sign: zeros };
}

/** The seal; with `dryRunPixels` (the Pixel Data value's length, the value itself not yet there) only its head's length. */
async function seal(input: ReceivedForSealing, o: ProxySealOptions, dryRunPixels?: number, held: MarkBuffer[] = []): Promise<SealOutcome | number> {
  const dry = dryRunPixels !== undefined;
  if (dry) {
    o = { ...o, timestamp: undefined, device: { ...o.device, signer: placeholderSigner(o.device.signer), ecdsa: o.device.ecdsa && { ...o.device.ecdsa, signer: placeholderSigner(o.device.ecdsa.signer) as EcdsaSigner } },
      technologist: o.technologist && { ...o.technologist, signer: placeholderSigner(o.technologist.signer) } };
  }
  const parsed = parseReceived(input.part10);
  const sopInstanceUid = text(parsed.dataSet, tag(0x0008, 0x0018));
  const sopClassUid = text(parsed.dataSet, tag(0x0008, 0x0016));
  if ((findElement(parsed.dataSet, TAGS.digitalSignaturesSequence)?.items?.length ?? 0) > 0) {
    // Another signer's (or radseal's) signatures cover these exact bytes: never re-seal.
    if (dry) throw new Error('already signed');
    o.onAccepted?.();
    return { kind: 'already-signed', bytes: input.part10, sopInstanceUid };
  }
  const sealable = sealableDataSet(parsed, o.technologist);
  const ds = sealable.ds;
  const tech = sealable.technologist;
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
  let predicted: PredictedMac | undefined;
  /** The MAC hashed through the marked pixels before the tail was known (not on arrival). */
  let markedMac: PredictedMac | undefined;
  if (pixelElement.fragments) {
    // Sealed as the stream received: no mark (it would need decoding and re-encoding), no tiles.
    receivedPixelHash = storedPixelHash = sha256(encodeFragments(pixelElement.fragments));
  } else {
    const value = pixelElement.value!;
    if (dry && value.length !== 0) throw new Error('internal: a dry run of the seal takes an empty Pixel Data');
    const s = input.streamed;
    // The streamed digest counts only if it saw these very bytes: same buffer, offset and length.
    const streamed = s && value.buffer === input.part10.buffer && value.byteOffset - input.part10.byteOffset === s.dataSetOffset + s.pixels.offset
      && value.length === s.pixels.length ? s.pixels : undefined;
    receivedPixelHash = streamed?.sha256 ?? sha256(value);
    hashedOnArrival = streamed !== undefined;
    native = dry ? placeholderPixels(g, o, dryRunPixels) : sealNativePixels(value, g, o, input.serial, streamed, held);
    storedPixelHash = native.stored === pixelElement.value ? receivedPixelHash : new Uint8Array(0);
    inPlace = (!!input.mayOverwrite && streamed !== undefined && native.stored === value) || !!native.storedRoom;
    // The MAC hashed on arrival went over the received pixels: of use only when they are the ones stored.
    if (native.stored === value) predicted = streamed?.mac;
    putElement(ds, { tag: PIXEL_DATA, vr: pixelElement.vr, value: native.stored });
    if (native.stored !== pixelElement.value) {
      if (native.offThread && !dry) o.onMarkedPixels?.(native.stored);
      if (native.offThread) predicted = markedMac = await macThroughPixels(ds);
      const off = native.offThread && await native.offThread;
      if (native.offThread) native.tiles = { size: o.tileSize ?? DEFAULT_TILE_SIZE, hashes: off?.hashes ?? framesTileHashes(native.stored, g, o.tileSize ?? DEFAULT_TILE_SIZE) };
      storedPixelHash = off?.sha256 ?? sha256(native.stored);
    }
  }
  // The attestation goes after Pixel Data, in the first free block of 7FE1: the MAC stream's part
  // before the pixels is then known when they start to arrive (docs/PROXY.md).
  const block = firstFreeBlock(ds, RECEIVED_GROUP);
  if (!block) throw cannot('radseal: no free private block in group 7FE1', 'every private block of group 7FE1 (7FE1,0010-00FF) is taken: no room for the capture attestation');
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
  }, block)) putElement(ds, el);
  const misplaced = locateAttestation(ds).problems;
  if (misplaced.length) {
    // The sealed object could never be authentic (verify reads no attestation from it): refused, not half-sealed.
    throw cannot('radseal: private blocks of 0009/7FE1 ambiguous (see log)', `the received object's private elements would make the capture attestation ambiguous: ${misplaced.join('; ')}`);
  }
  if (!dry) o.onAccepted?.();

  const notes = [...sealable.notes, ...(native?.notes ?? [])];
  const streamedMac = predicted && elementsMacOf(ds, predicted);
  if (streamedMac && 'missed' in streamedMac) notes.push(`MAC hashed after the last fragment: ${streamedMac.missed}`);
  // The whole-object signatures take the MAC hashed on arrival, when there is one (each finishes a copy).
  const ahead = streamedMac && !('missed' in streamedMac) ? streamedMac : undefined;
  const time = new Date();
  const device = o.device;
  const full = await addSignature(ds, { signer: device.signer, certificateDer: device.certificateDer, purpose: PURPOSE.source, time,
    elementsMac: ahead });
  const token = o.timestamp ? await o.timestamp(signatureValue(ds, full.signatureUid)) : null;
  if (token) addCertifiedTimestamp(ds, full.signatureUid, token);
  if (native?.tiles) {
    // Everything but Pixel Data: stays valid under a pixel-only edit, so the tile table that names it can be trusted.
    const attributes = signableTags(ds).filter((t) => t !== PIXEL_DATA);
    await addSignature(ds, { signer: device.signer, certificateDer: device.certificateDer, purpose: PURPOSE.source, signedTags: attributes, time });
  }
  // One MAC algorithm for every whole-object signature (as radseal seal): one pass over the pixels for all of them.
  if (device.ecdsa) await addSignature(ds, { signer: device.ecdsa.signer, certificateDer: device.ecdsa.certificateDer, purpose: PURPOSE.source, time, elementsMac: ahead });
  if (tech) await addSignature(ds, { signer: tech.signer, certificateDer: tech.certificateDer, purpose: PURPOSE.author, time, elementsMac: ahead });

  // Native pixels are written Explicit VR Little Endian (the MAC encoding); encapsulated ones keep their syntax.
  const transferSyntaxUid = encoding === 'NATIVE' ? UID.explicitVrLittleEndian : parsed.transferSyntaxUid;
  const meta = { sopClassUid, sopInstanceUid, transferSyntaxUid, sourceAeTitle: input.callingAe };
  if (dry) return encodePart10Parts(meta, ds)[0]!.length;
  const bytes = (inPlace ? encodePart10AroundPixels(meta, ds, native?.storedRoom) : null) ?? encodePart10(meta, ds);
  return { kind: 'sealed', bytes, sopInstanceUid, encoding, frames: g.frames, watermarked: !!native?.watermark, coSignedBy: tech?.operatorId, notes, hashedOnArrival,
    macOnArrival: markedMac ? 'none' : ahead ? 'streamed' : streamedMac ? 'missed' : 'none' };
}

type ElementsMac = NonNullable<SignOptions['elementsMac']>;


/** The tile table of every frame, on this thread. */
function framesTileHashes(stored: Uint8Array, g: PixelGeometry, tileSize: number): Uint8Array {
  const frameBytes = g.rows * g.cols * 2;
  return Buffer.concat(Array.from({ length: g.frames }, (_, f) => tileHashes(stored.subarray(f * frameBytes, (f + 1) * frameBytes), g.rows, g.cols, tileSize)));
}

/**
 * The hash fed while the pixels arrived, continued over the elements after Pixel Data (the
 * attestation), once the prediction is checked: the MAC stream of the elements before Pixel Data
 * must be, byte for byte, what was hashed, and Pixel Data's VR the one its header was hashed with
 * (its value is the streamed bytes: the caller checked buffer, offset and length). Else why not.
 */
function elementsMacOf(ds: DataSet, predicted: PredictedMac): ElementsMac | { missed: string } {
  const at = ds.findIndex((e) => e.tag === PIXEL_DATA);
  const pixel = ds[at];
  if (!pixel?.value) return { missed: 'no native Pixel Data' };
  if (pixel.vr !== predicted.pixelVr) return { missed: `Pixel Data is ${pixel.vr}, hashed as ${predicted.pixelVr}` };
  const before = macElementsBytes(ds.slice(0, at));
  if (!Buffer.from(before.buffer, before.byteOffset, before.length).equals(predicted.elementsBefore)) {
    return { missed: 'the elements before Pixel Data are not the ones hashed on arrival (e.g. another technologist by now)' };
  }
  const after = macElementsBytes(ds.slice(at + 1));
  return { hash: predicted.hash.copy().update(after), signedTags: signableTags(ds), algorithm: SEAL_MAC_ALGORITHM };
}
