// The enhancement attacks behave like the operations they are named after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clahe, unsharpMask } from '../../../host/image/enhance.js';
import type { GrayImage } from '../../../host/image/png.js';

const image = (rows: number, cols: number, bits: number, f: (y: number, x: number) => number): GrayImage => {
  const pixels = new Uint16Array(rows * cols);
  for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) pixels[y * cols + x] = f(y, x);
  return { rows, cols, bitsStored: bits, pixels };
};

test('unsharp mask: flat areas unchanged, an edge gets overshoot on both sides, values stay in range', () => {
  const flat = image(32, 32, 12, () => 1000);
  assert.deepEqual(unsharpMask(flat, 2, 1).pixels, flat.pixels);
  const edge = image(8, 64, 12, (_y, x) => (x < 32 ? 1000 : 3000));
  const u = unsharpMask(edge, 2, 1);
  assert.ok(u.pixels[4 * 64 + 30]! < 1000, 'dark side darker next to the edge');
  assert.ok(u.pixels[4 * 64 + 33]! > 3000, 'bright side brighter next to the edge');
  assert.equal(u.pixels[4 * 64 + 2], 1000, 'far from the edge: unchanged');
  const hard = unsharpMask(image(8, 64, 12, (_y, x) => (x < 32 ? 0 : 4095)), 2, 3);
  assert.ok(hard.pixels.every((v) => v <= 4095));
});

test('CLAHE: without a clip limit it equalises a narrow range over the full one; the clip limit bounds the stretch; order is kept', () => {
  // Values 2000..2063 (64 levels) in a 12-bit image, one tile.
  const low = image(64, 64, 12, (y, x) => 2000 + ((y * 64 + x) % 64));
  const range = (g: GrayImage) => Math.max(...g.pixels) - Math.min(...g.pixels);
  const he = clahe(low, 1, 1e9, 4096);
  assert.ok(range(he) > 3800, `plain equalisation: range ${range(he)}`);
  // Clip limit 4: the mapping's slope is at most about 4 (64 levels -> roughly 256 and the spread excess).
  const c4 = clahe(low, 1, 4, 4096);
  assert.ok(range(c4) > 64 && range(c4) < 512, `clip 4: range ${range(c4)}`);
  for (let i = 1; i < 64; i++) assert.ok(c4.pixels[i]! >= c4.pixels[i - 1]!, 'monotonic in the input');
  // Several tiles: output stays within the bit depth.
  const ramp = clahe(image(100, 120, 10, (y, x) => (y * 7 + x * 3) % 1024), 8, 2, 256);
  assert.ok(ramp.pixels.every((v) => v <= 1023));
});
