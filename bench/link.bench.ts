// Link benchmark (not a test): `npm run bench:link` (docs/BENCHMARKS.md, Link)
// 1. Throughput over a socat pty, like with like: in both cases the device side is a child
//    process (bench/link-sim.child.ts) that made its exposures before opening the port, and
//    this process reads through openSerial() (docs/LINK.md §6a) and times first byte in -> last
//    payload byte in.
//      raw:  the child writes the frames' bytes in 64 KiB writes (BENCH_RAW_WRITE), the size the
//            link device coalesces its packets to; we only count them.
//      link: the child runs the simulator (protocol v1, credits, CRC-32C, END digest); we run
//            the receiver (parse, CRC-32C, copy into core memory, SHA-256 in the core, STATUS/ACK).
//    Runs alternate raw, link, raw, link, ... (BENCH_REPS, default 3 each); medians reported.
//    Setups (see Setup): cores shared or pinned, the line unpaced or paced at BENCH_RATES MB/s.
//    Then the receiver alone, fed wire bytes made beforehand (no pty): the link work's own cost.
// 2. Last byte of a 3072x3072 14-bit frame -> sealed object durable + device ACKed (capture
//    service over TCP loopback), without and with the site watermark key.
// 3. Memory: WebAssembly memory per frame slot, and RSS peak while sealing.
// Frames per throughput run: BENCH_FRAMES (default 6) of 3072x3072 14-bit.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnPtyPair } from '../host/sim/pty.js';
import { openSerial } from '../host/link/transport.js';
import { frameSlots, loadBoard, withOverrides } from '../host/boards/board.js';
import { Core } from '../host/core/wasm.js';
import { encodeBegin, encodeChunk, encodeEnd } from '../host/link/codec.js';
import { CoreFrameStore } from '../host/link/framestore.js';
import { LinkReceiver, type ReceivedFrame } from '../host/link/receiver.js';
import { baseFor, exposeFrame } from '../host/sim/frames.js';
import { CaptureService } from '../host/capture/service.js';
import { runSimulator } from '../host/sim/sim.js';
import { generateDeviceKey } from '../host/keys/provision.js';
import { generateWatermarkKey, loadWatermarkKey } from '../host/keys/watermark-key.js';
import { loadDeviceIdentity } from '../host/seal/device.js';
import { startHost } from '../test/host/link/harness.js';
import { machineLine, median } from './support.js';

const FRAMES = Number(process.env.BENCH_FRAMES ?? 6);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const FRAME_BYTES = 3072 * 3072 * 2;
/** Experiments: link settings over the sim-pty board's, e.g. BENCH_LINK='{"chunkBytes":65536}'. */
const LINK_PATCH = JSON.parse(process.env.BENCH_LINK ?? '{}') as Record<string, unknown>;
const dir = mkdtempSync(join(tmpdir(), 'radseal-bench-'));
const CHILD = join(import.meta.dirname, 'link-sim.child.ts');

/**
 * A setup: how the cores are shared and how fast the line is.
 *  - pinned: the device child and socat stand in for the detector and the cable, which in a
 *    hospital are not on the capture host: they run on CPU 0 and this process (the receiver, the
 *    capture host's work) on CPU 1, so neither side takes the other's CPU. Unpinned, all share all.
 *  - rate: the line's speed in bytes/s. A pty ignores the baud rate, so both senders pace
 *    themselves with the same LinePacer (host/link/pacer.ts), as a real line would hold them.
 */
interface Setup {
  label: string;
  pinned: boolean;
  rate?: number;
}
const NCPU = (await import('node:os')).cpus().length;
let setup: Setup = { label: 'shared cores, unpaced', pinned: false };
/** taskset (util-linux) places processes on cores; without it everything shares all cores. */
const HAVE_TASKSET = spawnSync('taskset', ['-V']).status === 0;
const pin = (pid: number | undefined, cpus: string) => {
  if (pid && HAVE_TASKSET) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
};
const allCpus = `0-${NCPU - 1}`;

