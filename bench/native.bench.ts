// Native runtime vs Node: the same core (build/core.wasm) run as WebAssembly
// in Node, and as C (native/build.sh: SIMD lowered to scalar wasm, wasm2c,
// gcc -O2) by build/native/radseal-native, on one 3072 x 3072 14-bit frame.
// Medians of REPS runs; the native figures are the harness's own timings of
// each phase with the instance kept warm (--repeat).
//   node --import tsx bench/native.bench.ts
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Core, coreWasmPath, projectRoot } from '../host/core/wasm.js';
import { CoreSha256, CoreSha512 } from '../host/core/hash.js';
import { tileHashes } from '../host/core/tiles.js';
import { makePhantom } from '../host/image/phantom.js';
import { embedWatermark } from '../host/watermark/index.js';
import { machineLine, medianMs } from './support.js';

const ROWS = 3072, COLS = 3072, BITS = 14, TILE = 256, PIECE = 16 * 1024, REPS = 5;
const root = projectRoot();
const harness = join(root, 'build', 'native', 'radseal-native');

if (!existsSync(harness) || statSync(harness).mtimeMs < statSync(coreWasmPath()).mtimeMs) {
  const b = spawnSync('bash', [join(root, 'native', 'build.sh')], { stdio: 'inherit' });
  if (b.status !== 0) throw new Error('native/build.sh failed');
}

const img = makePhantom({ rows: ROWS, cols: COLS, bitsStored: BITS, seed: 7 });
const bytes = Buffer.from(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength);
const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 3) & 255);
const payload = Uint8Array.from([0x42, 0x45, 0x4e, 0x43, 0, 0, 0, 1]);
const MB = bytes.length / 1e6, MPX = (ROWS * COLS) / 1e6;

// Native
const dir = mkdtempSync(join(tmpdir(), 'radseal-native-bench-'));
writeFileSync(join(dir, 'frame.raw'), bytes);
writeFileSync(join(dir, 'wm.key'), key, { mode: 0o600 });
const r = spawnSync(harness, [join(dir, 'frame.raw'), String(ROWS), String(COLS), String(BITS), join(dir, 'wm.key'), Buffer.from(payload).toString('hex'), dir,
  '--tile', String(TILE), '--piece', String(PIECE), '--repeat', String(REPS)], { encoding: 'utf8' });
if (r.status !== 0) throw new Error(`radseal-native failed: ${r.stderr}`);
const nat = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { sha256: string; markedSha256: string; memory: { peakBytes: number }; seconds: Record<string, number> };
const nativeMarked = readFileSync(join(dir, 'marked.raw'));
rmSync(dir, { recursive: true, force: true });

// Node: the frame in core memory, hashed in place as the link layer does.
const core = new Core();
const frame = core.alloc(bytes.length);
core.bytes(frame, bytes.length).set(bytes);
const h256 = new CoreSha256(core), h512 = new CoreSha512(core);
let d256 = '';
const node = {
  sha256: await medianMs(() => { d256 = Buffer.from(h256.reset().updateAt(frame, bytes.length).digest()).toString('hex'); }, REPS),
  sha512: await medianMs(() => h512.reset().updateAt(frame, bytes.length).digest(), REPS),
  tiles: await medianMs(() => tileHashes(bytes, ROWS, COLS, TILE, core), REPS),
  embed: 0,
  nodeCrypto: await medianMs(() => createHash('sha256').update(bytes).digest(), REPS),
};
const out = new Uint16Array(ROWS * COLS);
node.embed = await medianMs(() => embedWatermark(img, key, payload, { out }), REPS);
const same = d256 === nat.sha256 && Buffer.compare(Buffer.from(out.buffer), nativeMarked) === 0;

const rows: Array<[string, number, number, string]> = [
  ['SHA-256 (frame in core memory)', nat.seconds.sha256! * 1e3, node.sha256, `${(MB / nat.seconds.sha256!).toFixed(0)} / ${(MB / (node.sha256 / 1e3)).toFixed(0)} MB/s`],
  ['SHA-512', nat.seconds.sha512! * 1e3, node.sha512, `${(MB / nat.seconds.sha512!).toFixed(0)} / ${(MB / (node.sha512 / 1e3)).toFixed(0)} MB/s`],
  [`tile table (${TILE}² tiles)`, nat.seconds.tiles! * 1e3, node.tiles, `${(MB / nat.seconds.tiles!).toFixed(0)} / ${(MB / (node.tiles / 1e3)).toFixed(0)} MB/s`],
  ['watermark embed (robust + fragile)', nat.seconds.embed! * 1e3, node.embed, `${(MPX / nat.seconds.embed!).toFixed(0)} / ${(MPX / (node.embed / 1e3)).toFixed(0)} Mpixel/s`],
];
console.log(`# Native runtime vs Node — ${ROWS}×${COLS} ${BITS}-bit frame (${MB.toFixed(1)} MB), median of ${REPS}`);
console.log(machineLine());
console.log('');
console.log('| work | native (wasm2c + gcc -O2) ms | Node (WebAssembly, SIMD) ms | native / Node speed | native / Node throughput |');
console.log('|---|---|---|---|---|');
for (const [name, n, j, tp] of rows) console.log(`| ${name} | ${n.toFixed(1)} | ${j.toFixed(1)} | ${(j / n).toFixed(2)}× | ${tp} |`);
console.log(`| peer: node:crypto SHA-256 | — | ${node.nodeCrypto.toFixed(1)} | — | ${(MB / (node.nodeCrypto / 1e3)).toFixed(0)} MB/s |`);
console.log('');
console.log(`native peak core memory: ${(nat.memory.peakBytes / 2 ** 20).toFixed(1)} MiB; digests and marked frame identical to Node: ${same ? 'yes' : 'NO'}`);
if (!same) process.exitCode = 1;
