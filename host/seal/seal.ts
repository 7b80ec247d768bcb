// Frame → sealed DICOM object: the capture attestation, the DX data set and
// the device's Source signature, in that order (the signature covers both).
import { buildDx, pixelBytes, type CaptureMeta, type DxFrame } from '../dicom/dx.js';
import { attestationElements } from '../dicom/attestation.js';
import { addCertifiedTimestamp, addSignature, dicomDateTime, hashMacElements, planMac, PURPOSE, SEAL_MAC_ALGORITHM, signatureValue } from '../dicom/signatures.js';
import { signableTags } from '../dicom/mac.js';
import { type Element, PIXEL_DATA } from '../dicom/model.js';
import { encodePart10, encodePart10Parts } from '../dicom/writer.js';
import { UID } from '../dicom/uids.js';
import { sha256 } from '../core/hash.js';
import type { Signer } from '../keys/ed25519.js';
import type { EcdsaSigner } from '../keys/ecdsa.js';
import { tileDigest, tileGrid, tileHashes } from '../core/tiles.js';
import { pixelRange, type PixelRange } from '../core/range.js';

/** Default tile edge of the per-tile hash table (pixels). */
export const DEFAULT_TILE_SIZE = 64;

/** Who seals: the device's identity and key. */
export interface DeviceIdentity {
  deviceId: string;
  boardId: string;
  signer: Signer;
  certificateDer: Uint8Array;
  /**
   * Optional second device key (ECDSA P-256) for a signature DCMTK dcmsign can
   * verify; turned on by the device's provisioning (device-ecdsa.key/.crt).
   */
  ecdsa?: { signer: EcdsaSigner; certificateDer: Uint8Array };
}

/** The technologist who took the image: co-signs as Author (CID 7007 code 1). */
export interface TechnologistIdentity {
  /** Operator identifier: code value in Operator Identification Sequence; must equal the certificate CN. */
  operatorId: string;
  /** Operators' Name (PN), e.g. "Doe^Jane"; defaults to the operator id. */
  operatorsName?: string;
  signer: Signer;
  certificateDer: Uint8Array;
}

export interface SealRequest {
  frame: DxFrame;
  /** SHA-256 of the frame as it arrived, computed in the core while it streamed in. */
  rawFrameSha256: Uint8Array;
  frameSerial: number;
  meta?: CaptureMeta;
  /** More elements for the data set, e.g. the Request Attributes Sequence of a worklist procedure. */
  extraElements?: Element[];
  captureTime?: Date;
  /** Technologist co-signature (Ed25519, purpose Author); adds the operator attributes. */
  technologist?: TechnologistIdentity;
  /** Tile edge for the per-tile hash table; 0 leaves the table out. Default 64. */
  tileSize?: number;
  /** Site watermark: embedded before the pixels are hashed and signed. */
  watermark?: { key: Uint8Array; psnrDb?: number };
  /**
   * The watermark may be embedded into `frame.pixels` itself (the capture service's frame slot in
   * core memory, which nothing reads as the raw frame afterwards) rather than into a copy.
   */
  markInPlace?: boolean;
  /**
   * A time-stamping authority for the device signature (RFC 3161, e.g. requestTimestamp): given
   * the Signature value, a token, or null to go on without one. Its errors are the caller's to catch.
   */
  timestamp?: (signature: Uint8Array) => Promise<Uint8Array | null>;
  /**
   * Encode the object as `parts` whose middle one is the frame's pixels where they lie (no 19 MB
   * copy): for a caller that writes them (writeFileAtomic takes parts) before anything changes
   * the frame. `bytes` is then put together only if it is read.
   */
  gathered?: boolean;
  /**
   * The frame's tile table at `tileSize`, made in the core over these very pixels as they arrived
   * (the link receiver, a frame file read piece by piece): used only when nothing changes the
   * pixels before they are signed (no watermark), so the frame is not hashed once more after its
   * last byte.
   */
  tilesAsReceived?: { size: number; hashes: Uint8Array };
  /** The frame's smallest and largest value, found as it arrived (for the default window); used, like tilesAsReceived, only when no watermark changes the pixels. */
  rangeAsReceived?: PixelRange;
  /**
   * Called once, before the pixels are hashed, with the object's head (everything before the pixel
   * value) and the pixel value, both final: the caller may start writing them (the returned parts
   * are then [head, pixels, tail], the same head and pixels). Native pixels only.
   */
  writeAhead?: (head: Uint8Array, pixels: Uint8Array) => void;
}

