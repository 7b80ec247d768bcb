// Whole-file re-encodings a PACS or an attacker may apply: Implicit VR Little
// Endian (VRs dropped) and Deflated Explicit VR Little Endian, the latter
// sometimes with megabytes of padding that compress to almost nothing.
import { deflateRawSync } from 'node:zlib';
import { type ElementToken, type Part10Tokens } from './part10-tokens.js';
import { concat, encodeElement, replaceBytes, setU16, setU32, stringValue } from './byte-edits.js';
import type { Operator } from './dicom-operator.js';

const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';

function header(tag: number, length: number): Uint8Array {
  const h = new Uint8Array(8);
  setU16(h, 0, tag >>> 16);
  setU16(h, 2, tag & 0xffff);
  setU32(h, 4, length);
  return h;
}

/** One element in Implicit VR: tag, 32-bit length, value; sequences and items with defined lengths. */
function implicitElement(b: Uint8Array, e: ElementToken): Uint8Array {
  if (!e.items) return concat(header(e.tag, e.valueEnd - e.valueStart), b.subarray(e.valueStart, e.valueEnd));
  const items = e.items.map((item) => {
    const body = concat(...item.elements.map((child) => implicitElement(b, child)));
    return concat(header(0xfffee000, body.length), body);
  });
  const value = concat(...items);
  return concat(header(e.tag, value.length), value);
}

/** The file with its meta Transfer Syntax UID replaced and a new data set after the meta group. */
function withDataSet(t: Part10Tokens, transferSyntax: string, dataSet: Uint8Array): Uint8Array | null {
  const ts = t.meta.find((e) => e.tag === 0x00020010);
  if (!ts) return null;
  const metaOnly = { ...t, bytes: t.bytes.subarray(0, t.dataSetStart) };
  const meta = replaceBytes(metaOnly, 'meta', ts.start, ts.end, encodeElement(0x00020010, 'UI', stringValue(transferSyntax, 'UI')));
  return concat(meta, dataSet);
}

export const reencodeImplicitVr: Operator = {
  name: 'reencode-implicit-vr', kind: 'changing', structural: false,
  apply(t) {
    const dataSet = concat(...t.dataSet.map((e) => implicitElement(t.bytes, e)));
    const bytes = withDataSet(t, IMPLICIT_VR_LITTLE_ENDIAN, dataSet);
    return bytes && { bytes, detail: 'data set re-encoded in Implicit VR Little Endian' };
  },
};

export const deflate: Operator = {
  name: 'deflate', kind: 'changing', structural: false,
  apply(t, rng) {
    // Now and then a bomb: trailing padding of up to 64 MiB of zeros, a few kilobytes deflated.
    const bombBytes = rng.chance(0.1) ? rng.pick([1, 16, 64]) << 20 : 0;
    const plain = bombBytes ? concat(t.bytes.subarray(t.dataSetStart), encodeElement(0xfffcfffc, 'OB', new Uint8Array(bombBytes))) : t.bytes.subarray(t.dataSetStart);
    const bytes = withDataSet(t, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, deflateRawSync(plain));
    return bytes && { bytes, detail: `data set deflated${bombBytes ? ` with ${bombBytes >> 20} MiB of padding` : ''}` };
  },
};

const RLE_LOSSLESS = '1.2.840.10008.1.2.5';

/** PackBits of one byte plane (PS3.5 G.3.1): runs of three or more equal bytes as repeats, the rest as literals of up to 128. */
function packBits(plane: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < plane.length;) {
    let run = 1;
    while (i + run < plane.length && run < 128 && plane[i + run] === plane[i]) run++;
    if (run >= 3) {
      out.push(257 - run, plane[i]!);
      i += run;
      continue;
    }
    const start = i;
    while (i < plane.length && i - start < 128 && !(i + 2 < plane.length && plane[i] === plane[i + 1] && plane[i] === plane[i + 2])) i++;
    out.push(i - start - 1, ...plane.subarray(start, i));
  }
  if (out.length % 2) out.push(0x80); // segments have even length; -128 is a no-op
  return Uint8Array.from(out);
}

/** One RLE Lossless frame (PS3.5 G.3) of native little-endian samples of `bytesPerSample` bytes: a segment per byte plane, most significant first. */
function rleFrame(pixels: Uint8Array, bytesPerSample: number): Uint8Array {
  const samples = Math.floor(pixels.length / bytesPerSample);
  const segments = Array.from({ length: bytesPerSample }, (_, s) => {
    const byte = bytesPerSample - 1 - s;
    return packBits(Uint8Array.from({ length: samples }, (_, i) => pixels[i * bytesPerSample + byte]!));
  });
  const head = new Uint8Array(64);
  setU32(head, 0, segments.length);
  let at = 64;
  segments.forEach((seg, s) => { setU32(head, 4 + 4 * s, at); at += seg.length; });
  return concat(head, ...segments);
}

/**
 * What a PACS that compresses its archive does: native Pixel Data re-encoded as RLE Lossless (the
 * meta header saying so), sometimes after one sample was changed, as an editor would before
 * storing the copy. The verifier decodes it and checks it against the seal: never authentic.
 */
export const compressRle: Operator = {
  name: 'compress-rle', kind: 'changing', structural: false,
  apply(t, rng) {
    const px = t.dataSet.find((e) => e.tag === 0x7fe00010);
    const allocated = t.dataSet.find((e) => e.tag === 0x00280100);
    if (!px || px.items || px.length === 0xffffffff || !allocated || allocated.valueEnd - allocated.valueStart !== 2) return null;
    const bits = t.bytes[allocated.valueStart]! | (t.bytes[allocated.valueStart + 1]! << 8);
    if (bits !== 8 && bits !== 16) return null;
    const pixels = new Uint8Array(t.bytes.subarray(px.valueStart, px.valueEnd)); // a copy: the tokens' bytes stay as they are
    const edited = rng.chance(0.3) && pixels.length > 0;
    if (edited) pixels[rng.range(0, pixels.length - 1)] ^= 1 << rng.range(0, 7);
    const frame = rleFrame(pixels, bits / 8);
    const item = (body: Uint8Array) => { const h = new Uint8Array(8); setU16(h, 0, 0xfffe); setU16(h, 2, 0xe000); setU32(h, 4, body.length); return concat(h, body); };
    const delimiter = new Uint8Array([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
    const element = new Uint8Array(12);
    setU16(element, 0, 0x7fe0); setU16(element, 2, 0x0010); element[4] = 0x4f; element[5] = 0x42; setU32(element, 8, 0xffffffff);
    const encapsulated = concat(element, item(new Uint8Array(0)), item(frame.length % 2 ? concat(frame, new Uint8Array(1)) : frame), delimiter);
    const dataSet = concat(t.bytes.subarray(t.dataSetStart, px.start), encapsulated, t.bytes.subarray(px.end));
    const bytes = withDataSet(t, RLE_LOSSLESS, dataSet);
    return bytes && { bytes, detail: `Pixel Data compressed to RLE Lossless${edited ? ', one sample changed first' : ''}` };
  },
};
