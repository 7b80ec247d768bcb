// A copy a PACS compressed after signing, of an object whose device sealed native pixels (most
// archives transcode what they store). The file is not the one sealed, so it is never "authentic";
// but its pixels, decoded, can be checked against the seal: the device's own signature holds over
// the decoded pixels exactly when the compression kept every value, and where it does not, the
// signed tile table names the tiles that differ. Decoding is host/image/encapsulated.ts.
import { type DataSet, type Element, findElement, tag, PIXEL_DATA } from '../dicom/model.js';
import { decodeString, decodeUS } from '../dicom/values.js';
import { isLosslessSyntax, transferSyntaxName } from '../dicom/transfer-syntax.js';
import { decodeSingleFrame } from '../image/encapsulated.js';

export interface DecodedCopy {
  /** Native Pixel Data holding the decoded frame, in the VR a native object of this depth carries. */
  pixelData: Element;
  decoder: string;
  /** The transfer syntax keeps every value (decoded pixels that differ were changed). */
  lossless: boolean;
  /** For reports: "JPEG-LS Lossless (1.2.840.10008.1.2.4.80) with CharLS". */
  described: string;
}

/** The copy's Pixel Data decoded to native pixels (at most `maxBytes` of them), or why it cannot be. */
export function decodeCompressedCopy(ds: DataSet, transferSyntax: string, maxBytes: number): DecodedCopy | { problem: string } {
  const us = (g: number, e: number) => decodeUS(findElement(ds, tag(g, e))?.value);
  const frames = findElement(ds, tag(0x0028, 0x0008));
  const frameCount = frames ? Number(decodeString(frames.value)) : 1;
  if (frameCount !== 1) return { problem: `${frameCount || 'an unreadable number of'} frames: radseal decodes single-frame copies` };
  const bitsAllocated = us(0x0028, 0x0100) ?? 0;
  const geometry = { rows: us(0x0028, 0x0010) ?? 0, cols: us(0x0028, 0x0011) ?? 0, bitsAllocated, samplesPerPixel: us(0x0028, 0x0002) ?? 1 };
  const decoded = decodeSingleFrame(transferSyntax, findElement(ds, PIXEL_DATA)?.fragments ?? [], geometry, maxBytes);
  if ('problem' in decoded) return decoded;
  // A native value has even length (PS3.5 7.1.1): an odd count of 8-bit samples gets one zero byte.
  const value = decoded.pixels.length % 2 ? Buffer.concat([decoded.pixels, new Uint8Array(1)]) : decoded.pixels;
  return {
    pixelData: { tag: PIXEL_DATA, vr: bitsAllocated > 8 ? 'OW' : 'OB', value },
    decoder: decoded.decoder,
    lossless: isLosslessSyntax(transferSyntax),
    described: `${transferSyntaxName(transferSyntax)} (${transferSyntax}) with ${decoded.decoder}`,
  };
}

/** `ds` with its Pixel Data element replaced by `pixelData` (the same object wherever it is put, as the verifier compares them). */
export function withPixelData(ds: DataSet, pixelData: Element): DataSet {
  return ds.map((e) => (e.tag === PIXEL_DATA ? pixelData : e));
}
