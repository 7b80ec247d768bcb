// The tile table and the tile digest (attestation format 3) against node:crypto over tiles gathered
// in JavaScript (the oracle), both ways the host makes the table (OpenSSL over tiles the core
// gathers, and the core's own SHA-256), bytes held by JavaScript and bytes already in core memory
// alike, in budgeted cores with little room left and in cores the table makes grow; and the
// budgeted core arena that lets a frame stay in core memory while hashing, tiles and the
// watermark read it there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Core, coreHolding } from '../../../host/core/wasm.js';
import { sha256, sha512 } from '../../../host/core/hash.js';
import { coreTileHashes, coreTileHashesAt, tileDigest, tileGrid, tileHashes, tileHashesAt } from '../../../host/core/tiles.js';
import { bytesOf } from './bytes.js';


/** The tile table as the attestation defines it: each tile copied out in JavaScript, row by row, then node:crypto. */
function oracleTiles(px: Uint8Array, rows: number, cols: number, size: number): Uint8Array {
  const g = tileGrid(rows, cols, size);
  const out = new Uint8Array(g.rows * g.cols * 32);
  for (let ty = 0; ty < g.rows; ty++) {
    for (let tx = 0; tx < g.cols; tx++) {
      const x0 = tx * size, w = Math.min(size, cols - x0);
      const y0 = ty * size, h = Math.min(size, rows - y0);
      const tile = new Uint8Array(w * h * 2);
      for (let y = 0; y < h; y++) tile.set(px.subarray(((y0 + y) * cols + x0) * 2, ((y0 + y) * cols + x0 + w) * 2), y * w * 2);
      out.set(createHash('sha256').update(tile).digest(), (ty * g.cols + tx) * 32);
    }
  }
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Every way the table is made, for the frame `px`: copied in, in place, as a view, by OpenSSL and by the core. */
function everyTable(px: Uint8Array, rows: number, cols: number, size: number): Record<string, string> {
  const core = new Core();
  const ptr = core.alloc(px.length);
  core.bytes(ptr, px.length).set(px);
  const used = core.used;
  const tables = {
    'copied in': hex(tileHashes(px, rows, cols, size)),
    'in place': hex(tileHashesAt(core, ptr, rows, cols, size)),
    'core view': hex(tileHashes(core.bytes(ptr, px.length), rows, cols, size)),
    'core SHA-256, copied in': hex(coreTileHashes(px, rows, cols, size)),
    'core SHA-256, in place': hex(coreTileHashesAt(core, ptr, rows, cols, size)),
  };
  assert.equal(core.used, used, 'the tile table calls release what they allocated');
  return tables;
}

// [rows, cols, tile]: four-lane groups with a partial group and edge tiles (64, 32), a tile that
// is not a whole number of blocks (48: scalar path), one tile bigger than the frame, 1x1 tiles,
// and bands wider than the gather space (256 KiB), so a band is gathered in several runs.
const GEOMETRIES: Array<[number, number, number]> = [[200, 333, 64], [256, 576, 32], [100, 500, 48], [70, 130, 256], [5, 7, 1], [192, 1024, 64],
  [260, 1100, 128], [300, 2100, 256]];

test('tile table: every way of making it gives node:crypto\'s per-tile SHA-256 of JavaScript-gathered tiles', () => {
  for (const [rows, cols, size] of GEOMETRIES) {
    const px = bytesOf(rows * cols * 2, rows * 31 + cols);
    const expected = hex(oracleTiles(px, rows, cols, size));
    for (const [way, table] of Object.entries(everyTable(px, rows, cols, size))) assert.equal(table, expected, `${rows}x${cols}/${size} ${way}`);
  }
});

test('tile table: random geometries (tile sizes 1 to 256, frames smaller than a tile, wide and tall) agree every way', () => {
  let seed = 0x2545f491;
  const rand = (n: number): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const sizes = [1, 7, 32, 64, 128, 256];
  const shapes: Array<() => [number, number]> = [
    () => [1 + rand(300), 1 + rand(300)], // anything up to a few tiles
    () => [1 + rand(40), 300 + rand(900)], // wide
    () => [300 + rand(900), 1 + rand(40)], // tall
    () => [1 + rand(20), 1 + rand(20)], // smaller than most tiles
  ];
  for (let i = 0; i < 36; i++) {
    const size = sizes[i % sizes.length]!;
    let [rows, cols] = shapes[Math.floor(i / sizes.length) % shapes.length]!();
    // 1-px tiles: one hash per pixel, so keep those frames small.
    if (size === 1) [rows, cols] = [1 + (rows % 60), 1 + (cols % 60)];
    const px = bytesOf(rows * cols * 2, i * 7919 + 1);
    const expected = hex(oracleTiles(px, rows, cols, size));
    for (const [way, table] of Object.entries(everyTable(px, rows, cols, size))) assert.equal(table, expected, `${rows}x${cols}/${size} ${way}`);
  }
});

test('tile table in a budgeted core with little room left: same table, memory never grows, the frame view stays attached', () => {
  const [rows, cols, size] = [300, 700, 64];
  const px = bytesOf(rows * cols * 2, 11);
  const expected = hex(oracleTiles(px, rows, cols, size));
  // Room for less than one whole tile (8 KiB) but for the bottom right one (44x60 px), then for
  // nothing at all: tiles that do not fit the gather are hashed row by row where they lie.
  for (const room of [6000, 0]) {
    const probe = new Core();
    const budget = probe.alloc(px.length) + px.length + room;
    const core = new Core({ budgetBytes: Math.ceil(budget / 65536) * 65536 });
    const ptr = core.alloc(px.length);
    const left = core.budgetBytes! - core.mark();
    if (left > room) core.alloc(left - room, 1);
    const frame = core.bytes(ptr, px.length);
    frame.set(px);
    const before = core.memory.buffer.byteLength;
    assert.equal(hex(tileHashesAt(core, ptr, rows, cols, size)), expected, `room ${room}`);
    assert.equal(hex(tileHashes(frame, rows, cols, size)), expected, `room ${room}, view`);
    assert.equal(core.memory.buffer.byteLength, before);
    assert.equal(frame.length, px.length, 'the frame view is still attached');
  }
});

test('tile table in an unbudgeted core the table makes grow: read after the growth, same table', () => {
  const [rows, cols, size] = [64, 512, 64];
  const px = bytesOf(rows * cols * 2, 12);
  const core = new Core();
  // Fill core memory to its last byte with the frame's bytes at the end: the gather space must grow it.
  const pad = core.memory.buffer.byteLength - core.mark() - px.length;
  if (pad > 0) core.alloc(pad, 1);
  const ptr = core.alloc(px.length, 1);
  core.bytes(ptr, px.length).set(px);
  const before = core.memory.buffer.byteLength;
  assert.equal(hex(tileHashesAt(core, ptr, rows, cols, size)), hex(oracleTiles(px, rows, cols, size)));
  assert.ok(core.memory.buffer.byteLength > before, 'core memory grew during the table');
});

test('tile table without crypto.hash (older Node): the createHash path gives the same table', async () => {
  const crypto = (await import('node:crypto')).default as { hash?: unknown };
  const saved = crypto.hash;
  crypto.hash = undefined;
  let fresh: typeof import('../../../host/core/tiles.js');
  try {
    fresh = await import('../../../host/core/tiles.js?without-crypto-hash' as string) as typeof import('../../../host/core/tiles.js');
  } finally {
    crypto.hash = saved;
  }
  const [rows, cols, size] = [200, 333, 64];
  const px = bytesOf(rows * cols * 2, 13);
  assert.notEqual(fresh.tileHashes, tileHashes, 'a second instance of the module, loaded without crypto.hash');
  assert.equal(hex(fresh.tileHashes(px, rows, cols, size)), hex(oracleTiles(px, rows, cols, size)));
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
