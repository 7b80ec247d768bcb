// Link benchmark (not a test): `node --import tsx bench/link.bench.ts`
// 1. raw pty throughput (socat pair, serialport both ends, 16 KiB writes)
// 2. link throughput over the same kind of pty: simulator in a child process,
//    receiver (CRC-32C, copy into core memory, SHA-256 in the core) here; ratio vs 1
// 3. last byte of a 3072x3072 14-bit frame -> durable sealed object (capture service, TCP)
// 4. memory: WebAssembly memory and RSS per frame slot
// Frames: BENCH_FRAMES (default 6) of 3072x3072.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnPtyPair } from '../host/sim/pty.js';
import { openSerial } from '../host/link/transport.js';
import { loadBoard, withOverrides } from '../host/boards/board.js';
import { CaptureService } from '../host/capture/service.js';
import { runSimulator } from '../host/sim/sim.js';
import { generateDeviceKey } from '../host/keys/provision.js';
import { loadDeviceIdentity } from '../host/seal/device.js';
import { startHost } from '../test/host/link/harness.js';

const FRAMES = Number(process.env.BENCH_FRAMES ?? 6);
const dir = mkdtempSync(join(tmpdir(), 'radseal-bench-'));

async function rawPty(totalBytes: number): Promise<number> {
  const p = await spawnPtyPair(join(dir, 'ra'), join(dir, 'rb'));
  const a = await openSerial(join(dir, 'ra'), 3000000);
  const b = await openSerial(join(dir, 'rb'), 3000000);
  const buf = new Uint8Array(16384).fill(0x5a);
  let got = 0;
  const t0 = performance.now();
  const done = new Promise<void>((r) => a.on('data', (d: Uint8Array) => ((got += d.length) >= totalBytes ? r() : undefined)));
  let sent = 0;
  const pump = () => {
    while (sent < totalBytes) {
      sent += buf.length;
      if (!b.write(buf)) return;
    }
  };
  b.on('drain', pump);
  pump();
  await done;
  const mbps = totalBytes / (performance.now() - t0) / 1e3;
  a.close();
  b.close();
  await p.stop();
  return mbps;
}

async function linkPty(): Promise<{ mbps: number; rssMb: number; wasmMb: number }> {
  const patch = { link: { serial: { path: join(dir, 'lh'), devicePath: join(dir, 'ld'), baudRate: 3000000 } } };
  const board = withOverrides(loadBoard('sim-pty'), patch);
  const pty = await spawnPtyPair(join(dir, 'lh'), join(dir, 'ld'));
  const h = await startHost(board);
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'link-sim.child.ts'), JSON.stringify(patch), String(FRAMES), join(dir, 'ld')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  // Measure from the first frame's first chunk to the last frame's ACK, on the host side.
  let first = 0;
  const seen = setInterval(() => { if (!first && h.rx.stats.chunks > 0) first = performance.now(); }, 1);
  await new Promise((r) => child.once('exit', r));
  clearInterval(seen);
  const r = JSON.parse(out.trim().split('\n').pop()!);
  if (r.failed) throw new Error('link bench: frames failed');
  const mbps = r.payloadBytes / r.elapsedMs / 1e3;
  const mem = { rssMb: process.memoryUsage().rss / 1e6, wasmMb: h.core.memory.buffer.byteLength / 1e6 };
  await h.stop();
  await pty.stop();
  return { mbps, ...mem };
}

async function latency(): Promise<number[]> {
  const keys = await generateDeviceKey('SIM-0001', join(dir, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'bench');
  const board = withOverrides(loadBoard('gige-tcp-bridge'), {
    link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } }, detector: { deviceId: 'SIM-0001', rows: 3072, cols: 3072, bitsStored: 14 },
  });
  const svc = new CaptureService({ board, device, outboxDir: join(dir, 'outbox') });
  const lat: number[] = [];
  svc.on('sealed', (e) => lat.push(e.latencyMs));
  await svc.start();
  await runSimulator(board, { frames: 3, startSerial: 1, port: `127.0.0.1:${svc.connector.boundPort}`, distinctFrames: 1 });
  await svc.stop();
  return lat;
}

try {
  const total = 3072 * 3072 * 2 * FRAMES;
  const raw = await rawPty(total);
  const link = await linkPty();
  const raw2 = await rawPty(total);
  const rawAvg = (raw + raw2) / 2;
  console.log(`raw pty (serialport both ends, 16 KiB writes): ${raw.toFixed(1)} / ${raw2.toFixed(1)} MB/s (before/after)`);
  console.log(`link over pty, ${FRAMES} x 3072x3072 14-bit frames, device in a child process: ${link.mbps.toFixed(1)} MB/s = ${((link.mbps / rawAvg) * 100).toFixed(0)}% of raw`);
  console.log(`  (device-side wall time, first BEGIN to last ACK, includes generating 2 distinct exposures)`);
  console.log(`memory (receiver process): WebAssembly ${link.wasmMb.toFixed(0)} MB for ${loadBoard('sim-pty').link.framesInFlight + 1} frame slots of ${(3072 * 3072 * 2 / 1e6).toFixed(1)} MB; RSS ${link.rssMb.toFixed(0)} MB`);
  const lat = await latency();
  console.log(`last byte of a 3072x3072 frame -> sealed object durable + ACK (TCP, no watermark key): ${lat.map((l) => l.toFixed(0)).join(', ')} ms`);
  console.log(`RSS after sealing: ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
