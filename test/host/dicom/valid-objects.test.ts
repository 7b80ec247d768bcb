// radseal's DX objects against the tools a PACS administrator trusts:
// dicom3tools dciodvfy (no errors), DCMTK dcmdump +E (no warnings), pydicom
// (identical pixels, operator attributes readable); and the per-tile hashes
// computed in the WebAssembly core against node:crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { tileHashes, changedTiles, tileGrid } from '../../../host/core/tiles.js';
import { pixelBytes } from '../../../host/dicom/dx.js';
import { tempDir, testFrame, makeIdentities, sealTo, run, python } from './fixtures.js';

test('dciodvfy reports no errors, dcmdump +E no warnings, pydicom reads identical pixels and the operator attributes', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const cases = [
    { name: 'full', frame: testFrame(240, 200, 14, 3), device: ids.deviceWithEcdsa, extra: { technologist: ids.technologist } },
    { name: 'device-only-12bit', frame: testFrame(65, 97, 12, 4), device: ids.device, extra: {} },
  ];
  for (const c of cases) {
    const file = join(dir, `${c.name}.dcm`);
    await sealTo(file, c.frame, c.device, c.extra);
    const v = run('dciodvfy', [file]);
    const out = v.stdout + v.stderr;
    assert.match(out, /DXImageForPresentation/, 'dciodvfy recognised the IOD');
    const errors = out.split('\n').filter((l) => /^Error/.test(l));
    assert.deepEqual(errors, [], `${c.name}: dciodvfy errors:\n${out}`);
    // The only warnings left are documented in docs/CONFORMANCE.md.
    const warnings = out.split('\n').filter((l) => /^Warning/.test(l) && !/Unrecognized defined term <SHA(256|512)> for value 1 of attribute <MAC Algorithm>|Unrecognized defined term <99RADSEAL>|ViewCodeSequence is empty or absent/.test(l));
    assert.deepEqual(warnings, [], `${c.name}: undocumented dciodvfy warnings:\n${out}`);
    const d = run('dcmdump', ['+E', file]);
    assert.equal(d.status, 0);
    assert.equal(d.stderr.trim(), '', `${c.name}: dcmdump +E printed warnings`);
    assert.match(d.stdout, /\(0009,0010\) LO \[RADSEAL 1.0\]/);
    const expected = Buffer.from(pixelBytes(c.frame.pixels)).toString('hex');
    const py = python(`
import sys, hashlib, pydicom
ds = pydicom.dcmread(sys.argv[1])
a = ds.pixel_array
assert a.dtype.itemsize == 2 and a.shape == (ds.Rows, ds.Columns), (a.dtype, a.shape)
print(hashlib.sha256(a.astype('<u2').tobytes()).hexdigest())
print(ds.BitsStored, ds.PhotometricInterpretation, ds.PatientOrientation)
ops = ds.get('OperatorIdentificationSequence')
print(ops[0].PersonIdentificationCodeSequence[0].CodeValue if ops else '-', ds.get('OperatorsName', '-'))
`, [file]).trim().split('\n');
    assert.equal(py[0], createHash('sha256').update(Buffer.from(expected, 'hex')).digest('hex'), `${c.name}: pydicom pixels differ`);
    assert.equal(py[1], `${c.frame.bitsStored} MONOCHROME2 ['L', 'F']`);
    assert.equal(py[2]!.trim(), c.extra.technologist ? 'tech042 Doe^Jane' : '-');
  }
});

test('per-tile SHA-256 from the core equals node:crypto on every tile, edge tiles included', () => {
  // 32- and 64-px tiles take the core's four-lane path for whole tiles (groups of four), the rest one at a time.
  for (const [rows, cols, size] of [[130, 70, 64], [64, 64, 64], [5, 3, 2], [200, 333, 32], [256, 576, 64], [100, 500, 48]] as const) {
    const frame = testFrame(rows, cols, 16, rows + cols);
    const bytes = pixelBytes(frame.pixels);
    const got = tileHashes(bytes, rows, cols, size);
    const grid = tileGrid(rows, cols, size);
    assert.equal(got.length, grid.rows * grid.cols * 32);
    for (let ty = 0; ty < grid.rows; ty++) {
      for (let tx = 0; tx < grid.cols; tx++) {
        const h = createHash('sha256');
        for (let y = ty * size; y < Math.min(rows, (ty + 1) * size); y++) {
          h.update(bytes.subarray((y * cols + tx * size) * 2, (y * cols + Math.min(cols, (tx + 1) * size)) * 2));
        }
        const i = ty * grid.cols + tx;
        assert.equal(Buffer.from(got.subarray(i * 32, i * 32 + 32)).toString('hex'), h.digest('hex'), `${rows}x${cols}/${size} tile [${ty},${tx}]`);
      }
    }
    // Changing one pixel changes exactly its tile.
    const copy = new Uint8Array(bytes);
    const [py, px] = [rows - 1, Math.floor(cols / 2)];
    copy[(py * cols + px) * 2]! ^= 1;
    assert.deepEqual(changedTiles(got, tileHashes(copy, rows, cols, size), grid), [[Math.floor(py / size), Math.floor(px / size)]]);
  }
});
