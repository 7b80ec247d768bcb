// Transfer syntaxes whose data set is encoded Explicit VR Little Endian (the
// encoding of the MAC stream), so that a signature over them can be checked as
// they stand: the native one, and those with encapsulated (compressed) Pixel Data,
// whose compressed stream the signature covers exactly as encoded.
import { UID } from './uids.js';

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

/** The data set is Explicit VR Little Endian: native, or with one of the encapsulated syntaxes above. */
export function isExplicitLittleEndianDataSet(ts: string): boolean {
  return ts === UID.explicitVrLittleEndian || ENCAPSULATED_SYNTAXES.has(ts);
}
