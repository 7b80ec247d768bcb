// The command line as users run it: whole processes, each paired with its peer and interleaved
// with it in the same run (the order alternates), medians of wall time, CPU time (user + sys) and
// peak RSS (from /usr/bin/time). Runs the built CLI: `npm run build` first.
//   --help                      vs  node -e 0
//   verify (one 3072² object)   vs  dcmsign --verify (same file: it checks the ECDSA P-256 signature)
//   seal (3072² raw → DX)       vs  dcmsign --sign, ECDSA P-256, SHA-512 MAC, of the same object unsigned
//   verify DIR (N objects)      vs  a shell loop of dcmsign --verify over the same files
//   warm seal, in this process  vs  dcmsign --sign as above: the frame already in core memory, as the
//                                   capture service holds it (seal + durable write), and from the file
//                                   (read + raw hash + tiles + seal + write: radseal seal without its start-up)
//
//   node --import tsx bench/cli.bench.ts      (npm run bench:cli; RADSEAL_BENCH_REPS, RADSEAL_BENCH_DIR_FILES)
//   RADSEAL_BENCH_BASELINE=/path/to/another/built/radseal: the verify, seal and dir rows also run that
//   tree's CLI, interleaved in the same run (before/after a change on a noisy machine).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePhantom } from '../host/image/phantom.js';
import { pixelBytes } from '../host/dicom/dx.js';
import { projectRoot } from '../host/core/wasm.js';
import { loadDeviceIdentity } from '../host/seal/device.js';
import { loadFrameFile } from '../host/seal/frame-file.js';
import { sealFrame } from '../host/seal/seal.js';
import { writeFileAtomic } from '../host/io/atomic.js';
import { sealToFile } from '../host/seal/seal-file.js';
import { machineLine, median } from './support.js';

const REPS = Math.max(3, Number(process.env.RADSEAL_BENCH_REPS ?? 9));
const DIR_FILES = Math.max(2, Number(process.env.RADSEAL_BENCH_DIR_FILES ?? 200));
const DIR_REPS = Math.max(1, Number(process.env.RADSEAL_BENCH_DIR_REPS ?? 3));
/** RADSEAL_BENCH_ROWS=verify,dir runs only those rows (help, verify, seal, warm, dir); default all. */
const ROWS = new Set((process.env.RADSEAL_BENCH_ROWS ?? 'help,verify,seal,warm,dir').split(',').map((r) => r.trim()));
const CLI = join(projectRoot(), 'bin', 'radseal.js');
const BASELINE = process.env.RADSEAL_BENCH_BASELINE ? join(process.env.RADSEAL_BENCH_BASELINE, 'bin', 'radseal.js') : undefined;

interface Run { wallMs: number; cpuMs: number; rssMiB: number; status: number | null }

/** One process under /usr/bin/time: wall time from here, CPU time and peak RSS from time(1). */
function run(argv: string[], okStatus: (s: number | null) => boolean = (s) => s === 0): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '@@time %U %S %M', ...argv], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /@@time ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr ?? '');
  if (!m) throw new Error(`no timing from /usr/bin/time for ${argv.join(' ')}: ${r.error?.message ?? r.stderr}`);
  if (!okStatus(r.status)) throw new Error(`${argv.join(' ')} exited ${r.status}: ${(r.stderr ?? '').slice(0, 800)}`);
  return { wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000, rssMiB: Number(m[3]) / 1024, status: r.status };
}

interface Pair { name: string; ours: Run[]; peer: Run[]; base?: Run[] }

/**
 * `reps` paired runs (after one warm-up each), the order rotating so neither always runs on a warmer
 * machine; with `base`, a baseline radseal's runs rotate in too.
 */
