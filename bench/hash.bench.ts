// Throughput of the core's SHA-256 / SHA-512 on one 3072x3072 16-bit frame
// (18.9 MB), beside node:crypto and hash-wasm, all measured in the same run.
// Implementations are interleaved within each repetition so that load from
// other processes hits them alike; the repetitions run in several rounds
// ("runs"), and the figures are medians: MB/s by wall clock and by the CPU time
// the process got (on a shared machine the second is steadier), and ratios to
// hash-wasm per run and over all repetitions.
//
//   npm run bench                    (node --import tsx bench/hash.bench.ts)
//   RADSEAL_BENCH_REPS=11 RADSEAL_BENCH_RUNS=3 node --import tsx bench/hash.bench.ts
//   RADSEAL_BENCH_BASELINE=/path/to/older/core.wasm ...   (adds that core's rows: before/after, same run)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createSHA256, createSHA512 } from 'hash-wasm';
import { Core } from '../host/core/wasm.js';
import { CoreSha256, CoreSha512, type CoreHash } from '../host/core/hash.js';
import { coreTileHashesAt, tileDigest, tileHashesAt } from '../host/core/tiles.js';

const ROWS = 3072;
const COLS = 3072;
const BYTES = ROWS * COLS * 2;
const WARMUP = 3;
const REPS = Math.max(5, Number(process.env.RADSEAL_BENCH_REPS ?? 11));
const RUNS = Math.max(1, Number(process.env.RADSEAL_BENCH_RUNS ?? 3));

/** A 14-bit radiograph-like phantom: smooth anatomy, a few edges, Poisson-ish detector noise. */
function phantomFrame(): Uint8Array {
  const px = new Uint16Array(ROWS * COLS);
  let s = 0x9e3779b9;
  const rand = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
  for (let y = 0; y < ROWS; y++) {
    for (let x = 0; x < COLS; x++) {
      const dx = (x - COLS / 2) / COLS, dy = (y - ROWS / 2) / ROWS;
      const body = Math.exp(-(dx * dx * 6 + dy * dy * 3)); // soft tissue envelope
      const bone = Math.abs(dx - 0.15) < 0.04 || Math.abs(dx + 0.15) < 0.04 ? 0.35 : 0; // two "femurs"
      const mean = 800 + 12000 * body * (1 - bone);
      const noise = (rand() + rand() + rand() - 1.5) * 2 * Math.sqrt(mean); // ~N(0, mean)
      px[y * COLS + x] = Math.max(0, Math.min(16383, Math.round(mean + noise)));
    }
  }
  return new Uint8Array(px.buffer);
}

interface Impl {
  name: string;
  algo: 'SHA-256' | 'SHA-512';
  run(): Uint8Array;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch { /* not Linux */ }
  return cpus()[0]?.model ?? 'unknown';
}

/**
 * Another build of the core (RADSEAL_BENCH_BASELINE, e.g. one built from an older commit), driven
 * through its raw exports the way host/core drives build/core.wasm: serial hashes in 16 KiB pieces
 * over the frame in its memory, and the tile table in place. For before/after in the same run.
 */
