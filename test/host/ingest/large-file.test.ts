// Large objects are verified without holding more than about twice the file:
// values stay views into the file bytes, MAC streams are hashed piece by piece,
// tile hashing copies one band of tile rows into the core at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { tempDir, makeIdentities, sealTo, run } from '../dicom/fixtures.js';

const HERE = dirname(fileURLToPath(import.meta.url));

test('a 3072x3072 object (18.9 MB) verifies, intact and tampered, within 2x the file size of added memory', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const rows = 3072, cols = 3072;
  const pixels = new Uint16Array(rows * cols);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 18; // 14-bit pseudo-random
  const file = join(dir, 'big.dcm');
  await sealTo(file, { rows, cols, bitsStored: 14, pixels }, ids.deviceWithEcdsa, { technologist: ids.technologist });
  const bytes = readFileSync(file);
  const off = findElement(readPart10(bytes).dataSet, tag(0x7fe0, 0x0010))!.value!.byteOffset;
  bytes[off + 2 * (2000 * cols + 3000)]! ^= 1;
  writeFileSync(join(dir, 'big-t.dcm'), bytes);
  for (const [name, verdict, tiles] of [['big.dcm', 'authentic', 0], ['big-t.dcm', 'tampered', 1]] as const) {
    const r = run(process.execPath, ['--import', 'tsx', join(HERE, 'measure-verify.ts'), join(dir, name), ids.trustPem], { cwd: join(HERE, '..', '..', '..') });
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { verdict: string; tiles: number; fileBytes: number; addedPeak: number };
    assert.equal(m.verdict, verdict);
    assert.equal(m.tiles, tiles);
    assert.ok(m.addedPeak < 2 * m.fileBytes, `${name}: verify added ${(m.addedPeak / 1e6).toFixed(1)} MB peak for a ${(m.fileBytes / 1e6).toFixed(1)} MB file`);
    t.diagnostic(`${name}: added peak ${(m.addedPeak / 1e6).toFixed(1)} MB for ${(m.fileBytes / 1e6).toFixed(1)} MB`);
  }
});
