// radseal's capture attestation: a private block (PS3.5 7.8) holding what the
// device saw at capture. It is signed with everything else, so it cannot be
// changed without breaking the signature.
import { type DataSet, type Element, findElement, tag } from './model.js';
import { decodeString, decodeUL, decodeUS, ob, str, ul, us } from './values.js';

export const PRIVATE_GROUP = 0x0009;
export const PRIVATE_CREATOR = 'RADSEAL 1.0';
/** The block (0009,10xx) reserved by the creator at (0009,0010). */
const BLOCK = 0x10;
const creatorTag = tag(PRIVATE_GROUP, BLOCK);
const at = (offset: number) => tag(PRIVATE_GROUP, (BLOCK << 8) | offset);

export const ATTESTATION_TAGS = {
  creator: creatorTag,
  deviceId: at(0x01),
  frameSerial: at(0x02),
  boardId: at(0x03),
  rawFrameSha256: at(0x04),
  pixelDataSha256: at(0x05),
  captureDateTime: at(0x06),
  formatVersion: at(0x07),
  /** Tile edge in pixels for the tile hash table (US). */
  tileSize: at(0x08),
  /** SHA-256 per tile of Pixel Data as stored, row-major tile order, 32 bytes each (OB). */
  tileSha256Table: at(0x09),
  /** Watermark scheme and version (LO), present when the frame was watermarked. */
  watermarkScheme: at(0x0a),
  /** Identifier of the site watermark key (LO, hex; never the key). */
  watermarkKeyId: at(0x0b),
  /** The 8 payload bytes embedded (OB). */
  watermarkPayload: at(0x0c),
  /** PSNR of the embedding at the stored bit depth (DS). */
  watermarkPsnr: at(0x0d),
  // Format 2: an object received from a modality (radseal proxy) rather than captured from a detector link.
  /** Where the pixels came from (LO), e.g. "received from the modality by DICOM". */
  source: at(0x0e),
  /** Calling AE title of the modality that sent the object (AE). */
  callingAeTitle: at(0x0f),
  /** Network address the modality sent from (LO). */
  peerAddress: at(0x10),
  /** Transfer syntax the object arrived in (UI). */
  receivedTransferSyntax: at(0x11),
  /** NATIVE (pixels hashed, tiled and marked as stored) or ENCAPSULATED (compressed stream sealed as received) (CS). */
  pixelEncoding: at(0x12),
  /** Number of frames the tile table and pixel hashes cover (UL). */
  numberOfFrames: at(0x13),
} as const;

/** The value of Source (0009,100E) for objects the proxy received. */
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
}

export function attestationElements(a: CaptureAttestation): Element[] {
  const T = ATTESTATION_TAGS;
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

/** The attestation of a data set, or undefined when it has no radseal block. */
export function readAttestation(ds: DataSet): CaptureAttestation | undefined {
  const T = ATTESTATION_TAGS;
  if (decodeString(findElement(ds, T.creator)?.value) !== PRIVATE_CREATOR) return undefined;
  const bytes = (t: number) => findElement(ds, t)?.value?.slice(0, 32) ?? new Uint8Array(0);
  return {
    deviceId: decodeString(findElement(ds, T.deviceId)?.value),
    frameSerial: decodeUL(findElement(ds, T.frameSerial)?.value) ?? -1,
    boardId: decodeString(findElement(ds, T.boardId)?.value),
    rawFrameSha256: bytes(T.rawFrameSha256),
    pixelDataSha256: bytes(T.pixelDataSha256),
    captureDateTime: decodeString(findElement(ds, T.captureDateTime)?.value),
    tiles: readTiles(ds),
    watermark: readWatermark(ds),
    received: readReceived(ds),
    formatVersion: decodeString(findElement(ds, T.formatVersion)?.value),
    tileDigest: decodeString(findElement(ds, T.formatVersion)?.value) === '3',
  };
}

function readReceived(ds: DataSet): ReceivedAttestation | undefined {
  const T = ATTESTATION_TAGS;
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

function readWatermark(ds: DataSet): WatermarkAttestation | undefined {
  const T = ATTESTATION_TAGS;
  const scheme = decodeString(findElement(ds, T.watermarkScheme)?.value);
  if (!scheme) return undefined;
  return {
    scheme,
    keyId: decodeString(findElement(ds, T.watermarkKeyId)?.value),
    payload: findElement(ds, T.watermarkPayload)?.value?.slice(0, 8) ?? new Uint8Array(0),
    psnrDb: Number(decodeString(findElement(ds, T.watermarkPsnr)?.value)),
  };
}

function readTiles(ds: DataSet): TileHashTable | undefined {
  const size = decodeUS(findElement(ds, ATTESTATION_TAGS.tileSize)?.value);
  const hashes = findElement(ds, ATTESTATION_TAGS.tileSha256Table)?.value;
  if (!size || !hashes) return undefined;
  return { size, hashes };
}
