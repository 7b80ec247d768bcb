// Raw frame files go straight into core memory and are hashed as they are read: the raw hash is
// the file's SHA-256, the pixels are a view of the core (tile table and watermark work on them in
// place), and a bad file is refused by name before anything is sealed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameInputError, firstPixelAbove, loadFrameFile, sealCoreReserveBytes } from '../../../host/seal/frame-file.js';
import { coreHolding } from '../../../host/core/wasm.js';
import { tileHashes } from '../../../host/core/tiles.js';
import { markFrame } from '../../../host/seal/watermark.js';
import { tempDir } from '../support/run.js';

const dir = tempDir('radseal-frame-file-');

function rawFile(name: string, pixels: Uint16Array): string {
  const path = join(dir, name);
  writeFileSync(path, new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength));
  return path;
}

const randomPixels = (n: number, bits: number) => {
  const p = new Uint16Array(randomBytes(n * 2).buffer);
  for (let i = 0; i < n; i++) p[i]! &= (1 << bits) - 1;
  return p;
};

test('a raw frame lands in core memory, its raw hash is the file\'s SHA-256, the pixels are the file\'s', async () => {
  // More than one read piece (1 MiB), and an odd number of pixels.
  const rows = 601, cols = 999;
  const pixels = randomPixels(rows * cols, 12);
  const path = rawFile('frame.raw', pixels);
  const { frame, rawFrameSha256 } = await loadFrameFile(path, { rows, cols, bitsStored: 12 });
  assert.deepEqual(Buffer.from(rawFrameSha256), createHash('sha256').update(new Uint8Array(pixels.buffer)).digest());
  assert.deepEqual(frame.pixels, pixels);
  const held = coreHolding(frame.pixels);
  assert.ok(held, 'the pixels are a view of core memory, not a JavaScript copy');
  // Work in that core (tile table, watermark) never grows it, so the view stays attached.
  tileHashes(new Uint8Array(frame.pixels.buffer, frame.pixels.byteOffset, frame.pixels.byteLength), rows, cols, 64);
  markFrame(frame, new Uint8Array(32).fill(5), 'FRAME-FILE', 1, undefined, true);
  assert.equal(frame.pixels.length, rows * cols, 'the frame view is still attached after the tile table and the mark');
  assert.notDeepEqual(frame.pixels, pixels, 'the mark went into the frame in place');
});

test('a pixel above the bits stored is named, wherever it is (first, middle, the odd last one)', async () => {
  const rows = 3, cols = 5;
  for (const at of [0, 7, 14]) {
    const pixels = randomPixels(rows * cols, 10);
    pixels[at] = 1024;
    await assert.rejects(loadFrameFile(rawFile(`over-${at}.raw`, pixels), { rows, cols, bitsStored: 10 }),
      (e: Error) => e instanceof FrameInputError && e.message === `pixel ${at} has value 1024, more than 10 bits stored allow`);
  }
  const full = new Uint16Array(rows * cols).fill(0xffff);
  const { frame } = await loadFrameFile(rawFile('full.raw', full), { rows, cols, bitsStored: 16 });
  assert.equal(frame.pixels[14], 0xffff, '16 bits stored allow every value');
});

test('firstPixelAbove agrees with a plain scan, on aligned and unaligned views', () => {
  for (let trial = 0; trial < 200; trial++) {
    const bits = 6 + (trial % 11);
    const n = 1 + ((trial * 37) % 301);
    const backing = randomPixels(n + 1, bits);
    if (trial % 3 === 0) backing[(trial * 13) % (n + 1)] = 1 << Math.min(bits, 15);
    const view = trial % 2 ? backing.subarray(1) : backing.subarray(0, n); // byteOffset 2: not 4-aligned
    const plain = view.findIndex((v) => v >= 2 ** bits);
    assert.equal(firstPixelAbove(view, bits), plain, `trial ${trial}, ${bits} bits, ${view.length} pixels`);
  }
});

