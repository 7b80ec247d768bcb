// Child process for bench/link.bench.ts: the device side on its own core, like a real detector.
//   raw  PATCH FRAMES PORT   writes the frames' bytes in writes of BENCH_RAW_WRITE bytes (default
//                            64 KiB, the link device's write size: like with like), paced like
//                            the link device when PATCH sets link.deviceBytesPerSec
//   link PATCH FRAMES PORT   the simulator: the same frames through the link protocol
// Both make their exposures before opening the port, so the parent's clock (first byte in ->
// last byte / last frame in) sees only transfer.
import { createHash } from 'node:crypto';
import { loadBoard, withOverrides } from '../host/boards/board.js';
import { runSimulator } from '../host/sim/sim.js';
import { baseFor, exposeFrame } from '../host/sim/frames.js';
import { openSerial } from '../host/link/transport.js';
import { chunkCrcs } from '../host/link/device.js';
import { LinePacer } from '../host/link/pacer.js';

const [mode, patch, framesArg, port] = process.argv.slice(2);
const b = withOverrides(loadBoard('sim-pty'), JSON.parse(patch!));
const frames = Number(framesArg);
const RAW_WRITE = Number(process.env.BENCH_RAW_WRITE ?? 64 * 1024);
if (mode === 'raw') {
  const base = baseFor(b.detector.rows, b.detector.cols);
  const pool = [1, 2].map((s) => exposeFrame(base, b.detector.bitsStored, s));
  for (const p of pool) {
    // Same per-exposure work as the simulator does before its clock starts.
    createHash('sha256').update(p).digest();
    chunkCrcs(p, b.link.chunkBytes);
  }
  const t = await openSerial(port!, b.link.serial!.baudRate);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // The line's speed, when the board sets one: the same pacer as the link device's.
  const pacer = b.link.deviceBytesPerSec ? new LinePacer(b.link.deviceBytesPerSec) : null;
  for (let n = 0; n < frames; n++) {
    const f = pool[n % pool.length]!;
    for (let o = 0; o < f.length; o += RAW_WRITE) {
      const wait = pacer?.waitMs() ?? 0;
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.max(1, wait)));
      const piece = f.subarray(o, Math.min(f.length, o + RAW_WRITE));
      pacer?.note(piece.length);
      if (!t.write(piece)) await new Promise((r) => t.once('drain', r));
    }
  }
  // Wait for the reader to say it has everything (it closes its end), then exit.
  await new Promise((r) => process.stdin.once('data', r));
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({ elapsedMs: performance.now() - t0, payloadBytes: frames * pool[0]!.length, failed: 0, cpuMs: Math.round((cpu.user + cpu.system) / 1e3) }) + '\n');
  t.close();
} else {
  const rep = await runSimulator(b, { frames, port, startSerial: 1, distinctFrames: 2 });
  process.stdout.write(JSON.stringify({ elapsedMs: rep.elapsedMs, payloadBytes: rep.payloadBytes, failed: rep.failed.length, device: rep.device, cpuMs: Math.round(rep.cpuMs) }) + '\n');
}
process.exit(0);
