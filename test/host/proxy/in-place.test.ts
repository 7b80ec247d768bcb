// Encoding a sealed file around the received Pixel Data, in the received buffer
// (host/dicom/writer.ts encodePart10AroundPixels): the same bytes as encoding it
// afresh, though the elements' values lie in the bytes it overwrites; no room, no
// in-place file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, putElement, tag } from '../../../host/dicom/model.js';
import { str } from '../../../host/dicom/values.js';
import { encodePart10, encodePart10AroundPixels, type FileMeta } from '../../../host/dicom/writer.js';
import { buildDx } from '../../../host/dicom/dx.js';
import { makePhantom } from '../../../host/image/phantom.js';
import { UID } from '../../../host/dicom/uids.js';

const PIXEL_DATA = tag(0x7fe0, 0x0010);

/** A DX file as the SCP holds one: in a buffer with `before` and `after` spare bytes around it. */
function received(before: number, after: number) {
  const dx = buildDx(makePhantom({ rows: 96, cols: 80, bitsStored: 14, seed: 3 }), { patientName: 'Place^In', patientId: 'P1' }, [], new Date(0));
  const meta: FileMeta = { sopClassUid: UID.dxImageStorageForPresentation, sopInstanceUid: dx.sopInstanceUid };
  const file = encodePart10(meta, dx.dataSet);
  const buffer = new Uint8Array(before + file.length + after).fill(0xa5);
  buffer.set(file, before);
  return { meta, file: buffer.subarray(before, before + file.length) };
}

test('encoded around the received pixels: byte for byte the fresh encoding, in the same buffer, the pixels not moved', () => {
  const { meta, file } = received(4096, 4096);
  const { dataSet } = readPart10(file);
  const pixels = findElement(dataSet, PIXEL_DATA)!.value!;
  assert.equal(pixels.buffer, file.buffer, 'the reader keeps values where they are');
  // Longer before the pixels (as the attestation makes it) and something after them (as the signatures).
  putElement(dataSet, str(tag(0x0009, 0x0010), 'LO', 'RADSEAL 1.0'));
  putElement(dataSet, str(tag(0x0009, 0x1001), 'LO', 'x'.repeat(300)));
  putElement(dataSet, str(tag(0x7fe1, 0x0010), 'LO', 'after the pixels'));
  const fresh = encodePart10(meta, dataSet);
  const pixelsAt = pixels.byteOffset;
  const inPlace = encodePart10AroundPixels(meta, dataSet);
  assert.ok(inPlace);
  assert.equal(inPlace.buffer, file.buffer, 'a view of the received buffer');
  assert.ok(inPlace.byteOffset < file.byteOffset, 'it starts in the room before the received file');
  assert.ok(Buffer.from(inPlace).equals(Buffer.from(fresh)), 'the same bytes as a fresh encoding');
  assert.equal(findElement(readPart10(inPlace).dataSet, PIXEL_DATA)!.value!.byteOffset, pixelsAt, 'the pixel value stayed where it was');
});

test('no room before or after the pixels, encapsulated pixels, no pixels: null (the caller encodes afresh)', () => {
  for (const [before, after] of [[0, 4096], [4096, 0]] as const) {
    const { meta, file } = received(before, after);
    const { dataSet } = readPart10(file);
    putElement(dataSet, str(tag(0x0009, 0x0010), 'LO', 'RADSEAL 1.0'));
    putElement(dataSet, str(tag(0x7fe1, 0x0010), 'LO', 'after the pixels'));
    const original = Buffer.from(file);
    assert.equal(encodePart10AroundPixels(meta, dataSet), null, `room ${before}/${after}`);
    assert.ok(Buffer.from(file).equals(original), 'nothing overwritten');
  }
  const { meta, file } = received(4096, 4096);
  const { dataSet } = readPart10(file);
  putElement(dataSet, { tag: PIXEL_DATA, vr: 'OB', fragments: [new Uint8Array(4)] });
  assert.equal(encodePart10AroundPixels(meta, dataSet), null, 'encapsulated');
  assert.equal(encodePart10AroundPixels(meta, dataSet.filter((e) => e.tag !== PIXEL_DATA)), null, 'no Pixel Data');
});
