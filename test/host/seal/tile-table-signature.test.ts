// The attributes-only device signature: it keeps the tile table trustworthy
// when only pixels were edited, and stops vouching as soon as the table (or
// any other attribute) is edited too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { ATTESTATION_TAGS } from '../../../host/dicom/attestation.js';
import { tempDir, testFrame, makeIdentities, sealTo } from '../dicom/fixtures.js';

test('pixel-only edit: changed tiles named by an authenticated table; table edited too: not authenticated', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const file = join(dir, 'sealed.dcm');
  await sealTo(file, testFrame(256, 256), ids.device);
  const trust = parseCertificates(readFileSync(ids.trustPem));
  const original = readFileSync(file);
  const ds = readPart10(original).dataSet;
  const pixelOff = findElement(ds, tag(0x7fe0, 0x0010))!.value!.byteOffset;
  const tableOff = findElement(ds, ATTESTATION_TAGS.tileSha256Table)!.value!.byteOffset;

  const pixelsOnly = Buffer.from(original);
  pixelsOnly[pixelOff + 2 * (70 * 256 + 200)]! ^= 0x04; // tile [1,3]
  const a = verifyObject('a', pixelsOnly, trust);
  assert.equal(a.verdict, 'tampered');
  assert.deepEqual(a.tamperedTiles?.tiles, [[1, 3]]);
  assert.equal(a.tamperedTiles?.tableAuthenticated, true);
  assert.deepEqual(a.signatures.map((s) => s.valid), [false, true], 'whole-object signature fails, attributes signature holds');

  // The attacker also rewrites the table entry for tile [1,3] to hide the edit.
  const both = Buffer.from(pixelsOnly);
  both[tableOff + 32 * (1 * 4 + 3)]! ^= 0xff;
  const b = verifyObject('b', both, trust);
  assert.equal(b.verdict, 'tampered');
  assert.equal(b.tamperedTiles?.tableAuthenticated, false);
  assert.deepEqual(b.signatures.map((s) => s.valid), [false, false]);

  // A different trust set: the table cannot be authenticated by an untrusted signer.
  const other = await makeIdentities(join(dir, 'other'), 'DX-OTHER');
  const c = verifyObject('c', pixelsOnly, parseCertificates(readFileSync(other.trustPem)));
  assert.equal(c.tamperedTiles?.tableAuthenticated, false);
});
