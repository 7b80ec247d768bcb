// radseal's capture attestation: a private block (PS3.5 7.8) holding what the
// device saw at capture. It is signed with everything else, so it cannot be
// changed without breaking the signature.
//
// Where it lies: `capture` and `seal` write it at (0009,0010)/(0009,10xx); the
// proxy writes it after Pixel Data, in the first free block of group 7FE1
// (7FE1,00xx)/(7FE1,xxyy), so that the MAC stream's part before the pixels is
// known when they start to arrive (docs/PROXY.md). One RADSEAL block, in one of
// these places, or none: anything else is ambiguous and never read.
import { type DataSet, type Element, type Tag, elementOf, findElement, formatTag, groupOf, tag } from './model.js';
import { decodeString, decodeUL, decodeUS, ob, str, ul, us } from './values.js';

export const PRIVATE_CREATOR = 'RADSEAL 1.0';

/** A private block: creator at (group,00bb), elements at (group,bb00-bbFF) (PS3.5 7.8.1). */
export interface AttestationBlock {
  group: number;
  block: number;
}

/** Where capture and seal write the attestation: (0009,0010) reserving (0009,10xx). */
export const CAPTURE_BLOCK: AttestationBlock = { group: 0x0009, block: 0x10 };
/** The group after Pixel Data (odd, above 7FE0) where the proxy writes it, in the first free block. */
export const RECEIVED_GROUP = 0x7fe1;
/** Groups a radseal attestation may lie in. */
const ATTESTATION_GROUPS = new Set([CAPTURE_BLOCK.group, RECEIVED_GROUP]);

/** The attestation's tags in one block. */
export function attestationTags(at: AttestationBlock) {
  const el = (offset: number) => tag(at.group, (at.block << 8) | offset);
  return {
    creator: tag(at.group, at.block),
    deviceId: el(0x01),
    frameSerial: el(0x02),
    boardId: el(0x03),
    rawFrameSha256: el(0x04),
    pixelDataSha256: el(0x05),
    captureDateTime: el(0x06),
    formatVersion: el(0x07),
    /** Tile edge in pixels for the tile hash table (US). */
    tileSize: el(0x08),
    /** SHA-256 per tile of Pixel Data as stored, row-major tile order, 32 bytes each (OB). */
    tileSha256Table: el(0x09),
    /** Watermark scheme and version (LO), present when the frame was watermarked. */
    watermarkScheme: el(0x0a),
    /** Identifier of the site watermark key (LO, hex; never the key). */
    watermarkKeyId: el(0x0b),
    /** The 8 payload bytes embedded (OB). */
    watermarkPayload: el(0x0c),
    /** PSNR of the embedding at the stored bit depth (DS). */
    watermarkPsnr: el(0x0d),
    // Format 2: an object received from a modality (radseal proxy) rather than captured from a detector link.
    /** Where the pixels came from (LO), e.g. "received from the modality by DICOM". */
    source: el(0x0e),
    /** Calling AE title of the modality that sent the object (AE). */
    callingAeTitle: el(0x0f),
    /** Network address the modality sent from (LO). */
    peerAddress: el(0x10),
    /** Transfer syntax the object arrived in (UI). */
    receivedTransferSyntax: el(0x11),
    /** NATIVE (pixels hashed, tiled and marked as stored) or ENCAPSULATED (compressed stream sealed as received) (CS). */
    pixelEncoding: el(0x12),
    /** Number of frames the tile table and pixel hashes cover (UL). */
    numberOfFrames: el(0x13),
  } as const;
}

export type AttestationTags = ReturnType<typeof attestationTags>;
export type AttestationField = keyof AttestationTags;

/** The tags at (0009,0010)/(0009,10xx), where capture and seal write the attestation. */
export const ATTESTATION_TAGS: AttestationTags = attestationTags(CAPTURE_BLOCK);

const isCreatorSlot = (t: Tag) => groupOf(t) % 2 === 1 && elementOf(t) >= 0x10 && elementOf(t) <= 0xff;
const blockOf = (t: Tag) => elementOf(t) >> 8;
const describe = (b: AttestationBlock) => `${formatTag(tag(b.group, b.block))}`;

/**
 * The first block of `group` with neither a creator nor an element in it, or undefined when all
 * 240 are taken. A modality may already use a block there (its private data after Pixel Data).
 */
export function firstFreeBlock(ds: DataSet, group: number): AttestationBlock | undefined {
  const taken = new Set<number>();
  for (const e of ds) {
    if (groupOf(e.tag) !== group) continue;
    if (isCreatorSlot(e.tag)) taken.add(elementOf(e.tag));
    else if (blockOf(e.tag) >= 0x10) taken.add(blockOf(e.tag));
  }
  for (let b = 0x10; b <= 0xff; b++) if (!taken.has(b)) return { group, block: b };
  return undefined;
}

