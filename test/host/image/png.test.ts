// Grayscale PNG frames: what decodeGrayPng refuses, and in which words. A truncated file is named as
// such (the decoder itself only speaks of its buffer's bounds), and never gives other pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGrayPng, encodeGrayPng, ImageFormatError } from '../../../host/image/png.js';

const frame = { rows: 32, cols: 48, bitsStored: 12, pixels: Uint16Array.from({ length: 32 * 48 }, (_, i) => (i * 37) & 0xfff) };

test('a whole PNG decodes to the same pixels', () => {
  const back = decodeGrayPng(encodeGrayPng(frame), 12);
  assert.deepEqual([back.rows, back.cols], [32, 48]);
  assert.deepEqual(back.pixels, frame.pixels);
});

test('a PNG cut short anywhere is refused as truncated or corrupt, or (cut only in its closing IEND chunk) gives the very same pixels', () => {
  const whole = encodeGrayPng(frame);
  let refused = 0;
  for (let at = 0; at < whole.length; at++) {
    let back;
    try {
      back = decodeGrayPng(whole.subarray(0, at), 12);
    } catch (err) {
      assert.ok(err instanceof ImageFormatError, `cut at ${at}: ${(err as Error).name}: ${(err as Error).message}`);
      assert.match(err.message, /^cannot decode PNG/, `cut at ${at}`);
      assert.doesNotMatch(err.message, /DataView/, `cut at ${at}: the decoder's internals leak: ${err.message}`);
      refused++;
      continue;
    }
    assert.ok(at >= whole.length - 12, `cut at ${at} of ${whole.length}, before the IEND chunk, decoded`);
    assert.deepEqual(back.pixels, frame.pixels, `cut at ${at}: other pixels`);
  }
  assert.ok(refused >= whole.length - 12, `${refused} cuts refused`);
});