function child(mode: 'raw' | 'link', patch: object, port: string) {
  const c = spawn(HAVE_TASKSET ? 'taskset' : process.execPath, [...(HAVE_TASKSET ? ['-c', setup.pinned ? '0' : allCpus, process.execPath] : []), ...(process.env.BENCH_CHILD_FLAGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', CHILD, mode, JSON.stringify(patch), String(FRAMES), port], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<Record<string, unknown>>((res, rej) =>
    c.once('exit', (code) => (code === 0 ? res(JSON.parse(out.trim().split('\n').pop()!)) : rej(new Error(`bench child ${mode} exited ${code}`)))),
  );
  return { c, exited };
}

const linkPatch = (p: { host: string; dev: string }) => ({
  link: { ...LINK_PATCH, serial: { path: p.host, devicePath: p.dev, baudRate: 3000000 }, ...(setup.rate ? { deviceBytesPerSec: setup.rate } : {}) },
});
const pathsFor = (tag: string) => ({ host: join(dir, `${tag}h`), dev: join(dir, `${tag}d`) });

const nproc = (await import('node:os')).cpus().length;
/** Whole-machine CPU time from /proc/stat (Linux): is the pipeline CPU-bound, or serialised? */
function machineJiffies(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3]! - (f[4] ?? 0), total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** CPU time (ms) a process has used so far, from /proc (Linux); 0 elsewhere. */
function procCpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return 0;
  }
}

/** Verbose runs: how the reads arrive (size, and pauses of 5 ms or more between them). */
class Gaps {
  private last = 0;
  reads = 0;
  bytes = 0;
  pauses = 0;
  pausedMs = 0;
  /** Pauses that began within 50 ms after a frame completed (the frame-boundary cost). */
  boundaryMs = 0;
  frameAt: number[] = [];
  cpu0 = process.cpuUsage();
  machine0 = machineJiffies();
  note(n: number): void {
    const now = performance.now();
    if (!this.reads) this.machine0 = machineJiffies();
    if (this.last && now - this.last >= 5) {
      this.pauses++;
      this.pausedMs += now - this.last;
      const at = this.last;
      if (this.frameAt.some((f) => at >= f && at - f < 50)) this.boundaryMs += now - this.last;
    }
    this.last = now;
    this.reads++;
    this.bytes += n;
  }
  toString(): string {
    const c = process.cpuUsage(this.cpu0);
    const m = machineJiffies();
    const busy = (m.busy - this.machine0.busy) / Math.max(1, m.total - this.machine0.total);
    return `machine ${(busy * 100).toFixed(0)}% busy over ${nproc} cores; ${this.reads} reads of ${(this.bytes / Math.max(1, this.reads)).toFixed(0)} B avg; ${this.pauses} pauses >= 5 ms totalling ${this.pausedMs.toFixed(0)} ms (${this.boundaryMs.toFixed(0)} ms at frame boundaries); this process used ${((c.user + c.system) / 1e3).toFixed(0)} ms CPU`;
  }
}
let gaps = new Gaps();
let rawChildCpu = 0;
let socatMs = 0;

async function rawPty(run: number): Promise<number> {
  gaps = new Gaps();
  const p = pathsFor(`r${run}`);
  const pty = await spawnPtyPair(p.host, p.dev);
  pin(pty.proc.pid, setup.pinned ? '0' : allCpus);
  const a = await openSerial(p.host, 3000000);
  const total = FRAMES * FRAME_BYTES;
  let got = 0;
  let first = 0;
  let last = 0;
  const done = new Promise<void>((r) =>
    a.on('data', (d: Uint8Array) => {
      gaps.note(d.length);
      if (!first) first = performance.now();
      got += d.length;
      if (got >= total && !last) {
        last = performance.now();
        r();
      }
    }),
  );
  const ch = child('raw', linkPatch(p), p.dev);
  try {
    await done;
    ch.c.stdin!.end('done\n');
    rawChildCpu = (await ch.exited).cpuMs as number;
  } finally {
    ch.c.kill('SIGKILL');
    a.close();
    socatMs = procCpuMs(pty.proc.pid);
    await pty.stop();
  }
  return total / (last - first) / 1e3;
}

