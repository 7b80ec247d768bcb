// Throughput of the core's SHA-256 / SHA-512 on one 3072x3072 16-bit frame
// (18.9 MB), beside node:crypto and hash-wasm, all measured in the same run.
// Implementations are interleaved within each repetition so that load from
// other processes hits them alike; medians are reported.
//
//   npm run bench                    (node --import tsx bench/hash.bench.ts)
//   RADSEAL_BENCH_REPS=21 npm run bench
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createSHA256, createSHA512 } from 'hash-wasm';
import { Core } from '../host/core/wasm.js';
import { CoreSha256, CoreSha512, type CoreHash } from '../host/core/hash.js';
import { tileDigest, tileHashesAt } from '../host/core/tiles.js';

const ROWS = 3072;
const COLS = 3072;
const BYTES = ROWS * COLS * 2;
const WARMUP = 3;
const REPS = Math.max(7, Number(process.env.RADSEAL_BENCH_REPS ?? 21));

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

  // What the seal hashes a frame with (attestation format 3): the 64-px tile table, four tiles at a
  // time in the core, then the tile digest over the table. Not SHA-256 of the frame, so it is not
  // in the digest agreement check; it is checked against node:crypto in test/host/core/tiles.test.ts.
  const frameDigest = (): Uint8Array => tileDigest(tileHashesAt(core, framePtr, ROWS, COLS, 64), ROWS, COLS, 64);
  const impls: Impl[] = [
    { name: 'core, frame digest (format 3)', algo: 'SHA-256', run: frameDigest },
    { name: 'core, in wasm memory', algo: 'SHA-256', run: inPlace(c256) },
    { name: 'core, update() copy', algo: 'SHA-256', run: copying(c256) },
    { name: 'hash-wasm', algo: 'SHA-256', run: () => hw256.init().update(frame).digest('binary') },
    { name: 'node:crypto', algo: 'SHA-256', run: () => createHash('sha256').update(frame).digest() },
    { name: 'core, in wasm memory', algo: 'SHA-512', run: inPlace(c512) },
    { name: 'core, update() copy', algo: 'SHA-512', run: copying(c512) },
    { name: 'hash-wasm', algo: 'SHA-512', run: () => hw512.init().update(frame).digest('binary') },
    { name: 'node:crypto', algo: 'SHA-512', run: () => createHash('sha512').update(frame).digest() },
  ];

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
  }

  // Warm-up also lets V8 tier the core's compress loops up from Liftoff to TurboFan.
  for (let r = 0; r < WARMUP; r++) for (const impl of impls) impl.run();

  const times = impls.map((): number[] => []);
  for (let r = 0; r < REPS; r++) {
    // Rotate the starting implementation each repetition.
    for (let k = 0; k < impls.length; k++) {
      const i = (k + r) % impls.length;
      const t0 = process.hrtime.bigint();
      impls[i]!.run();
      times[i]!.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }

  const mbps = (i: number): number => BYTES / 1e6 / median(times[i]!);
  const best = (i: number): number => BYTES / 1e6 / Math.min(...times[i]!);
  const spread = (i: number): string => {
    const s = times[i]!.map((t) => BYTES / 1e6 / t);
    return `${Math.min(...s).toFixed(0)}-${Math.max(...s).toFixed(0)}`;
  };
  console.log(`radseal hash benchmark, ${new Date().toISOString()}`);
  console.log(`machine: ${cpuModel()}, ${cpus().length} logical CPUs; node ${process.version}; V8 ${process.versions.v8}`);
  console.log(`input: one ${ROWS}x${COLS} 16-bit frame = ${(BYTES / 1e6).toFixed(1)} MB; ${WARMUP} warm-up + ${REPS} interleaved repetitions, median MB/s (min-max)`);
  console.log('');
  for (const algo of ['SHA-256', 'SHA-512'] as const) {
    const idx = (name: string): number => impls.findIndex((i) => i.algo === algo && i.name === name);
    for (let i = 0; i < impls.length; i++) {
      if (impls[i]!.algo !== algo) continue;
      console.log(`${algo}  ${impls[i]!.name.padEnd(30)} ${mbps(i).toFixed(0).padStart(6)} MB/s   (${spread(i)})`);
    }
    console.log(`${algo}  ${'core, first call cold'.padEnd(30)} ${(algo === 'SHA-256' ? cold256 : cold512).toFixed(0).padStart(6)} MB/s   (one sample, before warm-up)`);
    const core0 = mbps(idx('core, in wasm memory'));
    const core1 = mbps(idx('core, update() copy'));
    const hw = mbps(idx('hash-wasm'));
    const nc = mbps(idx('node:crypto'));
    // Paired: the ratio within each repetition (the two ran back to back, under the same load), then its median.
    const paired = (i: number, j: number): number => median(times[j]!.map((t, r) => t / times[i]![r]!));
    if (algo === 'SHA-256') {
      const fd = idx('core, frame digest (format 3)');
      console.log(`${algo}  frame digest (format 3) / hash-wasm SHA-256 of the frame: medians ${(mbps(fd) / hw).toFixed(2)}, best-of ${(best(fd) / best(idx('hash-wasm'))).toFixed(2)}, paired ${paired(fd, idx('hash-wasm')).toFixed(2)}`);
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
