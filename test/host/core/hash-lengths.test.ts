// The core's SHA-256 / SHA-512 against node:crypto at every length across the block and padding
// boundaries, at every alignment of the input in core memory, on random lengths up to 10 KiB, and
// with hashers of both algorithms and the four-lane tile table interleaved in one core (the
// message schedules share static scratch memory in the core; each block must rewrite it whole).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Core } from '../../../host/core/wasm.js';
import { CoreSha256, CoreSha512, type CoreHash } from '../../../host/core/hash.js';
import { tileHashesAt } from '../../../host/core/tiles.js';
import { bytesOf } from './bytes.js';

type Algo = 'sha256' | 'sha512';
const core = new Core();
const hashers: Record<Algo, CoreHash> = { sha256: new CoreSha256(core, 61), sha512: new CoreSha512(core, 61) };
const nodeHex = (algo: Algo, data: Uint8Array): string => createHash(algo).update(data).digest('hex');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');


const data = bytesOf(10_240 + 16, 0x5eed);
// The input area in core memory, 16-byte aligned, so `at + k` is an input misaligned by k.
const at = core.alloc(data.length + 16, 16);
core.bytes(at, data.length).set(data);

for (const algo of ['sha256', 'sha512'] as const) {
  test(`${algo}: every length 0..1100, in place at alignments 0..15 and copied in, equals node:crypto`, () => {
    const h = hashers[algo];
    for (let len = 0; len <= 1100; len++) {
      const want = nodeHex(algo, data.subarray(0, len));
      assert.equal(hex(h.reset().update(data.subarray(0, len)).digest()), want, `${algo} length ${len}, copied in`);
      // All 16 alignments on lengths near a block or padding boundary (SHA-256: 55/56/64, SHA-512:
      // 111/112/128), one alignment in turn elsewhere (keeps it fast).
      const m = len % 128;
      const nearBoundary = m <= 1 || (m >= 54 && m <= 65) || m >= 110;
      for (let k = nearBoundary ? 0 : len % 16; k < 16; k += nearBoundary ? 1 : 16) {
        core.bytes(at + k, len).set(data.subarray(0, len));
        assert.equal(hex(h.reset().updateAt(at + k, len).digest()), want, `${algo} length ${len} at alignment ${k}`);
      }
    }
  });

  test(`${algo}: 300 random lengths up to 10 KiB, split at random points, equal node:crypto`, () => {
    const h = hashers[algo];
    core.bytes(at, data.length).set(data);
    let s = algo === 'sha256' ? 0x1234567 : 0x7654321;
    const rand = (n: number): number => {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      return (s >>> 0) % n;
    };
    for (let i = 0; i < 300; i++) {
      const len = rand(10_241);
      const start = rand(16);
      const cut = rand(len + 1);
      const msg = data.subarray(start, start + len);
      const got = h.reset().updateAt(at + start, cut).update(msg.subarray(cut)).digest();
      assert.equal(hex(got), nodeHex(algo, msg), `${algo} length ${len} from offset ${start}, split at ${cut}`);
    }
  });
}

test('SHA-256, SHA-512 and the four-lane tile table interleaved in one core each give their own digests', () => {
  const rows = 128, cols = 320, tile = 64; // five tiles a row: one four-lane group and one scalar tile
  const frame = bytesOf(rows * cols * 2, 0xf00d);
  const framePtr = core.alloc(frame.length, 16);
  core.bytes(framePtr, frame.length).set(frame);
  const msg = bytesOf(5000, 0xbeef);
  const a = new CoreSha256(core), b = new CoreSha512(core);
  let tiles: Uint8Array | undefined;
  for (let off = 0; off < msg.length; off += 333) {
    a.update(msg.subarray(off, off + 333));
    if (off === 999) tiles = tileHashesAt(core, framePtr, rows, cols, tile);
    b.update(msg.subarray(off, off + 333));
  }
  assert.equal(hex(a.digest()), nodeHex('sha256', msg));
  assert.equal(hex(b.digest()), nodeHex('sha512', msg));
  assert.ok(tiles);
  for (let ty = 0; ty < rows / tile; ty++) {
    for (let tx = 0; tx < cols / tile; tx++) {
      const h = createHash('sha256');
      for (let y = ty * tile; y < (ty + 1) * tile; y++) h.update(frame.subarray((y * cols + tx * tile) * 2, (y * cols + (tx + 1) * tile) * 2));
      const i = ty * (cols / tile) + tx;
      assert.equal(hex(tiles.subarray(i * 32, i * 32 + 32)), h.digest('hex'), `tile ${ty},${tx}`);
    }
  }
});
