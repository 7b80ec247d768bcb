// The core without JavaScript: build/core.wasm -> native/lower-simd.mjs ->
// wasm2c (Debian wabt) -> gcc, driven by native/harness.c. Checks that
//   1. the SIMD-lowered module (what wasm2c translates) computes exactly what
//      the SIMD core computes, call for call, on Node (every export the host
//      calls while hashing, tiling, embedding and detecting);
//   2. the native harness's SHA-256, SHA-512, tile table, marked frame and
//      marked-frame SHA-256 are bit-identical to Node's (host/core/hash.ts,
//      host/core/tiles.ts, host/watermark embedWatermark), on phantoms and on
//      the real radiographs when ../shared/data/radiographs is present;
//   3. the memory budget and key-file checks of the harness refuse bad input;
//   4. a third runtime, wasm-interp (wabt's interpreter), computes the same
//      SHA-256 with the unmodified SIMD core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import binaryen from 'binaryen';
import { Core, coreWasmPath, projectRoot } from '../../../host/core/wasm.js';
import { CoreSha256, CoreSha512, sha256, sha512 } from '../../../host/core/hash.js';
import { coreTileHashes, tileHashes } from '../../../host/core/tiles.js';
import { pixelRange } from '../../../host/core/range.js';
import { makePhantom } from '../../../host/image/phantom.js';
import { readGrayImage, type GrayImage } from '../../../host/image/png.js';
import { loadBoard } from '../../../host/boards/board.js';
import { embedWatermark, detectWatermark } from '../../../host/watermark/index.js';
import { wmCore, FRAG_CTX_BYTES, FRAG_SCRATCH_BYTES } from '../../../host/watermark/core.js';
import { CHIP, CODED_BITS, DEFAULT_PSNR_DB, MASK_HI, MASK_LO, PILOTS, REPS, TILE } from '../../../host/watermark/params.js';

const ROOT = projectRoot();
const DATA = join(ROOT, '..', 'shared', 'data', 'radiographs');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytesOf = (p: Uint16Array): Buffer => Buffer.from(p.buffer, p.byteOffset, p.byteLength);

let work: string;
let out: string; // build folder of this run
let harness: string;
let keyPath: string;
const KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 73 + 11) & 255);