/**
 * Where a data set's radseal attestation is, and what makes that ambiguous: a RADSEAL creator
 * anywhere but (0009,0010) or a block of 7FE1, more than one RADSEAL creator (in both places, or
 * twice in one group), or an element in the attestation groups (0009, 7FE1) that lies in no
 * creator's block (PS3.5 7.8.1: such an element belongs to nobody, and a reader could take it for
 * the attestation's). With problems, there is no attestation to read.
 */
export function locateAttestation(ds: DataSet): { block?: AttestationBlock; problems: string[] } {
  const problems: string[] = [];
  const found: AttestationBlock[] = [];
  for (const e of ds) {
    if (!isCreatorSlot(e.tag) || decodeString(e.value) !== PRIVATE_CREATOR) continue;
    const b = { group: groupOf(e.tag), block: elementOf(e.tag) };
    const allowed = b.group === RECEIVED_GROUP || (b.group === CAPTURE_BLOCK.group && b.block === CAPTURE_BLOCK.block);
    if (!allowed) problems.push(`radseal private creator "${PRIVATE_CREATOR}" at ${describe(b)}, where radseal never writes its attestation (only (0009,0010) or a block of group 7FE1)`);
    found.push(b);
  }
  if (found.length > 1) problems.push(`radseal private creator "${PRIVATE_CREATOR}" occurs ${found.length} times (${found.map(describe).join(', ')}): an object holds one capture attestation`);
  for (const e of ds) {
    const g = groupOf(e.tag);
    if (!ATTESTATION_GROUPS.has(g) || elementOf(e.tag) < 0x1000) continue;
    if (!findElement(ds, tag(g, blockOf(e.tag)))) {
      problems.push(`private element ${formatTag(e.tag)} lies outside any private creator's block (no ${formatTag(tag(g, blockOf(e.tag)))})`);
    }
  }
  return { block: found.length === 1 ? found[0] : undefined, problems };
}

/**
 * The blocks whose creator and device id a signature lists: where the attestation it covers can be,
 * when the signature is judged without its data set (the data set decides: locateAttestation).
 */
export function attestationBlocksListed(signedTags: readonly Tag[]): AttestationBlock[] {
  const listed = new Set(signedTags);
  const out: AttestationBlock[] = [];
  for (const t of signedTags) {
    if (!ATTESTATION_GROUPS.has(groupOf(t)) || !isCreatorSlot(t)) continue;
    const b = { group: groupOf(t), block: elementOf(t) };
    if (b.group === CAPTURE_BLOCK.group && b.block !== CAPTURE_BLOCK.block) continue;
    if (listed.has(attestationTags(b).deviceId)) out.push(b);
  }
  return out;
}

/** The value of the attestation's Source (its element 0E) for objects the proxy received. */
export const SOURCE_RECEIVED_BY_DICOM = 'received from the modality by DICOM';

/** How the sealed Pixel Data is encoded: what the pixel hash and the tile table are over. */
export type PixelEncoding = 'NATIVE' | 'ENCAPSULATED';

/**
 * Format 2 fields: the object was received by DICOM from a modality. For these, the raw-frame hash
 * (0009,1004) is SHA-256 of the Pixel Data value as received: for native pixels the value bytes,
 * for encapsulated pixels the encoded value (every item tag, length and fragment, then the
 * sequence delimitation), i.e. exactly what the modality sent.
 */
export interface ReceivedAttestation {
  source: string;
  callingAeTitle: string;
  peerAddress: string;
  transferSyntaxUid: string;
  pixelEncoding: PixelEncoding;
  numberOfFrames: number;
}

/** What the seal recorded about the watermark it embedded. */
export interface WatermarkAttestation {
  scheme: string;
  keyId: string;
  payload: Uint8Array;
  psnrDb: number;
}

/** Per-tile hashes of the stored (watermarked) pixels: what lets verify name the changed tiles. */
export interface TileHashTable {
  size: number;
  hashes: Uint8Array;
}

export interface CaptureAttestation {
  deviceId: string;
  frameSerial: number;
  boardId: string;
  /** SHA-256 of the frame exactly as the detector sent it (uint16 little endian, row-major). */
  rawFrameSha256: Uint8Array;
  /**
   * SHA-256 of the Pixel Data value as stored (after watermarking); in format 3 (`tileDigest`)
   * the tile digest of the stored pixels instead (host/core/tiles.ts: SHA-256 over the geometry
   * and the tile table, which covers every pixel), so the seal hashes the frame once, four tiles at a time.
   */
  pixelDataSha256: Uint8Array;
  /** Format 3: the pixel hash (0009,1005) is the tile digest; written as format '3', read back from it. */
  tileDigest?: boolean;
  /** DICOM DT of the capture. */
  captureDateTime: string;
  /** Optional tile hash table (absent in objects sealed before it existed). */
  tiles?: TileHashTable;
  /** Present when a site watermark was embedded at capture (the first frame's figures for multi-frame). */
  watermark?: WatermarkAttestation;
  /** Present (format 2) when the object was received from a modality rather than captured from a link. */
  received?: ReceivedAttestation;
  /** Attestation format version as read ('1', '2' or '3'); written from the fields present. */
  formatVersion?: string;
  /** Where it was read from. */
  block?: AttestationBlock;
}