async function linkPty(run: number): Promise<{ mbps: number; wasmMb: number; device: unknown; host: unknown }> {
  const p = pathsFor(`l${run}`);
  gaps = new Gaps();
  const patch = linkPatch(p);
  const board = withOverrides(loadBoard('sim-pty'), patch);
  const pty = await spawnPtyPair(p.host, p.dev);
  pin(pty.proc.pid, setup.pinned ? '0' : allCpus);
  const h = await startHost(board, { oracle: false });
  let first = 0;
  let last = 0;
  const onData = h.rx.onData.bind(h.rx);
  h.rx.onData = (d: Uint8Array) => {
    gaps.note(d.length);
    if (!first) first = performance.now();
    onData(d);
  };
  h.rx.on('frame', () => gaps.frameAt.push((last = performance.now())));
  const ch = child('link', patch, p.dev);
  try {
    const r = await ch.exited;
    if (r.failed) throw new Error('link bench: frames failed');
    if (h.got.length !== FRAMES) throw new Error(`link bench: ${h.got.length} of ${FRAMES} frames arrived`);
    return { mbps: (FRAMES * FRAME_BYTES) / (last - first) / 1e3, wasmMb: h.core.memory.buffer.byteLength / 1e6, device: { ...(r.device as object), cpuMs: r.cpuMs }, host: { ...h.rx.stats } };
  } finally {
    ch.c.kill('SIGKILL');
    await h.stop();
    socatMs = procCpuMs(pty.proc.pid);
    await pty.stop();
  }
}

/**
 * The receiver alone on this thread: the wire bytes of FRAMES frames (BEGIN, chunks, END, as the
 * simulator sends them) made beforehand and handed to LinkReceiver.onData in 4 KiB pieces, the
 * size of a tty read; frames ACKed as they complete. No pty, no socat, no device process: what the
 * capture host's link work (parse, CRC-32C, copy into core memory, SHA-256 in the core) costs.
 */
async function receiverAlone(): Promise<number> {
  const board = loadBoard('sim-pty');
  const { rows, cols, bitsStored, deviceId } = board.detector;
  const base = baseFor(rows, cols);
  const frames = [1, 2].map((n) => exposeFrame(base, bitsStored, n));
  const chunkBytes = board.link.chunkBytes;
  const g = { deviceId, rows, cols, bitsStored, bytesPerPixel: 2, chunkBytes, chunkCount: Math.ceil(FRAME_BYTES / chunkBytes), totalBytes: FRAME_BYTES };
  const parts: Uint8Array[] = [];
  for (let n = 0; n < FRAMES; n++) {
    const data = frames[n % 2]!;
    parts.push(encodeBegin(n + 1, g));
    for (let i = 0; i < g.chunkCount; i++) parts.push(encodeChunk(n + 1, i, data.subarray(i * chunkBytes, Math.min(FRAME_BYTES, (i + 1) * chunkBytes))));
    parts.push(encodeEnd(n + 1, g.chunkCount, new Uint8Array(createHash('sha256').update(data).digest())));
  }
  const wire = Buffer.concat(parts);
  const core = new Core();
  const store = new CoreFrameStore(core, FRAME_BYTES, frameSlots(board));
  const rx = new LinkReceiver({
    store, windowChunks: board.link.windowChunks, maxChunkBytes: 1 << 20, maxRows: rows, maxCols: cols,
    nakTimeoutMs: board.link.nakTimeoutMs, maxNakIntervalMs: board.link.maxAckTimeoutMs, log: () => {},
  });
  // A transport that takes the receiver's CREDIT/ACK packets and goes nowhere.
  const sink = Object.assign(new EventEmitter(), { description: 'bench sink', closed: false, write: () => true, close: () => {} });
  rx.attach(sink);
  let done = 0;
  rx.on('frame', (f: ReceivedFrame) => {
    done++;
    f.ack();
  });
  const t0 = performance.now();
  for (let o = 0; o < wire.length; o += 4096) rx.onData(wire.subarray(o, Math.min(wire.length, o + 4096)));
  const ms = performance.now() - t0;
  rx.close();
  if (done !== FRAMES) throw new Error(`receiver alone: ${done} of ${FRAMES} frames completed`);
  return (FRAMES * FRAME_BYTES) / ms / 1e3;
}

async function latency(withWatermark: boolean): Promise<{ lat: number[]; rssPeakMb: number; rssBaseMb: number }> {
  const keys = await generateDeviceKey('SIM-0001', join(dir, `keys${+withWatermark}`));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'bench');
  let watermarkKey: Uint8Array | undefined;
  if (withWatermark) {
    generateWatermarkKey(join(dir, 'wm.key'));
    watermarkKey = loadWatermarkKey(join(dir, 'wm.key'));
  }
  const board = withOverrides(loadBoard('gige-tcp-bridge'), {
    link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } }, detector: { deviceId: 'SIM-0001', rows: 3072, cols: 3072, bitsStored: 14 },
  });
  const svc = new CaptureService({ board, device, outboxDir: join(dir, `outbox${+withWatermark}`), watermarkKey });
  const lat: number[] = [];
  svc.on('sealed', (e) => lat.push(e.latencyMs));
  global.gc?.();
  const rssBaseMb = process.memoryUsage().rss / 1e6;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  await svc.start();
  try {
    await runSimulator(board, { frames: 5, startSerial: 1, port: `127.0.0.1:${svc.connector.boundPort}`, distinctFrames: 1 });
  } finally {
    clearInterval(sampler);
    await svc.stop();
  }
  return { lat, rssPeakMb: peak / 1e6, rssBaseMb };
}

