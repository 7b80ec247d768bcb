// The core's min/max (assembly/range.ts through host/core/range.ts) against a plain scan: a frame
// in core memory scanned where it lies, one in JavaScript copied in piece by piece (across piece
// boundaries, the extremes in the last piece), an empty frame; and the DX window it gives is the
// one buildDx's own scan gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pixelRange } from '../../../host/core/range.js';
import { Core } from '../../../host/core/wasm.js';
import { buildDx } from '../../../host/dicom/dx.js';
import { makePhantom } from '../../../host/image/phantom.js';
import { tag } from '../../../host/dicom/model.js';

function plainRange(p: Uint16Array): { min: number; max: number } {
  let min = 0xffff, max = 0;
  for (const v of p) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

test('pixelRange of JavaScript pixels equals a plain scan, across pieces and odd lengths', () => {
  for (const n of [1, 7, 31, 32, 33, 1000, (1 << 19) + 3, (1 << 20) + 77]) {
    const p = new Uint16Array(randomBytes(n * 2).buffer);
    for (let i = 0; i < n; i++) p[i] = 200 + (p[i]! % 3000);
    if (n > 40) {
      p[n - 1] = 9; // smallest in the last piece's scalar tail
      p[n - 2] = 60000;
    }
    assert.deepEqual(pixelRange(p), plainRange(p), `${n} pixels`);
  }
  assert.deepEqual(pixelRange(new Uint16Array(0)), { min: 0xffff, max: 0 });
});

test('pixelRange of a frame in core memory is taken in place, at an unaligned offset too', () => {
  const core = new Core({ budgetBytes: 4 << 20 });
  const ptr = core.alloc(2 * 100_003 + 2, 16) + 2; // 2 bytes past 16-byte alignment
  const p = new Uint16Array(core.memory.buffer, ptr, 100_003);
  p.set(new Uint16Array(randomBytes(p.length * 2).buffer));
  const used = core.used;
  assert.deepEqual(pixelRange(p), plainRange(p));
  assert.equal(core.used, used, 'nothing allocated in the frame\'s core');
  p.fill(0x3fff);
  p[50_001] = 0xffff;
  p[99_999] = 0;
  assert.deepEqual(pixelRange(p), { min: 0, max: 0xffff });
});

test('buildDx given the core\'s range writes the window its own scan writes', () => {
  const frame = makePhantom({ rows: 257, cols: 311, bitsStored: 14, seed: 9 });
  const at = new Date(0);
  const windowOf = (ds: ReturnType<typeof buildDx>['dataSet']) =>
    [tag(0x0028, 0x1050), tag(0x0028, 0x1051)].map((t) => Buffer.from(ds.find((e) => e.tag === t)!.value!).toString('latin1'));
  const scanned = windowOf(buildDx(frame, {}, [], at).dataSet);
  const given = windowOf(buildDx(frame, {}, [], at, { pixelRange: pixelRange(frame.pixels) }).dataSet);
  assert.deepEqual(given, scanned);
  const r = plainRange(frame.pixels);
  const width = r.max - r.min + 1;
  assert.equal(Number(scanned[1]), width);
  assert.equal(Number(scanned[0]), r.min + width / 2);
});