function baselineImpls(path: string, frame: Uint8Array): Impl[] {
  type Raw = Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };
  const x = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {}).exports as unknown as Raw;
  const base = (x.heapBase!() + 15) & ~15;
  const ctx = base, out = base + 1024, tileCtx = base + 2048, table = base + 4096;
  const tableBytes = Math.ceil(ROWS / 64) * Math.ceil(COLS / 64) * 32;
  const framePtr = table + tableBytes + 64 - ((table + tableBytes) % 16);
  const need = framePtr + BYTES - x.memory.buffer.byteLength;
  if (need > 0) x.memory.grow(Math.ceil(need / 65536));
  new Uint8Array(x.memory.buffer, framePtr, BYTES).set(frame);
  const serial = (algo: 'sha256' | 'sha512', n: number) => (): Uint8Array => {
    x[`${algo}Init`]!(ctx);
    for (let off = 0; off < BYTES; off += 16384) x[`${algo}Update`]!(ctx, framePtr + off, Math.min(16384, BYTES - off));
    x[`${algo}Final`]!(ctx, out);
    return new Uint8Array(x.memory.buffer, out, n).slice();
  };
  const frameDigest = (): Uint8Array => {
    const n = x.tileSha256!(framePtr, ROWS, COLS, 64, tileCtx, table);
    return tileDigest(new Uint8Array(x.memory.buffer, table, n * 32), ROWS, COLS, 64);
  };
  return [
    { name: 'baseline, frame digest (format 3)', algo: 'SHA-256', run: frameDigest },
    { name: 'baseline core, in wasm memory', algo: 'SHA-256', run: serial('sha256', 32) },
    { name: 'baseline core, in wasm memory', algo: 'SHA-512', run: serial('sha512', 64) },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function main(): Promise<void> {
  const frame = phantomFrame();
  const core = new Core();
  const framePtr = core.alloc(BYTES);
  core.bytes(framePtr, BYTES).set(frame);
  const c256 = new CoreSha256(core);
  const c512 = new CoreSha512(core);
  const hw256 = await createSHA256();
  const hw512 = await createSHA512();
  const inPlace = (h: CoreHash) => () => h.reset().updateAt(framePtr, BYTES).digest();
  const copying = (h: CoreHash) => () => h.reset().update(frame).digest();

  // What the seal hashes a frame with (attestation format 3): the 64-px tile table (tiles gathered
  // in the core, each hashed by node:crypto), then the tile digest over the table. Not SHA-256 of the
  // frame, so it is not in the digest agreement check; it is checked against node:crypto in
  // test/host/core/tiles.test.ts. bench/tiles.bench.ts compares the ways of making the table.
  const frameDigest = (): Uint8Array => tileDigest(tileHashesAt(core, framePtr, ROWS, COLS, 64), ROWS, COLS, 64);
  // The same digest made by the core alone, four tiles at a time (assembly/sha256x4.ts): what a
  // runtime without OpenSSL (the native build, an embedded capture device) seals a frame with.
  const coreFrameDigest = (): Uint8Array => tileDigest(coreTileHashesAt(core, framePtr, ROWS, COLS, 64), ROWS, COLS, 64);
  const impls: Impl[] = [
    { name: 'host, frame digest (format 3)', algo: 'SHA-256', run: frameDigest },
    { name: 'core, frame digest (format 3)', algo: 'SHA-256', run: coreFrameDigest },
    { name: 'core, in wasm memory', algo: 'SHA-256', run: inPlace(c256) },
    { name: 'core, update() copy', algo: 'SHA-256', run: copying(c256) },
    { name: 'hash-wasm', algo: 'SHA-256', run: () => hw256.init().update(frame).digest('binary') },
    { name: 'node:crypto', algo: 'SHA-256', run: () => createHash('sha256').update(frame).digest() },
    { name: 'core, in wasm memory', algo: 'SHA-512', run: inPlace(c512) },
    { name: 'core, update() copy', algo: 'SHA-512', run: copying(c512) },
    { name: 'hash-wasm', algo: 'SHA-512', run: () => hw512.init().update(frame).digest('binary') },
    { name: 'node:crypto', algo: 'SHA-512', run: () => createHash('sha512').update(frame).digest() },
  ];

  const baseline = process.env.RADSEAL_BENCH_BASELINE;
  if (baseline) impls.push(...baselineImpls(baseline, frame));

  // First calls on a freshly compiled core (V8 starts in its baseline tier):
  // what a one-frame CLI run sees. One sample each, so only indicative.
  const cold = (h: CoreHash): number => {
    const t0 = process.hrtime.bigint();
    h.reset().updateAt(framePtr, BYTES).digest();
    return BYTES / 1e3 / (Number(process.hrtime.bigint() - t0) / 1e6);
  };
  const cold256 = cold(c256);
  const cold512 = cold(c512);

  // Every implementation must agree before any number is worth printing.
  for (const algo of ['SHA-256', 'SHA-512']) {
    const digests = new Set(impls.filter((i) => i.algo === algo && !i.name.includes('format 3')).map((i) => hex(i.run())));
    if (digests.size !== 1) throw new Error(`bench: ${algo} implementations disagree: ${[...digests].join(' ')}`);
    const frameDigests = new Set(impls.filter((i) => i.algo === algo && i.name.includes('format 3')).map((i) => hex(i.run())));
    if (frameDigests.size > 1) throw new Error(`bench: frame digests disagree: ${[...frameDigests].join(' ')}`);
  }

  // Warm-up also lets V8 tier the core's compress loops up from Liftoff to TurboFan.
  for (let r = 0; r < WARMUP; r++) for (const impl of impls) impl.run();

  // times[i][r]: wall seconds of implementation i in repetition r; cpu[i][r]: CPU seconds (user +
  // system) the process used meanwhile; repetition r belongs to run floor(r / REPS).
  const times = impls.map((): number[] => []);
  const cpu = impls.map((): number[] => []);
  const load0 = loadavg()[0]!;
  for (let r = 0; r < REPS * RUNS; r++) {
    // Rotate the starting implementation each repetition.
    for (let k = 0; k < impls.length; k++) {
      const i = (k + r) % impls.length;
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      impls[i]!.run();
      times[i]!.push(Number(process.hrtime.bigint() - t0) / 1e9);
      const c = process.cpuUsage(c0);
      cpu[i]!.push((c.user + c.system) / 1e6);
    }
  }
  const load1 = loadavg()[0]!;

  const mbps = (i: number): number => BYTES / 1e6 / median(times[i]!);
  const best = (i: number): number => BYTES / 1e6 / Math.min(...times[i]!);
  const cpuMbps = (i: number): number => BYTES / 1e6 / median(cpu[i]!);
  /** Median over runs of (median time of j in the run / median time of i in the run): i's speed over j's. */
  const perRun = (i: number, j: number, t: number[][]): number[] => {
    const out: number[] = [];
    for (let run = 0; run < RUNS; run++) out.push(median(t[j]!.slice(run * REPS, (run + 1) * REPS)) / median(t[i]!.slice(run * REPS, (run + 1) * REPS)));
    return out;
  };
  const ratioLine = (label: string, i: number, j: number): string => {
    const w = perRun(i, j, times), c = perRun(i, j, cpu);
    return `${label}: wall ${median(w).toFixed(2)} (runs ${w.map((x) => x.toFixed(2)).join(' ')}), CPU time ${median(c).toFixed(2)} (runs ${c.map((x) => x.toFixed(2)).join(' ')})`;
  };
  const spread = (i: number): string => {
    const s = times[i]!.map((t) => BYTES / 1e6 / t);
    return `${Math.min(...s).toFixed(0)}-${Math.max(...s).toFixed(0)}`;
  };
  console.log(`radseal hash benchmark, ${new Date().toISOString()}`);
  console.log(`machine: ${cpuModel()}, ${cpus().length} logical CPUs; node ${process.version}; V8 ${process.versions.v8}`);
  console.log(`input: one ${ROWS}x${COLS} 16-bit frame = ${(BYTES / 1e6).toFixed(1)} MB; ${WARMUP} warm-up + ${RUNS} runs of ${REPS} interleaved repetitions, median MB/s (min-max); load average ${load0.toFixed(1)} -> ${load1.toFixed(1)}`);
  console.log('');
  for (const algo of ['SHA-256', 'SHA-512'] as const) {
    const idx = (name: string): number => impls.findIndex((i) => i.algo === algo && i.name === name);
    for (let i = 0; i < impls.length; i++) {
      if (impls[i]!.algo !== algo) continue;
      console.log(`${algo}  ${impls[i]!.name.padEnd(34)} ${mbps(i).toFixed(0).padStart(6)} MB/s   (${spread(i)})   by CPU time ${cpuMbps(i).toFixed(0).padStart(5)} MB/s`);
    }
    console.log(`${algo}  ${'core, first call cold'.padEnd(34)} ${(algo === 'SHA-256' ? cold256 : cold512).toFixed(0).padStart(6)} MB/s   (one sample, before warm-up)`);
    const core0 = mbps(idx('core, in wasm memory'));
    const core1 = mbps(idx('core, update() copy'));
    const hw = mbps(idx('hash-wasm'));
    const nc = mbps(idx('node:crypto'));
    // Paired: the ratio within each repetition (the two ran back to back, under the same load), then its median.
    const paired = (i: number, j: number): number => median(times[j]!.map((t, r) => t / times[i]![r]!));
    const hwIdx = idx('hash-wasm');
    if (algo === 'SHA-256') {
      const fd = idx('host, frame digest (format 3)');
      console.log(`${algo}  frame digest (format 3) / hash-wasm SHA-256 of the frame: medians ${(mbps(fd) / hw).toFixed(2)}, best-of ${(best(fd) / best(hwIdx)).toFixed(2)}, paired ${paired(fd, hwIdx).toFixed(2)}`);
      console.log(`${algo}  ${ratioLine('frame digest / hash-wasm, median of run medians', fd, hwIdx)}`);
      const cfd = idx('core, frame digest (format 3)');
      console.log(`${algo}  ${ratioLine("core's frame digest (four-lane) / hash-wasm SHA-256 of the frame, median of run medians", cfd, hwIdx)}; paired ${paired(cfd, hwIdx).toFixed(2)}`);
    }
    console.log(`${algo}  ${ratioLine('core in place / hash-wasm, median of run medians', idx('core, in wasm memory'), hwIdx)}`);
    console.log(`${algo}  ${ratioLine('node:crypto / hash-wasm, median of run medians', idx('node:crypto'), hwIdx)}`);
    if (baseline) {
      console.log(`${algo}  ${ratioLine('baseline core in place / hash-wasm, median of run medians', idx('baseline core, in wasm memory'), hwIdx)}`);
      console.log(`${algo}  ${ratioLine('core / baseline core (after / before), median of run medians', idx('core, in wasm memory'), idx('baseline core, in wasm memory'))}`);
      if (algo === 'SHA-256') {
        console.log(`${algo}  ${ratioLine('baseline frame digest / hash-wasm, median of run medians', idx('baseline, frame digest (format 3)'), hwIdx)}`);
        console.log(`${algo}  ${ratioLine('frame digest / baseline frame digest (after / before)', idx('host, frame digest (format 3)'), idx('baseline, frame digest (format 3)'))}`);
      }
    }
    console.log(`${algo}  paired (median of per-repetition ratios): core/hash-wasm ${paired(idx('core, in wasm memory'), idx('hash-wasm')).toFixed(2)} in place`);
    console.log(`${algo}  medians: core/hash-wasm ${(core0 / hw).toFixed(2)} in place, ${(core1 / hw).toFixed(2)} via update();` +
      ` core/node:crypto ${(core0 / nc).toFixed(2)} in place, ${(core1 / nc).toFixed(2)} via update()`);
    // Best-of ratios: the least disturbed run of each, a steadier view on a shared machine.
    const b0 = best(idx('core, in wasm memory')), b1 = best(idx('core, update() copy'));
    const bhw = best(idx('hash-wasm')), bnc = best(idx('node:crypto'));
    console.log(`${algo}  best-of: core/hash-wasm ${(b0 / bhw).toFixed(2)} in place, ${(b1 / bhw).toFixed(2)} via update();` +
      ` core/node:crypto ${(b0 / bnc).toFixed(2)} in place, ${(b1 / bnc).toFixed(2)} via update()`);
    console.log('');
  }
}

await main();
