// How far can a single SHA-256 / SHA-512 stream go in this WebAssembly target? Builds a copy of
// the core whose compress skips the message schedule (the rounds run on whatever W + K the scratch
// holds, zeros here: wrong digests, but exactly the rounds' work), and times it beside the real core and
// hash-wasm on one 3072x3072 16-bit frame, interleaved, medians of CPU time. The rounds-only
// figure bounds every schedule optimisation: if it is under 2x hash-wasm, no schedule work
// reaches 2x; only faster rounds could, and each round is a chain of scalar ops on a..h.
// The same for the four-lane tile table (frame digest, attestation format 3).
//
//   node --import tsx bench/hash-bound.ts          (RADSEAL_BENCH_REPS=N, default 15)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSHA256, createSHA512 } from 'hash-wasm';
import { projectRoot } from '../host/core/wasm.js';

const ROWS = 3072, COLS = 3072, BYTES = ROWS * COLS * 2;
const REPS = Math.max(5, Number(process.env.RADSEAL_BENCH_REPS ?? 15));
const root = projectRoot();

/** The release build's flags (asconfig.json) on a copy of assembly/ with `edit` applied to named files. */
function build(dir: string, edits: Record<string, (src: string) => string>): string {
  const src = join(dir, 'assembly');
  cpSync(join(root, 'assembly'), src, { recursive: true });
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(src, file);
    const before = readFileSync(path, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error(`hash-bound: the edit of ${file} changed nothing (has the code moved?)`);
    writeFileSync(path, after);
  }
  const out = join(dir, 'core.wasm');
  execFileSync(join(root, 'node_modules', '.bin', 'asc'), [join(src, 'index.ts'), '--config', join(root, 'asconfig.json'), '--target', 'release', '-o', out, '-t', join(dir, 'core.wat')], { cwd: root, stdio: 'inherit' });
  return out;
}

type Raw = Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };

/** One instance with the frame in its memory: serial hashes in 16 KiB pieces and the tile table, in place. */
function load(path: string, frame: Uint8Array): { sha256(): void; sha512(): void; tiles(): void } {
  const x = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {}).exports as unknown as Raw;
  const base = (x.heapBase!() + 15) & ~15;
  const ctx = base, out = base + 1024, tileCtx = base + 2048, table = base + 4096, framePtr = base + 65536 * 2;
  const need = framePtr + BYTES - x.memory.buffer.byteLength;
  if (need > 0) x.memory.grow(Math.ceil(need / 65536));
  new Uint8Array(x.memory.buffer, framePtr, BYTES).set(frame);
  const serial = (algo: string) => (): void => {
    x[`${algo}Init`]!(ctx);
    for (let off = 0; off < BYTES; off += 16384) x[`${algo}Update`]!(ctx, framePtr + off, Math.min(16384, BYTES - off));
    x[`${algo}Final`]!(ctx, out);
  };
  return { sha256: serial('sha256'), sha512: serial('sha512'), tiles: () => void x.tileSha256!(framePtr, ROWS, COLS, 64, tileCtx, table) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-hash-bound-'));
  try {
    // Serial: in compress, drop the first block's schedule and the next block's schedule steps
    // between the rounds (loads of the next block, vector steps, stores into nxt).
    const roundsOnlySerial = (s: string): string => {
      const at = s.indexOf('function compress(');
      const body = s.slice(at).replace(/^ {2}schedule\(p, cur\);\n/m, '').replace(/^ {4}(let )?v\d+ = .*\n/gm, '').replace(/^ {4}v128\.store\(nxt, .*\n/gm, '');
      return s.slice(0, at) + body;
    };
    const roundsOnly = build(dir, {
      'sha256.ts': roundsOnlySerial,
      'sha512.ts': roundsOnlySerial,
      // Four lanes: drop the in-place extension of w0..w15 before each of rounds 16..63.
      'sha256x4.ts': (s) => s.replace(/^ {4}w\d+ = i32x4\.add\(i32x4\.add\(w\d+, sig1\(w\d+\)\), i32x4\.add\(w\d+, sig0\(w\d+\)\)\);\n/gm, ''),
    });
    const frame = new Uint8Array(BYTES);
    let s = 0x9e3779b9;
    for (let i = 0; i < BYTES; i++) { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; frame[i] = s & 255; }
    const core = load(join(root, 'build', 'core.wasm'), frame);
    const bound = load(roundsOnly, frame);
    const hw256 = await createSHA256(), hw512 = await createSHA512();
    const impls: Array<[string, () => void]> = [
      ['SHA-256 hash-wasm', () => void hw256.init().update(frame).digest('binary')],
      ['SHA-256 core', core.sha256],
      ['SHA-256 core, rounds only', bound.sha256],
      ['SHA-256 core, tile table (4 lanes)', core.tiles],
      ['SHA-256 core, tile table, rounds only', bound.tiles],
      ['SHA-512 hash-wasm', () => void hw512.init().update(frame).digest('binary')],
      ['SHA-512 core', core.sha512],
      ['SHA-512 core, rounds only', bound.sha512],
    ];
    for (let r = 0; r < 3; r++) for (const [, run] of impls) run();
    const cpu = impls.map((): number[] => []);
    const load0 = loadavg()[0]!;
    for (let r = 0; r < REPS; r++) {
      for (let k = 0; k < impls.length; k++) {
        const i = (k + r) % impls.length;
        const c0 = process.cpuUsage();
        impls[i]![1]();
        const c = process.cpuUsage(c0);
        cpu[i]!.push((c.user + c.system) / 1e6);
      }
    }
    console.log(`radseal hash bound, ${new Date().toISOString()}, ${REPS} interleaved repetitions, median MB/s by CPU time; load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
    for (let i = 0; i < impls.length; i++) {
      const hw = impls[i]![0].startsWith('SHA-256') ? 0 : 5;
      const mbps = BYTES / 1e6 / median(cpu[i]!);
      console.log(`${impls[i]![0].padEnd(40)} ${mbps.toFixed(0).padStart(6)} MB/s   ${(median(cpu[hw]!) / median(cpu[i]!)).toFixed(2)}x hash-wasm`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
