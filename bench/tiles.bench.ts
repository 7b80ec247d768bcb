// The tile table of one 3072x3072 16-bit frame (18.9 MB) already in core memory, the way the seal
// and the capture make it, beside the other ways it could be made, all interleaved in one run:
//   node:crypto, tiles gathered in the core   what tileHashesAt does (OpenSSL, SHA-NI where present)
//   core four-lane SHA-256                   coreTileHashesAt (what an embedded runtime does)
//   node:crypto, one update per tile row     no gather: OpenSSL fed straight from the frame
//   hash-wasm, tiles gathered in the core    another WebAssembly SHA-256 over the same gathered tiles
//   baseline core                            RADSEAL_BENCH_BASELINE=/path/to/older/core.wasm: its
//                                            tileSha256 over the whole frame (before/after, same run)
// and node:crypto's SHA-256 of the whole frame, the floor. Medians of wall time; every way must
// give the same table before any number is printed.
//
//   npm run bench:tiles     (RADSEAL_BENCH_REPS=15, RADSEAL_BENCH_TILE=64)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createSHA256 } from 'hash-wasm';
import { Core } from '../host/core/wasm.js';
import { coreTileHashesAt, tileGrid, tileHashesAt } from '../host/core/tiles.js';
import { makePhantom } from '../host/image/phantom.js';
import { machineLine, median } from './support.js';

const ROWS = 3072, COLS = 3072, BYTES = ROWS * COLS * 2;
const SIZE = Number(process.env.RADSEAL_BENCH_TILE ?? 64);
const REPS = Math.max(5, Number(process.env.RADSEAL_BENCH_REPS ?? 15));

const img = makePhantom({ rows: ROWS, cols: COLS, bitsStored: 14, seed: 7 });
const core = new Core();
const ptr = core.alloc(BYTES);
const grid = tileGrid(ROWS, COLS, SIZE);
const TABLE = grid.rows * grid.cols * 32;
// The frame in core memory, as the capture's frame slot and `radseal seal`'s raw frame hold it.
new Uint8Array(core.memory.buffer, ptr, BYTES).set(new Uint8Array(img.pixels.buffer, img.pixels.byteOffset, BYTES));

const hw = await createSHA256();
const gather = core.alloc(BYTES); // whole frame gathered once per run: hash-wasm's cost is the hashing
const gx = core.exports as unknown as { tileGather(p: number, r: number, c: number, s: number, t: number, d: number): number };

/** Per-tile hashes of tiles gathered (in the core) into `gather`, by `hashOne`. */
function gatheredBy(hashOne: (tile: Uint8Array) => Uint8Array): Uint8Array {
  const out = new Uint8Array(TABLE);
  const mem = core.memory.buffer;
  let o = 0;
  for (let y0 = 0; y0 < ROWS; y0 += SIZE) {
    const bandRows = Math.min(SIZE, ROWS - y0);
    const bandAt = gather + y0 * COLS * 2;
    gx.tileGather(ptr + y0 * COLS * 2, bandRows, COLS, COLS, SIZE, bandAt);
    for (let x0 = 0, s = bandAt; x0 < COLS; x0 += SIZE, o += 32) {
      const n = bandRows * Math.min(SIZE, COLS - x0) * 2;
      out.set(hashOne(new Uint8Array(mem, s, n)), o);
      s += n;
    }
  }
  return out;
}

function rowUpdates(): Uint8Array {
  const out = new Uint8Array(TABLE);
  const mem = core.memory.buffer;
  let o = 0;
  for (let y0 = 0; y0 < ROWS; y0 += SIZE) {
    for (let x0 = 0; x0 < COLS; x0 += SIZE, o += 32) {
      const h = createHash('sha256');
      const w = Math.min(SIZE, COLS - x0) * 2;
      for (let y = y0; y < Math.min(ROWS, y0 + SIZE); y++) h.update(new Uint8Array(mem, ptr + (y * COLS + x0) * 2, w));
      out.set(h.digest(), o);
    }
  }
  return out;
}

function baseline(path: string): () => Uint8Array {
  type Raw = { memory: WebAssembly.Memory; heapBase(): number; tileSha256(...a: number[]): number };
  const x = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {}).exports as unknown as Raw;
  const ctx = (x.heapBase() + 15) & ~15, table = ctx + 4096, frame = table + TABLE + 16 - (TABLE % 16);
  const need = frame + BYTES - x.memory.buffer.byteLength;
  if (need > 0) x.memory.grow(Math.ceil(need / 65536));
  new Uint8Array(x.memory.buffer, frame, BYTES).set(new Uint8Array(core.memory.buffer, ptr, BYTES));
  return () => new Uint8Array(x.memory.buffer, table, x.tileSha256(frame, ROWS, COLS, SIZE, ctx, table) * 32).slice();
}

const ways: Array<{ name: string; run: () => Uint8Array; table?: false }> = [
  { name: 'node:crypto, tiles gathered in the core (tileHashesAt)', run: () => tileHashesAt(core, ptr, ROWS, COLS, SIZE) },
  { name: 'core four-lane SHA-256 (coreTileHashesAt)', run: () => coreTileHashesAt(core, ptr, ROWS, COLS, SIZE) },
  { name: 'node:crypto, one update per tile row', run: rowUpdates },
  { name: 'hash-wasm, tiles gathered in the core', run: () => gatheredBy((t) => hw.init().update(t).digest('binary')) },
  { name: 'node:crypto SHA-256 of the whole frame (floor)', run: () => createHash('sha256').update(new Uint8Array(core.memory.buffer, ptr, BYTES)).digest(), table: false },
];
if (process.env.RADSEAL_BENCH_BASELINE) ways.push({ name: 'baseline core tileSha256', run: baseline(process.env.RADSEAL_BENCH_BASELINE) });

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const tables = new Set(ways.filter((w) => w.table !== false).map((w) => hex(w.run())));
if (tables.size !== 1) throw new Error(`bench: the ways of making the tile table disagree (${tables.size} different tables)`);

for (let r = 0; r < 3; r++) for (const w of ways) w.run();
const times = ways.map((): number[] => []);
const load0 = loadavg()[0]!;
for (let r = 0; r < REPS; r++) {
  for (let k = 0; k < ways.length; k++) {
    const i = (k + r) % ways.length; // rotate who goes first
    const t0 = process.hrtime.bigint();
    ways[i]!.run();
    times[i]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
const load1 = loadavg()[0]!;

console.log(`radseal tile table benchmark · ${machineLine()}`);
console.log(`one ${ROWS}x${COLS} frame in core memory, ${SIZE}-px tiles (${grid.rows * grid.cols} tiles); ${REPS} interleaved repetitions, median (min-max) ms; load average ${load0.toFixed(1)} -> ${load1.toFixed(1)}`);
const ref = median(times[0]!);
ways.forEach((w, i) => {
  const m = median(times[i]!);
  console.log(`  ${w.name.padEnd(58)} ${m.toFixed(1).padStart(6)} ms  (${Math.min(...times[i]!).toFixed(1)}-${Math.max(...times[i]!).toFixed(1)})  ${(m / ref).toFixed(2)}x the host's`);
});
