// A small, valid Part 10 DX object built byte by byte (explicit VR LE), so the
// net tests do not depend on the seal pipeline. Each call gets a new instance UID.
const te = new TextEncoder();

function el(group: number, elem: number, vr: string, value: Uint8Array): Uint8Array {
  const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
  const pad = value.length % 2 ? 1 : 0;
  const v = new Uint8Array(value.length + pad);
  v.set(value);
  if (pad) v[value.length] = vr === 'UI' ? 0 : 0x20;
  const out = new Uint8Array((long ? 12 : 8) + v.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, group, true);
  dv.setUint16(2, elem, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) dv.setUint32(8, v.length, true);
  else dv.setUint16(6, v.length, true);
  out.set(v, long ? 12 : 8);
  return out;
}
const s = (x: string) => te.encode(x);
const u16 = (n: number) => Uint8Array.of(n & 0xff, n >> 8);
const cat = (...p: Uint8Array[]) => {
  const o = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
  let i = 0;
  for (const x of p) {
    o.set(x, i);
    i += x.length;
  }
  return o;
};

export const DX_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.1.1';

export function makeDx(n: number, rows = 64, cols = 64): { bytes: Uint8Array; sopInstanceUid: string; dataSetOffset: number } {
  const uid = `2.25.${BigInt('0x' + Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('hex'))}`;
  const pix = new Uint16Array(rows * cols);
  for (let i = 0; i < pix.length; i++) pix[i] = (i * 7 + n * 13) & 0x3fff;
  const ds = cat(
    el(0x0008, 0x0005, 'CS', s('ISO_IR 100')),
    el(0x0008, 0x0016, 'UI', s(DX_SOP_CLASS)),
    el(0x0008, 0x0018, 'UI', s(uid)),
    el(0x0008, 0x0060, 'CS', s('DX')),
    el(0x0010, 0x0010, 'PN', s(`TEST^FRAME${n}`)),
    el(0x0010, 0x0020, 'LO', s('RADSEAL-TEST')),
    el(0x0018, 0x1164, 'DS', s('0.139000\\0.139000')),
    el(0x0020, 0x000d, 'UI', s('2.25.1')),
    el(0x0020, 0x000e, 'UI', s('2.25.2')),
    el(0x0020, 0x0013, 'IS', s(String(n))),
    el(0x0028, 0x0002, 'US', u16(1)),
    el(0x0028, 0x0004, 'CS', s('MONOCHROME2')),
    el(0x0028, 0x0010, 'US', u16(rows)),
    el(0x0028, 0x0011, 'US', u16(cols)),
    el(0x0028, 0x0100, 'US', u16(16)),
    el(0x0028, 0x0101, 'US', u16(14)),
    el(0x0028, 0x0102, 'US', u16(13)),
    el(0x0028, 0x0103, 'US', u16(0)),
    el(0x7fe0, 0x0010, 'OW', new Uint8Array(pix.buffer)),
  );
  const metaBody = cat(
    el(0x0002, 0x0001, 'OB', Uint8Array.of(0, 1)),
    el(0x0002, 0x0002, 'UI', s(DX_SOP_CLASS)),
    el(0x0002, 0x0003, 'UI', s(uid)),
    el(0x0002, 0x0010, 'UI', s('1.2.840.10008.1.2.1')),
    el(0x0002, 0x0012, 'UI', s('1.2.826.0.1.3680043.10.1455.1')),
  );
  const gl = new Uint8Array(4);
  new DataView(gl.buffer).setUint32(0, metaBody.length, true);
  const head = cat(new Uint8Array(128), s('DICM'), el(0x0002, 0x0000, 'UL', gl), metaBody);
  return { bytes: cat(head, ds), sopInstanceUid: uid, dataSetOffset: head.length };
}