/** The attestation's elements in block `at` (capture and seal: (0009,0010)). */
export function attestationElements(a: CaptureAttestation, at: AttestationBlock = CAPTURE_BLOCK): Element[] {
  const T = attestationTags(at);
  return [
    str(T.creator, 'LO', PRIVATE_CREATOR),
    str(T.deviceId, 'LO', a.deviceId),
    ul(T.frameSerial, a.frameSerial),
    str(T.boardId, 'LO', a.boardId),
    ob(T.rawFrameSha256, a.rawFrameSha256),
    ob(T.pixelDataSha256, a.pixelDataSha256),
    str(T.captureDateTime, 'DT', a.captureDateTime),
    str(T.formatVersion, 'CS', a.received ? '2' : a.tileDigest ? '3' : '1'),
    ...(a.tiles ? [us(T.tileSize, a.tiles.size), ob(T.tileSha256Table, a.tiles.hashes)] : []),
    ...(a.watermark ? [
      str(T.watermarkScheme, 'LO', a.watermark.scheme),
      str(T.watermarkKeyId, 'LO', a.watermark.keyId),
      ob(T.watermarkPayload, a.watermark.payload),
      str(T.watermarkPsnr, 'DS', a.watermark.psnrDb.toFixed(2)),
    ] : []),
    ...(a.received ? [
      str(T.source, 'LO', a.received.source),
      str(T.callingAeTitle, 'AE', a.received.callingAeTitle),
      str(T.peerAddress, 'LO', a.received.peerAddress),
      str(T.receivedTransferSyntax, 'UI', a.received.transferSyntaxUid),
      str(T.pixelEncoding, 'CS', a.received.pixelEncoding),
      ul(T.numberOfFrames, a.received.numberOfFrames),
    ] : []),
  ];
}

/**
 * The attestation of a data set, wherever it lies (locateAttestation), or undefined when it has no
 * radseal block or its place is ambiguous. `located`: what locateAttestation(ds) said, when the
 * caller has it already.
 */
export function readAttestation(ds: DataSet, located = locateAttestation(ds)): CaptureAttestation | undefined {
  const { block, problems } = located;
  if (!block || problems.length) return undefined;
  const T = attestationTags(block);
  const bytes = (t: number) => findElement(ds, t)?.value?.slice(0, 32) ?? new Uint8Array(0);
  return {
    deviceId: decodeString(findElement(ds, T.deviceId)?.value),
    frameSerial: decodeUL(findElement(ds, T.frameSerial)?.value) ?? -1,
    boardId: decodeString(findElement(ds, T.boardId)?.value),
    rawFrameSha256: bytes(T.rawFrameSha256),
    pixelDataSha256: bytes(T.pixelDataSha256),
    captureDateTime: decodeString(findElement(ds, T.captureDateTime)?.value),
    tiles: readTiles(ds, T),
    watermark: readWatermark(ds, T),
    received: readReceived(ds, T),
    formatVersion: decodeString(findElement(ds, T.formatVersion)?.value),
    tileDigest: decodeString(findElement(ds, T.formatVersion)?.value) === '3',
    block,
  };
}

function readReceived(ds: DataSet, T: AttestationTags): ReceivedAttestation | undefined {
  const source = decodeString(findElement(ds, T.source)?.value);
  if (!source) return undefined;
  const encoding = decodeString(findElement(ds, T.pixelEncoding)?.value);
  return {
    source,
    callingAeTitle: decodeString(findElement(ds, T.callingAeTitle)?.value),
    peerAddress: decodeString(findElement(ds, T.peerAddress)?.value),
    transferSyntaxUid: decodeString(findElement(ds, T.receivedTransferSyntax)?.value),
    // Anything but the two known values is read as encapsulated: never tile-checked as native.
    pixelEncoding: encoding === 'NATIVE' ? 'NATIVE' : 'ENCAPSULATED',
    numberOfFrames: decodeUL(findElement(ds, T.numberOfFrames)?.value) ?? 1,
  };
}

function readWatermark(ds: DataSet, T: AttestationTags): WatermarkAttestation | undefined {
  const scheme = decodeString(findElement(ds, T.watermarkScheme)?.value);
  if (!scheme) return undefined;
  return {
    scheme,
    keyId: decodeString(findElement(ds, T.watermarkKeyId)?.value),
    payload: findElement(ds, T.watermarkPayload)?.value?.slice(0, 8) ?? new Uint8Array(0),
    psnrDb: Number(decodeString(findElement(ds, T.watermarkPsnr)?.value)),
  };
}

function readTiles(ds: DataSet, T: AttestationTags): TileHashTable | undefined {
  const size = decodeUS(findElement(ds, T.tileSize)?.value);
  const hashes = findElement(ds, T.tileSha256Table)?.value;
  if (!size || !hashes) return undefined;
  return { size, hashes };
}
