// The format-3 pixel hash at verify (host/ingest/pixels.ts): the tile digest of the pixels as
// stored must cover every byte of Pixel Data under the signed geometry, so bytes the tiles do not
// cover, a geometry that tiles the same bytes differently, or a table of another tile edge can
// never read as intact; format 1 (SHA-256 of the value) is read as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { checkPixels } from '../../../host/ingest/pixels.js';
import { tileDigest, tileHashes } from '../../../host/core/tiles.js';
import { type CaptureAttestation } from '../../../host/dicom/attestation.js';
import { type DataSet, tag } from '../../../host/dicom/model.js';
import { us } from '../../../host/dicom/values.js';

const [ROWS, COLS, SIZE] = [96, 160, 32];

function pixels(): Uint8Array {
  const out = new Uint8Array(ROWS * COLS * 2);
  for (let i = 0; i < out.length; i++) out[i] = (i * 2654435761) >>> 24;
  return out;
}

function dataSet(px: Uint8Array, rows = ROWS, cols = COLS): DataSet {
  return [us(tag(0x0028, 0x0010), rows), us(tag(0x0028, 0x0011), cols), us(tag(0x0028, 0x0100), 16), { tag: tag(0x7fe0, 0x0010), vr: 'OW', value: px }] as DataSet;
}

function attestation(px: Uint8Array, format: '1' | '3'): CaptureAttestation {
  const hashes = tileHashes(px, ROWS, COLS, SIZE);
  return {
    deviceId: 'DX-1', frameSerial: 1, boardId: 'b', rawFrameSha256: new Uint8Array(32), captureDateTime: '20260101000000+0000',
    pixelDataSha256: format === '3' ? tileDigest(hashes, ROWS, COLS, SIZE) : new Uint8Array(createHash('sha256').update(px).digest()),
    tileDigest: format === '3', formatVersion: format, tiles: { size: SIZE, hashes },
  };
}

test('format 3 and format 1: intact pixels are intact, one changed pixel names its tile', () => {
  for (const format of ['1', '3'] as const) {
    const px = pixels();
    const a = attestation(px, format);
    assert.deepEqual(checkPixels(dataSet(px), a), { intact: true, reasons: [] }, `format ${format}`);
    const edited = px.slice();
    edited[2 * (40 * COLS + 100)]! ^= 1; // tile [1,3]
    const r = checkPixels(dataSet(edited), a);
    assert.equal(r.intact, false);
    assert.deepEqual(r.tiles?.tiles, [[1, 3]], `format ${format}`);
  }
});

test('format 3: bytes beyond Rows x Columns x 2, a transposed geometry, or another tile edge never pass', () => {
  const px = pixels();
  const a = attestation(px, '3');
  const longer = new Uint8Array(px.length + 2);
  longer.set(px);
  assert.equal(checkPixels(dataSet(longer), a).intact, false, 'two bytes appended');
  // Same bytes read as 160 x 96: same length, other tiles.
  assert.equal(checkPixels(dataSet(px, COLS, ROWS), a).intact, false, 'rows and columns swapped');
  // A table and digest honestly made with 64-px tiles, relabelled as 32: the digest binds the edge.
  const t64 = tileHashes(px, ROWS, COLS, 64);
  const relabelled = { ...a, tiles: { size: SIZE, hashes: t64 }, pixelDataSha256: tileDigest(t64, ROWS, COLS, 64) };
  assert.equal(checkPixels(dataSet(px), relabelled).intact, false, 'tile edge relabelled');
  assert.equal(checkPixels(dataSet(px), { ...a, tiles: undefined }).intact, false, 'format 3 without a table');
});