try {
  console.log(`link benchmark · ${machineLine()} · load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const setups: Setup[] = [
    { label: 'shared cores, unpaced', pinned: false },
    ...(NCPU >= 2 && HAVE_TASKSET ? [{ label: 'pinned (device + socat on CPU 0, receiver on CPU 1), unpaced', pinned: true }] : []),
    ...(process.env.BENCH_RATES ?? '16,24,32,40').split(',').filter(Boolean).map((r) => ({ label: `shared cores, line paced at ${r} MB/s`, pinned: false, rate: Number(r) * 1e6 })),
  ];
  let wasmMb = 0;
  let run = 0;
  // BENCH_ONLY=pinned (any part of a label) runs just the matching setups.
  for (const s of setups.filter((x) => x.label.includes(process.env.BENCH_ONLY ?? ''))) {
    setup = s;
    pin(process.pid, s.pinned ? '1' : allCpus);
    console.log(`${s.label}:`);
    const raws: number[] = [];
    const links: number[] = [];
    for (let i = 0; i < REPS; i++, run++) {
      raws.push(await rawPty(run));
      if (process.env.BENCH_VERBOSE) console.log(`    raw reads: ${gaps}; device child used ${rawChildCpu} ms CPU; socat ${socatMs} ms`);
      const l = await linkPty(run);
      links.push(l.mbps);
      wasmMb = l.wasmMb;
      console.log(`  run ${i + 1}: raw ${raws[i]!.toFixed(1)} MB/s, link ${l.mbps.toFixed(1)} MB/s (${((l.mbps / raws[i]!) * 100).toFixed(0)}%)`);
      if (process.env.BENCH_VERBOSE) console.log(`    link reads: ${gaps}; device child used ${(l.device as { cpuMs: number }).cpuMs} ms CPU; socat ${socatMs} ms\n    device ${JSON.stringify(l.device)}\n    host ${JSON.stringify(l.host)}`);
    }
    const rm = median(raws);
    const lm = median(links);
    const pairs = links.map((l, i) => l / raws[i]!);
    console.log(`  raw pty, ${FRAMES} frames' bytes, device child -> reader: median ${rm.toFixed(1)} MB/s`);
    console.log(`  link over pty, ${FRAMES} x 3072x3072 14-bit frames: median ${lm.toFixed(1)} MB/s = ${((lm / rm) * 100).toFixed(1)}% of the raw median; median of the ${REPS} back-to-back pairs ${(median(pairs) * 100).toFixed(1)}% (range ${(Math.min(...pairs) * 100).toFixed(0)}-${(Math.max(...pairs) * 100).toFixed(0)}%)`);
  }
  pin(process.pid, allCpus);
  const alone: number[] = [];
  for (let i = 0; i < REPS; i++) alone.push(await receiverAlone());
  console.log(`receiver alone (no pty: wire bytes made beforehand, fed in 4 KiB reads on one thread): median ${median(alone).toFixed(0)} MB/s of pixel data (${alone.map((a) => a.toFixed(0)).join(', ')})`);
  if (wasmMb) console.log(`memory (receiver): WebAssembly ${wasmMb.toFixed(0)} MB for ${loadBoard('sim-pty').link.framesInFlight + 1} frame slots of ${(FRAME_BYTES / 1e6).toFixed(1)} MB`);
  for (const wm of process.env.BENCH_NO_LATENCY ? [] : [false, true]) {
    const r = await latency(wm);
    console.log(`last byte of a 3072x3072 frame -> sealed object durable + ACK (TCP, ${wm ? 'with' : 'no'} watermark key): median ${median(r.lat).toFixed(0)} ms (${r.lat.map((l) => l.toFixed(0)).join(', ')}); RSS ${r.rssBaseMb.toFixed(0)} MB before, peak ${r.rssPeakMb.toFixed(0)} MB while sealing`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