export interface SealedObject {
  /** The Part 10 object. */
  readonly bytes: Uint8Array;
  /** The same object as pieces to write one after the other (one piece unless the seal was asked for `gathered`). */
  parts: readonly Uint8Array[];
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  rawFrameSha256: Uint8Array;
  pixelDataSha256: Uint8Array;
  /** The device signature carries a Certified Timestamp. */
  timestamped: boolean;
  /**
   * Why the site watermark's robust layer does not read back from the sealed frame (no room: tiny,
   * flat, noisy or saturated), or null (it does, or no watermark). The object is sealed all the same:
   * verify with the site key confirms it through the fragile layer against the attested payload.
   */
  watermarkProblem: string | null;
}

export async function sealFrame(req: SealRequest, device: DeviceIdentity): Promise<SealedObject> {
  if (req.rawFrameSha256.length !== 32) throw new RangeError('raw frame SHA-256 must be 32 bytes');
  const captureTime = req.captureTime ?? new Date();
  // The mark goes in first: everything hashed and signed below is the marked frame. (The watermark
  // code loads only when a seal asks for it.)
  const marked = req.watermark ? (await import('./watermark.js')).markFrame(req.frame, req.watermark.key, device.deviceId, req.frameSerial, req.watermark.psnrDb, req.markInPlace) : undefined;
  const frame = marked?.frame ?? req.frame;
  const stored = pixelBytes(frame.pixels);
  const tileSize = req.tileSize ?? DEFAULT_TILE_SIZE;
  const given = req.tilesAsReceived;
  const grid = tileSize > 0 ? tileGrid(frame.rows, frame.cols, tileSize) : undefined;
  const reuse = !marked && given !== undefined && grid !== undefined && given.size === tileSize && given.hashes.length === grid.rows * grid.cols * 32;
  const tiles = tileSize > 0 ? { size: tileSize, hashes: reuse ? given.hashes : tileHashes(stored, frame.rows, frame.cols, tileSize) } : undefined;
  // With a tile table the pixel hash is its tile digest (attestation format 3): the pixels are
  // hashed once, four tiles at a time, instead of once more by a serial SHA-256.
  const pixelDataSha256 = tiles ? tileDigest(tiles.hashes, frame.rows, frame.cols, tiles.size) : sha256(stored);
  const attestation = attestationElements({
    deviceId: device.deviceId,
    frameSerial: req.frameSerial,
    boardId: device.boardId,
    rawFrameSha256: req.rawFrameSha256,
    pixelDataSha256,
    tileDigest: tiles !== undefined,
    captureDateTime: dicomDateTime(captureTime),
    tiles,
    watermark: marked?.attestation,
  });
  const tech = req.technologist;
  const meta: CaptureMeta = { deviceSerialNumber: device.deviceId, ...req.meta };
  if (tech) {
    if (meta.operatorId && meta.operatorId !== tech.operatorId) throw new RangeError(`meta operatorId "${meta.operatorId}" is not the co-signing technologist "${tech.operatorId}"`);
    meta.operatorId = tech.operatorId;
    meta.operatorsName = meta.operatorsName || tech.operatorsName || tech.operatorId;
  }
  // The default window's range is taken in the core, where the (marked) frame lies.
  const dx = buildDx(frame, meta, [...attestation, ...(req.extraElements ?? [])], captureTime, { pixelRange: (!marked && req.rangeAsReceived) || pixelRange(frame.pixels) });
  const time = new Date();
  // Every signature's MAC Parameters item is added first (they lie before Pixel Data, the
  // signatures after it), so the head is final before the pixels are hashed: with writeAhead the
  // caller writes the head and the pixels while the MAC is computed.
  const signed = signableTags(dx.dataSet);
  const attributes = signed.filter((t) => t !== PIXEL_DATA);
  const macs = {
    device: planMac(dx.dataSet, signed),
    // A second Source signature over everything but Pixel Data: when only pixels are edited it
    // stays valid, so verify can trust the tile table that names the edit.
    attributes: tiles ? planMac(dx.dataSet, attributes) : undefined,
    ecdsa: device.ecdsa ? planMac(dx.dataSet, signed) : undefined,
    technologist: tech ? planMac(dx.dataSet, signed) : undefined,
  };
  const fileMeta = { sopClassUid: UID.dxImageStorageForPresentation, sopInstanceUid: dx.sopInstanceUid };
  const ahead = req.writeAhead ? encodePart10Parts(fileMeta, dx.dataSet) : undefined;
  if (ahead) {
    if (ahead.length !== 3) throw new Error('internal: writeAhead needs native Pixel Data');
    req.writeAhead!(ahead[0]!, ahead[1]!);
  }
  // The device's, its ECDSA and the technologist's signatures cover the same elements with one
  // algorithm: the elements (the whole frame) are hashed once and each finishes a copy.
  const elementsMac = hashMacElements(dx.dataSet, signed, SEAL_MAC_ALGORITHM);
  const full = await addSignature(dx.dataSet, { signer: device.signer, certificateDer: device.certificateDer, purpose: PURPOSE.source, time, elementsMac, plannedMacId: macs.device });
  const token = req.timestamp ? await req.timestamp(signatureValue(dx.dataSet, full.signatureUid)) : null;
  if (token) addCertifiedTimestamp(dx.dataSet, full.signatureUid, token);
  if (macs.attributes !== undefined) {
    await addSignature(dx.dataSet, { signer: device.signer, certificateDer: device.certificateDer, purpose: PURPOSE.source, signedTags: attributes, time, plannedMacId: macs.attributes });
  }
  if (device.ecdsa) {
    await addSignature(dx.dataSet, { signer: device.ecdsa.signer, certificateDer: device.ecdsa.certificateDer, purpose: PURPOSE.source, time, elementsMac, plannedMacId: macs.ecdsa });
  }
  if (tech) {
    await addSignature(dx.dataSet, { signer: tech.signer, certificateDer: tech.certificateDer, purpose: PURPOSE.author, time, elementsMac, plannedMacId: macs.technologist });
  }
  const parts = req.gathered || ahead ? encodePart10Parts(fileMeta, dx.dataSet) : [encodePart10(fileMeta, dx.dataSet)];
  const samePixels = (a: Uint8Array, b: Uint8Array) => a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
  if (ahead && !(parts.length === 3 && Buffer.from(parts[0]!).equals(ahead[0]!) && samePixels(parts[1]!, ahead[1]!))) {
    throw new Error('internal: the sealed head differs from the one written ahead');
  }
  let whole = parts.length === 1 ? parts[0] : undefined;
  return {
    get bytes() {
      return (whole ??= Buffer.concat(parts));
    },
    parts,
    sopInstanceUid: dx.sopInstanceUid,
    studyInstanceUid: dx.studyInstanceUid,
    seriesInstanceUid: dx.seriesInstanceUid,
    rawFrameSha256: req.rawFrameSha256,
    pixelDataSha256,
    timestamped: token !== null,
    watermarkProblem: marked && !marked.robust.readable ? marked.robust.problem : null,
  };
}
