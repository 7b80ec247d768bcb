// The capture watermark: what the seal embeds (device and frame serial,
// bound to this image's content by the watermark's content tag) and what it
// records about it in the signed attestation.
import { createHash } from 'node:crypto';
import { embedWatermark, type RobustOutcome } from '../watermark/index.js';
import { watermarkKeyId } from '../keys/watermark-key.js';
import type { WatermarkAttestation } from '../dicom/attestation.js';
import type { DxFrame } from '../dicom/dx.js';

export const WATERMARK_SCHEME = 'RADSEAL-SS-1';

/** 4 bytes naming the device: a hash, since the payload has room for 64 bits in all. */
export function deviceTag(deviceId: string): Uint8Array {
  return createHash('sha256').update('radseal device tag\0').update(deviceId).digest().subarray(0, 4);
}

/** The 64-bit payload: device tag ‖ frame serial (uint32, big endian). */
export function capturePayload(deviceId: string, frameSerial: number): Uint8Array {
  const out = new Uint8Array(8);
  out.set(deviceTag(deviceId), 0);
  new DataView(out.buffer).setUint32(4, frameSerial >>> 0, false);
  return out;
}

export interface MarkedFrame {
  frame: DxFrame;
  attestation: WatermarkAttestation;
  /**
   * Whether the robust layer reads back from the marked frame. When it does not (no room: a tiny, flat,
   * empty or saturated frame, or 8 bits stored), `problem` says why: the frame is then identified by the
   * fragile layer against the attested payload (verify with the site key), not by the mark alone, and
   * the mark does not survive an export.
   */
  robust: RobustOutcome;
}

/** `inPlace`: the mark is embedded into `frame.pixels` itself (the caller's frame is the marked frame). */
export function markFrame(frame: DxFrame, key: Uint8Array, deviceId: string, frameSerial: number, psnrDb?: number, inPlace = false): MarkedFrame {
  const payload = capturePayload(deviceId, frameSerial);
  const result = embedWatermark(frame, key, payload, { ...(psnrDb === undefined ? {} : { psnrDb }), ...(inPlace ? { out: frame.pixels } : {}) });
  return {
    frame: result.image,
    attestation: { scheme: WATERMARK_SCHEME, keyId: watermarkKeyId(key), payload, psnrDb: result.psnrDb },
    robust: result.robust,
  };
}
