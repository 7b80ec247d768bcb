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
