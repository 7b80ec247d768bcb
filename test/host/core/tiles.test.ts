// The core's tile table and the tile digest (attestation format 3) against node:crypto, bytes held
// by JavaScript and bytes already in core memory alike; and the budgeted core arena that lets a
// frame stay in core memory while hashing, tiles and the watermark read it there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Core, coreHolding } from '../../../host/core/wasm.js';
import { sha256, sha512 } from '../../../host/core/hash.js';
import { tileDigest, tileGrid, tileHashes, tileHashesAt } from '../../../host/core/tiles.js';
import { bytesOf } from './bytes.js';


/** The tile table as the attestation defines it, one tile at a time with node:crypto: the oracle. */
function oracleTiles(px: Uint8Array, rows: number, cols: number, size: number): Uint8Array {
  const g = tileGrid(rows, cols, size);
  const out = new Uint8Array(g.rows * g.cols * 32);
  for (let ty = 0; ty < g.rows; ty++) {
    for (let tx = 0; tx < g.cols; tx++) {
      const h = createHash('sha256');
      const x0 = tx * size, w = Math.min(size, cols - x0);
      for (let y = ty * size; y < Math.min(rows, (ty + 1) * size); y++) h.update(px.subarray((y * cols + x0) * 2, (y * cols + x0 + w) * 2));
      out.set(h.digest(), (ty * g.cols + tx) * 32);
    }
  }
  return out;
}

// [rows, cols, tile]: four-lane groups with a partial group and edge tiles (64, 32), a tile that
// is not a whole number of blocks (48: scalar path), one tile bigger than the frame, 1x1 tiles.
const GEOMETRIES: Array<[number, number, number]> = [[200, 333, 64], [256, 576, 32], [100, 500, 48], [70, 130, 256], [5, 7, 1], [192, 1024, 64]];

test('tile table: JavaScript bytes and core-resident bytes give node:crypto\'s per-tile SHA-256', () => {
  for (const [rows, cols, size] of GEOMETRIES) {
    const px = bytesOf(rows * cols * 2, rows * 31 + cols);
    const expected = Buffer.from(oracleTiles(px, rows, cols, size)).toString('hex');
    assert.equal(Buffer.from(tileHashes(px, rows, cols, size)).toString('hex'), expected, `${rows}x${cols}/${size} copied in`);
    const core = new Core();
    const ptr = core.alloc(px.length);
    core.bytes(ptr, px.length).set(px);
    const used = core.used;
    assert.equal(Buffer.from(tileHashesAt(core, ptr, rows, cols, size)).toString('hex'), expected, `${rows}x${cols}/${size} in place`);
    // A view into core memory is found and hashed where it is.
    assert.equal(Buffer.from(tileHashes(core.bytes(ptr, px.length), rows, cols, size)).toString('hex'), expected, `${rows}x${cols}/${size} view`);
    assert.equal(core.used, used, 'the tile table call releases what it allocated');
  }
});

test('tile table: bad geometry is refused by name, never hashed past the frame', () => {
  const core = new Core();
  const ptr = core.alloc(64);
  assert.throws(() => tileHashes(new Uint8Array(10), 2, 3, 1), /pixel data has 10 bytes, 2x3 uint16 needs 12/);
  assert.throws(() => tileHashes(new Uint8Array(12), 2, 3, 0), /tile size 0 outside 1\.\.65535/);
  assert.throws(() => tileHashesAt(core, core.memory.buffer.byteLength - 8, 2, 3, 1), /outside core memory/);
  assert.throws(() => tileHashesAt(core, ptr, 0, 3, 1), /geometry 0x3/);
});

test('tile digest: SHA-256 of label, geometry and table; any change to either changes it', () => {
  const [rows, cols, size] = [200, 333, 64];
  const table = tileHashes(bytesOf(rows * cols * 2, 5), rows, cols, size);
  const geometry = Buffer.alloc(12);
  geometry.writeUInt32BE(rows, 0); geometry.writeUInt32BE(cols, 4); geometry.writeUInt32BE(size, 8);
  const expected = createHash('sha256').update('radseal tile digest 1\0').update(geometry).update(table).digest('hex');
  assert.equal(Buffer.from(tileDigest(table, rows, cols, size)).toString('hex'), expected);
  const flipped = table.slice();
  flipped[500]! ^= 1;
  assert.notEqual(Buffer.from(tileDigest(flipped, rows, cols, size)).toString('hex'), expected);
  // Same number of tiles, other geometry: 200x333 and 256x384 are both 4x6 tiles of 64 px.
  assert.equal(tileGrid(256, 384, 64).rows * tileGrid(256, 384, 64).cols, tileGrid(rows, cols, size).rows * tileGrid(rows, cols, size).cols);
  assert.notEqual(Buffer.from(tileDigest(table, 256, 384, 64)).toString('hex'), expected);
  assert.throws(() => tileDigest(table.subarray(32), rows, cols, size), /tile table has 736 bytes/);
});

test('one-shot hashes of bytes already in core memory are computed in place and match node:crypto', () => {
  const core = new Core();
  const data = bytesOf(300_001, 9);
  const ptr = core.alloc(data.length);
  core.bytes(ptr, data.length).set(data);
  const view = core.bytes(ptr, data.length);
  assert.deepEqual(coreHolding(view), { core, ptr });
  assert.equal(coreHolding(data), undefined);
  const used = core.used;
  assert.equal(Buffer.from(sha256(view)).toString('hex'), createHash('sha256').update(data).digest('hex'));
  assert.equal(Buffer.from(sha512(view)).toString('hex'), createHash('sha512').update(data).digest('hex'));
  assert.equal(core.used, used);
});

test('budgeted core: memory fixed at the budget up front, views never detached, an alloc past it refused', () => {
  const budget = 8 << 20;
  const core = new Core({ budgetBytes: budget });
  assert.equal(core.memory.buffer.byteLength, budget);
  const frame = core.alloc(4 << 20);
  const view = core.bytes(frame, 4 << 20);
  view[123] = 7;
  core.alloc(3 << 20);
  assert.equal(view.length, 4 << 20, 'the view is still attached after more allocations');
  assert.equal(view[123], 7);
  assert.throws(() => core.alloc(2 << 20), /memory budget of 8388608 bytes exceeded/);
  assert.equal(core.memory.buffer.byteLength, budget, 'memory did not grow');
  assert.throws(() => new Core({ budgetBytes: 100 }), /below the core's own/);
});
