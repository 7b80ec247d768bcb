// `radseal watermark detect` says in words what the content tag proved: a match on a frame with
// coarse structure, undecided on a frame without any (too few reliable bits), never a bare number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePhantom } from '../../../host/image/phantom.js';
import { radseal, tempDir } from '../support/run.js';

test('watermark detect: content tag "matches" on a phantom, "undecided" on a featureless frame', () => {
  const dir = tempDir();
  const wm = join(dir, 'wm.key');
  // A fresh key (and fresh noise) every run: the embed reads its mark back and allocates the mark's energy
  // so the payload of a structureless frame reads back (bench:watermark-sweep: 0 of 300 fresh noise frames lost).
  assert.equal(radseal('watermark', 'keygen', '--out', wm).code, 0);
  const geometry = ['--rows', '512', '--cols', '512', '--bits-stored', '12'];
  const phantom = makePhantom({ rows: 512, cols: 512, bitsStored: 12, seed: 5, photons: 20000 }).pixels;
  const noise = randomBytes(512 * 512);
  const featureless = new Uint16Array(512 * 512).map((_, i) => 2000 + noise[i]!);
  for (const [name, pixels, expected] of [['phantom', phantom, /content tag matches \(\d+ of (2\d|3[0-2]) reliable bits differ, \d+ allowed\)/],
    ['featureless', featureless, /content tag undecided \(\d+ of 32 bits reliable, too few to prove a match; none differ\)/]] as const) {
    writeFileSync(join(dir, `${name}.raw`), new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength));
    const e = radseal('watermark', 'embed', '--key', wm, '--payload', 'a1b2c3d4', '--in', join(dir, `${name}.raw`), ...geometry, '--out', join(dir, `${name}-m.raw`));
    assert.equal(e.code, 0, e.stderr);
    const d = radseal('watermark', 'detect', '--key', wm, '--in', join(dir, `${name}-m.raw`), ...geometry);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.match(d.stdout, expected, name);
  }
});
