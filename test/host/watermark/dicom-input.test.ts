// DICOM input for the watermark CLI: native pixel data of the first frame,
// bits above Bits Stored masked, compressed transfer syntaxes refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePart10 } from '../../../host/dicom/writer.js';
import { tag, type DataSet } from '../../../host/dicom/model.js';
import { projectRoot } from '../../../host/core/wasm.js';
import { hasDicomSignature, readDicomGray } from '../../../host/image/dicom.js';
import { makePhantom } from '../../../host/image/phantom.js';
import { detectWatermark, embedWatermark } from '../../../host/watermark/index.js';

const us = (v: number) => new Uint8Array([v & 255, v >> 8]);
const text = (s: string) => new TextEncoder().encode(s.length % 2 ? s + ' ' : s);

function dicomOf(rows: number, cols: number, stored: number, pixels: Uint16Array, highBits = 0): Uint8Array {
  const px = new Uint8Array(rows * cols * 2);
  const dv = new DataView(px.buffer);
  for (let i = 0; i < pixels.length; i++) dv.setUint16(2 * i, pixels[i]! | highBits, true);
  const ds: DataSet = [
    { tag: tag(0x0008, 0x0016), vr: 'UI', value: text('1.2.840.10008.5.1.4.1.1.1.1\0') },
    { tag: tag(0x0008, 0x0018), vr: 'UI', value: text('1.2.3.4.5\0') },
    { tag: tag(0x0028, 0x0002), vr: 'US', value: us(1) },
    { tag: tag(0x0028, 0x0004), vr: 'CS', value: text('MONOCHROME2') },
    { tag: tag(0x0028, 0x0010), vr: 'US', value: us(rows) },
    { tag: tag(0x0028, 0x0011), vr: 'US', value: us(cols) },
    { tag: tag(0x0028, 0x0100), vr: 'US', value: us(16) },
    { tag: tag(0x0028, 0x0101), vr: 'US', value: us(stored) },
    { tag: tag(0x0028, 0x0102), vr: 'US', value: us(stored - 1) },
    { tag: tag(0x0028, 0x0103), vr: 'US', value: us(0) },
    { tag: tag(0x7fe0, 0x0010), vr: 'OW', value: px },
  ];
  return encodePart10({ sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1', sopInstanceUid: '1.2.3.4.5' }, ds);
}

test('a native DICOM frame reads back exactly and its mark is detected', () => {
  const img = makePhantom({ rows: 768, cols: 640, bitsStored: 12, seed: 4, photons: 20000 });
  const e = embedWatermark(img, new Uint8Array(32).fill(9), Buffer.from('0102030405060708', 'hex'));
  const bytes = dicomOf(768, 640, 12, e.image.pixels, 0x8000); // a stray bit above Bits Stored
  assert.ok(hasDicomSignature(bytes));
  const back = readDicomGray(bytes);
  assert.equal(back.rows, 768); assert.equal(back.cols, 640); assert.equal(back.bitsStored, 12);
  assert.deepEqual(back.pixels, e.image.pixels);
  const d = detectWatermark(back, new Uint8Array(32).fill(9));
  assert.equal(d.payloadHex, '0102030405060708');
  assert.equal(d.mapSource, 'fragile');
  assert.equal(d.blocks.tampered.length, 0);
});

test('compressed DICOM is refused with a reason', (t) => {
  const f = join(projectRoot(), '..', 'shared', 'data', 'radiographs', 'RG3_J2KR.dcm');
  if (!existsSync(f)) { t.skip(`${f} absent`); return; }
  assert.throws(() => readDicomGray(new Uint8Array(readFileSync(f))), /compressed transfer syntax/);
});
