// Frame → sealed DICOM object: the capture attestation, the DX data set and
// the device's Source signature, in that order (the signature covers both).
import { buildDx, pixelBytes, type CaptureMeta, type DxFrame } from '../dicom/dx.js';
import { attestationElements } from '../dicom/attestation.js';
import { addSignature, dicomDateTime, PURPOSE } from '../dicom/signatures.js';
import { encodePart10 } from '../dicom/writer.js';
import { UID } from '../dicom/uids.js';
import { sha256 } from '../core/hash.js';
import type { Signer } from '../keys/ed25519.js';

/** Who seals: the device's identity and key. */
export interface DeviceIdentity {
  deviceId: string;
  boardId: string;
  signer: Signer;
  certificateDer: Uint8Array;
}

export interface SealRequest {
  frame: DxFrame;
  /** SHA-256 of the frame as it arrived, computed in the core while it streamed in. */
  rawFrameSha256: Uint8Array;
  frameSerial: number;
  meta?: CaptureMeta;
  captureTime?: Date;
}

export interface SealedObject {
  bytes: Uint8Array;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  rawFrameSha256: Uint8Array;
  pixelDataSha256: Uint8Array;
}

export async function sealFrame(req: SealRequest, device: DeviceIdentity): Promise<SealedObject> {
  if (req.rawFrameSha256.length !== 32) throw new RangeError('raw frame SHA-256 must be 32 bytes');
  const captureTime = req.captureTime ?? new Date();
  const pixelDataSha256 = sha256(pixelBytes(req.frame.pixels));
  const attestation = attestationElements({
    deviceId: device.deviceId,
    frameSerial: req.frameSerial,
    boardId: device.boardId,
    rawFrameSha256: req.rawFrameSha256,
    pixelDataSha256,
    captureDateTime: dicomDateTime(captureTime),
  });
  const meta: CaptureMeta = { deviceSerialNumber: device.deviceId, ...req.meta };
  const dx = buildDx(req.frame, meta, attestation, captureTime);
  await addSignature(dx.dataSet, { signer: device.signer, certificateDer: device.certificateDer, purpose: PURPOSE.source });
  const bytes = encodePart10({ sopClassUid: UID.dxImageStorageForPresentation, sopInstanceUid: dx.sopInstanceUid }, dx.dataSet);
  return {
    bytes,
    sopInstanceUid: dx.sopInstanceUid,
    studyInstanceUid: dx.studyInstanceUid,
    seriesInstanceUid: dx.seriesInstanceUid,
    rawFrameSha256: req.rawFrameSha256,
    pixelDataSha256,
  };
}
