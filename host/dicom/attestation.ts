// radseal's capture attestation: a private block (PS3.5 7.8) holding what the
// device saw at capture. It is signed with everything else, so it cannot be
// changed without breaking the signature.
import { type DataSet, type Element, findElement, tag } from './model.js';
import { decodeString, decodeUL, ob, str, ul } from './values.js';

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
} as const;

export interface CaptureAttestation {
  deviceId: string;
  frameSerial: number;
  boardId: string;
  /** SHA-256 of the frame exactly as the detector sent it (uint16 little endian, row-major). */
  rawFrameSha256: Uint8Array;
  /** SHA-256 of the Pixel Data value as stored (after watermarking). */
  pixelDataSha256: Uint8Array;
  /** DICOM DT of the capture. */
  captureDateTime: string;
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
    str(T.formatVersion, 'CS', '1'),
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
  };
}