test('a frame file of the wrong size, a missing file or a folder: refused by name', async () => {
  const g = { rows: 4, cols: 4, bitsStored: 12 };
  await assert.rejects(loadFrameFile(rawFile('short.raw', new Uint16Array(15)), g), /short\.raw has 30 bytes; 4x4 uint16 needs 32/);
  await assert.rejects(loadFrameFile(join(dir, 'nosuch.raw'), g), /cannot read frame .*nosuch\.raw: no such file/);
  mkdirSync(join(dir, 'folder.raw'));
  await assert.rejects(loadFrameFile(join(dir, 'folder.raw'), g), /folder\.raw is not a regular file/);
  await assert.rejects(loadFrameFile(rawFile('nogeom.raw', new Uint16Array(16)), { rows: 4, cols: 4 }), /needs --rows, --cols and --bits-stored/);
  await assert.rejects(loadFrameFile(join(dir, 'frame.tif'), g), /unsupported frame file/);
});

test('the tile table and min/max taken as the file is read are the core\'s own of the whole frame', async () => {
  const { coreTileHashes } = await import('../../../host/core/tiles.js');
  // Frames of several read pieces (1 MiB of whole tile rows each), a last band of fewer rows, tiles wider than the frame.
  for (const [rows, cols, tileSize] of [[601, 999, 64], [601, 999, 7], [101, 77, 1], [40, 30, 64], [1030, 517, 100]] as const) {
    const pixels = randomPixels(rows * cols, 14);
    pixels[rows * cols - 1] = 16383; // the largest value in the last piece
    pixels[3] = 0;
    const path = rawFile(`tiles-${rows}-${cols}-${tileSize}.raw`, pixels);
    const loaded = await loadFrameFile(path, { rows, cols, bitsStored: 14, coreReserveBytes: sealCoreReserveBytes(rows, cols, tileSize), tileSize });
    const expected = coreTileHashes(new Uint8Array(pixels.buffer), rows, cols, tileSize);
    assert.equal(loaded.tiles?.size, tileSize);
    assert.deepEqual(Buffer.from(loaded.tiles!.hashes), Buffer.from(expected), `${rows}x${cols} tiles of ${tileSize}`);
    assert.deepEqual(loaded.range, { min: 0, max: 16383 });
    assert.deepEqual(loaded.frame.pixels, pixels);
  }
  const plain = await loadFrameFile(rawFile('no-tiles.raw', randomPixels(64, 12)), { rows: 8, cols: 8, bitsStored: 12 });
  assert.equal(plain.tiles, undefined, 'no tile size, no table');
});

test('a seal without a watermark fits a core of the frame and its tile table, at any tile size', async () => {
  const { generateDeviceKey } = await import('../../../host/keys/provision.js');
  const { loadDeviceIdentity } = await import('../../../host/seal/device.js');
  const { sealFrame } = await import('../../../host/seal/seal.js');
  const { tileDigest } = await import('../../../host/core/tiles.js');
  const { sha256 } = await import('../../../host/core/hash.js');
  const keys = await generateDeviceKey('DX-RESERVE-1', join(dir, 'reserve-keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert);
  const rows = 301, cols = 257;
  const pixels = randomPixels(rows * cols, 12);
  const bytes = new Uint8Array(pixels.buffer);
  const path = rawFile('reserve.raw', pixels);
  for (const tileSize of [0, 1, 7, 64]) {
    const reserve = sealCoreReserveBytes(rows, cols, tileSize);
    // As `radseal seal` does: the tile table (and min/max) taken as the file is read, used by the seal.
    const { frame, rawFrameSha256, tiles, range } = await loadFrameFile(path, { rows, cols, bitsStored: 12, coreReserveBytes: reserve, tileSize });
    const core = coreHolding(frame.pixels)!.core;
    assert.ok(core.budgetBytes! <= rows * cols * 2 + reserve + (1 << 20), `tile ${tileSize}: the core is the frame and its reserve, not more`);
    const meta = { patientOrientation: ['L', 'F'] as [string, string], imagerPixelSpacing: [0.139, 0.139] as [number, number] };
    const sealed = await sealFrame({ frame, rawFrameSha256, frameSerial: 1, meta, tileSize, markInPlace: true, tilesAsReceived: tiles, rangeAsReceived: range }, device);
    const expected = tileSize > 0 ? tileDigest(tileHashes(bytes.slice(), rows, cols, tileSize), rows, cols, tileSize) : sha256(bytes.slice());
    assert.deepEqual(Buffer.from(sealed.pixelDataSha256), Buffer.from(expected), `tile ${tileSize}: the pixel hash is the frame's`);
  }
  // The point of the small core: a 3072² frame with its table stays under V8's 64 MiB external-memory limit.
  assert.ok(3072 * 3072 * 2 + sealCoreReserveBytes(3072, 3072, 64) < 64 << 20);
});
