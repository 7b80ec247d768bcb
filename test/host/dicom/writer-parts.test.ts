// Part 10 as pieces (head, the Pixel Data value where it lies, tail): their concatenation is
// encodePart10's bytes, the middle piece is the caller's pixels (not a copy), an object without
// native pixels is one piece; a gathered seal written from its parts verifies authentic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDx, pixelBytes } from '../../../host/dicom/dx.js';
import { encodePart10, encodePart10Parts } from '../../../host/dicom/writer.js';
import { tag } from '../../../host/dicom/model.js';
import { str } from '../../../host/dicom/values.js';
import { UID } from '../../../host/dicom/uids.js';
import { writeFileAtomic } from '../../../host/io/atomic.js';
import { sealFrame } from '../../../host/seal/seal.js';
import { sha256 } from '../../../host/core/hash.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { META, makeIdentities, tempDir, testFrame } from './fixtures.js';

const fileMeta = { sopClassUid: UID.dxImageStorageForPresentation, sopInstanceUid: '1.2.3.4' };

test('the pieces concatenate to encodePart10, with the pixels as the middle piece, not a copy', () => {
  const frame = testFrame(40, 34);
  const trailer = str(tag(0x7fe1, 0x0010), 'LO', 'VENDOR');
  const ds = buildDx(frame, META, [], new Date(0));
  for (const set of [ds.dataSet, [...ds.dataSet, trailer]]) {
    const parts = encodePart10Parts(fileMeta, set);
    assert.equal(parts.length, 3);
    assert.deepEqual(Buffer.concat(parts), Buffer.from(encodePart10(fileMeta, set)));
    assert.equal(parts[1]!.buffer, frame.pixels.buffer, 'the pixels where they lie');
    assert.equal(parts[1]!.byteOffset, frame.pixels.byteOffset);
  }
  const noPixels = ds.dataSet.filter((e) => e.tag !== tag(0x7fe0, 0x0010));
  const one = encodePart10Parts(fileMeta, noPixels);
  assert.equal(one.length, 1);
  assert.deepEqual(one[0], encodePart10(fileMeta, noPixels));
  assert.throws(() => encodePart10Parts(fileMeta, [...ds.dataSet].reverse()), /out of tag order/);
});

test('a gathered seal: parts written by the atomic write make the object its bytes say, authentic', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const frame = testFrame(256, 192);
  const sealed = await sealFrame({ frame, rawFrameSha256: sha256(pixelBytes(frame.pixels)), frameSerial: 3, meta: META, gathered: true }, ids.device);
  assert.equal(sealed.parts.length, 3);
  assert.equal(sealed.parts[1]!.buffer, frame.pixels.buffer, 'the frame is not copied into the object');
  const path = join(dir, 'gathered.dcm');
  writeFileAtomic(path, sealed.parts, { noClobber: true });
  const file = readFileSync(path);
  assert.deepEqual(file, Buffer.from(sealed.bytes));
  const r = verifyObject('gathered', file, parseCertificates(readFileSync(ids.trustPem)));
  assert.equal(r.verdict, 'authentic', JSON.stringify(r.reasons ?? r));
  const plain = await sealFrame({ frame, rawFrameSha256: sha256(pixelBytes(frame.pixels)), frameSerial: 4, meta: META }, ids.device);
  assert.equal(plain.parts.length, 1);
  assert.equal(plain.parts[0], plain.bytes);
});
