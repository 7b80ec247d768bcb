// The DICOM upper layer (PS3.8) and DIMSE command set (PS3.7) encoding shared
// by radseal's C-STORE SCU (cstore.ts) and SCP (scp.ts): PDUs, items, P-DATA
// fragments and Implicit VR Little Endian command sets.
import { UID } from '../dicom/uids.js';

export const APP_CONTEXT = '1.2.840.10008.3.1.1.1';
export const IMPLICIT_LE = UID.implicitVrLittleEndian;
export const EXPLICIT_LE = UID.explicitVrLittleEndian;

const te = new TextEncoder();
const td = new TextDecoder();
export const ascii = (s: string): Uint8Array => te.encode(s);
/** An AE title or UID read off the wire, without its padding. */
export const trimText = (b: Uint8Array): string => td.decode(b).replace(/[\0 ]+$/, '').replace(/^ +/, '');

export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A PDU: type, reserved, 32-bit big-endian length, body. */
export function pdu(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(6 + body.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(2, body.length, false);
  out.set(body, 6);
  return out;
}

/** A variable item inside an A-ASSOCIATE PDU: type, reserved, 16-bit big-endian length, body. */
export function item(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out[0] = type;
  new DataView(out.buffer).setUint16(2, body.length, false);
  out.set(body, 4);
  return out;
}

/**
 * Why `ae` is not an AE title, or null (PS3.5 6.2, VR AE): 1 to 16 characters of the default
 * repertoire (printable ASCII), no backslash, not only spaces. Every title radseal is given (its own,
 * a peer's, an allow-list entry) passes this one rule before it goes on the wire.
 */
export function aeTitleProblem(ae: string): string | null {
  if (!/^[\x20-\x7e]*$/.test(ae)) return `AE title "${ae.replace(/[^\x20-\x7e]/g, '?')}" holds characters outside printable ASCII`;
  if (ae.length > 16) return `AE title "${ae}" is ${ae.length} characters long; DICOM allows 16`;
  if (ae.includes('\\')) return `AE title "${ae}" holds a backslash`;
  if (!ae.trim()) return 'AE title is empty (or only spaces)';
  return null;
}

/** An AE title field: 16 bytes, space padded. A title that breaks aeTitleProblem is refused, never cut. */
export function aeField(s: string): Uint8Array {
  const problem = aeTitleProblem(s);
  if (problem) throw new RangeError(problem);
  const b = new Uint8Array(16).fill(0x20);
  b.set(ascii(s));
  return b;
}

/** The fixed 68-byte head of A-ASSOCIATE-RQ/AC after the PDU header. */
export function associateHead(calledAe: string, callingAe: string): Uint8Array {
  const fixed = new Uint8Array(68);
  new DataView(fixed.buffer).setUint16(0, 1, false); // protocol version 1
  fixed.set(aeField(calledAe), 4);
  fixed.set(aeField(callingAe), 20);
  return fixed;
}

/** User Information item: maximum PDU length, implementation class UID and version name. */
export function userInformation(maxPdu: number): Uint8Array {
  const maxLen = new Uint8Array(4);
  new DataView(maxLen.buffer).setUint32(0, maxPdu, false);
  return item(0x50, cat(item(0x51, maxLen), item(0x52, ascii(UID.implementationClass)), item(0x55, ascii(UID.implementationVersionName))));
}

/** Largest value bytes in one P-DATA-TF PDU for a peer's maximum PDU length (its PDU and PDV item headers aside). */
export function maxFragment(maxPdu: number): number {
  return Math.max(1024, (maxPdu || 16384) - 6);
}

/** The 12 bytes before a value fragment of `n` bytes: the P-DATA-TF PDU header, then its one PDV item's header. */
export function pdataHeader(pcid: number, n: number, isCommand: boolean, last: boolean): Uint8Array {
  const h = new Uint8Array(12);
  const dv = new DataView(h.buffer);
  h[0] = 0x04;
  dv.setUint32(2, n + 6, false);
  dv.setUint32(6, n + 2, false);
  h[10] = pcid;
  h[11] = (isCommand ? 1 : 0) | (last ? 2 : 0);
  return h;
}

/** P-DATA-TF PDUs carrying `data` in fragments that fit the peer's maximum PDU length (copies: for command sets and other small values). */
export function pdataPdus(pcid: number, data: Uint8Array, isCommand: boolean, maxPdu: number): Uint8Array[] {
  const maxFrag = maxFragment(maxPdu);
  const out: Uint8Array[] = [];
  let o = 0;
  do {
    const n = Math.min(maxFrag, data.length - o);
    const last = o + n >= data.length;
    out.push(cat(pdataHeader(pcid, n, isCommand, last), data.subarray(o, o + n)));
    o += n;
  } while (o < data.length);
  return out;
}

/** One Implicit VR Little Endian element of a command set. */
export function commandElement(tag: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + value.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, tag >>> 16, true);
  dv.setUint16(2, tag & 0xffff, true);
  dv.setUint32(4, value.length, true);
  out.set(value, 8);
  return out;
}

/** UIDs are NUL-padded to even length, text values space-padded. */
export const uidValue = (s: string): Uint8Array => {
  const b = ascii(s);
  return b.length % 2 ? cat(b, Uint8Array.of(0)) : b;
};
export const textValue = (s: string): Uint8Array => {
  const b = ascii(s);
  return b.length % 2 ? cat(b, Uint8Array.of(0x20)) : b;
};
export const usValue = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >> 8) & 0xff);

/** A command set: its elements preceded by Command Group Length (0000,0000). */
export function commandSet(elements: Uint8Array[]): Uint8Array {
  const rest = cat(...elements);
  const gl = new Uint8Array(4);
  new DataView(gl.buffer).setUint32(0, rest.length, true);
  return cat(commandElement(0x00000000, gl), rest);
}

/** Reads a command set (Implicit VR LE) into tag → value. */
export function parseCommand(cmd: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const dv = new DataView(cmd.buffer, cmd.byteOffset, cmd.byteLength);
  for (let o = 0; o + 8 <= cmd.length; ) {
    const t = ((dv.getUint16(o, true) << 16) | dv.getUint16(o + 2, true)) >>> 0;
    const len = dv.getUint32(o + 4, true);
    out.set(t, cmd.subarray(o + 8, o + 8 + len));
    o += 8 + len;
  }
  return out;
}

/** A US value of a parsed command set. */
export function commandUs(m: Map<number, Uint8Array>, tag: number): number | undefined {
  const v = m.get(tag >>> 0);
  return v && v.length >= 2 ? v[0]! | (v[1]! << 8) : undefined;
}