function paired(name: string, reps: number, ours: (i: number) => string[], peer: (i: number) => string[], peerOk?: (s: number | null) => boolean, after?: (i: number) => void, base?: (i: number) => string[]): Pair {
  const p: Pair = { name, ours: [], peer: [], base: base ? [] : undefined };
  const sides: Array<(i: number) => Run> = [(i) => run(ours(i)), (i) => run(peer(i), peerOk), ...(base ? [(i: number) => run(base(i))] : [])];
  const into = [p.ours, p.peer, ...(p.base ? [p.base] : [])];
  sides.forEach((side) => side(-1));
  after?.(-1);
  for (let i = 0; i < reps; i++) {
    for (let k = 0; k < sides.length; k++) {
      const s = (i + k) % sides.length;
      into[s]!.push(sides[s]!(i));
    }
    after?.(i);
  }
  return p;
}

/** As paired(), with our side a call in this process: wall and CPU time (the process's, all threads), RSS after it. */
async function pairedInProcess(name: string, reps: number, ours: (i: number) => Promise<void>, peer: (i: number) => string[], after?: (i: number) => void): Promise<Pair> {
  const call = async (i: number): Promise<Run> => {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await ours(i);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    return { wallMs, cpuMs: (c.user + c.system) / 1000, rssMiB: process.memoryUsage.rss() / 2 ** 20, status: 0 };
  };
  await call(-1);
  run(peer(-1));
  after?.(-1);
  const p: Pair = { name, ours: [], peer: [] };
  for (let i = 0; i < reps; i++) {
    if (i % 2 === 0) {
      p.ours.push(await call(i));
      p.peer.push(run(peer(i)));
    } else {
      p.peer.push(run(peer(i)));
      p.ours.push(await call(i));
    }
    after?.(i);
  }
  return p;
}

const med = (rs: Run[], k: keyof Run) => median(rs.map((r) => r[k] as number));
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function report(p: Pair, peerName: string, target: string): void {
  const w = med(p.ours, 'wallMs'), pw = med(p.peer, 'wallMs');
  console.log(`\n${p.name}  (median of ${p.ours.length} pairs)`);
  console.log(`  radseal   wall ${fmt(w, 1).padStart(9)} ms   CPU ${fmt(med(p.ours, 'cpuMs'), 0).padStart(7)} ms   peak RSS ${fmt(med(p.ours, 'rssMiB'), 1).padStart(7)} MiB`);
  console.log(`  ${peerName.padEnd(9)} wall ${fmt(pw, 1).padStart(9)} ms   CPU ${fmt(med(p.peer, 'cpuMs'), 0).padStart(7)} ms   peak RSS ${fmt(med(p.peer, 'rssMiB'), 1).padStart(7)} MiB`);
  console.log(`  ratio radseal/${peerName} wall ${fmt(w / pw, 2)}×, CPU ${fmt(med(p.ours, 'cpuMs') / med(p.peer, 'cpuMs'), 2)}×   (target ${target})`);
  if (!p.base) return;
  const bw = med(p.base, 'wallMs');
  console.log(`  baseline  wall ${fmt(bw, 1).padStart(9)} ms   CPU ${fmt(med(p.base, 'cpuMs'), 0).padStart(7)} ms   peak RSS ${fmt(med(p.base, 'rssMiB'), 1).padStart(7)} MiB   (${BASELINE})`);
  console.log(`  ratio baseline/${peerName} wall ${fmt(bw / pw, 2)}×, CPU ${fmt(med(p.base, 'cpuMs') / med(p.peer, 'cpuMs'), 2)}×;  radseal/baseline wall ${fmt(w / bw, 2)}×, CPU ${fmt(med(p.ours, 'cpuMs') / med(p.base, 'cpuMs'), 2)}×`);
}

