// `radseal watermark detect` on a marked frame turned by 3°: found by the rotation search without any
// flag, payload read, the angle and the search reported; with --no-rotation the CLI says absent (exit 1)
// and names the searches it ran.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePhantom } from '../../../host/image/phantom.js';
import { rotate } from '../../../host/image/transform.js';
import { radseal, tempDir } from '../support/run.js';

test('watermark detect finds a frame turned by 3° by default; with --no-rotation, absent', () => {
  const dir = tempDir();
  const wm = join(dir, 'wm.key');
  assert.equal(radseal('watermark', 'keygen', '--out', wm).code, 0);
  const frame = makePhantom({ rows: 1024, cols: 1024, bitsStored: 12, seed: 33, photons: 20000 });
  const geometry = ['--rows', '1024', '--cols', '1024', '--bits-stored', '12'];
  writeFileSync(join(dir, 'f.raw'), new Uint8Array(frame.pixels.buffer));
  const e = radseal('watermark', 'embed', '--key', wm, '--payload', 'a1b2c3d4', '--in', join(dir, 'f.raw'), ...geometry, '--out', join(dir, 'm.raw'));
  assert.equal(e.code, 0, e.stderr);
  const marked = new Uint16Array(new Uint8Array(readFileSync(join(dir, 'm.raw'))).buffer);
  const turned = rotate({ rows: 1024, cols: 1024, bitsStored: 12, pixels: marked }, 3);
  writeFileSync(join(dir, 't.raw'), new Uint8Array(turned.pixels.buffer));
  const plain = radseal('watermark', 'detect', '--key', wm, '--in', join(dir, 't.raw'), ...geometry, '--no-rotation');
  assert.equal(plain.code, 1, plain.stdout + plain.stderr);
  assert.match(plain.stdout, /watermark absent: .*searched: aligned \d+ ms, flip \d+ ms, crop-scale \d+ ms\)/);
  const r = radseal('watermark', 'detect', '--key', wm, '--in', join(dir, 't.raw'), ...geometry, '--json');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const d = JSON.parse(r.stdout) as { payloadHex: string; geometry: { rotationDeg: number }; falsePositiveProbability: number; search: { foundBy: string; stages: Array<{ stage: string }> } };
  assert.equal(d.payloadHex, 'a1b2c3d400000000');
  assert.ok(Math.abs(d.geometry.rotationDeg - 3) <= 0.35, `rotation ${d.geometry.rotationDeg}`);
  assert.ok(d.falsePositiveProbability <= 1e-6);
  assert.equal(d.search.foundBy, 'rotation');
  assert.deepEqual(d.search.stages.map((x) => x.stage), ['aligned', 'flip', 'crop-scale', 'rotation']);
  assert.match(radseal('watermark', 'detect', '--key', wm, '--in', join(dir, 't.raw'), ...geometry, '--rotation').stdout, /found turned back by -(2\.[6-9]\d*|3(\.[0-3]\d*)?)°, found by the rotation search/);
  // A budget of 0 ms: only the aligned test runs, and the output says the budget stopped the rest.
  const none = radseal('watermark', 'detect', '--key', wm, '--in', join(dir, 't.raw'), ...geometry, '--search-budget', '0');
  assert.equal(none.code, 1, none.stdout + none.stderr);
  assert.match(none.stdout, /searched: aligned \d+ ms; search budget of 0 ms ran out/);
});