function tool(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

before(() => {
  for (const t of ['gcc', 'wasm2c', 'wasm-interp']) {
    assert.ok(tool(t), `${t} is required (Debian: apt-get install ${t === 'gcc' ? 'gcc' : 'wabt'}; test/run.sh installs it)`);
  }
  assert.ok(existsSync(coreWasmPath()), 'build/core.wasm missing: npm run build:core');
  work = mkdtempSync(join(tmpdir(), 'radseal-native-'));
  out = join(work, 'build');
  const r = spawnSync('bash', [join(ROOT, 'native', 'build.sh')], { env: { ...process.env, OUT: out }, encoding: 'utf8' });
  assert.equal(r.status, 0, `native/build.sh failed:\n${r.stdout}\n${r.stderr}`);
  harness = join(out, 'radseal-native');
  assert.ok(existsSync(harness));
  keyPath = join(work, 'wm.key');
  writeFileSync(keyPath, KEY, { mode: 0o600 });
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

// ---- 1. SIMD build vs SIMD-lowered build, call for call, on Node ----------

test('SIMD-lowered core (the one wasm2c translates) matches the SIMD core call for call on Node', () => {
  const scalarBytes = readFileSync(join(out, 'core.scalar.wasm'));
  assert.ok(WebAssembly.validate(scalarBytes));
  const simdOps = /\b(v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\./;
  const objdump = spawnSync('wasm-objdump', ['-d', join(out, 'core.scalar.wasm')], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(objdump.status, 0);
  assert.ok(!simdOps.test(objdump.stdout), 'lowered module still has SIMD instructions');
  const simdDump = spawnSync('wasm-objdump', ['-d', coreWasmPath()], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.ok(simdOps.test(simdDump.stdout), 'the reference core has no SIMD: nothing was checked');
  const scalar = new WebAssembly.Instance(new WebAssembly.Module(scalarBytes), {}).exports as Record<string, unknown> & { memory: WebAssembly.Memory };

  const core = wmCore();
  const real = core.exports as unknown as Record<string, unknown> & { memory: WebAssembly.Memory };
  const called = new Map<string, number>();
  const mismatches: string[] = [];
  const wrapped: Record<string, unknown> = { memory: real.memory };
  for (const [name, fn] of Object.entries(real)) {
    if (typeof fn !== 'function') continue;
    wrapped[name] = (...args: number[]) => {
      const before = new Uint8Array(real.memory.buffer).slice();
      const r = (fn as (...a: number[]) => unknown)(...args);
      const sm = scalar.memory;
      if (sm.buffer.byteLength < before.length) sm.grow((before.length - sm.buffer.byteLength) / 65536);
      new Uint8Array(sm.buffer).fill(0).set(before);
      const r2 = (scalar[name] as (...a: number[]) => unknown)(...args);
      const a = new Uint8Array(real.memory.buffer), b = new Uint8Array(sm.buffer, 0, a.length);
      called.set(name, (called.get(name) ?? 0) + 1);
      if (!Object.is(r, r2) || Buffer.compare(a, b) !== 0) mismatches.push(`${name}(${args.join(', ')}): ${String(r)} vs ${String(r2)}`);
      return r;
    };
  }
  const saved = core.exports;
  (core as { exports: unknown }).exports = wrapped;
  try {
    for (const [rows, cols, bits, seed] of [[520, 512, 14, 5], [130, 171, 10, 6]] as const) {
      const img = makePhantom({ rows, cols, bitsStored: bits, seed });
      const h256 = new CoreSha256(core, 4096), h512 = new CoreSha512(core, 4096);
      h256.update(bytesOf(img.pixels)).digest();
      h512.update(bytesOf(img.pixels)).digest();
      tileHashes(bytesOf(img.pixels), rows, cols, 64, core); // the host's table: tileGather, then OpenSSL
      coreTileHashes(bytesOf(img.pixels), rows, cols, 64, core); // the core's own, as the native harness makes it
      const rangeMark = core.mark();
      const at = core.alloc(img.pixels.byteLength); // may grow memory: the view comes after
      const inCore = new Uint16Array(core.memory.buffer, at, img.pixels.length);
      inCore.set(img.pixels);
      pixelRange(inCore); // the frame where it lies in this core: u16MinMax in place
      core.release(rangeMark);
      const marked = embedWatermark(img, KEY, Uint8Array.of(seed, 2, 3)).image;
      detectWatermark(marked, KEY);
      // a pasted-in block exercises the tamper-map paths
      const edited = { ...marked, pixels: marked.pixels.slice() };
      for (let y = 40; y < 104; y++) for (let x = 30; x < 94; x++) edited.pixels[y * cols + x] = img.pixels[(y + 60) * cols + x + 40]!;
      detectWatermark(edited, KEY);
      detectWatermark(edited, KEY, { tamperMap: 'robust' });
      // a 0.5x downscale and an offset crop exercise the sync search
      const half: GrayImage = { rows: rows >> 1, cols: cols >> 1, bitsStored: bits, pixels: new Uint16Array((rows >> 1) * (cols >> 1)) };
      for (let y = 0; y < half.rows; y++) for (let x = 0; x < half.cols; x++) half.pixels[y * half.cols + x] = marked.pixels[2 * y * cols + 2 * x]!;
      detectWatermark(half, KEY);
    }
  } finally {
    (core as { exports: unknown }).exports = saved;
  }
  assert.deepEqual(mismatches, []);
  // Every exported function that holds SIMD code (the code that was lowered) was exercised.
  const simdExports = new Set<string>();
  let current = '';
  for (const line of simdDump.stdout.split('\n')) {
    const f = /^[0-9a-f]+ func\[\d+\](?: <([^>]+)>)?:/.exec(line);
    if (f) current = f[1] ?? '';
    else if (current && simdOps.test(line)) simdExports.add(current);
  }
  assert.ok(simdExports.size > 0);
  for (const name of [...simdExports, 'sha256Update', 'sha512Update', 'tileSha256', 'tileGather']) {
    assert.ok((called.get(name) ?? 0) > 0, `${name} was never called`);
  }
});

// The lowering pass on its own, on the constructs the compiled core may not
// (yet) contain: v128 through local.tee, a block result and select; f32x4 lanes
// with NaN, -0 and infinities; dot product; load64_zero; a dropped computed v128;
// a helper taking and returning v128 (two returns), called for a value and dropped.
const LOWERING_CASES = `(module
 (memory (export "memory") 1)
 (func $helper (param $a v128) (param $n i32) (param $b v128) (result v128)
  (if (local.get $n) (then (return (i32x4.add (local.get $a) (local.get $b)))))
  (i32x4.sub (local.get $a) (local.get $b)))
 (func (export "f") (param $p i32) (param $x f32) (param $c i32) (result i32)
  (local $v v128) (local $w v128) (local $s v128)
  (local.set $w (block (result v128) (local.tee $v (v128.load (local.get $p)))))
  (local.set $s (f32x4.splat (local.get $x)))
  (v128.store offset=16 (local.get $p) (select (result v128) (local.get $w) (local.get $s) (local.get $c)))
  (v128.store offset=32 (local.get $p) (f32x4.min (local.get $v) (local.get $s)))
  (v128.store offset=48 (local.get $p) (f32x4.max (local.get $v) (local.get $s)))
  (v128.store offset=64 (local.get $p)
   (f32x4.sqrt (f32x4.div (f32x4.mul (local.get $w) (local.get $w)) (f32x4.add (local.get $v) (local.get $s)))))
  (v128.store offset=80 (local.get $p) (i32x4.dot_i16x8_s (local.get $v) (v128.load offset=96 (local.get $p))))
  (v128.store offset=112 (local.get $p) (v128.load64_zero offset=8 (local.get $p)))
  (drop (f32x4.sub (local.get $v) (local.get $s)))
  (v128.store offset=128 (local.get $p) (call $helper (local.get $v) (local.get $c) (v128.load offset=96 (local.get $p))))
  (drop (call $helper (v128.const i32x4 1 2 3 4) (local.get $c) (local.get $w)))
  (i32x4.extract_lane 2 (f32x4.lt (local.get $v) (local.get $s))))
)`;

test('lower-simd: tee, block result, select, f32x4 lanes, dot, load64_zero, v128 parameters and results give the SIMD results', () => {
  const m = binaryen.parseText(LOWERING_CASES);
  m.setFeatures(binaryen.Features.All);
  assert.ok(m.validate());
  const simdPath = join(work, 'cases.wasm'), scalarPath = join(work, 'cases.scalar.wasm');
  writeFileSync(simdPath, m.emitBinary());
  m.dispose();
  const r = spawnSync(process.execPath, [join(ROOT, 'native', 'lower-simd.mjs'), simdPath, scalarPath], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  type Cases = { memory: WebAssembly.Memory; f: (p: number, x: number, c: number) => number };
  const load = (path: string): Cases => new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {}).exports as unknown as Cases;
  const simd = load(simdPath), scalar = load(scalarPath);
  const input = new Float32Array([1.5, -0, NaN, Infinity]);
  const dotRhs = Int16Array.of(-32768, 32767, -1, 2, 300, -300, 7, -32768);
  // f32 lanes compared as numbers (a NaN's sign and payload are not specified); the rest bit for bit.
  const f32Lanes = (mem: WebAssembly.Memory): number[] => [...new Float32Array(mem.buffer, 0, 20)];
  let runs = 0;
  for (const x of [2, -0, 0, NaN, -Infinity, 1e-40]) {
    for (const c of [0, 1]) {
      for (const inst of [simd, scalar]) {
        const bytes = new Uint8Array(inst.memory.buffer);
        bytes.fill(0, 0, 144);
        new Float32Array(inst.memory.buffer, 0, 4).set(input);
        new Int16Array(inst.memory.buffer, 96, 8).set(dotRhs);
      }
      const rs = simd.f(0, x, c), rl = scalar.f(0, x, c);
      assert.equal(rl, rs, `x=${x} c=${c}: result`);
      const a = f32Lanes(simd.memory), b = f32Lanes(scalar.memory);
      for (let k = 0; k < 20; k++) assert.ok(Object.is(a[k], b[k]) || (Number.isNaN(a[k]) && Number.isNaN(b[k])), `x=${x} c=${c}: f32 lane ${k}: ${a[k]} vs ${b[k]}`);
      assert.deepEqual(new Uint8Array(scalar.memory.buffer, 80, 64), new Uint8Array(simd.memory.buffer, 80, 64), `x=${x} c=${c}: integer lanes`);
      runs++;
    }
  }
  assert.equal(runs, 12);
  // The SIMD module really is SIMD and the lowered one is not.
  const simdOps = /\b(v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\./;
  assert.ok(simdOps.test(spawnSync('wasm-objdump', ['-d', simdPath], { encoding: 'utf8' }).stdout));
  assert.ok(!simdOps.test(spawnSync('wasm-objdump', ['-d', scalarPath], { encoding: 'utf8' }).stdout));
});

// ---- 2. native harness vs Node ----------------------------------------------

interface NativeResult {
  sha256: string; sha512: string; markedSha256: string; tiles: number; tileSize: number;
  watermark: { payloadHex: string; contentTagHex: string; mse: number; psnrDb: number | null; maxAbsChange: number; markedFraction: number; fragile: boolean; carriers?: number; changed?: number };
  memory: { peakBytes: number };
  params: Record<string, number>;
}

function runNative(img: GrayImage, payload: Uint8Array, opts: { tile?: number; piece?: number; psnr?: number; fragile?: boolean; budget?: number; key?: string } = {}):
  { status: number | null; stderr: string; result?: NativeResult; tiles?: Buffer; marked?: Buffer } {
  const dir = mkdtempSync(join(work, 'run-'));
  const frame = join(dir, 'frame.raw');
  writeFileSync(frame, bytesOf(img.pixels));
  const args = [frame, String(img.rows), String(img.cols), String(img.bitsStored), opts.key ?? keyPath, hex(payload), dir];
  if (opts.tile) args.push('--tile', String(opts.tile));
  if (opts.piece) args.push('--piece', String(opts.piece));
  if (opts.psnr) args.push('--psnr', String(opts.psnr));
  if (opts.fragile === false) args.push('--no-fragile');
  if (opts.budget) args.push('--budget', String(opts.budget));
  const r = spawnSync(harness, args, { encoding: 'utf8' });
  if (r.status !== 0) return { status: r.status, stderr: r.stderr };
  return {
    status: 0,
    stderr: r.stderr,
    result: JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as NativeResult,
    tiles: readFileSync(join(dir, 'tiles.bin')),
    marked: readFileSync(join(dir, 'marked.raw')),
  };
}

function assertSameAsNode(img: GrayImage, payload: Uint8Array, opts: { tile: number; piece: number; psnr?: number; fragile?: boolean; budget?: number }): NativeResult {
  const n = runNative(img, payload, opts);
  assert.equal(n.status, 0, n.stderr);
  const r = n.result!;
  const raw = bytesOf(img.pixels);
  // hashing: native digests against the Node core and node:crypto
  assert.equal(r.sha256, hex(sha256(raw)));
  assert.equal(r.sha256, createHash('sha256').update(raw).digest('hex'));
  assert.equal(r.sha512, hex(sha512(raw)));
  // tile table
  const tiles = tileHashes(raw, img.rows, img.cols, opts.tile);
  assert.equal(r.tiles, tiles.length / 32);
  assert.ok(Buffer.compare(n.tiles!, Buffer.from(tiles)) === 0, 'tile table differs');
  // watermark: the marked frame, bit for bit, and the embed's figures
  // The harness makes the core's own allocation (informed reallocation lives in the host: host/watermark/informed.ts).
  const e = embedWatermark(img, KEY, payload, { psnrDb: opts.psnr, fragile: opts.fragile, reallocate: false });
  const marked = bytesOf(e.image.pixels);
  assert.ok(Buffer.compare(raw, marked) !== 0, 'the embed changed nothing: nothing was compared');
  if (Buffer.compare(n.marked!, marked) !== 0) {
    let diff = 0;
    for (let i = 0; i < e.image.pixels.length; i++) if (n.marked!.readUInt16LE(2 * i) !== e.image.pixels[i]) diff++;
    assert.fail(`native marked frame differs from Node's in ${diff} of ${e.image.pixels.length} pixels`);
  }
  assert.equal(r.markedSha256, hex(sha256(marked)));
  assert.equal(r.watermark.payloadHex, e.payloadHex);
  assert.equal(r.watermark.contentTagHex, e.contentTagHex);
  assert.equal(r.watermark.mse, e.mse);
  assert.ok(r.watermark.psnrDb !== null && Math.abs(r.watermark.psnrDb - e.psnrDb) < 1e-9);
  assert.equal(r.watermark.maxAbsChange, e.maxAbsChange);
  assert.equal(r.watermark.markedFraction, e.markedFraction);
  assert.equal(r.watermark.fragile, e.fragile !== null);
  if (e.fragile) {
    assert.equal(r.watermark.carriers, e.fragile.carriers);
    assert.equal(r.watermark.changed, e.fragile.changed);
  }
  return r;
}

test('native harness constants match the host watermark parameters', () => {
  const n = runNative(makePhantom({ rows: 64, cols: 64, bitsStored: 12, seed: 1 }), Uint8Array.of(1));
  assert.equal(n.status, 0, n.stderr);
  assert.deepEqual(n.result!.params, {
    CHIP, TILE, CODED_BITS, REPS, PILOTS, MASK_LO, MASK_HI, DEFAULT_PSNR_DB, FRAG_CTX_BYTES, FRAG_SCRATCH_BYTES,
  });
});

test('native harness = Node on phantoms: SHA-256, SHA-512, tile table, marked frame', () => {
  // Odd sizes (not multiples of 8, 64 or the tile), odd hash pieces, several depths.
  assertSameAsNode(makePhantom({ rows: 517, cols: 389, bitsStored: 12, seed: 21 }), Uint8Array.from([0xd1, 0xe2, 0, 0, 0, 0, 0, 42]), { tile: 128, piece: 1000 });
  assertSameAsNode(makePhantom({ rows: 768, cols: 1024, bitsStored: 14, seed: 22 }), Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), { tile: 256, piece: 4096 });
  assertSameAsNode(makePhantom({ rows: 300, cols: 301, bitsStored: 16, seed: 23 }), Uint8Array.from([9, 9]), { tile: 100, piece: 65536, psnr: 62, fragile: false });
  assertSameAsNode(makePhantom({ rows: 200, cols: 240, bitsStored: 10, seed: 24 }), Uint8Array.from([7]), { tile: 64, piece: 64 });
});

test('native harness = Node on real radiographs', (t) => {
  if (!existsSync(DATA)) {
    t.skip(`${DATA} absent`);
    return;
  }
  const rg3 = readGrayImage(join(DATA, 'RG3_J2KR_stored_values_16bit.png'), 10);
  assertSameAsNode(rg3, Uint8Array.from([0x52, 0x47, 0x33, 0, 0, 0, 0, 1]), { tile: 256, piece: 4096 });
  const rg1 = readGrayImage(join(DATA, 'RG1_J2KI_stored_values_16bit.png'), 15);
  assertSameAsNode(rg1, Uint8Array.from([0x52, 0x47, 0x31, 0, 0, 0, 0, 2]), { tile: 256, piece: 1 << 20 });
});

test('embedded-native board: its harness and settings run a frame of its geometry within its memory budget', () => {
  const board = loadBoard('embedded-native');
  assert.equal(board.runtime.core, 'wasm2c-native');
  const rt = board.runtime as { harness?: string; build?: string; pieceBytes?: number };
  assert.equal(rt.build, 'native/build.sh');
  assert.equal(rt.harness, 'build/native/radseal-native');
  assert.ok(existsSync(join(ROOT, rt.build)));
  const { rows, cols, bitsStored } = board.detector;
  const img = makePhantom({ rows, cols, bitsStored, seed: 31 });
  const r = assertSameAsNode(img, Uint8Array.from([0x45, 0x4d, 0x42, 0, 0, 0, 0, 1]), { tile: 256, piece: rt.pieceBytes!, budget: board.memory.budgetBytes });
  assert.ok(r.memory.peakBytes <= board.memory.budgetBytes, `peak ${r.memory.peakBytes} > budget ${board.memory.budgetBytes}`);
  assert.ok(r.memory.peakBytes >= rows * cols * 2);
});

// ---- 3. refusals --------------------------------------------------------------

test('native harness refuses a memory budget too small, a world-readable key, values above Bits Stored', () => {
  const img = makePhantom({ rows: 256, cols: 256, bitsStored: 12, seed: 2 });
  const small = runNative(img, Uint8Array.of(1), { budget: 256 * 256 * 2 });
  assert.equal(small.status, 3);
  assert.match(small.stderr, /budget/);
  const fits = runNative(img, Uint8Array.of(1), { budget: 4 << 20 });
  assert.equal(fits.status, 0, fits.stderr);
  assert.ok(fits.result!.memory.peakBytes <= 4 << 20);
  const loose = join(work, 'loose.key');
  writeFileSync(loose, KEY);
  chmodSync(loose, 0o644);
  const r = runNative(img, Uint8Array.of(1), { key: loose });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /readable/);
  const hot = { ...img, pixels: img.pixels.slice() };
  hot.pixels[5] = 4096;
  const h = runNative(hot, Uint8Array.of(1));
  assert.notEqual(h.status, 0);
  assert.match(h.stderr, /above/);
});

// ---- 4. wasm-interp: a third runtime -----------------------------------------

test('wasm-interp (wabt interpreter) runs the unmodified SIMD core: SHA-256 of a small input', () => {
  // The core plus one export, selftest(), that writes the message into memory,
  // runs sha256Init/Update/Final and returns the digest as 8 i32 (multi-value).
  const msg = Uint8Array.from({ length: 200 }, (_, i) => (i * 31 + 7) & 255);
  const mod = binaryen.readBinary(readFileSync(coreWasmPath()));
  mod.setFeatures(binaryen.Features.All);
  const fn: Record<string, string> = {};
  for (let i = 0, n = mod.getNumExports(); i < n; i++) {
    const e = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (e.kind === binaryen.ExternalFunction) fn[e.name] = e.value;
  }
  for (const name of Object.keys(fn)) mod.removeExport(name);
  const base = 65536; // second page: above the core's data (heapBase < 64 KiB), below the initial 2 pages
  const ctx = base + 1024, outp = base + 2048;
  const body: number[] = [];
  for (let i = 0; i < msg.length; i++) body.push(mod.i32.store8(0, 1, mod.i32.const(base + i), mod.i32.const(msg[i]!)));
  body.push(mod.call(fn.sha256Init!, [mod.i32.const(ctx)], binaryen.none));
  body.push(mod.call(fn.sha256Update!, [mod.i32.const(ctx), mod.i32.const(base), mod.i32.const(msg.length)], binaryen.none));
  body.push(mod.call(fn.sha256Final!, [mod.i32.const(ctx), mod.i32.const(outp)], binaryen.none));
  const words = Array.from({ length: 8 }, (_, k) => mod.i32.load(4 * k, 4, mod.i32.const(outp)));
  body.push(mod.return(mod.tuple.make(words)));
  const results = binaryen.createType(Array(8).fill(binaryen.i32));
  mod.addFunction('selftest', binaryen.none, results, [], mod.block(null, body, results));
  mod.addFunctionExport('selftest', 'selftest');
  assert.ok(mod.validate());
  const path = join(work, 'selftest.wasm');
  writeFileSync(path, mod.emitBinary());
  mod.dispose();
  assert.ok((fn.heapBase && new Core().exports.heapBase() < base) === true);
  const r = spawnSync('wasm-interp', [path, '--run-all-exports'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const m = /selftest\(\) => (.*)/.exec(r.stdout);
  assert.ok(m, `unexpected wasm-interp output: ${r.stdout}`);
  const vals = [...m[1]!.matchAll(/i32:(\d+)/g)].map((x) => Number(x[1]));
  assert.equal(vals.length, 8);
  const digest = Buffer.alloc(32);
  vals.forEach((v, k) => digest.writeUInt32LE(v >>> 0, 4 * k));
  assert.equal(digest.toString('hex'), createHash('sha256').update(msg).digest('hex'));
  assert.equal(digest.toString('hex'), hex(sha256(msg)));
});