console.log(`radseal CLI benchmark · ${machineLine()}`);
if (!existsSync(join(projectRoot(), 'dist', 'host', 'cli', 'main.js'))) throw new Error('build first: npm run build');
const haveDcmsign = spawnSync('dcmsign', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'radseal-cli-bench-'));
try {
  const radseal = (...args: string[]) => [process.execPath, CLI, ...args];
  const baseline = BASELINE ? (...args: string[]) => [process.execPath, BASELINE, ...args] : undefined;
  const keys = join(dir, 'keys');
  run(radseal('keygen', '--id', 'BENCH-DX', '--out', keys, '--ecdsa'));
  const trust = join(dir, 'trust.pem');
  writeFileSync(trust, readFileSync(join(keys, 'device.crt'), 'utf8') + readFileSync(join(keys, 'device-ecdsa.crt'), 'utf8'));
  const frame = makePhantom({ rows: 3072, cols: 3072, bitsStored: 14, seed: 11 });
  const raw = join(dir, 'frame.raw');
  writeFileSync(raw, pixelBytes(frame.pixels));
  const sealArgs = (out: string, ecdsa: boolean, cli = radseal) => cli('seal', '--key', join(keys, 'device.key'), '--cert', join(keys, 'device.crt'), '--in', raw,
    '--rows', '3072', '--cols', '3072', '--bits-stored', '14', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--serial', '7', '--out', out,
    ...(ecdsa ? ['--ecdsa-key', join(keys, 'device-ecdsa.key'), '--ecdsa-cert', join(keys, 'device-ecdsa.crt')] : []));
  // The verify object carries radseal's Ed25519 signatures and the ECDSA P-256 one DCMTK checks.
  const sealed = join(dir, 'sealed.dcm');
  run(sealArgs(sealed, true));
  const objectMiB = statSync(sealed).size / 2 ** 20;
  console.log(`object: 3072x3072 14-bit DX, ${fmt(objectMiB, 1)} MiB (Ed25519 device signatures + ECDSA P-256)`);

  if (ROWS.has('help')) report(paired('radseal --help  vs  node -e 0', Math.max(REPS, 15), () => radseal('--help'), () => [process.execPath, '-e', '0']), 'node', '≤ 1.5×');

  if (!haveDcmsign) {
    console.log('\nDCMTK dcmsign not installed (apt-get install dcmtk): the peer rows are not measured');
  } else {
    const unsigned = join(dir, 'unsigned.dcm');
    run(['dcmsign', '--remove-all', sealed, unsigned]);
    // dcmsign --verify exits non-zero for radseal's Ed25519 signatures (it cannot check them) after checking the ECDSA one.
    const anyStatus = () => true;
    if (ROWS.has('verify')) {
    const v = paired('verify one object  vs  dcmsign --verify', REPS, () => radseal('verify', '--trust', trust, sealed), () => ['dcmsign', '--verify', sealed], anyStatus,
      undefined, baseline && (() => baseline('verify', '--trust', trust, sealed)));
    report(v, 'dcmsign', '≤ 1.5× wall');
    const nodeMiB = nodeBaselineMiB();
    console.log(`  radseal peak RSS ${fmt(med(v.ours, 'rssMiB') / objectMiB, 2)}× the object; above \`node -e 0\`'s: ${fmt((med(v.ours, 'rssMiB') - nodeMiB) / objectMiB, 2)}× the object   (target ≤ 2×)`);
    if (v.base) console.log(`  baseline peak RSS above \`node -e 0\`'s: ${fmt((med(v.base, 'rssMiB') - nodeMiB) / objectMiB, 2)}× the object`);
    }

    const out = (who: string, i: number) => join(dir, `${who}-${i + 1}.dcm`);
    const tidy = (i: number) => {
      for (const who of ['radseal', 'dcmsign', 'baseline']) rmSync(out(who, i), { force: true });
    };
    const signPeer = (i: number) => ['dcmsign', '--sign', join(keys, 'device-ecdsa.key'), join(keys, 'device-ecdsa.crt'), '+m5', unsigned, out('dcmsign', i)];
    if (ROWS.has('seal')) report(paired('seal one 3072² frame  vs  dcmsign --sign (ECDSA P-256, SHA-512 MAC) of the object unsigned', REPS,
      (i) => sealArgs(out('radseal', i), false), signPeer, undefined, tidy, baseline && ((i) => sealArgs(out('baseline', i), false, baseline))), 'dcmsign', '≤ 2.0× wall');

    if (ROWS.has('warm')) {
      // The capture service's seal: the frame already in core memory (the link wrote it there and
      // hashed it, tile table included, as it arrived), sealed and written durably, in a warm process.
      const device = loadDeviceIdentity(join(keys, 'device.key'), join(keys, 'device.crt'));
      const meta = { patientOrientation: ['L', 'F'] as [string, string], imagerPixelSpacing: [0.139, 0.139] as [number, number] };
      const geometry = { rows: 3072, cols: 3072, bitsStored: 14, tileSize: 64 };
      // As the capture service writes (head, the frame where it lies, tail: writeFileAtomic) or, with
      // `ahead`, as radseal seal does (sealToFile: head and frame written while the MAC is computed).
      const sealInto = async (path: string, loaded: Awaited<ReturnType<typeof loadFrameFile>>, serial: number, ahead: boolean) => {
        const req = { frame: loaded.frame, rawFrameSha256: loaded.rawFrameSha256, frameSerial: serial, meta, tileSize: 64, tilesAsReceived: loaded.tiles, rangeAsReceived: loaded.range };
        if (ahead) await sealToFile(path, req, device);
        else writeFileAtomic(path, (await sealFrame({ ...req, gathered: true }, device)).parts, { noClobber: true });
      };
      const held = await loadFrameFile(raw, geometry);
      report(await pairedInProcess('warm seal in this process, frame in core memory (seal + durable write)  vs  dcmsign --sign as a process', REPS,
        (i) => sealInto(out('radseal', i), held, 100 + i, false), signPeer, tidy), 'dcmsign', '≤ 1.0× wall');
      report(await pairedInProcess('warm seal in this process from the file (read + raw hash + tiles + seal + write)  vs  dcmsign --sign as a process', REPS,
        async (i) => sealInto(out('radseal', i), await loadFrameFile(raw, geometry), 200 + i, true), signPeer, tidy), 'dcmsign', 'none: radseal seal without its start-up');
    }

    if (ROWS.has('dir')) {
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    // Copies of one sealed object, each its own file: verifying costs the same whatever the pixels.
    for (let i = 0; i < DIR_FILES; i++) copyFileSync(sealed, join(folder, `IM${String(i).padStart(4, '0')}`));
    const loop = `for f in "${folder}"/*; do dcmsign --verify "$f" >/dev/null 2>&1; done`;
    const d = paired(`verify DIR of ${DIR_FILES} objects  vs  shell loop of dcmsign --verify`, DIR_REPS,
      () => radseal('verify', '--trust', trust, folder), () => ['bash', '-c', loop], anyStatus, undefined, baseline && (() => baseline('verify', '--trust', trust, folder)));
    report(d, 'dcmsign', 'radseal ≥ 3× faster: ratio ≤ 0.33×');
    console.log(`  radseal ${fmt(DIR_FILES * objectMiB / (med(d.ours, 'wallMs') / 1000), 0)} MiB/s, dcmsign loop ${fmt(DIR_FILES * objectMiB / (med(d.peer, 'wallMs') / 1000), 0)} MiB/s`);
    console.log(`  CPU per object: radseal ${fmt(med(d.ours, 'cpuMs') / DIR_FILES, 1)} ms, dcmsign ${fmt(med(d.peer, 'cpuMs') / DIR_FILES, 1)} ms${d.base ? `, baseline ${fmt(med(d.base, 'cpuMs') / DIR_FILES, 1)} ms` : ''}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function nodeBaselineMiB(): number {
  return median(Array.from({ length: 5 }, () => run([process.execPath, '-e', '0']).rssMiB));
}
