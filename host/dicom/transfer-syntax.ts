// What radseal knows of transfer syntaxes, in one place: their names, which
// keep Pixel Data native, and which encode the data set Explicit VR Little
// Endian (the encoding of the MAC stream), so that a signature over them can be
// checked as they stand: the native one, and those with encapsulated
// (compressed) Pixel Data, whose compressed stream the signature covers as encoded.
import { UID } from './uids.js';

export const DEFLATED_EXPLICIT_VR_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

/** Encapsulated (compressed) syntaxes whose data set is Explicit VR Little Endian, with short names. */
export const ENCAPSULATED_SYNTAXES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.1.2.4.50', 'JPEG Baseline'],
  ['1.2.840.10008.1.2.4.51', 'JPEG Extended'],
  ['1.2.840.10008.1.2.4.57', 'JPEG Lossless'],
  ['1.2.840.10008.1.2.4.70', 'JPEG Lossless SV1'],
  ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless'],
  ['1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless'],
  ['1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless'],
  ['1.2.840.10008.1.2.4.91', 'JPEG 2000'],
  ['1.2.840.10008.1.2.5', 'RLE Lossless'],
]);

/** Encapsulated syntaxes that keep every pixel value (PS3.5 A.4: "Lossless"): decoded, they give back the pixels encoded. */
const LOSSLESS_SYNTAXES: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.5',
]);

export function isLosslessSyntax(ts: string): boolean {
  return LOSSLESS_SYNTAXES.has(ts);
}

/** Syntaxes whose Pixel Data is native; every other one encapsulates it (PS3.5 A.4). */
const NATIVE_PIXEL_SYNTAXES: ReadonlySet<string> = new Set([UID.implicitVrLittleEndian, UID.explicitVrLittleEndian, DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BIG_ENDIAN]);

/** Full names (PS3.6 Table A-1), for reports. */
const NAMES: ReadonlyMap<string, string> = new Map([
  [UID.explicitVrLittleEndian, 'Explicit VR Little Endian'],
  [UID.implicitVrLittleEndian, 'Implicit VR Little Endian'],
  [EXPLICIT_VR_BIG_ENDIAN, 'Explicit VR Big Endian (retired)'],
  [DEFLATED_EXPLICIT_VR_LE, 'Deflated Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)'],
  ['1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)'],
  ['1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)'],
  ['1.2.840.10008.1.2.4.70', 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])'],
  ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless'],
  ['1.2.840.10008.1.2.4.81', 'JPEG-LS Lossy (Near-Lossless)'],
  ['1.2.840.10008.1.2.4.90', 'JPEG 2000 Image Compression (Lossless Only)'],
  ['1.2.840.10008.1.2.4.91', 'JPEG 2000 Image Compression'],
  ['1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 (Lossless Only)'],
  ['1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000'],
  ['1.2.840.10008.1.2.5', 'RLE Lossless'],
]);

export function transferSyntaxName(uid: string): string {
  return NAMES.get(uid) ?? 'unknown transfer syntax';
}

export function isNativePixelSyntax(ts: string): boolean {
  return NATIVE_PIXEL_SYNTAXES.has(ts);
}

/** The data set is Explicit VR Little Endian: native, or with one of the encapsulated syntaxes above. */
export function isExplicitLittleEndianDataSet(ts: string): boolean {
  return ts === UID.explicitVrLittleEndian || ENCAPSULATED_SYNTAXES.has(ts);
}
